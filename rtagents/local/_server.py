"""The local Realtime server: the sans-IO session core behind a trio-websocket listener.

Theory of operation
-------------------
Each WebSocket connection gets a :class:`ServerSession` (all protocol state and decisions) and
three kinds of task in its own nursery:

* the **reader** loop: frame in → ``session.receive`` → events queued for sending, and the
  outcome's action (start or cancel a response) carried out;
* the **writer**, the only task that writes to the socket, fed by a bounded channel of batches
  (when the client reads slowly, producers wait; nothing is dropped and nothing grows without
  bound).  The events one step of the core produced travel as one batch, so another task's
  events never land in the middle of them and event ids stay in order on the wire;
* one **response** task at a time, iterating the responder inside its own cancel scope, with a
  checkpoint after every part so that ``response.cancel`` or a barge-in stops it promptly; it
  always ends with ``session.finish_response`` → ``response.done``.

No key is required and any ``Authorization`` header is ignored.  The server only listens where
it is told (loopback by default).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    WebSocketServer,
    serve_websocket,
    wrap_server_stream,
)

from rtagents import protocol as p

from ._core import CancelResponse, ServerSession, StartResponse
from ._responders import CallTool, Responder, ResponseContext, ScriptedResponder

SEND_QUEUE_SIZE = 64


@attrs.define(eq=False)
class LocalServer:
    """A running server: where it listens, and the sessions of its connections so far."""

    host: str
    port: int
    sessions: list[ServerSession] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/realtime"


@attrs.define(eq=False)
class _Connection:
    ws: WebSocketConnection
    session: ServerSession
    responder: Responder
    pace: float | None
    _tx: trio.MemorySendChannel[list[str]] = attrs.field(init=False)
    _rx: trio.MemoryReceiveChannel[list[str]] = attrs.field(init=False)
    _response_scope: trio.CancelScope | None = attrs.field(init=False, default=None)
    _cancel_reason: str = attrs.field(init=False, default="client_cancelled")

    def __attrs_post_init__(self) -> None:
        # Bounded, no drops: the reader and the response task wait when the client is slow.
        self._tx, self._rx = trio.open_memory_channel[list[str]](SEND_QUEUE_SIZE)

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer)
            try:
                await self._send(self.session.opened())
                while True:
                    message = await self.ws.get_message()
                    outcome = self.session.receive(message)
                    await self._send(outcome.events)
                    action = outcome.action
                    if isinstance(action, StartResponse):
                        await self._send(self.session.begin_response(action))
                        nursery.start_soon(self._respond)
                    elif isinstance(action, CancelResponse) and self._response_scope is not None:
                        was_speech = any(
                            isinstance(e, p.InputAudioBufferSpeechStarted) for e in outcome.events
                        )
                        self._cancel_reason = "turn_detected" if was_speech else "client_cancelled"
                        self._response_scope.cancel()
            except ConnectionClosed:
                pass
            finally:
                nursery.cancel_scope.cancel()

    async def _send(self, events: list[p.WireEvent]) -> None:
        if events:
            await self._tx.send([event.to_json() for event in events])

    async def _writer(self) -> None:
        async for batch in self._rx:
            for text in batch:
                try:
                    await self.ws.send_message(text)
                except ConnectionClosed:
                    return

    async def _respond(self) -> None:
        session = self.session
        active = session.active
        assert active is not None
        context = ResponseContext(
            conversation=session.conversation(),
            session=session.config,
            params=active.params,
            audio_output="audio" in session.output_modalities(active.params),
        )
        with trio.CancelScope() as scope:
            self._response_scope = scope
            async with contextlib.aclosing(self.responder.respond(context)) as parts:  # type: ignore[type-var]
                async for part in parts:
                    if isinstance(part, CallTool):
                        events = session.response_function_call(part.name, part.arguments)
                    else:
                        events = session.response_text(part.text) if part.text else []
                        if part.audio:
                            events += session.response_audio(part.audio)
                    await self._send(events)
                    if self.pace:
                        await trio.sleep(self.pace)
                    else:
                        await trio.lowlevel.checkpoint()
        self._response_scope = None
        if scope.cancelled_caught:
            events = session.finish_response("cancelled", self._cancel_reason)
        else:
            events = session.finish_response("completed")
        with trio.CancelScope(shield=True):
            await self._send(events)


async def serve_stream(
    stream: trio.abc.Stream,
    *,
    responder: Responder | None = None,
    pace: float | None = None,
    server: LocalServer | None = None,
    max_message_size: int = 32 * 2**20,
) -> None:
    """Serve one Realtime connection over any byte stream (e.g. one end of
    ``trio.testing.memory_stream_pair``): the WebSocket handshake, then the session."""
    async with trio.open_nursery() as nursery:
        request = await wrap_server_stream(nursery, stream, max_message_size=max_message_size)
        chosen = responder if responder is not None else ScriptedResponder()
        try:
            await _serve_request(request, chosen, pace, server)
        finally:
            nursery.cancel_scope.cancel()


async def _serve_request(
    request: WebSocketRequest, responder: Responder, pace: float | None, server: LocalServer | None
) -> None:
    """One connection, however it arrived: the endpoint check, then the session to its end."""
    if not request.path.startswith("/v1/realtime"):
        await request.reject(404, body=b"the Realtime endpoint is /v1/realtime")
        return
    ws = await request.accept()
    session = ServerSession()
    if server is not None:
        server.sessions.append(session)
    try:
        await _Connection(ws, session, responder, pace).run()
    finally:
        with trio.CancelScope(shield=True):
            await ws.aclose()


async def serve_local_realtime(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    responder: Responder | None = None,
    pace: float | None = None,
    max_message_size: int = 32 * 2**20,
    task_status: trio.TaskStatus[LocalServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled.  ``task_status.started`` gets the :class:`LocalServer`.

    ``pace`` is a pause in seconds after each response part (None: as fast as produced).
    """
    chosen = responder if responder is not None else ScriptedResponder()
    server: LocalServer | None = None

    async def handler(request: WebSocketRequest) -> None:
        assert server is not None
        await _serve_request(request, chosen, pace, server)

    async with trio.open_nursery() as nursery:
        serve = functools.partial(
            serve_websocket, handler, host, port, None, max_message_size=max_message_size
        )
        ws_server: WebSocketServer = await nursery.start(serve)
        server = LocalServer(host=host, port=ws_server.port)
        task_status.started(server)


@contextlib.asynccontextmanager
async def open_local_realtime_server(
    responder: Responder | None = None, *, pace: float | None = None
) -> AsyncIterator[LocalServer]:
    """Run the server on a free loopback port for the duration of the block (tests, examples)."""
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            functools.partial(serve_local_realtime, responder=responder, pace=pace)
        )
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
