"""A realtime session: the wiring of the model link, the audio actors and the sans-IO cores.

Theory of operation
-------------------
``open_session`` (or ``async with await RealtimeRunner(agent).run()``) opens one nursery and
starts in it the **agency** (the agent's side: tools, approvals, handoffs, guardrails, hooks,
:mod:`rtagents._agency`), the **playback** actor when there is a sink, the **model link**, a
**ticker** for the turn table's deadlines, and the **capture** actor when there is a source.
Everything that decides is sans-IO and runs synchronously in the task that brought the input:

* **uplink** — the capture task re-frames the source and hands each frame to the
  :class:`~rtagents.actors.uplink.Uplink` (converted once, queued on the link's audio lane) and
  to the VAD actor (decides on the frame itself; a barge-in stops playback inside that call).
  ``send_audio`` takes the same uplink.  Two task hops from microphone to socket: the capture
  task, then the link's writer.
* **downlink** — the link's reader task decodes each event and calls :meth:`_on_link_event`:
  the :class:`~rtagents._core.router.ServerEventRouter` turns it into effects, the
  :class:`~rtagents._core.turns.TurnMachine` into actions, and both are carried out here, in
  one place (:meth:`_apply`, :meth:`_execute`): agent audio is queued on the playback actor,
  whose writer task plays it.  Two task hops from the socket's reader to the sink.

Channels and their overflow policies: the link's outbox (control events wait for room, or use
a bounded reserve when sent from a synchronous path — past it the send fails loudly with an
``error`` event; audio appends drop their oldest), playback's jitter buffer (bounded in ms, drops
oldest), the app's event queue (never blocks the session: drops droppable events first), the
hook queue (drops oldest).  Every drop is counted in :meth:`RealtimeSession.statistics`.

Without a sink the app plays audio itself: it may report progress with ``playback_progress``
(exact truncation), else the turn table assumes real-time playback from the first chunk of each
item, as the OpenAI Agents SDK does.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import attrs
import trio

from rtagents import items as it
from rtagents import protocol as p
from rtagents._agency import Agency
from rtagents._agency.statistics import SessionStatistics
from rtagents._core import router as r
from rtagents._core import turns
from rtagents._core.echo import EchoGate
from rtagents._core.link_events import LinkClosed
from rtagents._core.restore import restore_events
from rtagents._core.settings import format_name
from rtagents.actors import CaptureActor, PlaybackActor, PlaybackPosition, VadActor
from rtagents.actors.app_events import EventQueue
from rtagents.actors.listeners import ListenerActor
from rtagents.actors.uplink import Uplink
from rtagents.actors.vad import VadSpeechStarted, VadSpeechStopped, make_detector
from rtagents.agent import RealtimeAgent, ResolvedAgent
from rtagents.audio import AudioFrame, CallRecorder, RecordingSink, RecordingTap
from rtagents.config import (
    RealtimeRunConfig,
    RealtimeUserInput,
    SessionSettings,
    user_message_item,
)
from rtagents.context import RunContextWrapper, Usage
from rtagents.events import (
    RealtimeAudio,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeEventInfo,
    RealtimeHistoryUpdated,
    RealtimeRawModelEvent,
    RealtimeSessionEvent,
)
from rtagents.model_events import RealtimeModelAudioInterruptedEvent
from rtagents.models import (
    LinkFactoryModel,
    ModelLinkError,
    OpenAIRealtimeWebSocketModel,
    RealtimeModel,
    RealtimeModelConfig,
    RealtimePlaybackTracker,
    connection_config,
    open_model_link,
)

log = logging.getLogger("rtagents.session")


class RealtimeSession:
    """One live conversation.  Made by :func:`open_session` or :class:`RealtimeRunner`."""

    def __init__(
        self,
        agent: RealtimeAgent,
        config: RealtimeRunConfig | Mapping[str, Any] | None = None,
        context: Any = None,
        *,
        model: RealtimeModel | None = None,
        model_config: RealtimeModelConfig | None = None,
    ) -> None:
        config = RealtimeRunConfig.coerce(config)
        self.starting_agent = agent
        self.config = config
        if model is None:
            factory = config.link_factory
            model = LinkFactoryModel(factory) if factory else OpenAIRealtimeWebSocketModel()
        self._model = model
        connection = connection_config(
            attrs.evolve(config.model, audio_queue_size=config.uplink_queue_frames), model_config
        )
        self._settings = SessionSettings.build(
            config,
            (model_config or {}).get("initial_model_settings") or {},
            attach_to_call=connection.call_id is not None,
        )
        self._tracker: RealtimePlaybackTracker | None = (model_config or {}).get("playback_tracker")
        self._link: Any = open_model_link(model, connection, config.reconnect, self._resume)
        self._link.set_handler(self._on_link_event)
        self.context: RunContextWrapper[Any] = RunContextWrapper(context)
        self._events = EventQueue(config.event_queue_size, RealtimeEventInfo(self.context))
        self._listeners = ListenerActor(lambda: self._model.listeners, self._listener_failed)
        assume = config.audio_sink is None and self._tracker is None
        # Attached to a SIP/WebRTC call: the server holds the session and plays the audio.
        self._on_call = connection.call_id is not None
        self._machine = turns.TurnMachine(
            assume_realtime_playback=assume, server_plays_audio=self._on_call
        )
        self._router = r.ServerEventRouter(
            usage=self.context.usage, raw_events=config.raw_events, settings=self._settings.base
        )
        self._history = self._router.history
        self._agency = Agency(
            self,
            self._history,
            self.context,
            hooks=config.hooks,
            output_guardrails=config.output_guardrails,
            guardrails_settings=config.guardrails_settings,
            tool_error_formatter=config.tool_error_formatter,
            async_tool_calls=config.async_tool_calls,
        )
        self._uplink = Uplink(self._link, self._router.input_format)
        self._nursery: trio.Nursery | None = None
        self._link_scope = trio.CancelScope()  # the link's task; only close() stops it
        self._closed = False
        self._wake = trio.Event()
        self._armed_deadline = math.inf  # when the ticker will next look at the machine
        self._capture: CaptureActor | None = None
        self._vad: VadActor | None = None
        self._playback: PlaybackActor | None = None
        self._recorder: CallRecorder | None = None
        self._appliers: dict[type, Callable[[Any], None]] = {
            r.Emit: self._emit,
            r.Feed: lambda e: self._feed(e.input, e.audio),
            r.Send: lambda e: self._send_soon(e.event),
            r.EndAudio: self._end_audio,
            r.SessionChanged: self._session_changed,
            r.CallFunction: lambda e: self._agency.on_function_call(e.item),
            r.CheckText: lambda e: self._agency.on_output_text(e.response_id, e.item_id, e.delta),
            r.TextDone: lambda e: self._agency.on_output_done(e.item_id),
            r.AgentStarted: lambda e: self._agency.on_agent_start(e.agent),
            r.AgentEnded: lambda e: self._agency.on_agent_end(e.agent, e.output),
        }
        # counters
        self._dropped_audio_ms = 0.0
        self._sends_failed = 0
        self._calls_after_close = 0
        self._timeouts = 0
        self._unexpected = 0
        self._last_barge_in_at: float | None = None
        self._tracked: tuple[str, int, float] | None = None  # the tracker's last position fed
        self._link_closed: LinkClosed | None = None  # how the model link ended

    # -- lifecycle ---------------------------------------------------------------------------

    async def _start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        config = self.config
        self._model.attach(self)
        await nursery.start(self._agency.run)
        await nursery.start(self._listeners.run)
        if config.recording_path is not None:
            self._recorder = CallRecorder(
                config.recording_path, rate=config.recording_rate, start=trio.current_time()
            )
            await nursery.start(self._recorder.run)
        detector = make_detector(config.local_vad)  # (Silero: loads its model once)
        gate = None
        if config.audio_sink is not None:
            sink = config.audio_sink
            if self._recorder is not None:
                sink = RecordingSink(sink, self._recorder)
            if detector is not None and config.echo_gate is not None:
                gate = EchoGate(config.echo_gate)  # the agent's voice in the mic is not the user
            self._playback = PlaybackActor(
                sink,
                input_format=self._router.output_format,
                on_progress=self._on_playback,
                on_played=gate.played if gate is not None else None,
            )
            await nursery.start(self._playback.run)
        if detector is not None:  # fed by capture and send_audio, inline
            self._vad = VadActor(None, self._on_vad, detector=detector, echo_gate=gate)
        if gate is not None and gate.settings.suppress_uplink:
            self._uplink.echo_gate = gate  # the server does not hear the echo either
        await nursery.start(self._run_link)
        self._link_scope.shield = True
        await self._agency.switch_to(self.starting_agent, initial=True)
        nursery.start_soon(self._ticker)
        if config.audio_source is not None:
            outputs: list[Any] = [self._uplink]
            if self._vad is not None:
                outputs.append(self._vad)
            if self._recorder is not None:
                outputs.append(RecordingTap(self._recorder))
            self._capture = CaptureActor(config.audio_source, outputs=outputs, close_outputs=False)
            await nursery.start(self._capture.run)
        self._events.push(RealtimeHistoryUpdated(()))

    async def _run_link(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._link_scope:  # (shielded once connected: see close)
            await self._link.run(task_status=task_status)
        await self.close()  # the link ended (its LinkClosed event was routed): so does the session

    async def close(self) -> None:
        """Close the link and stop every actor; idempotent.  Iteration ends after the events
        already queued; the app's calls from now on are no-ops (``calls_after_close``).

        The link closes gracefully even when the session ends by cancellation (an outer
        nursery or deadline): its task is shielded from that once connected, so its reader
        is still there for the closing handshake, and stopped here afterwards."""
        if self._closed:
            return
        self._closed = True
        self._model.detach(self)
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            await self._link.aclose()
            # The session owns the source and sink it was given: a WAV file is only complete
            # once closed.
            for resource in (self.config.audio_sink, self.config.audio_source, self._recorder):
                closer = getattr(resource, "aclose", None)
                if closer is not None:
                    await closer()
        self._events.close()
        self._listeners.close()
        self._link_scope.cancel()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    aclose = close

    async def __aenter__(self) -> RealtimeSession:
        self._stack = contextlib.AsyncExitStack()
        nursery = await self._stack.enter_async_context(trio.open_nursery())
        try:
            await self._start(nursery)
        except BaseException:
            await self.close()
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        await self.close()
        # The block ran inside the session's nursery: hand its exception to the nursery, so the
        # Cancelled that a session closing itself (its link ended) delivered to the block ends
        # there instead of escaping ``async with``.
        return bool(await self._stack.__aexit__(exc_type, exc, tb))

    async def enter(self) -> RealtimeSession:
        """The SDK's ``await session.enter()``: connect without ``async with``.  Call
        :meth:`exit` (or ``close`` then ``exit``) later *from the same task*: the session's
        nursery lives in the task that entered it (``async with`` is the safer form)."""
        return await self.__aenter__()

    async def exit(self) -> None:
        await self.__aexit__(None, None, None)

    def __aiter__(self) -> RealtimeSession:
        # The session is its own iterator (not an async generator), so breaking out of an
        # ``async for`` and iterating again later is fine and leaves nothing to finalize.
        return self

    async def __anext__(self) -> RealtimeSessionEvent:
        event = await self._events.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def receive_nowait(self) -> RealtimeSessionEvent:
        """The next queued event; raises ``trio.WouldBlock`` if there is none yet."""
        event = self._events.get_nowait()
        if event is None:
            raise trio.WouldBlock
        return event

    # -- the app's side ----------------------------------------------------------------------

    # Once the session closed (or its link did), every call below is a quiet no-op: an app's
    # microphone or UI task may go on calling for a while, and that is no error.  Each is
    # counted (``calls_after_close``) and logged at debug level.

    async def send_message(self, message: RealtimeUserInput | p.MessageItem) -> None:
        """A user message, then a response: text, the SDK's message dict (``input_text`` and
        ``input_image`` parts), or a protocol message item."""
        if self._ignored("send_message"):
            return
        item = user_message_item(message)
        if await self._send_from_app("send_message", p.ConversationItemCreate(item=item)):
            self._feed(turns.UserInputSent())
            await self.request_response()

    async def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        """Audio in the session's input format, on the same uplink as captured audio; also
        seen by the local VAD.  Backpressure, never loss: it waits while the link's audio lane
        is full (a file pushed in a tight loop is sent whole).  A cancel point; with room in
        the lane (a microphone at real time) it returns without a task switch, which keeps a
        frame's cost to one switch: the socket writer's."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._ignored("send_audio"):
            await trio.lowlevel.checkpoint()  # a loop that never stops sending must not spin
            return
        if data:
            fmt = self._uplink.format
            if fmt.sample_width == 2 and len(data) % 2:
                raise ValueError("PCM16 audio must have an even number of bytes")
            await self._uplink.send_encoded(data)
            if self._vad is not None or self._recorder is not None:
                pcm = fmt.to_pcm16(data)
                now = trio.current_time()
                if self._vad is not None:
                    self._vad.send_nowait(AudioFrame(pcm, fmt.sample_rate, now, self._uplink.seq))
                if self._recorder is not None:
                    self._recorder.user(pcm, fmt.sample_rate, now)
        if commit and await self._send_from_app("send_audio", p.InputAudioBufferCommit()):
            self._feed(turns.UserInputSent())

    async def interrupt(self) -> None:
        """Stop the agent now: playback, the response, and truncate what was not heard."""
        if not self._ignored("interrupt"):
            self._feed(turns.InterruptRequested())

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch the live session to `agent` (instructions, tools, handoffs) with one
        ``session.update``; no ``handoff`` event.  If `agent` is invalid, this raises and the
        current agent stays."""
        if not self._ignored("update_agent"):
            await self._agency.switch_to(agent)

    async def approve_tool_call(self, call_id: str, *, always: bool = False) -> None:
        """Run a call that waits for approval (``tool_approval_required``).  ``always``: approve
        every later call of that tool without asking.  An unknown call id does nothing (see
        :attr:`pending_tool_approvals`)."""
        if self._ignored("approve_tool_call"):
            return
        if not self._agency.decide(call_id, approve=True, always=always, message=None):
            log.debug("approve_tool_call: no call %s waits for approval", call_id)

    async def reject_tool_call(
        self,
        call_id: str,
        reason: str | None = None,
        *,
        always: bool = False,
        rejection_message: str | None = None,
    ) -> None:
        """Refuse a call that waits for approval; the model reads `reason` (else the run's
        ``tool_error_formatter``, else "Tool execution was not approved.").  An unknown call
        id does nothing."""
        if self._ignored("reject_tool_call"):
            return
        message = reason if reason is not None else rejection_message
        if not self._agency.decide(call_id, approve=False, always=always, message=message):
            log.debug("reject_tool_call: no call %s waits for approval", call_id)

    @property
    def model(self) -> RealtimeModel:
        """The model this session talks to (the SDK's ``session.model``: ``send_event``,
        ``add_listener``)."""
        return self._model

    @property
    def agent(self) -> RealtimeAgent:
        """The agent the session runs now (it changes on handoffs and ``update_agent``)."""
        return self._agency.agent if self._agency.resolved else self.starting_agent

    @property
    def ended_by(self) -> str | None:
        """``None`` while the session runs; then how it ended: ``"app"`` (``close()``, or the
        ``async with`` block ended), ``"server"`` (the server closed the session cleanly), or
        ``"error"`` (the connection was lost for good — an ``error`` event said why)."""
        if not self._closed:
            return None
        return "app" if self._link_closed is None else self._link_closed.ended_by

    @property
    def usage(self) -> Usage:
        """Token usage summed over every ``response.done`` so far."""
        return self.context.usage

    @property
    def pending_tool_approvals(self) -> tuple[str, ...]:
        return self._agency.pending_approvals()

    @property
    def recorder(self) -> CallRecorder | None:
        """The call recorder (``recording_path``), for an app that plays the agent's audio
        itself to record it as played (``recorder.agent(pcm, rate, at)``)."""
        return self._recorder

    def playback_progress(self, item_id: str, content_index: int, played_ms: float) -> None:
        """For apps that play audio themselves: how much of an item has been heard."""
        if self._ignored("playback_progress"):
            return
        self._machine.assume_realtime_playback = False
        self._feed(turns.PlaybackProgressed(item_id, content_index, played_ms))

    def playback_finished(self) -> None:
        """For apps that play audio themselves: everything received has been played."""
        if self._ignored("playback_finished"):
            return
        self._machine.assume_realtime_playback = False
        self._feed(turns.PlaybackProgressed.idle())

    @property
    def history(self) -> tuple[it.RealtimeItem, ...]:
        return tuple(self._history.items)

    @property
    def turn_state(self) -> turns.TurnState:
        return self._machine.state

    def statistics(self) -> SessionStatistics:
        def stats(actor: Any) -> Any:
            return actor.statistics() if actor is not None else None

        tools = self._agency.tools.statistics()
        return SessionStatistics(
            state=self._machine.state.value,
            events_emitted=self._events.emitted,
            events_dropped=dict(self._events.dropped),
            event_queue_peak=self._events.peak,
            agent_audio_dropped_ms=self._dropped_audio_ms,
            sends_failed=self._sends_failed,
            calls_after_close=self._calls_after_close,
            turn_timeouts=self._timeouts,
            unexpected_inputs=self._unexpected,
            tool_calls=tools.submitted,
            last_barge_in_at=self._last_barge_in_at,
            link=self._link.statistics(),
            uplink=self._uplink.statistics(),
            capture=stats(self._capture),
            vad=stats(self._vad),
            playback=stats(self._playback),
            recording=stats(self._recorder),
            listeners=self._listeners.statistics(),
            tools=tools,
            pending_approvals=len(self._agency.pending_approvals()),
            hooks_called=self._agency.hooks_called,
            hooks_failed=self._agency.hooks_failed,
            hooks_dropped=self._agency.hooks_dropped,
            guardrail_checks=self._agency.guardrail_checks,
            guardrail_trips=self._agency.guardrail_trips,
        )

    def _ignored(self, call: str) -> bool:
        """Whether the session has closed, so that the app's `call` is a no-op (counted)."""
        if not self._closed:
            return False
        self._calls_after_close += 1
        log.debug("%s after the session closed: ignored", call)
        return True

    async def _send_from_app(self, call: str, event: p.ClientEvent) -> bool:
        """Send for the app's `call`; whether it went.  A link that closed before the session
        did (it ended, the session closes next) makes the call a no-op, counted as after
        close."""
        try:
            await self._link.send(event)
        except ModelLinkError as exc:
            self._calls_after_close += 1
            log.debug("%s after the model link closed (%s): ignored", call, exc)
            return False
        return True

    # -- the port the agency uses ------------------------------------------------------------

    def session_config(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig:
        """What ``session.update`` says for `resolved` (see :class:`SessionSettings`)."""
        config: p.SessionConfig = self._settings.for_agent(resolved, initial=initial)
        return config

    def push(self, event: RealtimeSessionEvent) -> None:
        self._events.push(event)

    async def send(self, event: p.ClientEvent) -> None:
        try:
            await self._link.send(event)
        except ModelLinkError as exc:  # closed under a late tool or guardrail: nothing to tell
            log.debug("not sent (%s): %r", exc, event)

    async def request_response(self, manual: p.ResponseCreate | None = None) -> None:
        """Ask for a response through the sequencer (``manual``: the app's own create, sent
        in its turn with its parameters)."""
        create = self._router.sequencer.request(manual)
        if create is not None:
            await self.send(create)

    def feed(self, event: turns.TurnInput) -> None:
        self._feed(event)

    def interrupt_response(self, response_id: str | None) -> None:
        self._feed(turns.InterruptRequested(response_id))

    def is_latest_response(self, response_id: str) -> bool:
        return response_id == self._router.last_response_id

    # -- the downlink: link events, effects, turn actions ------------------------------------

    def _on_link_event(self, event: Any) -> None:
        """Called by the link's reader task for every event; never raises into it."""
        if isinstance(event, LinkClosed):
            self._link_closed = event
        try:
            appliers = self._appliers
            for effect in self._router.route(event, self.agent):
                appliers[type(effect)](effect)
        except Exception as exc:  # never let one odd event end the session
            log.exception("error handling %s", getattr(event, "type", event))
            self._events.push(RealtimeError({"type": "session_error", "message": str(exc)}))

    def _emit(self, effect: r.Emit) -> None:
        event = effect.event
        self._events.push(event)
        if event.type == "raw_model_event":
            self._listeners.push(event)

    def _end_audio(self, effect: r.EndAudio) -> None:
        if self._playback is not None:
            self._playback.end_item(effect.item_id)

    def _session_changed(self, effect: r.SessionChanged) -> None:
        self._machine.server_cancels_on_speech = effect.server_cancels_on_speech
        if self._tracker is not None:
            self._tracker.set_audio_format(format_name(effect.output_format))
        self._uplink.set_format(effect.input_format)
        if self._playback is not None:
            self._playback.set_input_format(effect.output_format)

    def _feed(self, event: turns.TurnInput, audio: bytes = b"") -> None:
        if self._tracker is not None and not isinstance(event, turns.PlaybackProgressed):
            self._poll_tracker()
        for action in self._machine.handle(event, trio.current_time()):
            self._execute(action, event, audio)
        # Wake the ticker only for an earlier deadline: a later one (most inputs push it
        # later) is found when the armed one passes, so audio frames cost no task switch.
        deadline = self._machine.deadline
        if deadline is not None and deadline < self._armed_deadline:
            self._wake.set()

    def _execute(self, action: turns.TurnAction, cause: turns.TurnInput, audio: bytes) -> None:
        """Carry out one action of the turn table: every side effect of a turn is here."""
        if isinstance(action, turns.PlayAudio):
            assert isinstance(cause, turns.AudioReceived)
            if self._playback is not None:
                self._playback.enqueue(action.item_id, action.content_index, audio)
            self._events.push(
                RealtimeAudio(audio, action.item_id, action.content_index, cause.response_id)
            )
        elif isinstance(action, turns.DropAudio):
            self._dropped_audio_ms += action.ms
        elif isinstance(action, turns.StopPlayback):
            self._last_barge_in_at = trio.current_time()
            if self._playback is not None:
                self._playback.interrupt_nowait()
        elif isinstance(action, turns.CancelResponse):
            self._send_soon(self._router.cancel_event(action.response_id))
        elif isinstance(action, turns.CancelInterruptibleTools):
            self._agency.cancel_interruptible_tools()
        elif isinstance(action, turns.TruncateItem):
            truncate = p.ConversationItemTruncate(
                item_id=action.item_id,
                content_index=action.content_index,
                audio_end_ms=action.audio_end_ms,
            )
            self._send_soon(truncate)
        elif isinstance(action, turns.DeleteItem):
            self._send_soon(p.ConversationItemDelete(item_id=action.item_id))
        elif isinstance(action, turns.AudioInterrupted):
            if self._tracker is not None:
                self._tracker.on_interrupted()
                self._tracked = None
            if self.config.raw_events:
                model_event = RealtimeModelAudioInterruptedEvent(
                    action.item_id, action.content_index
                )
                self._emit(r.Emit(RealtimeRawModelEvent(model_event)))
            self._events.push(RealtimeAudioInterrupted(action.item_id, action.content_index))
        elif isinstance(action, turns.TurnTimedOut):
            self._timeouts += 1
            log.warning("turn timed out in %s: %s", action.state.value, action.reason)
            message = f"{action.reason} (gave up after waiting in {action.state.value})"
            self._events.push(RealtimeError({"type": "turn_timeout", "message": message}))
            for effect in self._router.give_up(action.response_id, self.agent):
                self._appliers[type(effect)](effect)
        elif isinstance(action, turns.Unexpected):
            self._unexpected += 1
            log.debug("unexpected turn input in %s: %r", action.state.value, action.input)

    def _send_soon(self, event: p.ClientEvent) -> None:
        """Queue a control event from a synchronous path (the link's reserve lets it through
        when the queue is full; past the reserve the send fails loudly)."""
        try:
            self._link.send_nowait(event)
        except trio.WouldBlock:
            self._sends_failed += 1
            message = f"the model link's send queue is full: {event.type} was not sent"
            log.error(message)
            self._events.push(RealtimeError({"type": "send_queue_full", "message": message}))
        except ModelLinkError as exc:
            log.debug("not sent (%s): %r", exc, event)  # closed: nothing left to correct

    def _poll_tracker(self) -> None:
        """Feed the app's playback tracker's position to the turn table when it moved (the
        tracker may be written from an audio thread: it is read, never waited on)."""
        assert self._tracker is not None
        state = self._tracker.get_state()
        item_id = state["current_item_id"]
        if item_id is None:
            return
        position = (item_id, state["current_item_content_index"] or 0, state["elapsed_ms"] or 0.0)
        if position != self._tracked:
            self._tracked = position
            self._feed(turns.PlaybackProgressed(*position))

    async def _resume(self, link: Any) -> tuple[int, tuple[str, ...]]:
        """On a new connection after a loss: the session's configuration, the conversation
        (:mod:`rtagents._core.restore`), and the response that was owed, unless the user's
        replayed audio will bring one (see :class:`~rtagents.models.ResilientLink`).  Attached
        to a call, nothing: the server kept the call's session and conversation, and the new
        connection only attaches to it again."""
        if self._on_call:
            return 0, ()
        resolved = self._agency.resolved
        if resolved is not None:
            config = self._settings.for_agent(resolved, initial=True)
            await link.send(p.SessionUpdate(session=config))
        restoration = restore_events(self._history.items)
        for event in restoration.events:
            await link.send(event)
        create = self._router.owed_create(replay_pending=self._link.replay_pending)
        if create is not None:
            self._link.send_nowait(create)  # queued: after the messages sent again
        return restoration.restored, restoration.skipped

    def _listener_failed(self, message: str) -> None:
        self._events.push(RealtimeError({"type": "listener_error", "message": message}))

    def _on_vad(self, event: VadSpeechStarted | VadSpeechStopped) -> None:
        if isinstance(event, VadSpeechStarted):
            self._feed(turns.UserSpeechStarted("local"))
        else:
            self._feed(turns.UserSpeechStopped("local"))

    def _on_playback(self, position: PlaybackPosition | None) -> None:
        if position is None:
            self._feed(turns.PlaybackProgressed.idle())
        else:
            progressed = turns.PlaybackProgressed(
                position.item_id, position.content_index, position.played_ms
            )
            self._feed(progressed)

    async def _ticker(self) -> None:
        while True:
            self._wake = trio.Event()
            deadline = self._machine.deadline
            self._armed_deadline = deadline if deadline is not None else math.inf
            with trio.move_on_at(self._armed_deadline):
                await self._wake.wait()
                continue
            deadline = self._machine.deadline
            if deadline is not None and trio.current_time() >= deadline:
                self._feed(turns.Tick())
