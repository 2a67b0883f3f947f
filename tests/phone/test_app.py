"""The Twilio app in memory: its ASGI callable driven by an in-memory HTTP and WebSocket client,
the fake Twilio on the WebSocket, the local Realtime model in memory, on trio's mock clock."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import urlencode

import pytest
import trio
import trio.testing

from rtagents import RealtimeAgent, RealtimeRunConfig, native
from rtagents.phone import CallInfo, connect_stream_twiml, create_twilio_app
from rtagents.protocol import twilio as tw
from rtagents.protocol.webhooks import twilio_signature
from rtagents.testing import FakeTwilioPeer, TurnsResponder, local_model, silence, voice

TOKEN = "twilio-auth-token-0123456789"
FIELDS = {"From": "+15550100", "To": "+15550199", "CallSid": "CA0001", "AccountSid": "AC1"}
STORY = "Once upon a time there was a story that went on for a good few seconds. " * 3


Turns = TurnsResponder


def ulaw(pcm24k: bytes) -> bytes:
    return native.ulaw_encode(native.resample(pcm24k, 24000, 8000))


QUESTION = ulaw(silence(0.3) + voice(1.0) + silence(0.2))


class Closed(Exception):
    pass


class MemoryWebSocket:
    """A WebSocket client of an ASGI app, in memory, with the methods of a trio-websocket
    connection that :class:`FakeTwilioPeer` uses."""

    def __init__(self, app: Any, path: str, headers: dict[str, str]) -> None:
        self.app = app
        self.path = path
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self._to_app, self._app_in = trio.open_memory_channel[dict[str, Any]](math.inf)
        self._app_out, self._from_app = trio.open_memory_channel[dict[str, Any]](math.inf)
        self.close_code: int | None = None
        self.app_done = trio.Event()

    async def open(self, nursery: trio.Nursery) -> dict[str, Any]:
        """Connect; the app's answer (``websocket.accept`` or ``websocket.close``)."""
        path, _, query = self.path.partition("?")
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), *self.headers],
            "client": ("203.0.113.9", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
            "state": {},
        }

        async def run() -> None:
            try:
                await self.app(scope, self._app_in.receive, self._app_out.send)
            finally:
                self.app_done.set()

        nursery.start_soon(run)
        await self._to_app.send({"type": "websocket.connect"})
        answer = await self._from_app.receive()
        if answer["type"] == "websocket.close":
            self.close_code = answer.get("code", 1000)
        return answer

    async def send_message(self, message: str | bytes) -> None:
        if self.close_code is not None:
            raise Closed
        key = "text" if isinstance(message, str) else "bytes"
        await self._to_app.send({"type": "websocket.receive", key: message})

    async def get_message(self) -> str | bytes:
        if self.close_code is not None:
            raise Closed
        frame = await self._from_app.receive()
        if frame["type"] == "websocket.close":
            self.close_code = frame.get("code", 1000)
            raise Closed
        data: str | bytes = frame.get("text") or frame.get("bytes") or b""
        return data

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """The client goes (Twilio closing the socket, or the connection dropping)."""
        if self.close_code is None:
            self.close_code = code
            await self._to_app.send({"type": "websocket.disconnect", "code": code})
            await self._app_out.send({"type": "websocket.close", "code": code})  # wakes readers


async def post(
    app: Any, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """An HTTP form POST through the ASGI app: (status, headers, body)."""
    body = urlencode(fields).encode()
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            *extra,
        ],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    got = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], got, text.decode()


def app_for(model: Any = None, agent: Any = None, **kw: Any) -> Any:
    model = model or local_model(Turns("Hello, how can I help?"))
    config = RealtimeRunConfig(link_factory=model.link_factory)  # one link per call
    return create_twilio_app(agent or RealtimeAgent(name="Phone"), config=config, **kw)


async def open_call(
    nursery: trio.Nursery,
    app: Any,
    headers: dict[str, str] | None = None,
    **peer: Any,
) -> tuple[FakeTwilioPeer, MemoryWebSocket]:
    ws = MemoryWebSocket(app, "/twilio/media", headers or {})
    answer = await ws.open(nursery)
    assert answer["type"] == "websocket.accept", answer
    twilio = FakeTwilioPeer(ws, **peer)
    await nursery.start(twilio.run)
    return twilio, ws


# -- the webhook ---------------------------------------------------------------------------------


