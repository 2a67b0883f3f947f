"""A fake of OpenAI's side of SIP calls, in memory: webhooks, the Calls API, the call itself.

Theory of operation
-------------------
:class:`FakeSipProvider` plays OpenAI for :class:`rtagents.phone.SipService` (and ``rtagents
serve sip``) on trio's mock clock, nothing on the network:

* :meth:`~FakeSipProvider.place_call` is a SIP INVITE arriving: it makes a ``rtc_...`` call
  and delivers the signed ``realtime.call.incoming`` webhook (Standard Webhooks, with the
  provider's secret) through the ``deliver`` function it is given (a POST to the app);
  :meth:`~FakeSipProvider.signed_headers` signs any body (forged or replayed deliveries are the
  test's to make);
* :meth:`~FakeSipProvider.transport` answers the Calls API (``accept``, ``reject``, ``hangup``,
  ``refer``) for ``CallsClient(transport=..., base_url=FAKE_API)``: a Bearer key is required,
  an unknown or ended call is 404, an accept that names audio formats is refused with 400 (the
  SIP leg negotiates them); every request is kept in :attr:`~FakeSipProvider.requests`;
* accepting a call starts its **media leg**: a connection to the local Realtime server (real
  handshake and frames, over memory streams) whose session is the accepted one, with μ-law
  audio both ways as a phone line has.  :meth:`FakeSipCall.say` streams the caller's μ-law
  audio into it in real time (20 ms frames on the trio clock); the agent's audio the server
  produces is what the caller hears (:attr:`FakeSipCall.heard`);
* :meth:`~FakeSipProvider.model` is the model for the service's sessions: its links attach to
  ``/v1/realtime?call_id=...`` — a **control socket** onto the call's session, refused (404)
  for an unknown, rejected or ended call.  The call's events go to it (the ones before it
  attached first, so it starts with ``session.created``); by default without the audio deltas
  (whether OpenAI sends them on this socket is not documented, so nothing may rely on them);
  what it sends goes to the media leg, with any audio format it names stripped and counted in
  :attr:`FakeSipCall.format_violations`.  :meth:`FakeSipCall.press` sends a key press as
  ``input_audio_buffer.dtmf_event_received``; :meth:`FakeSipCall.hang_up` (or the API's
  ``hangup``) closes both sockets, the control one with 1000.

Run it in a nursery: ``provider = await nursery.start(FakeSipProvider(...).run)``;
:func:`provider_app` serves it on real sockets (for ``rtagents serve sip --api-base``).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    wrap_client_stream,
    wrap_server_stream,
)

from rtagents.local import LocalServer, Responder
from rtagents.local._server import serve_stream
from rtagents.local._transcriber import Transcriber
from rtagents.models import OpenAIRealtimeConfig, OpenAIRealtimeLink, RealtimeModel
from rtagents.protocol import calls as c
from rtagents.protocol.webhooks import standard_webhook_signature

#: The fake Calls API's base URL (for ``CallsClient(base_url=...)``).
FAKE_API = "https://sip.fake.invalid/v1"
FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz
#: Events a call keeps for a control socket that has not attached yet.
BACKLOG = 512

Deliver = Callable[[bytes, dict[str, str]], Awaitable[int]]


@attrs.define(eq=False)
class FakeSipCall:
    """One call at the fake provider; see the module docstring."""

    provider: FakeSipProvider
    incoming: c.IncomingCall
    state: str = "ringing"  # ringing | accepted | rejected | ended
    accept_body: dict[str, Any] | None = None
    reject_status: int | None = None
    refer_target: str | None = None
    webhook_status: int | None = None
    heard: bytearray = attrs.field(factory=bytearray)  # μ-law the caller heard
    control_sent: list[dict[str, Any]] = attrs.field(factory=list)  # what the control sent
    format_violations: int = 0
    attaches: int = 0
    changed: trio.Event = attrs.field(factory=trio.Event)
    ended: trio.Event = attrs.field(factory=trio.Event)
    _media: WebSocketConnection | None = None
    _control: WebSocketConnection | None = None
    _backlog: collections.deque[str] = attrs.field(
        factory=lambda: collections.deque(maxlen=BACKLOG)
    )

    @property
    def call_id(self) -> str:
        return self.incoming.call_id

    def _set(self, state: str) -> None:
        self.state = state
        self.changed.set()
        self.changed = trio.Event()
        if state in ("rejected", "ended"):
            self.ended.set()

    async def wait_state(self, *states: str) -> None:
        """Wait until the call is in one of `states`."""
        while self.state not in states:
            await self.changed.wait()

    async def say(self, ulaw: bytes, *, realtime: bool = True) -> None:
        """The caller speaks: `ulaw` (8 kHz) into the call, 20 ms at a time."""
        await self.wait_state("accepted", "ended", "rejected")
        for start in range(0, len(ulaw), FRAME_BYTES):
            if self._media is None or self.state != "accepted":
                return
            chunk = base64.b64encode(ulaw[start : start + FRAME_BYTES]).decode()
            append = {"type": "input_audio_buffer.append", "audio": chunk}
            try:
                await self._media.send_message(json.dumps(append))
            except ConnectionClosed:
                return
            if realtime:
                await trio.sleep(0.02)

    async def press(self, digit: str) -> None:
        """The caller presses a key (sent to the control socket, as OpenAI does)."""
        event = {
            "type": "input_audio_buffer.dtmf_event_received",
            "event": digit,
            "received_at": int(self.provider.clock()),
        }
        await self._to_control(json.dumps(event))

    async def hang_up(self) -> None:
        """The caller hangs up: both sockets close (the control one with 1000)."""
        if self.state == "ringing":
            self._set("ended")
            return
        await self._end("caller hung up")

    async def drop_control(self) -> None:
        """The control socket breaks (1011) while the call goes on: a client may attach again."""
        control, self._control = self._control, None
        if control is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await control.aclose(1011, "connection lost")

    async def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self._set("ended")
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            if self._control is not None:
                await self._control.aclose(1000, reason)
            if self._media is not None:
                await self._media.aclose()

    async def _to_control(self, message: str) -> None:
        if self._control is None:
            self._backlog.append(message)
            return
        try:
            await self._control.send_message(message)
        except ConnectionClosed:
            self._control = None

    async def _media_reader(self) -> None:
        assert self._media is not None
        while True:
            try:
                message = str(await self._media.get_message())
            except ConnectionClosed:
                break
            event = json.loads(message)
            if event.get("type") == "response.output_audio.delta":
                self.heard += base64.b64decode(event.get("delta", ""))
                if not self.provider.forward_audio:
                    continue
            await self._to_control(message)
        await self._end("the model's connection closed")

    async def _serve_control(self, ws: WebSocketConnection) -> None:
        self._control = ws
        self.attaches += 1
        while self._backlog and self._control is ws:
            await self._to_control(self._backlog.popleft())
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed:
                break
            event = json.loads(message)
            self.control_sent.append(event)
            if event.get("type") == "session.update":
                audio = (event.get("session") or {}).get("audio") or {}
                for side in ("input", "output"):
                    if isinstance(audio.get(side), dict) and audio[side].pop("format", None):
                        self.format_violations += 1
                message = json.dumps(event)
            if self._media is not None and self.state == "accepted":
                try:
                    await self._media.send_message(message)
                except ConnectionClosed:
                    break
        if self._control is ws:
            self._control = None


@attrs.define(eq=False)
class FakeSipProvider:
    """OpenAI's SIP side in memory; see the module docstring.  ``responder``, ``pace`` and
    ``transcriber`` are the local Realtime server's (as for
    :func:`rtagents.testing.local_model`); ``forward_audio`` sends the agent's audio deltas to
    control sockets too."""

    responder: Responder | None = None
    pace: float | None = None
    transcriber: Transcriber | None = None
    forward_audio: bool = False
    secret: str = attrs.field(
        factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(), repr=False
    )
    api_key: str = attrs.field(default="sk-fake-sip", repr=False)
    clock: Callable[[], float] = time.time
    server: LocalServer = attrs.field(factory=lambda: LocalServer("memory", 0))
    calls: dict[str, FakeSipCall] = attrs.field(factory=dict)
    requests: list[tuple[str, str, Any]] = attrs.field(factory=list)  # (action, call_id, body)
    _ids: itertools.count[int] = attrs.field(factory=itertools.count)
    _nursery: trio.Nursery | None = None

    async def run(
        self, *, task_status: trio.TaskStatus[FakeSipProvider] = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started(self)
            await trio.sleep_forever()

    # -- webhooks --------------------------------------------------------------------------------

    def signed_headers(
        self, body: bytes, *, webhook_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """Standard Webhooks headers for `body`, signed with the provider's secret."""
        webhook_id = webhook_id or f"wh_{next(self._ids):06d}"
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        signature = standard_webhook_signature(self.secret, webhook_id, stamp, body)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": stamp,
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    async def place_call(
        self,
        deliver: Deliver,
        *,
        sip_headers: Sequence[tuple[str, str]] = (
            ("From", '"Ada" <sip:+15550100@trunk.example>'),
            ("To", "<sip:+15550199@sip.api.openai.com>"),
        ),
        call_id: str | None = None,
    ) -> FakeSipCall:
        """An INVITE arrives: the call, after its webhook was delivered (its status in
        ``webhook_status``; an accept starts the media leg before that returns)."""
        number = next(self._ids)
        incoming = c.IncomingCall(
            event_id=f"evt_{number:06d}",
            call_id=call_id or f"rtc_{number:06d}{secrets.token_hex(4)}",
            created_at=int(self.clock()),
            sip_headers=tuple(sip_headers),
            sip_media_security="srtp",
        )
        call = FakeSipCall(self, incoming)
        self.calls[incoming.call_id] = call
        body = c.webhook_body(incoming)
        call.webhook_status = await deliver(body, self.signed_headers(body))
        return call

    # -- the Calls API ---------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """The Calls API, for ``CallsClient(transport=..., base_url=FAKE_API)``."""
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        def error(status: int, message: str) -> httpx.Response:
            return httpx.Response(status, json={"error": {"message": message}})

        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "Incorrect API key provided")
        parts = request.url.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 5 or parts[:3] != ["v1", "realtime", "calls"]:
            return error(404, "no such endpoint")
        call_id, action = parts[3], parts[4]
        body = json.loads(request.content) if request.content else None
        self.requests.append((action, call_id, body))
        call = self.calls.get(call_id)
        if call is None or call.state in ("ended", "rejected"):
            return error(404, f"call {call_id} not found")
        if action == "accept":
            return await self._accept(call, body)
        if action == "reject":
            if call.state != "ringing":
                return error(400, "the call was already answered")
            call.reject_status = (body or {}).get("status_code", 603)
            call._set("rejected")
        elif action == "hangup":
            await call._end("hung up by the API")
        elif action == "refer":
            call.refer_target = (body or {}).get("target_uri")
            await call._end("transferred")
        else:
            return error(404, "no such endpoint")
        return httpx.Response(200)

    async def _accept(self, call: FakeSipCall, body: Any) -> httpx.Response:
        if call.state != "ringing":
            return httpx.Response(400, json={"error": {"message": "already answered"}})
        if not isinstance(body, dict) or body.get("type") != "realtime":
            return httpx.Response(400, json={"error": {"message": "session.type must be realtime"}})
        audio = body.get("audio") or {}
        if any("format" in (audio.get(side) or {}) for side in ("input", "output")):
            message = "audio formats are negotiated by the SIP leg"
            return httpx.Response(400, json={"error": {"message": message}})
        call.accept_body = body
        await self._open_media(call)
        call._set("accepted")
        return httpx.Response(200)

    async def _open_media(self, call: FakeSipCall) -> None:
        assert self._nursery is not None, "run the provider first"
        client, server = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._serve, server)
        media = await wrap_client_stream(self._nursery, client, "memory", "/v1/realtime")  # type: ignore[arg-type]
        session = json.loads(json.dumps(call.accept_body))
        session.pop("model", None)
        audio = session.setdefault("audio", {})
        for side in ("input", "output"):
            audio.setdefault(side, {})["format"] = {"type": "audio/pcmu"}
        await media.send_message(json.dumps({"type": "session.update", "session": session}))
        call._media = media
        self._nursery.start_soon(call._media_reader)

    async def _serve(self, stream: trio.abc.Stream) -> None:
        await serve_stream(
            stream,
            responder=self.responder,
            pace=self.pace,
            server=self.server,
            transcriber=self.transcriber,
        )

    # -- control sockets -------------------------------------------------------------------------

    def model(self) -> RealtimeModel:
        """A model whose links attach to this provider's calls (``?call_id=``)."""
        return _ControlModel(self)

    async def _attach(
        self, nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], max_size: int
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        assert self._nursery is not None, "run the provider first"
        client, server = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._serve_control, server)
        path = urlsplit(url)
        target = path.path + (f"?{path.query}" if path.query else "")
        ws = await wrap_client_stream(
            nursery,
            client,  # type: ignore[arg-type]
            "memory",
            target,
            extra_headers=headers,
            max_message_size=max_size,
        )
        return ws, client

    async def _serve_control(self, stream: trio.abc.Stream) -> None:
        assert self._nursery is not None
        try:
            request = await wrap_server_stream(self._nursery, stream)
            call_id = parse_qs(urlsplit(request.path).query).get("call_id", [""])[0]
            call = self.calls.get(call_id)
            if call is None or call.state != "accepted":
                await request.reject(404, body=f"no call {call_id!r} to attach to".encode())
                return
            ws = await request.accept()
        except ConnectionClosed:
            return
        await call._serve_control(ws)


