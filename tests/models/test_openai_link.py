"""The OpenAI Realtime model link over a real WebSocket.

Rules: servers listen on 127.0.0.1 port 0 inside the test's nursery; tests that involve timeouts
run over in-memory streams with trio's autojump clock, so nothing sleeps for real; every test
checks what the peer actually received, not only what the link reports.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    serve_websocket,
    wrap_client_stream,
    wrap_server_stream,
)

from rtagents.models import (
    LinkClosed,
    LinkConnected,
    ModelLinkError,
    OpenAIRealtimeConfig,
    OpenAIRealtimeLink,
    open_openai_realtime,
)
from rtagents.models._openai import Connector
from rtagents.protocol import (
    InputAudioBufferAppend,
    InputAudioBufferCleared,
    ServerProtocolError,
    SessionCreated,
    UnknownServerEvent,
)

SESSION_CREATED = json.dumps(
    {
        "type": "session.created",
        "event_id": "event_1",
        "session": {"type": "realtime", "id": "sess_1", "model": "gpt-realtime"},
    }
)

Handler = Callable[[WebSocketConnection, WebSocketRequest], "trio.lowlevel.Abort | None"]


@asynccontextmanager
async def fake_server(
    script: Callable[[WebSocketConnection], object], seen: list[WebSocketRequest]
) -> AsyncIterator[str]:
    """A loopback WebSocket server running `script(ws)` for each connection; yields its URL."""

    async def handler(request: WebSocketRequest) -> None:
        seen.append(request)
        ws = await request.accept()
        with contextlib.suppress(ConnectionClosed):  # the client closing is the normal end
            await script(ws)  # type: ignore[misc]

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
        port = server.port
        yield f"ws://127.0.0.1:{port}/v1/realtime"
        nursery.cancel_scope.cancel()


# -- configuration ----------------------------------------------------------------------------


def test_url_carries_model_or_call_id() -> None:
    assert (
        OpenAIRealtimeConfig().full_url() == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    )
    config = OpenAIRealtimeConfig(model=None, call_id="rtc_123")
    assert config.full_url() == "wss://api.openai.com/v1/realtime?call_id=rtc_123"
    with pytest.raises(ValueError, match="either model or call_id"):
        OpenAIRealtimeConfig(call_id="rtc_123")
    with pytest.raises(ValueError, match="ws:// or wss://"):
        OpenAIRealtimeConfig(url="https://api.openai.com/v1/realtime")
    local = OpenAIRealtimeConfig(url="ws://127.0.0.1:9/v1/realtime?x=1", model="m")
    assert local.full_url() == "ws://127.0.0.1:9/v1/realtime?x=1&model=m"


def test_headers_key_sources_and_no_beta_header() -> None:
    assert OpenAIRealtimeConfig(api_key="sk-arg").handshake_headers({}) == [
        ("Authorization", "Bearer sk-arg")
    ]
    from_env = OpenAIRealtimeConfig().handshake_headers({"OPENAI_API_KEY": "sk-env"})
    assert from_env == [("Authorization", "Bearer sk-env")]
    with pytest.raises(ModelLinkError, match="OPENAI_API_KEY"):
        OpenAIRealtimeConfig().handshake_headers({})
    local = OpenAIRealtimeConfig(url="ws://127.0.0.1:9/v1/realtime")
    assert local.handshake_headers({}) == []
    custom = OpenAIRealtimeConfig(
        api_key="sk-a", headers={"authorization": "Bearer proxy", "X-T": "1"}
    )
    assert custom.handshake_headers({}) == [("authorization", "Bearer proxy"), ("X-T", "1")]
    for config in (OpenAIRealtimeConfig(api_key="sk-a"), OpenAIRealtimeConfig()):
        assert all(
            name.lower() != "openai-beta"
            for name, _ in config.handshake_headers({"OPENAI_API_KEY": "k"})
        )


def test_secrets_stay_out_of_reprs() -> None:
    config = OpenAIRealtimeConfig(
        api_key="sk-secret-1", headers={"Authorization": "Bearer sk-secret-2"}
    )
    text = repr(config) + repr(OpenAIRealtimeLink(config))
    assert "sk-secret" not in text
    assert "<redacted>" in text


# -- talking to a peer ------------------------------------------------------------------------


async def test_events_flow_both_ways_and_bad_frames_become_values() -> None:
    received: list[str] = []
    seen: list[WebSocketRequest] = []

    async def script(ws: WebSocketConnection) -> None:
        await ws.send_message(SESSION_CREATED)
        received.append(str(await ws.get_message()))
        await ws.send_message("not json")
        await ws.send_message(json.dumps({"type": "brand.new.event", "x": 1}))
        await ws.send_message(b'{"type": "input_audio_buffer.cleared", "event_id": "e2"}')
        await ws.get_message()  # until the client closes

    async with fake_server(script, seen) as url:
        config = OpenAIRealtimeConfig(url=url, api_key="sk-test", keepalive_interval=None)
        async with open_openai_realtime(config) as link:
            assert isinstance(await link.receive(), LinkConnected)
            created = await link.receive()
            assert isinstance(created, SessionCreated)
            await link.send(InputAudioBufferAppend(audio=b"\x01\x02"))
            bad = await link.receive()
            assert isinstance(bad, ServerProtocolError)
            unknown = await link.receive()
            assert isinstance(unknown, UnknownServerEvent)
            assert unknown.type == "brand.new.event"
            cleared = await link.receive()
            assert isinstance(cleared, InputAudioBufferCleared)
            stats = link.statistics()
            assert stats.state == "open"
            assert stats.messages_received == 4
            assert stats.protocol_errors == 1
        assert link.statistics().state == "closed"

    assert json.loads(received[0]) == {"type": "input_audio_buffer.append", "audio": "AQI="}
    headers = {k.decode().lower(): v.decode() for k, v in seen[0].headers}
    assert headers["authorization"] == "Bearer sk-test"
    assert "openai-beta" not in headers
    assert seen[0].path == "/v1/realtime?model=gpt-realtime"


async def test_peer_close_is_reported_once_then_the_stream_ends() -> None:
    async def script(ws: WebSocketConnection) -> None:
        await ws.send_message(SESSION_CREATED)
        await ws.aclose(code=4000, reason="going away")

    async with fake_server(script, []) as url:
        config = OpenAIRealtimeConfig(url=url, keepalive_interval=None)
        async with open_openai_realtime(config) as link:
            events = [event async for event in link]
            assert [type(e) for e in events] == [LinkConnected, SessionCreated, LinkClosed]
            closed = events[-1]
            assert isinstance(closed, LinkClosed)
            assert (closed.code, closed.reason, closed.by) == (4000, "going away", "peer")
            with pytest.raises(ModelLinkError, match="closed"):
                await link.send(InputAudioBufferAppend(audio=b"\x00\x00"))


async def test_oversized_message_closes_with_1009() -> None:
    async def script(ws: WebSocketConnection) -> None:
        await ws.send_message(json.dumps({"type": "x", "pad": "a" * 5000}))
        await ws.get_message()

    async with fake_server(script, []) as url:
        config = OpenAIRealtimeConfig(url=url, max_message_size=1000, keepalive_interval=None)
        async with open_openai_realtime(config) as link:
            events = [event async for event in link]
    closed = events[-1]
    assert isinstance(closed, LinkClosed)
    assert (closed.code, closed.by) == (1009, "error")


async def test_close_is_idempotent_and_tells_the_peer() -> None:
    closed_with: list[object] = []

    async def script(ws: WebSocketConnection) -> None:
        try:
            await ws.get_message()
        except ConnectionClosed as exc:
            closed_with.append(exc.reason.code if exc.reason else None)

    async with fake_server(script, []) as url:
        config = OpenAIRealtimeConfig(url=url, keepalive_interval=None)
        async with trio.open_nursery() as nursery:
            link = OpenAIRealtimeLink(config)
            await nursery.start(link.run)
            await link.aclose()
            await link.aclose()
        events = [event async for event in link]
        assert isinstance(events[-1], LinkClosed)
        assert events[-1].by == "local"
        await trio.sleep(0.05)
    assert closed_with == [1000]


async def test_refused_connection_is_a_clean_error() -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connection refused
        config = OpenAIRealtimeConfig(url=f"ws://127.0.0.1:{port}/", api_key="sk-hidden")
        with pytest.raises(ModelLinkError, match="could not connect") as info:
            async with open_openai_realtime(config):
                pass  # pragma: no cover
    assert "sk-hidden" not in str(info.value)


async def test_rejected_handshake_is_a_clean_error() -> None:
    async def handler(request: WebSocketRequest) -> None:
        await request.reject(401, body=b"bad key")

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
        config = OpenAIRealtimeConfig(url=f"ws://127.0.0.1:{server.port}/", api_key="sk-hidden")
        with pytest.raises(ModelLinkError, match="HTTP 401") as info:
            async with open_openai_realtime(config):
                pass  # pragma: no cover
        assert "sk-hidden" not in str(info.value)
        nursery.cancel_scope.cancel()


# -- timing paths, over memory streams with the autojump clock --------------------------------


def memory_connector(server_script: Callable[[WebSocketConnection], object]) -> Connector:
    """A connector that runs a trio-websocket server over an in-memory stream pair."""

    async def connect(
        nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], size: int
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        client_stream, server_stream = trio.testing.memory_stream_pair()

        async def serve() -> None:
            request = await wrap_server_stream(nursery, server_stream)
            ws = await request.accept()
            with contextlib.suppress(ConnectionClosed):
                await server_script(ws)  # type: ignore[misc]

        nursery.start_soon(serve)
        ws = await wrap_client_stream(
            nursery,
            client_stream,  # type: ignore[arg-type]  # any trio Stream works
            "local",
            "/",
            extra_headers=headers,
            max_message_size=size,
        )
        return ws, client_stream

    return connect


async def test_keepalive_closes_a_silent_peer(autojump_clock: trio.testing.MockClock) -> None:
    async def frozen(ws: WebSocketConnection) -> None:
        # Stop this side's reader too, so pings go unanswered, then never return.
        ws._reader_running = False
        await trio.sleep_forever()

    config = OpenAIRealtimeConfig(url="ws://local/", keepalive_interval=5, keepalive_timeout=3)
    start = trio.current_time()
    async with open_openai_realtime(config, connector=memory_connector(frozen)) as link:
        events = [event async for event in link]
    closed = events[-1]
    assert isinstance(closed, LinkClosed)
    assert closed.by == "keepalive"
    assert 8 <= trio.current_time() - start < 20


async def test_connect_timeout(autojump_clock: trio.testing.MockClock) -> None:
    async def never(
        nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], size: int
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        await trio.sleep_forever()
        raise AssertionError  # pragma: no cover

    config = OpenAIRealtimeConfig(url="ws://local/", connect_timeout=7)
    with pytest.raises(ModelLinkError, match="timed out"):
        async with open_openai_realtime(config, connector=never):
            pass  # pragma: no cover
    assert trio.current_time() == pytest.approx(7)


async def test_pings_keep_a_healthy_link_open(autojump_clock: trio.testing.MockClock) -> None:
    async def idle(ws: WebSocketConnection) -> None:
        await ws.get_message()

    config = OpenAIRealtimeConfig(url="ws://local/", keepalive_interval=5, keepalive_timeout=3)
    async with open_openai_realtime(config, connector=memory_connector(idle)) as link:
        await trio.sleep(60)
        assert link.statistics().state == "open"
        assert link.statistics().pings >= 10


def test_send_queue_is_bounded() -> None:
    """send_nowait (synchronous paths) may use a reserve as large as the queue, never more."""
    link = OpenAIRealtimeLink(OpenAIRealtimeConfig(url="ws://local/", send_queue_size=2))
    for _ in range(4):
        link.send_nowait("{}")
    with pytest.raises(trio.WouldBlock):
        link.send_nowait("{}")
    assert link.statistics().send_queue_used == 4
    assert link.statistics().send_queue_peak == 4


async def test_send_waits_while_the_queue_is_full(autojump_clock: trio.testing.MockClock) -> None:
    link = OpenAIRealtimeLink(OpenAIRealtimeConfig(url="ws://local/", send_queue_size=2))
    await link.send("{}")
    await link.send("{}")
    with trio.move_on_after(1) as waited:
        await link.send("{}")
    assert waited.cancelled_caught
    assert link.statistics().send_queue_used == 2


def test_audio_lane_drops_its_oldest_and_keeps_order_with_control() -> None:
    link = OpenAIRealtimeLink(OpenAIRealtimeConfig(url="ws://local/", audio_queue_size=2))
    link.send_audio_nowait('"a1"')
    link.send_nowait('"commit"')
    link.send_audio_nowait('"a2"')
    link.send_audio_nowait('"a3"')  # full: a1 goes
    stats = link.statistics()
    assert (stats.audio_queue_used, stats.audio_dropped, stats.send_queue_used) == (2, 1, 1)
    outbox = link._outbox
    assert [outbox.get_nowait() for _ in range(3)] == ['"commit"', '"a2"', '"a3"']
