"""Hostile and broken clients of the local server: each only ever costs its own connection.

Reproductions from the reliability issue, on trio's MockClock (virtual time, no real sleeps):
a slow reader that disconnects, a client that stops reading, handshakes never completed,
floods of events and bytes, oversized messages, and the server's memory of closed sessions.
"""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from trio_websocket import CloseReason, ConnectionClosed, wrap_client_stream

from rtagents import RealtimeAgent, RealtimeRunConfig, open_session
from rtagents import protocol as p
from rtagents.local import LocalServer, open_local_realtime_server
from rtagents.local._limits import Limits
from rtagents.local._server import KEEP_CLOSED, serve_stream
from rtagents.testing import local_model
from tests.local.test_hardening_support import RawClient, is_done, memory_client, user_text

LIMITS = Limits()


async def read_until_closed(client: RawClient) -> CloseReason:
    """Read every event left; how the server closed the connection."""
    with pytest.raises(ConnectionClosed) as closed:  # noqa: PT012 (reads until it raises)
        while True:
            await client.receive()
    reason = closed.value.reason
    assert reason is not None
    return reason


async def test_a_slow_reader_that_disconnects_releases_its_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The client asks for a long story and keeps sending (a microphone would), but reads
    # nothing, then vanishes.  The server's writer learns it first; the reader and the response
    # task, parked on the full outgoing queue, must end too (they used to wait there forever,
    # holding the connection and its memory).
    server = LocalServer("memory", 0)
    async with memory_client(server=server, bounded=True) as client:
        await client.send(user_text("a story please"))
        await client.send(p.ResponseCreate())
        with trio.move_on_after(2.0):
            while True:  # each clear is answered by an event nobody reads
                await client.send(p.InputAudioBufferClear())
                await trio.sleep(0.01)
        await client.disconnect()
        with trio.fail_after(2 * LIMITS.close_timeout):
            await client.served.wait()
        assert server.open_sessions == []


