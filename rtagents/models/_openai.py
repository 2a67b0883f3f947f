"""The model link: one OpenAI Realtime WebSocket, as a trio actor.

Theory of operation
-------------------
``OpenAIRealtimeLink.run`` connects (trio-websocket), reports readiness through
``task_status.started()`` and then runs three tasks in its own nursery until closed:

* the **writer**, the only task that writes to the socket, fed by the :class:`Outbox`: one FIFO
  of encoded client events in which control events are bounded with backpressure (``send``
  waits when full) and audio appends are bounded, either drop-oldest and counted
  (``send_audio_nowait``: a live microphone) or with backpressure (``send_audio``: the app's);
* the **reader**, which decodes each frame with the sans-IO codec and either calls the handler
  given to ``set_handler`` (synchronously, in the reader's task: a session routes each event
  there without another task hop) or, without one, hands the event to a bounded channel read
  with ``receive``/``async for`` (when that consumer stalls, the reader stops reading and TCP
  pushes back on the peer);
* the **keepalive**, which pings every ``keepalive_interval`` seconds and closes the link if no
  pong arrives within ``keepalive_timeout``.

The link never raises on what the peer sends: undecodable frames arrive as
``ServerProtocolError`` values, unknown types as ``UnknownServerEvent``, and the end of the
connection (peer close, network error, keepalive timeout, oversized message) as one final
``LinkClosed`` event, after which the event channel ends.  ``aclose`` is idempotent and bounded by
``close_timeout``.

Secrets: the API key lives only in the ``Authorization`` header built at connect time, held in
a :class:`SecretHeaders` whose repr shows header names only (so frame locals captured by a crash
reporter do not carry it).  It is kept out of reprs (``repr=False``), logs and exception
messages; a config's repr shows no header value at all.
"""

from __future__ import annotations

import inspect
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Final, Literal, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from rtagents._core.link_events import LinkClosed, LinkConnected
from rtagents.models._outbox import Outbox
from rtagents.protocol import (
    ClientEvent,
    ServerEvent,
    ServerProtocolError,
    UnknownServerEvent,
    decode_server_event,
)

DEFAULT_URL: Final = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL: Final = "gpt-realtime"


ApiKey: TypeAlias = str | Callable[[], str | Awaitable[str]]


class ModelLinkError(Exception):
    """The link could not be opened or used (never carries a secret)."""


