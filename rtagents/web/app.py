"""``create_app``: your agent behind a browser page, as an ASGI app (Starlette) on trio.

Theory of operation
-------------------
The app serves the static page (``/``: ``index.html``, ``app.js`` and two audio worklets) and
one WebSocket route (``/ws``).  Each WebSocket is one conversation: a
:class:`PageConnection` opens one :class:`~rtagents.session.RealtimeSession` for it (no audio
source or sink: the page is the microphone and the speaker) and is a thin adapter with three
tasks and one queue:

* the **reader** decodes each frame from the page (:mod:`rtagents.web.protocol`) and calls the
  session: microphone audio → ``send_audio`` (its backpressure reaches the browser through
  TCP), playback reports → ``playback_progress`` / ``playback_finished``, the interrupt button
  → ``interrupt``, typed text and images → ``send_message``, approval buttons →
  ``approve_tool_call`` / ``reject_tool_call``.  A bad frame is answered with an ``error``
  message; the conversation goes on;
* the **pump** reads the session's events and turns them into page messages
  (:class:`~rtagents.web.view.PageView`); a **ticker** reports turn-state changes that no
  event announces (every 100 ms);
* the **writer** is the only task that writes to the socket, from one bounded queue (the pump
  waits when the page reads slowly; the session's own event queue then drops audio first and
  counts it).

The page leaving ends the session; the session ending (its model link closed for good) sends
the page an ``error`` and closes the socket with 1011, and the page reconnects to a new one.
Any number of connections share one process (``max_connections`` bounds them); agents given as
a factory are built once per connection.  The app runs where trio runs: under hypercorn's trio
worker (``hypercorn --worker-class trio``, or ``hypercorn.trio.serve``), as ``rtagents web``
does, or mounted in your own Starlette/FastAPI app served that way.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import trio
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from rtagents import protocol as p
from rtagents.agent import RealtimeAgent
from rtagents.apps.loader import (
    DEMO_AGENT,
    AgentFactory,
    AgentLike,
    AgentLoadError,
    build_agent,
    resolve_agent,
)
from rtagents.apps.loader import one_line as _one_line
from rtagents.config import RealtimeRunConfig
from rtagents.models import RealtimeModel, RealtimeModelConfig
from rtagents.runner import open_session
from rtagents.session import RealtimeSession
from rtagents.web import protocol as wp
from rtagents.web.view import AgentAudio, Outgoing, PageView

log = logging.getLogger("rtagents.web")

STATIC = Path(__file__).resolve().parent / "static"
#: Frames queued for one page before the pump waits.
OUTBOX_FRAMES = 256
#: How often the ticker looks at the turn state (seconds).
STATE_PERIOD = 0.1
#: What the page's session asks for unless the config says otherwise: transcripts of the user.
DEFAULT_SETTINGS = p.SessionConfig(
    audio=p.AudioConfig(
        input=p.AudioInputConfig(transcription=p.Transcription(model="gpt-4o-mini-transcribe"))
    )
)


def page_config(config: RealtimeRunConfig | Mapping[str, Any] | None) -> RealtimeRunConfig:
    """The run config of a page's session: `config` with the default settings (user
    transcripts) when it has none.  The page is the audio device: no source or sink."""
    config = RealtimeRunConfig.coerce(config)
    if config.audio_source is not None or config.audio_sink is not None:
        raise ValueError("the page is the microphone and speaker: give no audio_source/sink")
    if config.model_settings is None:
        config = attrs.evolve(config, model_settings=DEFAULT_SETTINGS)
    return config


def _frame(message: Outgoing) -> str | bytes:
    return message.pcm if isinstance(message, AgentAudio) else wp.encode_text(message)


_GONE = (WebSocketDisconnect, RuntimeError, OSError, trio.BrokenResourceError)


@attrs.define(eq=False)
class PageConnection:
    """One page's WebSocket and its session (see the module docstring).  What it counts is
    for tests and monitoring."""

    number: int
    session: RealtimeSession | None = None
    #: The page's last playback report, and the last one before its latest interrupt.
    last_report: wp.PlaybackProgress | None = None
    report_at_interrupt: wp.PlaybackProgress | None = None
    reports: int = 0
    interrupts: int = 0
    audio_in: int = 0  # microphone frames from the page
    audio_out: int = 0  # agent audio frames to the page
    errors_sent: int = 0
    close_code: int | None = 1000  # None: the page closed the socket
    ended: bool = False
    _view: PageView = attrs.field(factory=PageView)
    _out: trio.MemorySendChannel[str | bytes] | None = None

    async def run(self, websocket: WebSocket, app: WebSessions) -> None:
        send, receive = trio.open_memory_channel[str | bytes](OUTBOX_FRAMES)
        self._out = send
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._write, websocket, receive)
            try:
                await self._converse(websocket, app)
            except Exception as exc:  # the session could not start, or broke: tell the page
                log.warning("page %d: %s", self.number, _one_line(exc))
                self.close_code = 1011
                with trio.move_on_after(1):
                    await self._send(wp.Error("session_failed", _one_line(exc)))
            finally:
                send.close()  # the writer drains what is queued, then returns
                self.ended = True
        if self.close_code is not None:
            with trio.move_on_after(1), contextlib.suppress(*_GONE):
                await websocket.close(self.close_code)

    async def _converse(self, websocket: WebSocket, app: WebSessions) -> None:
        try:
            agent = await build_agent(app.agent, app.context, app.agent_name)
        except AgentLoadError as exc:
            self.close_code = 1011
            await self._send(wp.Error("agent", str(exc)))
            return
        model = app.model() if app.model is not None else None
        async with open_session(
            agent, app.config, context=app.context, model=model, model_config=app.model_config
        ) as session:
            self.session = session
            await self._send(wp.Ready(agent.name))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, session, nursery.cancel_scope)
                nursery.start_soon(self._tick, session)
                await self._read(websocket, session)
                nursery.cancel_scope.cancel()
        if self.close_code is not None:  # the page is there: the session ended by itself
            self.close_code = 1011
            await self._send(wp.Error("session_ended", f"the session ended ({session.ended_by})"))

    # -- the page's frames -------------------------------------------------------------------

    async def _read(self, websocket: WebSocket, session: RealtimeSession) -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.close_code = None  # nothing left to close
                return
            if message["type"] != "websocket.receive":
                continue
            data = message.get("bytes")
            decoded = (
                wp.decode_client_audio(data)
                if data is not None
                else wp.decode_client_text(message.get("text") or "")
            )
            await self._apply(decoded, session)
            await self._state(session)

    async def _apply(
        self, message: wp.ClientMessage | wp.ProtocolError, session: RealtimeSession
    ) -> None:
        if isinstance(message, wp.MicAudio):
            self.audio_in += 1
            await session.send_audio(message.pcm)
        elif isinstance(message, wp.PlaybackProgress):
            self.reports += 1
            self.last_report = message
            session.playback_progress(message.item_id, message.content_index, message.played_ms)
        elif isinstance(message, wp.PlaybackIdle):
            session.playback_finished()
        elif isinstance(message, wp.Interrupt):
            self.interrupts += 1
            self.report_at_interrupt = self.last_report
            await session.interrupt()
        elif isinstance(message, wp.SendText | wp.SendImage):
            content = message.text if isinstance(message, wp.SendText) else message.message()
            try:
                await session.send_message(content)  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                await self._send(wp.Error("bad_message", _one_line(exc)))
        elif isinstance(message, wp.Approve):
            await session.approve_tool_call(message.call_id, always=message.always)
        elif isinstance(message, wp.Reject):
            await session.reject_tool_call(message.call_id, message.reason, always=message.always)
        else:
            await self._send(wp.Error(message.code, message.message))

    # -- the session's events ----------------------------------------------------------------

    async def _pump(self, session: RealtimeSession, scope: trio.CancelScope) -> None:
        async for event in session:
            for message in self._view.on_event(event):
                await self._send(message)
            await self._state(session)
        scope.cancel()  # the session ended by itself (see _converse)

    async def _tick(self, session: RealtimeSession) -> None:
        while True:
            await self._state(session)
            await trio.sleep(STATE_PERIOD)

    async def _state(self, session: RealtimeSession) -> None:
        for message in self._view.state(session.turn_state.value):
            await self._send(message)

    # -- the socket --------------------------------------------------------------------------

    async def _send(self, message: Outgoing) -> None:
        assert self._out is not None
        if isinstance(message, AgentAudio):
            self.audio_out += 1
        elif isinstance(message, wp.Error):
            self.errors_sent += 1
        with contextlib.suppress(trio.ClosedResourceError):  # closing: nothing more goes out
            await self._out.send(_frame(message))

    async def _write(
        self, websocket: WebSocket, frames: trio.MemoryReceiveChannel[str | bytes]
    ) -> None:
        alive = True
        async for frame in frames:
            if not alive:
                continue  # the page is gone: drain, so nobody waits on a full queue
            try:
                if isinstance(frame, bytes):
                    await websocket.send_bytes(frame)
                else:
                    await websocket.send_text(frame)
            except _GONE:
                alive = False


@attrs.define(eq=False)
class WebSessions:
    """The app's state (``app.state.rtagents``): what it runs and the pages connected now
    (``connections``) and lately (``recent``, the last 16)."""

    agent: RealtimeAgent[Any] | AgentFactory
    agent_name: str
    config: RealtimeRunConfig
    model: Callable[[], RealtimeModel] | None
    model_config: RealtimeModelConfig | None
    context: Any
    max_connections: int
    connections: list[PageConnection] = attrs.field(factory=list)
    recent: deque[PageConnection] = attrs.field(factory=lambda: deque(maxlen=16))
    _numbers: Iterator[int] = attrs.field(factory=itertools.count)

    def all(self) -> list[PageConnection]:
        """Recent and open connections, oldest first."""
        return sorted([*self.recent, *self.connections], key=lambda c: c.number)

    async def websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        if len(self.connections) >= self.max_connections:
            busy = wp.Error("busy", f"{self.max_connections} pages are connected; try later")
            with contextlib.suppress(*_GONE):
                await websocket.send_text(wp.encode_text(busy))
                await websocket.close(1013)
            return
        connection = PageConnection(next(self._numbers))
        self.connections.append(connection)
        try:
            await connection.run(websocket, self)
        finally:
            self.connections.remove(connection)
            self.recent.append(connection)


def create_app(
    agent: AgentLike = None,
    *,
    config: RealtimeRunConfig | Mapping[str, Any] | None = None,
    model: Callable[[], RealtimeModel] | None = None,
    model_config: RealtimeModelConfig | None = None,
    context: Any = None,
    max_connections: int = 100,
) -> Starlette:
    """The page at ``/`` and its WebSocket at ``/ws``, for `agent`: a spec
    (``"module:attr"``, ``"file.py:attr"``; ``None``: the demo agent), a ``RealtimeAgent``, or
    a factory (called per connection, with `context` if it takes an argument; may be async).

    `config` is each session's run config (without ``model_settings`` the user's speech is
    transcribed); `model` makes each session's model (``RealtimeRunner``'s ``model=``, one per
    session; default: OpenAI's, or ``config.link_factory``); `model_config` is the SDK's
    connection dict; `context` the run context.  Mount it anywhere:
    ``app.mount("/voice", create_app(...))``.  Raises :class:`AgentLoadError` for a spec that
    names no agent."""
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    source = resolve_agent(agent)
    name = agent if isinstance(agent, str) else DEMO_AGENT if agent is None else "agent"
    state = WebSessions(
        source, name, page_config(config), model, model_config, context, max_connections
    )
    app = Starlette(
        routes=[
            WebSocketRoute("/ws", state.websocket),
            Mount("/", app=StaticFiles(directory=STATIC, html=True)),
        ]
    )
    app.state.rtagents = state
    return app