async def test_the_webhook_answers_the_stream_twiml_and_warns_once_without_a_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "rtagents.phone"):
        app = app_for()
    assert [r.getMessage() for r in caplog.records] == [
        "no Twilio auth token (TWILIO_AUTH_TOKEN): request signatures are not checked"
    ]
    status, headers, body = await post(app, "/twilio/voice", FIELDS)
    assert status == 200
    assert headers["content-type"].startswith("text/xml")
    params = {"From": "+15550100", "To": "+15550199", "CallSid": "CA0001"}
    assert body == connect_stream_twiml("ws://testserver/twilio/media", params)


async def test_the_public_url_comes_from_the_forwarded_headers_or_public_url() -> None:
    app = app_for()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.ngrok.app"}
    _, _, body = await post(app, "/twilio/voice", {"CallSid": "CA1"}, forwarded)
    assert body == connect_stream_twiml("wss://abc.ngrok.app/twilio/media", {"CallSid": "CA1"})
    _, _, body = await post(app, "/twilio/voice", {}, {"X-Forwarded-Proto": "https, http"})
    assert body == connect_stream_twiml("wss://testserver/twilio/media", {})
    app = app_for(public_url="https://phone.example.com/")
    _, _, body = await post(app, "/twilio/voice", {}, forwarded)
    assert body == connect_stream_twiml("wss://phone.example.com/twilio/media", {})


async def test_with_a_token_only_a_correctly_signed_webhook_is_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_for(auth_token=TOKEN)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.ngrok.app"}
    url = "https://abc.ngrok.app/twilio/voice"
    signature = twilio_signature(TOKEN, url, FIELDS)
    signed = {**forwarded, "X-Twilio-Signature": signature}
    status, _, body = await post(app, "/twilio/voice", FIELDS, signed)
    assert status == 200
    assert '<Connect><Stream url="wss://abc.ngrok.app/twilio/media">' in body
    sha256 = twilio_signature(TOKEN, url, FIELDS, sha256=True)
    headers = {
        **forwarded,
        "X-Twilio-Signature": sha256,
        "X-Twilio-Webhooks-Signature-Settings": "sha256",
    }
    assert (await post(app, "/twilio/voice", FIELDS, headers))[0] == 200
    with caplog.at_level(logging.WARNING, "rtagents.phone"):
        tampered = {**FIELDS, "From": "+15550666"}
        assert (await post(app, "/twilio/voice", tampered, signed))[0] == 403
        assert (await post(app, "/twilio/voice", FIELDS, forwarded))[0] == 403  # unsigned
        plain_http = {"X-Twilio-Signature": twilio_signature(TOKEN, url, FIELDS)}
        assert (await post(app, "/twilio/voice", FIELDS, plain_http))[0] == 403  # other URL
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert all(line.startswith("refused the voice webhook from 203.0.113.9: ") for line in lines)
    assert "not signed" in lines[1]
    assert not any(TOKEN in line or signature in line for line in lines)
    assert app.state.rtagents_phone.refused == {"voice webhook": 3}


# -- the media socket ----------------------------------------------------------------------------