@contextmanager
def _single_exceptions() -> Iterator[None]:
    """Re-raise a lone exception out of a nursery's ExceptionGroup as itself."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            only = group.exceptions[0]
            raise only from only.__cause__
        raise


def _redact_headers(headers: Mapping[str, str] | None) -> str:
    """Header names only: any custom header may carry a credential, so no value is shown."""
    if headers is None:
        return "None"
    return repr(dict.fromkeys(headers, "<redacted>"))


class SecretHeaders(list[tuple[bytes, bytes]]):
    """Request headers on their way to the socket.  A plain list would show the bearer token
    to anything that prints it — a log line, a debugger, a crash reporter that records the
    frame locals of a traceback; this one shows only the header names."""

    def __repr__(self) -> str:
        names = ", ".join(name.decode(errors="replace") for name, _ in self)
        return f"<headers: {names} (values hidden)>"

    __str__ = __repr__


@attrs.frozen(kw_only=True)
class OpenAIRealtimeConfig:
    """Where and how to connect.  Every field has a working default for api.openai.com.

    ``url`` overrides the endpoint (a local Realtime server, a proxy); ``model`` or ``call_id``
    is added to its query string unless the URL already names one (``model=``, ``call_id=``,
    ``deployment=``): such a URL is used as given.  Give ``model`` or ``call_id``, not both: a
    ``call_id`` attaches to an existing SIP/WebRTC call whose model was fixed when it was
    accepted.  ``api_key`` (a string, or a sync or async callable returning one, called at each
    connect) defaults to ``$OPENAI_API_KEY`` and becomes ``Authorization: Bearer``; it is
    required only for the default OpenAI endpoint.  ``headers``, when given, are sent *instead
    of* that Authorization header, as the OpenAI Agents SDK does — so an OpenAI key is never
    sent to an Azure or proxy endpoint that asked for other credentials (``{"api-key": ...}``).
    """

    model: str | None = DEFAULT_MODEL
    call_id: str | None = None
    api_key: ApiKey | None = attrs.field(default=None, repr=False)
    url: str = DEFAULT_URL
    headers: Mapping[str, str] | None = attrs.field(default=None, repr=_redact_headers)
    max_message_size: int = 32 * 2**20
    send_queue_size: int = 64
    # queued audio appends (1 s of 20 ms frames); full: drop oldest.  A session sets it from
    # RealtimeRunConfig.uplink_queue_frames.
    audio_queue_size: int = 50
    receive_queue_size: int = 64
    connect_timeout: float = 10.0
    # A dead peer is noticed within interval + timeout (5 s), then a session reconnects.
    keepalive_interval: float | None = 2.5
    keepalive_timeout: float = 2.5
    close_timeout: float = 2.0

    def __attrs_post_init__(self) -> None:
        if self.model is not None and self.call_id is not None:
            raise ValueError("give either model or call_id, not both (a call's model is fixed)")
        if urlsplit(self.url).scheme not in ("ws", "wss"):
            raise ValueError(f"url must be ws:// or wss://, got {urlsplit(self.url).scheme!r}")
        for name in (
            "max_message_size",
            "send_queue_size",
            "receive_queue_size",
            "audio_queue_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")

    def full_url(self) -> str:
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(name in _NAMING_KEYS for name, _ in query):
            return self.url  # the URL already says what to talk to: used as given
        if self.call_id is not None:
            query.append(("call_id", self.call_id))
        elif self.model is not None:
            query.append(("model", self.model))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def handshake_headers(
        self, environ: Mapping[str, str] | None = None, *, key: str | None = None
    ) -> list[tuple[str, str]]:
        """The request headers, Authorization included (so never log the result).  `key` is
        the API key already resolved (see :func:`get_api_key`); else ``api_key`` if it is a
        string, else ``$OPENAI_API_KEY``."""
        if self.headers is not None:
            return list(self.headers.items())  # given headers replace the Authorization header
        environ = os.environ if environ is None else environ
        if key is None:
            key = self.api_key if isinstance(self.api_key, str) else None
        if key is None:
            key = environ.get("OPENAI_API_KEY")
        if key:
            return [("Authorization", f"Bearer {key}")]
        if urlsplit(self.url).hostname == urlsplit(DEFAULT_URL).hostname:
            raise ModelLinkError(
                "no API key: pass api_key= or set OPENAI_API_KEY (or point url= at a local server)"
            )
        return []


#: Query keys that make a URL name its model (or call) already.
_NAMING_KEYS: Final = frozenset({"model", "call_id", "deployment"})


async def get_api_key(key: ApiKey | None) -> str | None:
    """The SDK's ``get_api_key``: a string as is, a callable called (and awaited if it returns
    an awaitable), else ``$OPENAI_API_KEY``."""
    if isinstance(key, str):
        return key
    if callable(key):
        result = key()
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, str):
            raise ModelLinkError(f"the api_key callable returned {type(result).__name__}")
        return result
    return os.environ.get("OPENAI_API_KEY")


LinkEvent: TypeAlias = (
    ServerEvent | UnknownServerEvent | ServerProtocolError | LinkConnected | LinkClosed
)


@attrs.frozen(kw_only=True)
class LinkStatistics:
    state: Literal["new", "connecting", "open", "closed"]
    messages_sent: int
    bytes_sent: int
    messages_received: int
    bytes_received: int
    protocol_errors: int
    send_queue_used: int
    send_queue_peak: int
    audio_queue_used: int
    audio_queue_peak: int
    audio_dropped: int  # oldest queued audio appends dropped because the socket fell behind
    receive_queue_used: int
    pings: int


#: Opens the transport and the WebSocket on it: (nursery, url, headers, max message size) ->
#: (connection, the stream under it).  The link closes that stream itself when it ends:
#: trio-websocket's client leaves it open after a close initiated by the peer.
Connector: TypeAlias = Callable[
    [trio.Nursery, str, list[tuple[bytes, bytes]], int],
    Awaitable[tuple[WebSocketConnection, trio.abc.AsyncResource]],
]


async def _connect(
    nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], max_size: int
) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    stream: trio.abc.Stream
    if secure:
        stream = await trio.open_ssl_over_tcp_stream(
            host, port, ssl_context=ssl.create_default_context(), https_compatible=True
        )
    else:
        stream = await trio.open_tcp_stream(host, port)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    try:
        ws = await wrap_client_stream(
            nursery, stream, host_header, resource, extra_headers=headers, max_message_size=max_size
        )
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return ws, stream


@attrs.define(eq=False)
class OpenAIRealtimeLink:
    """One Realtime WebSocket connection.  Start it with ``await nursery.start(link.run)``.

    ``send`` queues a client event for the writer; ``receive`` (or ``async for``) yields server
    events, protocol-error values and the link's own ``LinkConnected``/``LinkClosed``.
    """

    config: OpenAIRealtimeConfig = attrs.field(factory=OpenAIRealtimeConfig)
    _connector: Connector = attrs.field(default=_connect, alias="connector", repr=False)
    _outbox: Outbox = attrs.field(init=False, repr=False)
    _handler: Callable[[LinkEvent], None] | None = attrs.field(init=False, default=None, repr=False)
    _recv_tx: trio.MemorySendChannel[LinkEvent] = attrs.field(init=False, repr=False)
    _recv_rx: trio.MemoryReceiveChannel[LinkEvent] = attrs.field(init=False, repr=False)
    _state: Literal["new", "connecting", "open", "closed"] = attrs.field(init=False, default="new")
    _ws: WebSocketConnection | None = attrs.field(init=False, default=None, repr=False)
    _scope: trio.CancelScope | None = attrs.field(init=False, default=None, repr=False)
    _tasks_scope: trio.CancelScope | None = attrs.field(init=False, default=None, repr=False)
    _done: trio.Event = attrs.field(init=False, factory=trio.Event, repr=False)
    _closing_by: Literal["peer", "local", "keepalive", "error"] | None = attrs.field(
        init=False, default=None, repr=False
    )
    _counts: dict[str, int] = attrs.field(init=False, repr=False)
    _close_reported: bool = attrs.field(init=False, default=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Outgoing: see Outbox (control waits when full, audio drops its oldest).  Incoming: a
        # bounded channel that never drops: the reader waits (TCP backpressure) instead.
        self._outbox = Outbox(self.config.send_queue_size, self.config.audio_queue_size)
        self._recv_tx, self._recv_rx = trio.open_memory_channel[LinkEvent](
            self.config.receive_queue_size
        )
        self._counts = dict.fromkeys(
            ("messages_sent", "bytes_sent", "messages_received", "bytes_received"), 0
        ) | {"protocol_errors": 0, "pings": 0}

    def set_handler(self, handler: Callable[[LinkEvent], None]) -> None:
        """Deliver every event to ``handler`` (called synchronously in the reader task) instead
        of the receive channel.  Set it before ``run``; the handler must not block or raise."""
        if self._state != "new":
            raise ModelLinkError("set the handler before the link runs")
        self._handler = handler

    async def _publish(self, event: LinkEvent) -> None:
        if self._handler is not None:
            self._handler(event)
        else:
            await self._recv_tx.send(event)

    # -- actor ----------------------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[OpenAIRealtimeLink] = trio.TASK_STATUS_IGNORED
    ) -> None:
        if self._state != "new":
            raise ModelLinkError("a link runs once; make a new one to reconnect")
        self._state = "connecting"
        url = self.config.full_url()
        headers = SecretHeaders(
            (k.encode(), v.encode())
            for k, v in self.config.handshake_headers(key=await get_api_key(self.config.api_key))
        )
        try:
            with _single_exceptions(), trio.CancelScope() as scope:
                self._scope = scope
                # The outer nursery holds trio-websocket's own tasks, the inner one ours.
                async with trio.open_nursery() as nursery:
                    ws, transport = await self._open(nursery, url, headers)
                    self._ws = ws
                    self._state = "open"
                    await self._publish(LinkConnected(url=url))
                    task_status.started(self)
                    async with trio.open_nursery() as tasks:
                        self._tasks_scope = tasks.cancel_scope
                        tasks.start_soon(self._writer, ws)
                        if self.config.keepalive_interval is not None:
                            tasks.start_soon(self._keepalive, ws)
                        await self._reader(ws)
                        tasks.cancel_scope.cancel()
                    # Let the connection finish its closing handshake, but not forever.
                    nursery.cancel_scope.deadline = trio.current_time() + self.config.close_timeout
                    try:
                        await ws.aclose()
                    finally:
                        await trio.aclose_forcefully(transport)
        except ConnectionRejected as exc:
            # raised by trio-websocket's reader task, so it arrives here rather than in _open
            raise ModelLinkError(f"{url} rejected the connection: HTTP {exc.status_code}") from None
        except HandshakeError as exc:
            raise ModelLinkError(f"WebSocket handshake with {url} failed: {exc!r}") from None
        finally:
            self._state = "closed"
            self._outbox.close()
            self._recv_tx.close()
            self._done.set()

    async def _open(
        self, nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]]
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        try:
            with trio.fail_after(self.config.connect_timeout):
                return await self._connector(nursery, url, headers, self.config.max_message_size)
        except trio.TooSlowError:
            raise ModelLinkError(f"timed out connecting to {url}") from None
        except ConnectionRejected as exc:
            raise ModelLinkError(f"{url} rejected the connection: HTTP {exc.status_code}") from None
        except (HandshakeError, OSError) as exc:
            raise ModelLinkError(f"could not connect to {url}: {type(exc).__name__}") from None

    async def _reader(self, ws: WebSocketConnection) -> None:
        counts = self._counts
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed as exc:
                code = exc.reason.code if exc.reason is not None else None
                reason = (exc.reason.reason or "") if exc.reason is not None else ""
                by = self._closing_by or ("error" if code == 1009 else "peer")
                await self._report_closed(LinkClosed(code=code, reason=reason, by=by))
                return
            counts["messages_received"] += 1
            counts["bytes_received"] += len(message)
            event = decode_server_event(message)
            if isinstance(event, ServerProtocolError):
                counts["protocol_errors"] += 1
            handler = self._handler
            if handler is not None:
                handler(event)
            else:
                await self._recv_tx.send(event)

    async def _writer(self, ws: WebSocketConnection) -> None:
        counts = self._counts
        outbox = self._outbox
        while True:
            try:
                text = await outbox.get()
            except trio.EndOfChannel:
                return
            try:
                await ws.send_message(text)
            except ConnectionClosed:
                return  # the reader reports how the connection ended
            counts["messages_sent"] += 1
            counts["bytes_sent"] += len(text)

    async def _keepalive(self, ws: WebSocketConnection) -> None:
        interval = self.config.keepalive_interval
        assert interval is not None
        while True:
            await trio.sleep(interval)
            with trio.move_on_after(self.config.keepalive_timeout) as waited:
                try:
                    await ws.ping()
                except ConnectionClosed:
                    return
            self._counts["pings"] += 1
            if waited.cancelled_caught:
                # The peer is gone or stuck: report, try to say goodbye, and stop everything
                # (the reader may never hear back from a dead socket).
                self._closing_by = "keepalive"
                await self._report_closed(
                    LinkClosed(code=1011, reason="keepalive timeout", by="keepalive")
                )
                with trio.move_on_after(self.config.close_timeout):
                    await ws.aclose(code=1011, reason="keepalive timeout")
                assert self._tasks_scope is not None
                self._tasks_scope.cancel()  # the reader may never hear from a dead socket
                return

    async def _report_closed(self, event: LinkClosed) -> None:
        if not self._close_reported:
            self._close_reported = True
            await self._publish(event)

    # -- public API -----------------------------------------------------------------------------

    async def send(self, event: ClientEvent | str) -> None:
        """Queue a client event (or pre-encoded JSON text); waits while the queue is full."""
        text = event if isinstance(event, str) else event.to_json()
        try:
            await self._outbox.put(text)
        except trio.ClosedResourceError:
            raise ModelLinkError("the model link is closed") from None

    def send_nowait(self, event: ClientEvent | str) -> None:
        """Queue without waiting; raises ``trio.WouldBlock`` when the queue is full."""
        text = event if isinstance(event, str) else event.to_json()
        try:
            self._outbox.put_nowait(text)
        except trio.ClosedResourceError:
            raise ModelLinkError("the model link is closed") from None

    def send_audio_nowait(self, event: ClientEvent | str) -> None:
        """Queue an ``input_audio_buffer.append`` (never waits: when the audio lane is full its
        oldest append is dropped and counted).  Raises ``ModelLinkError`` once closed."""
        text = event if isinstance(event, str) else event.to_json()
        try:
            self._outbox.put_audio_nowait(text)
        except trio.ClosedResourceError:
            raise ModelLinkError("the model link is closed") from None

    async def send_audio(self, event: ClientEvent | str) -> None:
        """Queue an ``input_audio_buffer.append``, waiting while the audio lane is full
        (backpressure for audio the app pushes: nothing dropped).  A cancel point; a schedule
        point only when it waits.  Raises ``ModelLinkError`` once closed."""
        text = event if isinstance(event, str) else event.to_json()
        try:
            await self._outbox.put_audio(text)
        except trio.ClosedResourceError:
            raise ModelLinkError("the model link is closed") from None

    async def receive(self) -> LinkEvent:
        """The next event; raises ``trio.EndOfChannel`` after ``LinkClosed`` has been received."""
        return await self._recv_rx.receive()

    def __aiter__(self) -> AsyncIterator[LinkEvent]:
        return self._recv_rx.__aiter__()

    async def aclose(self) -> None:
        """Close the connection (code 1000) and stop the tasks.  Safe to call more than once.

        Waits at most ``close_timeout`` for the closing handshake and for the reader to report
        ``LinkClosed``; after that the link's tasks are cancelled.
        """
        if self._state == "new":
            self._state = "closed"
            self._outbox.close()
            self._recv_tx.close()
            self._done.set()
            return
        if self._closing_by is None:
            self._closing_by = "local"
            ws = self._ws
            with trio.move_on_after(self.config.close_timeout) as scope:
                scope.shield = True
                if ws is not None:
                    await ws.aclose(code=1000, reason="client closed")  # idempotent
                    await self._done.wait()
            if self._scope is not None:
                self._scope.cancel()
        await self._done.wait()

    def statistics(self) -> LinkStatistics:
        counts = self._counts
        return LinkStatistics(
            state=self._state,
            messages_sent=counts["messages_sent"],
            bytes_sent=counts["bytes_sent"],
            messages_received=counts["messages_received"],
            bytes_received=counts["bytes_received"],
            protocol_errors=counts["protocol_errors"],
            send_queue_used=self._outbox.control_used,
            send_queue_peak=self._outbox.control_peak,
            audio_queue_used=self._outbox.audio_used,
            audio_queue_peak=self._outbox.audio_peak,
            audio_dropped=self._outbox.audio_dropped,
            receive_queue_used=self._recv_rx.statistics().current_buffer_used,
            pings=counts["pings"],
        )


@asynccontextmanager
async def open_openai_realtime(
    config: OpenAIRealtimeConfig | None = None, *, connector: Connector | None = None
) -> AsyncIterator[OpenAIRealtimeLink]:
    """Connect, yield the open link, close it on exit (for use outside a session nursery).

    The nursery this hides would wrap every exception in an ``ExceptionGroup``; a lone one is
    unwrapped, so ``ModelLinkError`` (or the caller's own exception) comes out as itself.
    """
    link = OpenAIRealtimeLink(config or OpenAIRealtimeConfig(), connector=connector or _connect)
    with _single_exceptions():
        async with trio.open_nursery() as nursery:
            await nursery.start(link.run)
            try:
                yield link
            finally:
                await link.aclose()
