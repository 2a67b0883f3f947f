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
  first waits for the transcripts of the user's speech (when there are ears), and always ends
  with ``session.finish_response`` → ``response.done`` (``failed`` when the responder raised
  :class:`ResponderError`);
* with a :class:`Transcriber`, the **ears** task (see _transcriber.py) recognizing the user's
  speech while it arrives.

Every connection writes what happened when (end of turn, transcript ready, response started,
first text from the responder, first audio sent, ...) to the server's :class:`Timeline`, in
``trio.current_time()`` seconds: the benchmark and ``rtagents demo`` split a turn's latency
from it.

No key is required and any ``Authorization`` header is ignored.  The server only listens where
it is told (loopback by default).
"""

from __future__ import annotations

import contextlib
import functools
from collections import deque
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

from ._common import StartResponse, StopResponse
from ._core import ServerSession
from ._responders import CallTool, Responder, ResponderError, ResponseContext, ScriptedResponder
from ._transcriber import Ears, Transcriber

SEND_QUEUE_SIZE = 64
CLOSE_TIMEOUT = 2.0  # seconds to wait for the client's part of the close handshake


@attrs.frozen
class Mark:
    """``what`` happened at ``t`` (trio clock seconds) to ``ref`` (an item or response id)."""

    t: float
    what: str
    ref: str


@attrs.define(eq=False)
class Timeline:
    """The latest marks of a server's connections (bounded: the oldest are forgotten)."""

    marks: deque[Mark] = attrs.field(factory=lambda: deque(maxlen=4096))

    def mark(self, what: str, ref: str) -> None:
        self.marks.append(Mark(trio.current_time(), what, ref))


@attrs.define(eq=False)
class LocalServer:
    """A running server: where it listens, the sessions of its connections so far, and the
    timeline of what happened in them."""

    host: str
    port: int
    sessions: list[ServerSession] = attrs.field(factory=list)
    timeline: Timeline = attrs.field(factory=Timeline)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/realtime"


@attrs.define(eq=False)
class _Connection:
    ws: WebSocketConnection
    session: ServerSession
    responder: Responder
    pace: float | None
    transcriber: Transcriber | None = None
    timeline: Timeline = attrs.field(factory=Timeline)
    _ears: Ears | None = attrs.field(init=False, default=None)
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
            if self.transcriber is not None:
                self._ears = Ears(self.session, self.transcriber, self._send, self.timeline.mark)
                await nursery.start(self._ears.run)
            try:
                await self._send(self.session.opened())
                while True:
                    message = await self.ws.get_message()
                    outcome = self.session.receive(message)
                    for event in outcome.events:
                        if isinstance(event, p.InputAudioBufferSpeechStarted):
                            self.timeline.mark("speech_started", event.item_id)
                        elif isinstance(event, p.InputAudioBufferSpeechStopped):
                            self.timeline.mark("speech_stopped", event.item_id)
                    await self._send(outcome.events)
                    if outcome.user_audio and self._ears is not None:
                        await self._ears.put(outcome.user_audio)
                    action = outcome.action
                    if isinstance(action, StartResponse):
                        await self._send(self.session.begin_response(action))
                        nursery.start_soon(self._respond)
                    elif isinstance(action, StopResponse) and self._response_scope is not None:
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
        response_id = active.id

        def mark(what: str) -> None:
            self.timeline.mark(what, response_id)

        failure: str | None = None
        with trio.CancelScope() as scope:
            self._response_scope = scope
            mark("response_started")
            if self._ears is not None:
                await self._ears.wait_transcripts()
            context = ResponseContext(
                conversation=session.conversation(),
                session=session.config,
                params=active.params,
                audio_output="audio" in session.output_modalities(active.params),
                mark=mark,
            )
            first_audio = first_text = True
            try:
                async with contextlib.aclosing(self.responder.respond(context)) as parts:  # type: ignore[type-var]
                    async for part in parts:
                        if isinstance(part, CallTool):
                            mark("tool_call")
                            await self._send(
                                session.response_function_call(part.name, part.arguments)
                            )
                        else:
                            events = session.response_text(part.text) if part.text else []
                            if part.audio:
                                events += session.response_audio(part.audio)
                            await self._send(events)
                            if first_text and part.text:
                                first_text = False
                                mark("first_text_sent")
                            if first_audio and part.audio:
                                first_audio = False
                                mark("first_audio_sent")
                        if self.pace:
                            await trio.sleep(self.pace)
                        else:
                            await trio.lowlevel.checkpoint()
            except ResponderError as exc:
                failure = str(exc) or type(exc).__name__
        self._response_scope = None
        mark("response_done")
        if scope.cancelled_caught:
            events = session.finish_response("cancelled", self._cancel_reason)
        elif failure is not None:
            events = session.finish_response("failed", failure)
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
    transcriber: Transcriber | None = None,
    max_message_size: int = 32 * 2**20,
) -> None:
    """Serve one Realtime connection over any byte stream (e.g. one end of
    ``trio.testing.memory_stream_pair``): the WebSocket handshake, then the session."""
    async with trio.open_nursery() as nursery:
        request = await wrap_server_stream(nursery, stream, max_message_size=max_message_size)
        chosen = responder if responder is not None else ScriptedResponder()
        try:
            await _serve_request(request, chosen, pace, server, transcriber)
        finally:
            nursery.cancel_scope.cancel()


