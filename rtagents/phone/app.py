"""``create_twilio_app``: your agent answering phone calls through Twilio Media Streams, as an
ASGI app (Starlette) on trio.

Theory of operation
-------------------
Two routes:

* ``POST /twilio/voice`` — the number's voice webhook.  It answers with TwiML
  (:func:`~rtagents.phone.twiml.connect_stream_twiml`) that connects the call to a bidirectional
  stream at ``wss://<public host>/twilio/media``, handing the webhook's ``From``, ``To`` and
  ``CallSid`` to the stream as ``<Parameter>``\\s (an agent factory sees them in
  :attr:`CallInfo.custom_parameters`).  The public host is ``public_url`` when given, else the
  request's ``X-Forwarded-Host`` / ``Host`` and ``X-Forwarded-Proto`` (behind ngrok or a proxy);
* ``WS /twilio/media`` — each connection is one call: a :class:`~rtagents.phone.TwilioCall` on
  an adapter of Starlette's WebSocket (a disconnect reads as ``None``; a send to a socket that
  is gone is dropped, and the disconnect ends the call).  When the call ends the app closes the
  socket (Twilio then goes on with the call's TwiML).

With ``auth_token`` (``TWILIO_AUTH_TOKEN``) both check ``X-Twilio-Signature``
(:func:`~rtagents.protocol.webhooks.verify_twilio`): the webhook on its public URL and form
fields, the upgrade on its ``wss://`` URL with no fields.  A request that fails gets 403 (the
upgrade is closed before it is accepted, which the server answers with 403) and one log line
with the reason and the client address, never the token or the signature.  Without a token the
app logs once that signatures are not checked.

Calls share nothing but the agent (a factory is built per call) and the model factory: a
process takes many (``max_calls`` bounds them; one more is refused before its upgrade).
``app.state.rtagents_phone`` (:class:`PhoneCalls`) holds the open calls and the statistics of the
last few that ended.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import trio
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from rtagents.apps.loader import DEMO_AGENT, AgentLike, resolve_agent
from rtagents.apps.loader import one_line as _one_line
from rtagents.config import RealtimeRunConfig
from rtagents.models import RealtimeModel, RealtimeModelConfig
from rtagents.phone.bridge import AudioMode, CallOptions, CallStatistics, TwilioCall
from rtagents.phone.twiml import connect_stream_twiml
from rtagents.protocol.webhooks import SignatureError, verify_twilio

log = logging.getLogger("rtagents.phone")

VOICE_PATH = "/twilio/voice"
MEDIA_PATH = "/twilio/media"
STATS_PATH = "/twilio/stats"
#: The webhook's fields handed to the stream as ``<Parameter>``\s.
FORWARDED_FIELDS = ("From", "To", "CallSid")

_GONE = (WebSocketDisconnect, RuntimeError, OSError, trio.BrokenResourceError)


class StarletteCallSocket:
    """Starlette's WebSocket as a :class:`~rtagents.phone.CallSocket`."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.closed = False

    async def send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.websocket.send_text(text)
        except _GONE:
            self.closed = True  # the reader sees the disconnect and ends the call

    async def receive(self) -> str | bytes | None:
        while not self.closed:
            try:
                message = await self.websocket.receive()
            except _GONE:
                break
            if message["type"] == "websocket.disconnect":
                break
            if message["type"] != "websocket.receive":
                continue
            data: str | bytes | None = message.get("text")
            if data is None:
                data = message.get("bytes")
            if data is not None:
                return data
        self.closed = True
        return None


def _first(value: str | None) -> str | None:
    return value.split(",")[0].strip() if value else None


def public_base(connection: HTTPConnection, public_url: str | None) -> tuple[str, str]:
    """``(scheme, host)`` the caller's side used: `public_url`'s, else the request's
    (``X-Forwarded-Proto`` and ``X-Forwarded-Host`` first)."""
    if public_url:
        parts = urlsplit(public_url)
        return parts.scheme, parts.netloc
    headers = connection.headers
    scheme = _first(headers.get("x-forwarded-proto")) or connection.url.scheme
    host = _first(headers.get("x-forwarded-host")) or headers.get("host") or connection.url.netloc
    return scheme.lower(), host


def _http(scheme: str) -> str:
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


def _ws(scheme: str) -> str:
    return {"http": "ws", "https": "wss"}.get(scheme, scheme)


def _with_query(url: str, connection: HTTPConnection) -> str:
    query = connection.url.query
    return f"{url}?{query}" if query else url