async def test_with_a_token_only_a_signed_upgrade_is_accepted(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_for(auth_token=TOKEN)
    calls = app.state.rtagents_phone
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.ngrok.app"}
    signature = twilio_signature(TOKEN, "wss://abc.ngrok.app/twilio/media")
    async with trio.open_nursery() as nursery:
        with caplog.at_level(logging.WARNING, "rtagents.phone"):
            for headers in (
                forwarded,  # unsigned
                {**forwarded, "X-Twilio-Signature": signature + "x"},  # wrong
                {"X-Twilio-Signature": signature},  # signed for another URL
            ):
                refused = MemoryWebSocket(app, "/twilio/media", headers)
                answer = await refused.open(nursery)
                assert answer == {"type": "websocket.close", "code": 1008, "reason": ""}
                await refused.app_done.wait()
        assert calls.calls == []
        assert not calls.recent
        assert calls.refused == {"media stream": 3}
        assert not any(
            TOKEN in r.getMessage() or signature in r.getMessage() for r in caplog.records
        )
        twilio, _ = await open_call(nursery, app, {**forwarded, "X-Twilio-Signature": signature})
        twilio.talk(QUESTION)
        await trio.sleep(5)
        assert len(calls.calls) == 1
        assert any(isinstance(m, tw.OutboundMedia) for m in twilio.received)
        await twilio.hang_up()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert calls.calls == []
    assert [s.call_sid for s in calls.recent] == [twilio.call_sid]


async def test_a_call_gets_an_answer_back_as_media_and_marks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    built: list[CallInfo] = []

    def agent_for(info: CallInfo) -> RealtimeAgent[Any]:
        built.append(info)
        return RealtimeAgent(name="Phone")

    models: list[Any] = []

    def model() -> Any:  # `model=`: one model per call
        models.append(local_model(Turns("Hello, how can I help?")))
        return models[-1]

    app = create_twilio_app(agent_for, model=model)
    calls = app.state.rtagents_phone
    async with trio.open_nursery() as nursery:
        twilio, ws = await open_call(nursery, app, custom_parameters={"From": "+15550100"})
        twilio.talk(QUESTION)
        await trio.sleep(6)
        (call,) = calls.calls
        stats = call.statistics()
        await twilio.hang_up()
        await ws.app_done.wait()
        nursery.cancel_scope.cancel()
    assert built[0].custom_parameters == {"From": "+15550100"}
    assert len(models) == 1
    assert len(models[0].server.sessions) == 1
    media = [m for m in twilio.received if isinstance(m, tw.OutboundMedia)]
    marks = [m for m in twilio.received if isinstance(m, tw.OutboundMark)]
    assert media
    assert len(media) == len(marks) == stats.frames_out
    assert all(m.stream_sid == twilio.stream_sid for m in media)
    assert stats.marks_echoed == len(marks)
    assert stats.heard_ms > 500
    assert twilio.player.played_audio()  # the fake Twilio played the answer
    assert calls.calls == []
    assert [s.call_sid for s in calls.recent] == [twilio.call_sid]


async def test_two_concurrent_calls_are_independent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    built: list[CallInfo] = []

    def agent_for(info: CallInfo) -> RealtimeAgent[Any]:
        built.append(info)
        return RealtimeAgent(name="Phone")

    model = local_model(Turns("Hello, how can I help?"))
    app = app_for(model, agent_for)
    calls = app.state.rtagents_phone
    async with trio.open_nursery() as nursery:
        first, _ = await open_call(
            nursery, app, call_sid="CA01", stream_sid="MZ01", custom_parameters={"From": "+1"}
        )
        second, second_ws = await open_call(
            nursery, app, call_sid="CA02", stream_sid="MZ02", custom_parameters={"From": "+2"}
        )
        first.talk(QUESTION)  # only the first caller speaks at first
        await trio.sleep(5)
        assert len(calls.calls) == 2
        assert any(isinstance(m, tw.OutboundMedia) for m in first.received)
        assert not any(isinstance(m, tw.OutboundMedia) for m in second.received)
        await first.hang_up()  # the first hangs up; the second goes on and is answered
        await trio.sleep(1)
        assert [c.statistics().call_sid for c in calls.calls] == ["CA02"]
        second.talk(QUESTION)
        await trio.sleep(5)
        assert any(isinstance(m, tw.OutboundMedia) for m in second.received)
        await second.hang_up()
        await second_ws.app_done.wait()
        nursery.cancel_scope.cancel()
    assert sorted(i.custom_parameters["From"] for i in built) == ["+1", "+2"]
    assert {m.stream_sid for m in first.received} == {"MZ01"}
    assert {m.stream_sid for m in second.received} == {"MZ02"}
    assert [s.call_sid for s in calls.recent] == ["CA01", "CA02"]
    assert len(model.server.sessions) == 2


async def test_a_socket_dropping_mid_answer_ends_the_call_and_cleans_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Turns(STORY), pace=0.05)
    app = app_for(model)
    calls = app.state.rtagents_phone
    async with trio.open_nursery() as nursery:
        twilio, ws = await open_call(nursery, app)
        twilio.talk(QUESTION)
        with trio.fail_after(30):
            while not any(isinstance(m, tw.OutboundMedia) for m in twilio.received):  # noqa: ASYNC110
                await trio.sleep(0.1)
        await trio.sleep(1)  # the answer is playing
        assert len(calls.calls) == 1
        await ws.aclose(1006)  # no `stop`: the connection just goes
        with trio.fail_after(10):
            await ws.app_done.wait()
        nursery.cancel_scope.cancel()
    assert calls.calls == []
    (stats,) = calls.recent
    assert stats.frames_out > 0
    assert stats.heard_ms < 20_000  # it stopped: the story is longer than what was sent


async def test_past_max_calls_the_upgrade_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = app_for(max_calls=1)
    async with trio.open_nursery() as nursery:
        twilio, _ = await open_call(nursery, app)
        await trio.sleep(0.5)
        extra = MemoryWebSocket(app, "/twilio/media", {})
        assert (await extra.open(nursery))["type"] == "websocket.close"
        await twilio.hang_up()
        await trio.sleep(1)
        again, _ = await open_call(nursery, app)  # room again
        await again.hang_up()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert app.state.rtagents_phone.refused == {"media stream": 1}