async def test_a_client_that_stops_reading_is_closed_with_1008(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # It reads nothing for longer than the server's patience, then reads again: it gets what
    # was in flight, whole, and a close frame saying why.
    async with memory_client(bounded=True) as client:
        await client.send(user_text("a story please"))
        await client.send(p.ResponseCreate())
        await trio.sleep(LIMITS.slow_client_timeout + LIMITS.close_timeout / 2)
        with trio.fail_after(60):
            reason = await read_until_closed(client)
        assert reason.code == 1008
        assert "read nothing" in (reason.reason or "")
        with trio.fail_after(2 * LIMITS.close_timeout):
            await client.served.wait()


async def test_a_client_that_never_reads_again_is_released(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = LocalServer("memory", 0)
    async with memory_client(server=server, bounded=True) as client:
        await client.send(user_text("a story please"))
        await client.send(p.ResponseCreate())
        started = trio.current_time()
        with trio.fail_after(LIMITS.slow_client_timeout + 3 * LIMITS.close_timeout):
            await client.served.wait()
        assert trio.current_time() - started >= LIMITS.slow_client_timeout
        assert server.open_sessions == []


@pytest.mark.parametrize("sent", [b"", b"GET /v1/realtime HTTP/1.1\r\nHost: memory\r\n"])
async def test_a_handshake_never_completed_is_dropped(
    autojump_clock: trio.testing.MockClock, sent: bytes
) -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_stream, server_stream)
        if sent:
            await client_stream.send_all(sent)
        with trio.fail_after(30):
            while await client_stream.receive_some():  # until the server hangs up
                pass  # pragma: no cover
    assert trio.current_time() - started == pytest.approx(LIMITS.handshake_timeout, abs=0.1)


async def test_a_half_open_connection_on_the_socket_is_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_local_realtime_server() as server:
        stream = await trio.open_tcp_stream(server.host, server.port)
        started = trio.current_time()
        with trio.fail_after(30):
            assert await stream.receive_some() == b""
        assert trio.current_time() - started == pytest.approx(LIMITS.handshake_timeout, abs=0.5)
        await stream.aclose()


async def test_a_client_gone_during_the_handshake_ends_only_its_own_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The upgrade request arrives, then the client is gone before the server's answer.
    client_stream, server_stream = trio.testing.memory_stream_pair()
    request = (
        b"GET /v1/realtime HTTP/1.1\r\nHost: memory\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    await client_stream.send_all(request)
    await client_stream.aclose()
    with trio.fail_after(30):
        await serve_stream(server_stream)  # returns: raises nothing


async def test_a_flood_of_events_is_slowed_down_with_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    count = 3 * LIMITS.event_burst
    async with memory_client() as client:
        started = trio.current_time()
        clear = p.InputAudioBufferClear().to_json()
        async with trio.open_nursery() as nursery:

            async def flood() -> None:
                for _ in range(count):
                    await client.send(clear)

            nursery.start_soon(flood)
            events = await client.until(lambda e: isinstance(e, p.InputAudioBufferCleared))
            while sum(isinstance(e, p.InputAudioBufferCleared) for e in events) < count:
                events.append(await client.receive())
        elapsed = trio.current_time() - started
    errors = [e for e in events if isinstance(e, p.ErrorEvent)]
    assert [e.error.code for e in errors] == ["rate_limit_exceeded"] * len(errors)
    assert 1 <= len(errors) <= elapsed / 5 + 1  # one now and then, not one per event
    assert elapsed >= (count - LIMITS.event_burst) / LIMITS.events_per_second - 0.1


async def test_a_flood_of_bytes_is_slowed_down(autojump_clock: trio.testing.MockClock) -> None:
    mib = 2**20
    appends = 48
    async with memory_client() as client:
        started = trio.current_time()
        for _ in range(appends):  # silence: the buffer keeps only the newest 15 MiB
            await client.send(p.InputAudioBufferAppend(audio=bytes(mib)))
        await client.send(p.InputAudioBufferClear(event_id="last"))
        events = await client.until(lambda e: isinstance(e, p.InputAudioBufferCleared))
        elapsed = trio.current_time() - started
    codes = [e.error.code for e in events if isinstance(e, p.ErrorEvent)]
    assert codes == ["rate_limit_exceeded"]
    sent = appends * (mib * 4 // 3)  # base64
    assert elapsed >= (sent - LIMITS.byte_burst) / LIMITS.bytes_per_second - 0.1


async def test_a_message_over_the_size_limit_closes_the_connection_with_1009(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with memory_client() as client:
        audio = "A" * (LIMITS.max_message_bytes + 1)
        await client.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        with trio.fail_after(60):
            reason = await read_until_closed(client)
        assert reason.code == 1009
        with trio.fail_after(2 * LIMITS.close_timeout):
            await client.served.wait()


async def _one_connection(server: LocalServer, text: str) -> None:
    async with memory_client(server=server) as client:
        await client.send(user_text(text))
        await client.send(p.ResponseCreate(response=p.ResponseParams(output_modalities=("text",))))
        await client.until(is_done)


async def test_closed_sessions_are_forgotten_but_the_last_few_stay_readable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = LocalServer("memory", 0)
    for n in range(KEEP_CLOSED + 4):
        await _one_connection(server, f"hello number {n}")
    assert server.open_sessions == []
    kept = server.sessions
    assert len(kept) == KEEP_CLOSED
    firsts = [s.items[0].item.content[0].text for s in kept]  # type: ignore[union-attr]
    assert firsts == [f"hello number {n}" for n in range(4, KEEP_CLOSED + 4)]
    forgetful = LocalServer("memory", 0, keep_closed=0)
    await _one_connection(forgetful, "hi")
    assert forgetful.sessions == []


async def test_a_session_run_on_local_model_is_still_readable_after_it_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # How tests all over the project read the server's side of a finished session.
    model = local_model()
    config = RealtimeRunConfig(link_factory=model.link_factory)
    async with open_session(RealtimeAgent("A", instructions="Be brief."), config) as session:
        await session.send_message("hi")
        await trio.sleep(2)
    (state,) = model.server.sessions
    assert state.config.instructions == "Be brief."
    assert [type(s.item).__name__ for s in state.items] == ["MessageItem", "MessageItem"]
    assert model.server.open_sessions == []


async def test_the_socket_server_survives_hostile_clients_and_still_serves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_local_realtime_server() as server:
        # a client that connects and leaves at once, and one that sends garbage
        stream = await trio.open_tcp_stream(server.host, server.port)
        await stream.aclose()
        stream = await trio.open_tcp_stream(server.host, server.port)
        await stream.send_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        await stream.aclose()
        client_stream = await trio.open_tcp_stream(server.host, server.port)
        async with trio.open_nursery() as nursery:
            ws = await wrap_client_stream(nursery, client_stream, server.host, "/v1/realtime")
            assert json.loads(await ws.get_message())["type"] == "session.created"
            await ws.aclose()