@attrs.define(eq=False)
class PhoneCalls:
    """The app's state (``app.state.rtagents_phone``): what it runs, the calls open now and the
    statistics of the last 16 that ended; what was refused, by reason."""

    agent: Any
    config: RealtimeRunConfig
    model: Callable[[], RealtimeModel] | None
    model_config: RealtimeModelConfig | None
    auth_token: str | None
    public_url: str | None
    recording_dir: Any
    max_calls: int
    options: CallOptions | None = None
    calls: list[TwilioCall] = attrs.field(factory=list)
    recent: deque[CallStatistics] = attrs.field(factory=lambda: deque(maxlen=16))
    refused: dict[str, int] = attrs.field(factory=dict)

    def _refuse(self, what: str, reason: str, connection: HTTPConnection) -> None:
        client = connection.client.host if connection.client else "?"
        self.refused[what] = self.refused.get(what, 0) + 1
        log.warning("refused the %s from %s: %s", what, client, reason)

    def _verify(
        self, connection: HTTPConnection, url: str, params: Mapping[str, list[str]] | None
    ) -> str | None:
        """None if the request may go on, else why not (no secret in it)."""
        if not self.auth_token:
            return None
        try:
            verify_twilio(
                self.auth_token,
                url,
                params,
                connection.headers.get("x-twilio-signature"),
                signature_settings=connection.headers.get("x-twilio-webhooks-signature-settings"),
            )
        except SignatureError as exc:
            return str(exc)
        return None

    def _url(self, connection: HTTPConnection, websocket: bool) -> str:
        scheme, host = public_base(connection, self.public_url)
        scheme = _ws(scheme) if websocket else _http(scheme)
        return _with_query(f"{scheme}://{host}{connection.url.path}", connection)

    async def voice(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        params: dict[str, list[str]] = {}
        for name, value in parse_qsl(body, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        refused = self._verify(request, self._url(request, websocket=False), params)
        if refused is not None:
            self._refuse("voice webhook", refused, request)
            return PlainTextResponse("forbidden", status_code=403)
        scheme, host = public_base(request, self.public_url)
        root = request.scope.get("root_path", "")  # mounted under a prefix: that prefix
        stream = f"{_ws(scheme)}://{host}{root}{MEDIA_PATH}"
        forwarded = {k: params[k][0] for k in FORWARDED_FIELDS if params.get(k)}
        return Response(connect_stream_twiml(stream, forwarded), media_type="text/xml")

    async def stats(self, request: Request) -> Response:
        """Every open and recently ended call's statistics, as JSON."""
        calls = [*self.recent, *(call.statistics() for call in self.calls)]
        body = {
            "pid": os.getpid(),  # which worker answered (rtagents serve twilio --workers N)
            "open": len(self.calls),
            "refused": self.refused,
            "calls": [attrs.asdict(c) for c in calls],
        }
        return JSONResponse(body)

    async def media(self, websocket: WebSocket) -> None:
        refused = self._verify(websocket, self._url(websocket, websocket=True), None)
        if refused is None and len(self.calls) >= self.max_calls:
            refused = f"{self.max_calls} calls are open"
        if refused is not None:
            self._refuse("media stream", refused, websocket)
            with contextlib.suppress(*_GONE):
                await websocket.close(code=1008)  # before accept: the upgrade gets 403
            return
        await websocket.accept()
        socket = StarletteCallSocket(websocket)
        call = TwilioCall(
            socket,
            self.agent,
            config=self.config,
            model=self.model,
            model_config=self.model_config,
            options=self.options,
            recording_dir=self.recording_dir,
        )
        self.calls.append(call)
        try:
            await call.run()
        except Exception as exc:  # one call failing is that call's end, not the server's
            log.warning("call %s failed: %s", call.statistics().call_sid, _one_line(exc))
        finally:
            self.calls.remove(call)
            self.recent.append(call.statistics())
            if not socket.closed:  # the call ended on our side: Twilio goes on with its TwiML
                with trio.move_on_after(1), contextlib.suppress(*_GONE):
                    await websocket.close(1000)


def create_twilio_app(
    agent: AgentLike = None,
    *,
    config: RealtimeRunConfig | Mapping[str, Any] | None = None,
    model: Callable[[], RealtimeModel] | None = None,
    model_config: RealtimeModelConfig | None = None,
    auth_token: str | None = None,
    public_url: str | None = None,
    recording_dir: Any = None,
    max_calls: int = 1000,
    options: CallOptions | None = None,
    stats: bool = False,
    audio: AudioMode | None = None,
) -> Starlette:
    """``POST /twilio/voice`` (the TwiML) and ``WS /twilio/media`` (the calls) for `agent`: a
    spec (``"module:attr"``, ``"file.py:attr"``; ``None``: the demo agent), a
    ``RealtimeAgent``, or a factory (called per call with its
    :class:`~rtagents.phone.CallInfo`; may be async).

    `config` is each call's run config (its audio is the call's, see `audio`; no source or sink);
    `model` makes each call's model (one per call); `model_config` the SDK's connection dict;
    `auth_token` Twilio's, to check ``X-Twilio-Signature`` (None: not checked, logged once);
    `public_url` where Twilio reaches this server (``https://host``, its path unused; default: each
    request's forwarded or own host); `recording_dir` a stereo WAV per call there; `stats`
    serves ``GET /twilio/stats`` (JSON: each open and recently ended call's statistics — call
    sids included, so only where the operator can reach it); `audio` the calls' session audio
    (``CallOptions.audio``, overriding `options`'): ``"pcmu"`` (μ-law 8 kHz passed through, the
    default) or ``"pcm16"`` (PCM16 24 kHz, converted per call by the fused native kernels).
    Raises :class:`~rtagents.apps.loader.AgentLoadError` for a spec that names no agent."""
    if max_calls < 1:
        raise ValueError("max_calls must be at least 1")
    if audio is not None:
        options = attrs.evolve(options or CallOptions(), audio=audio)  # (validated there)
    if public_url is not None and urlsplit(public_url).scheme not in ("https", "http", "wss", "ws"):
        raise ValueError(f"public_url must be an https:// URL, not {public_url!r}")
    source = resolve_agent(agent)
    if not auth_token:
        log.warning("no Twilio auth token (TWILIO_AUTH_TOKEN): request signatures are not checked")
    state = PhoneCalls(
        source,
        RealtimeRunConfig.coerce(config),
        model,
        model_config,
        auth_token or None,
        public_url.rstrip("/") if public_url else None,
        recording_dir,
        max_calls,
        options,
    )
    routes: list[Any] = [
        Route(VOICE_PATH, state.voice, methods=["POST"]),
        WebSocketRoute(MEDIA_PATH, state.media),
    ]
    if stats:
        routes.append(Route(STATS_PATH, state.stats, methods=["GET"]))
    app = Starlette(routes=routes)
    app.state.rtagents_phone = state
    return app


__all__ = ["DEMO_AGENT", "PhoneCalls", "StarletteCallSocket", "create_twilio_app"]
