"""The local Realtime server: the sans-IO session core behind a trio-websocket listener.

Theory of operation
-------------------
Each WebSocket connection gets a :class:`ServerSession` (all protocol state and decisions) and a
:class:`~._connection.Connection` running its tasks (reader, writer, responses, ears: see
_connection.py).  The connection's bounds (handshake timeout, message size, event and byte
budgets, outgoing queue, slow-client timeout) are a :class:`~._limits.Limits`; the session's
own (one append, the input buffer, the conversation, one response's length) live in the core.

One connection never takes the server down: an exception escaping a connection (a bug) is
logged and closes that connection with 1011; a client that leaves at any moment, even in the
middle of the handshake, only ends its own connection.

:class:`LocalServer` is what a running server tells its owner: where it listens, its
:class:`Timeline` (what happened when, in ``trio.current_time()`` seconds: the benchmark and
``rtagents demo`` split a turn's latency from it) and its sessions.  A closed connection's
session is forgotten, so a long-running server's memory does not grow with the connections it
has served; :attr:`LocalServer.sessions` lists the open ones and the last
:attr:`~LocalServer.keep_closed` closed ones (default :data:`KEEP_CLOSED`, for tests and
debugging, their input buffers freed; ``rtagents local-server`` keeps none).

No key is required and any ``Authorization`` header is ignored.  The server only listens where
it is told (loopback by default).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Final

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketRequest,
    WebSocketServer,
    serve_websocket,
    wrap_server_stream,
)

from ._connection import INTERNAL_ERROR, Connection, logger
from ._core import ServerSession
from ._detection import Detection
from ._limits import Limits
from ._responders import Responder, ScriptedResponder
from ._timeline import Mark as Mark
from ._timeline import Timeline
from ._transcriber import Transcriber

#: Closed sessions a :class:`LocalServer` keeps readable by default.
KEEP_CLOSED: Final = 8
#: Seconds to wait for the client's part of the close handshake (``Limits.close_timeout``).
CLOSE_TIMEOUT: Final = Limits().close_timeout


@attrs.define(eq=False)
class LocalServer:
    """A running server: where it listens, its sessions and its timeline."""

    host: str
    port: int
    timeline: Timeline = attrs.field(factory=Timeline)
    #: How many closed sessions stay in :attr:`sessions` (the newest).
    keep_closed: int = KEEP_CLOSED
    _open: dict[int, ServerSession] = attrs.field(init=False, factory=dict)
    _closed: deque[tuple[int, ServerSession]] = attrs.field(init=False, factory=deque)
    _numbers: Iterator[int] = attrs.field(init=False, factory=itertools.count)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/realtime"

    @property
    def sessions(self) -> list[ServerSession]:
        """The sessions of the open connections and of the last :attr:`keep_closed` closed
        ones, in the order they connected."""
        both = sorted([*self._closed, *self._open.items()], key=lambda pair: pair[0])
        return [session for _, session in both]

    @property
    def open_sessions(self) -> list[ServerSession]:
        """The sessions of the connections open now."""
        return list(self._open.values())

    def _opened(self, session: ServerSession) -> int:
        number = next(self._numbers)
        self._open[number] = session
        return number

    def _ended(self, number: int) -> None:
        session = self._open.pop(number)
        session.release()
        if self.keep_closed > 0:
            self._closed.append((number, session))
            while len(self._closed) > self.keep_closed:
                self._closed.popleft()


@attrs.frozen
class _Options:
    responder: Responder
    pace: float | None
    transcriber: Transcriber | None
    limits: Limits
    detection: Detection = attrs.field(factory=Detection)
    # The turn model's decisions at once, over all connections (each has at most one).
    judge_limiter: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(2))


async def serve_stream(
    stream: trio.abc.Stream,
    *,
    responder: Responder | None = None,
    pace: float | None = None,
    server: LocalServer | None = None,
    transcriber: Transcriber | None = None,
    limits: Limits | None = None,
    detection: Detection | None = None,
) -> None:
    """Serve one Realtime connection over any byte stream (e.g. one end of
    ``trio.testing.memory_stream_pair``): the WebSocket handshake, then the session."""
    limits = limits or Limits()
    options = _Options(
        responder or ScriptedResponder(), pace, transcriber, limits, detection or Detection()
    )
    async with trio.open_nursery() as nursery:
        try:
            with trio.move_on_after(limits.handshake_timeout) as handshake:
                request = await wrap_server_stream(
                    nursery, stream, max_message_size=limits.max_message_bytes
                )
            if handshake.cancelled_caught:  # no complete handshake in time: hang up
                with trio.CancelScope(shield=True), trio.move_on_after(limits.close_timeout):
                    await stream.aclose()
                return
            await _serve_request(request, options, server)
        finally:
            nursery.cancel_scope.cancel()


async def _serve_request(
    request: WebSocketRequest, options: _Options, server: LocalServer | None
) -> None:
    """One connection, however it arrived: the endpoint check, then the session to its end."""
    try:
        if not request.path.startswith("/v1/realtime"):
            await request.reject(404, body=b"the Realtime endpoint is /v1/realtime")
            return
        ws = await request.accept()
    except ConnectionClosed:  # the client left during the handshake
        return
    detection = options.detection
    session = ServerSession(
        stream_user_audio=options.transcriber is not None, detectors=detection.detectors
    )
    timeline = server.timeline if server is not None else Timeline()
    number = server._opened(session) if server is not None else None
    connection = Connection(
        ws,
        session,
        options.responder,
        options.pace,
        options.transcriber,
        timeline,
        options.limits,
        judge=detection.judge,
        judge_limiter=options.judge_limiter,
    )
    try:
        await connection.run()
    except Exception:  # a bug: it ends this connection, never the server
        logger.exception("a connection failed")
        connection.close_code, connection.close_reason = INTERNAL_ERROR, "internal server error"
    finally:
        if server is not None and number is not None:
            server._ended(number)
        # The close handshake needs the peer: when it is gone (or cancelled with us), give up
        # after close_timeout rather than wait for its reply forever.
        with trio.CancelScope(shield=True), trio.move_on_after(options.limits.close_timeout):
            await ws.aclose(connection.close_code, connection.close_reason)


async def serve_local_realtime(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    responder: Responder | None = None,
    pace: float | None = None,
    transcriber: Transcriber | None = None,
    limits: Limits | None = None,
    keep_closed: int = KEEP_CLOSED,
    detection: Detection | None = None,
    task_status: trio.TaskStatus[LocalServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled.  ``task_status.started`` gets the :class:`LocalServer`.

    ``pace`` is a pause in seconds after each response part (None: as fast as produced).
    ``transcriber`` gives the server ears: user speech is recognized as it arrives, filling
    the items' transcripts (and sending transcription events when the session asks).
    ``limits`` bounds each connection (default :class:`Limits`); ``keep_closed`` is how many
    closed sessions :attr:`LocalServer.sessions` keeps; ``detection`` the turn detectors
    (:func:`~._detection.load_detection`; default: the energy VAD, no turn model).
    """
    limits = limits or Limits()
    options = _Options(
        responder or ScriptedResponder(), pace, transcriber, limits, detection or Detection()
    )
    server: LocalServer | None = None

    async def handler(request: WebSocketRequest) -> None:
        assert server is not None
        await _serve_request(request, options, server)

    async with trio.open_nursery() as nursery:
        serve = functools.partial(
            serve_websocket,
            handler,
            host,
            port,
            None,
            max_message_size=limits.max_message_bytes,
            connect_timeout=limits.handshake_timeout,
            disconnect_timeout=limits.close_timeout,
        )
        ws_server: WebSocketServer = await nursery.start(serve)
        server = LocalServer(host=host, port=ws_server.port, keep_closed=keep_closed)
        task_status.started(server)


@contextlib.asynccontextmanager
async def open_local_realtime_server(
    responder: Responder | None = None,
    *,
    pace: float | None = None,
    transcriber: Transcriber | None = None,
    limits: Limits | None = None,
    detection: Detection | None = None,
) -> AsyncIterator[LocalServer]:
    """Run the server on a free loopback port for the duration of the block (tests, examples)."""
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            functools.partial(
                serve_local_realtime,
                responder=responder,
                pace=pace,
                transcriber=transcriber,
                limits=limits,
                detection=detection,
            )
        )
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