class _ControlModel(RealtimeModel):
    def __init__(self, provider: FakeSipProvider) -> None:
        self.provider = provider

    def open_link(self, config: OpenAIRealtimeConfig) -> OpenAIRealtimeLink:
        if config.call_id is None:
            raise ValueError("a SIP control socket needs model_config['call_id']")
        config = attrs.evolve(config, url="ws://memory/v1/realtime", api_key="unused")
        return OpenAIRealtimeLink(config, connector=self.provider._attach)


class _StarletteSocket:
    """A Starlette WebSocket with the three methods of a trio-websocket connection a call
    uses (``get_message``, ``send_message``, ``aclose``); a closed socket raises
    ``ConnectionClosed``."""

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket

    async def get_message(self) -> str:
        from starlette.websockets import WebSocketDisconnect

        try:
            message: str = await self.websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise ConnectionClosed(None) from exc
        return message

    async def send_message(self, message: str) -> None:
        try:
            await self.websocket.send_text(message)
        except (RuntimeError, OSError) as exc:
            raise ConnectionClosed(None) from exc

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            await self.websocket.close(code, reason)


def provider_app(provider: FakeSipProvider) -> Any:
    """The provider on real sockets, as an ASGI app (Starlette; serve it with hypercorn): the
    Calls API at ``/v1/realtime/calls/{call_id}/{action}`` and control sockets at
    ``/v1/realtime?call_id=...`` — for ``--api-base http://HOST:PORT/v1``.  The provider must
    be running (:meth:`FakeSipProvider.run`)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def calls(request: Request) -> Response:
        answer = await provider._handle(
            httpx.Request(
                request.method,
                str(request.url),
                headers=list(request.headers.items()),
                content=await request.body(),
            )
        )
        return Response(answer.content, answer.status_code, media_type="application/json")

    async def control(websocket: WebSocket) -> None:
        call = provider.calls.get(websocket.query_params.get("call_id", ""))
        if call is None or call.state != "accepted":
            await websocket.close(code=1008)  # before accept: the upgrade gets 403
            return
        await websocket.accept()
        await call._serve_control(_StarletteSocket(websocket))  # type: ignore[arg-type]

    return Starlette(
        routes=[
            Route("/v1/realtime/calls/{call_id}/{action}", calls, methods=["POST"]),
            WebSocketRoute("/v1/realtime", control),
        ]
    )


def deliver_to(client: httpx.AsyncClient, path: str = "/openai/webhook") -> Deliver:
    """A ``deliver`` function that POSTs webhooks to an app through `client`."""

    async def deliver(body: bytes, headers: Mapping[str, str]) -> int:
        answer = await client.post(path, content=body, headers=dict(headers))
        return answer.status_code

    return deliver