async def _serve_request(
    request: WebSocketRequest,
    responder: Responder,
    pace: float | None,
    server: LocalServer | None,
    transcriber: Transcriber | None,
) -> None:
    """One connection, however it arrived: the endpoint check, then the session to its end."""
    if not request.path.startswith("/v1/realtime"):
        await request.reject(404, body=b"the Realtime endpoint is /v1/realtime")
        return
    ws = await request.accept()
    session = ServerSession(stream_user_audio=transcriber is not None)
    timeline = server.timeline if server is not None else Timeline()
    if server is not None:
        server.sessions.append(session)
    try:
        await _Connection(ws, session, responder, pace, transcriber, timeline).run()
    finally:
        # The close handshake needs the peer: when it is gone (or cancelled with us), give up
        # after CLOSE_TIMEOUT rather than wait for its reply forever.
        with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
            await ws.aclose()


async def serve_local_realtime(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    responder: Responder | None = None,
    pace: float | None = None,
    transcriber: Transcriber | None = None,
    max_message_size: int = 32 * 2**20,
    task_status: trio.TaskStatus[LocalServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled.  ``task_status.started`` gets the :class:`LocalServer`.

    ``pace`` is a pause in seconds after each response part (None: as fast as produced).
    ``transcriber`` gives the server ears: user speech is recognized as it arrives, filling
    the items' transcripts (and sending transcription events when the session asks).
    """
    chosen = responder if responder is not None else ScriptedResponder()
    server: LocalServer | None = None

    async def handler(request: WebSocketRequest) -> None:
        assert server is not None
        await _serve_request(request, chosen, pace, server, transcriber)

    async with trio.open_nursery() as nursery:
        serve = functools.partial(
            serve_websocket, handler, host, port, None, max_message_size=max_message_size
        )
        ws_server: WebSocketServer = await nursery.start(serve)
        server = LocalServer(host=host, port=ws_server.port)
        task_status.started(server)


@contextlib.asynccontextmanager
async def open_local_realtime_server(
    responder: Responder | None = None,
    *,
    pace: float | None = None,
    transcriber: Transcriber | None = None,
) -> AsyncIterator[LocalServer]:
    """Run the server on a free loopback port for the duration of the block (tests, examples)."""
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            functools.partial(
                serve_local_realtime, responder=responder, pace=pace, transcriber=transcriber
            )
        )
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
