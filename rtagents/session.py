"""A realtime session: the model link, the audio actors and the turn machine in one nursery.

Theory of operation
-------------------
``open_session`` (or ``async with await RealtimeRunner(agent).run()``) opens one nursery and
starts in it:

* the **model link** (``rtagents.models``) and a **reader** task that turns each server event
  into history updates, session events and turn-machine inputs;
* when an audio source is configured, the **capture** actor, whose frames go to an **uplink**
  task (→ ``input_audio_buffer.append``) and to the local **VAD** actor; ``send_audio`` feeds the
  same two paths;
* when a sink is configured, the **playback** actor, which reports what it has played;
* a **ticker** that feeds the turn machine a ``Tick`` at its deadline;
* the **agency** (``rtagents._agency``): the agent's side — the tool executor (one task per
  call, each under its own timeout, behind the approval gate), handoffs, output guardrails and
  hooks — so that nothing on the audio path waits for a tool, a guardrail or a hook.

Everything that decides — who is speaking, what to play, what to cancel or truncate — is the
sans-IO :class:`~rtagents._core.turns.TurnMachine`; its inputs are fed synchronously from the VAD
callback, the reader and playback progress, and its actions are carried out at once, without a
channel hop.  That is what keeps barge-in within one frame: the VAD decision for a frame stops
playback while that frame is being processed.

Every queue is bounded.  Audio queues drop their oldest frame when full; the consumer's event
queue never blocks the session: when the consumer falls behind, it first loses audio, raw and
history-snapshot events (each later one supersedes them), and every loss is counted in
:meth:`RealtimeSession.statistics`.

Without a sink the app plays audio itself: it may report progress with ``playback_progress``
(exact truncation), else the session assumes real-time playback from the first chunk of each
item, as the OpenAI Agents SDK does.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs
import trio

from rtagents import items as it
from rtagents import protocol as p
from rtagents._agency import Agency
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.actors import (
    AudioFrame,
    AudioQueue,
    CaptureActor,
    PlaybackActor,
    PlaybackPosition,
    VadActor,
    VadSpeechStarted,
    VadSpeechStopped,
)
from rtagents.agent import RealtimeAgent, ResolvedAgent
from rtagents.config import RealtimeRunConfig
from rtagents.context import RunContextWrapper, Usage
from rtagents.events import (
    DROPPABLE_TYPES,
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudio,
    RealtimeAudioEnd,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeHistoryUpdated,
    RealtimeInputAudioTimeoutTriggered,
    RealtimeRawModelEvent,
    RealtimeSessionEvent,
)
from rtagents.models import LinkClosed, ModelLinkError, OpenAIRealtimeLink

log = logging.getLogger("rtagents.session")
_CANCEL_ID = "rtagents_cancel_"  # event ids of the response.cancel events the session sends


@attrs.frozen(kw_only=True)
class SessionStatistics:
    state: str
    events_emitted: int
    events_dropped: dict[str, int]
    event_queue_peak: int
    agent_audio_dropped_ms: float
    turn_timeouts: int
    unexpected_inputs: int
    tool_calls: int
    tools: Any
    pending_approvals: int
    hooks_called: int
    hooks_failed: int
    guardrail_checks: int
    guardrail_trips: int
    last_barge_in_at: float | None  # trio time playback was last stopped for the user
    link: Any
    uplink: Any
    capture: Any
    vad: Any
    playback: Any


class _EventQueue:
    """Bounded; never blocks the producer.  Full: drop the oldest droppable event, else the
    oldest event; count every drop by type."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: collections.deque[RealtimeSessionEvent] = collections.deque()
        self._ready = trio.Event()
        self.closed = False
        self.emitted = 0
        self.peak = 0
        self.dropped: collections.Counter[str] = collections.Counter()

    def push(self, event: RealtimeSessionEvent) -> None:
        if self.closed:
            return
        if len(self._items) >= self.capacity:
            victim = next((e for e in self._items if e.type in DROPPABLE_TYPES), None)
            if victim is not None:
                self._items.remove(victim)
            else:
                victim = self._items.popleft()
            self.dropped[victim.type] += 1
        self._items.append(event)
        self.emitted += 1
        self.peak = max(self.peak, len(self._items))
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def get_nowait(self) -> RealtimeSessionEvent | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> RealtimeSessionEvent | None:
        while not self._items:
            if self.closed:
                return None
            self._ready = trio.Event()
            await self._ready.wait()
        return self._items.popleft()


class RealtimeSession:
    """One live conversation.  Made by :func:`open_session` or :class:`RealtimeRunner`."""

    def __init__(
        self, agent: RealtimeAgent, config: RealtimeRunConfig, context: Any = None
    ) -> None:
        self.starting_agent = agent
        self.config = config
        factory = config.link_factory or (lambda c: OpenAIRealtimeLink(c))
        self._link = factory(config.model)
        self._events = _EventQueue(config.event_queue_size)
        self._machine = turns.TurnMachine()
        self._history = History()
        self.context: RunContextWrapper[Any] = RunContextWrapper(context)
        self._agency = Agency(
            self,
            self._history,
            self.context,
            hooks=config.hooks,
            output_guardrails=config.output_guardrails,
            guardrails_settings=config.guardrails_settings,
            tool_error_formatter=config.tool_error_formatter,
        )
        self._last_response_id: str | None = None
        self._response_agents: dict[str, RealtimeAgent] = {}
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._wake = trio.Event()
        self._armed_deadline = math.inf  # when the ticker will next look at the machine
        self._server_session: p.SessionConfig | None = None
        self._input_format = _format(config.model_settings, "input")
        self._output_format = _format(config.model_settings, "output")
        # response.create sequencing: one at a time, never during a response
        self._response_active = False
        self._create_in_flight: str | None = None
        self._create_pending = False
        self._create_counter = 0
        self._cancel_counter = 0
        # audio paths
        self._uplink: AudioQueue[AudioFrame] = AudioQueue(config.uplink_queue_frames)
        self._vad_queue: AudioQueue[AudioFrame] | None = None
        self._capture: CaptureActor | None = None
        self._vad: VadActor | None = None
        self._playback: PlaybackActor | None = None
        self._app_reports_playback = False
        self._first_audio_at: dict[tuple[str, int], float] = {}
        self._seq = 0
        # counters
        self._dropped_audio_ms = 0.0
        self._timeouts = 0
        self._unexpected = 0
        self._last_barge_in_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def _start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        config = self.config
        await nursery.start(self._link.run)
        await nursery.start(self._agency.run)
        await self._agency.switch_to(self.starting_agent, initial=True)
        if config.audio_sink is not None:
            rate = self._output_format.sample_rate
            self._playback = PlaybackActor(
                config.audio_sink, in_rate=rate, on_progress=self._on_playback
            )
            await nursery.start(self._playback.run)
        if config.local_vad:
            self._vad_queue = AudioQueue(config.uplink_queue_frames)
            self._vad = VadActor(self._vad_queue, self._on_vad)
            await nursery.start(self._vad.run)
        nursery.start_soon(self._reader)
        nursery.start_soon(self._ticker)
        nursery.start_soon(self._uplink_task)
        if config.audio_source is not None:
            outputs = [self._uplink]
            if self._vad_queue is not None:  # (an empty queue is falsy: test against None)
                outputs.append(self._vad_queue)
            self._capture = CaptureActor(
                config.audio_source,
                out_rate=self._input_format.sample_rate,
                outputs=outputs,
                close_outputs=False,  # send_audio keeps using them
            )
            await nursery.start(self._capture.run)
        self._events.push(RealtimeHistoryUpdated(()))

    async def close(self) -> None:
        """Close the link and stop every actor; idempotent.  Iteration ends after the events
        already queued."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            await self._link.aclose()
            # The session owns the source and sink it was given: a WAV file is only complete
            # once closed.
            for resource in (self.config.audio_sink, self.config.audio_source):
                closer = getattr(resource, "aclose", None)
                if closer is not None:
                    await closer()
        self._events.close()
        self._uplink.close()
        if self._vad_queue is not None:
            self._vad_queue.close()
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

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
        await self._stack.aclose()

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

    async def send_message(self, message: str | p.MessageItem) -> None:
        """A user message (text, or a message item with text and images), then a response."""
        item = p.MessageItem.user_text(message) if isinstance(message, str) else message
        await self._link.send(p.ConversationItemCreate(item=item))
        self._feed(turns.UserInputSent())
        await self._request_response()

    async def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        """Audio in the session's input format; also seen by the local VAD (barge-in)."""
        if data:
            if self._input_format.type == "audio/pcm" and len(data) % 2:
                raise ValueError("PCM16 audio must have an even number of bytes")
            await self._link.send(p.InputAudioBufferAppend(audio=data))
            if self._vad_queue is not None:
                pcm = self._input_format.to_pcm16(data)
                rate = self._input_format.sample_rate
                self._seq += 1
                frame = AudioFrame(pcm, rate, trio.current_time(), self._seq)
                self._vad_queue.send_nowait(frame)
        if commit:
            await self._link.send(p.InputAudioBufferCommit())
            self._feed(turns.UserInputSent())

    async def interrupt(self) -> None:
        """Stop the agent now: playback, the response, and truncate what was not heard."""
        self._virtual_progress()
        self._agency.on_user_speech()
        self._feed(turns.InterruptRequested())

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch the live session to `agent` (instructions, tools, handoffs) with one
        ``session.update``; no ``handoff`` event.  If `agent` is invalid, this raises and the
        current agent stays."""
        await self._agency.switch_to(agent)

    async def approve_tool_call(self, call_id: str, *, always: bool = False) -> bool:
        """Run a call that waits for approval (``tool_approval_required``).  ``always``: approve
        every later call of that tool without asking.  False if no such call is waiting."""
        return self._agency.decide(call_id, approve=True, always=always, message=None)

    async def reject_tool_call(
        self,
        call_id: str,
        reason: str | None = None,
        *,
        always: bool = False,
        rejection_message: str | None = None,
    ) -> bool:
        """Refuse a call that waits for approval; the model reads `reason` (else the run's
        ``tool_error_formatter``, else "Tool execution was not approved.")."""
        message = reason if reason is not None else rejection_message
        return self._agency.decide(call_id, approve=False, always=always, message=message)

    @property
    def agent(self) -> RealtimeAgent:
        """The agent the session runs now (it changes on handoffs and ``update_agent``)."""
        return self._agency.agent if self._agency.resolved else self.starting_agent

    @property
    def usage(self) -> Usage:
        """Token usage summed over every ``response.done`` so far."""
        return self.context.usage

    @property
    def pending_tool_approvals(self) -> tuple[str, ...]:
        return self._agency.pending_approvals()

    def playback_progress(self, item_id: str, content_index: int, played_ms: float) -> None:
        """For apps that play audio themselves: how much of an item has been heard."""
        self._app_reports_playback = True
        self._feed(turns.PlaybackProgressed(item_id, content_index, played_ms))

    def playback_finished(self) -> None:
        """For apps that play audio themselves: everything received has been played."""
        self._app_reports_playback = True
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

        return SessionStatistics(
            state=self._machine.state.value,
            events_emitted=self._events.emitted,
            events_dropped=dict(self._events.dropped),
            event_queue_peak=self._events.peak,
            agent_audio_dropped_ms=self._dropped_audio_ms,
            turn_timeouts=self._timeouts,
            unexpected_inputs=self._unexpected,
            tool_calls=self._agency.tools.statistics().submitted,
            last_barge_in_at=self._last_barge_in_at,
            link=self._link.statistics(),
            uplink=self._uplink.statistics(),
            capture=stats(self._capture),
            vad=stats(self._vad),
            playback=stats(self._playback),
            tools=self._agency.tools.statistics(),
            pending_approvals=len(self._agency.pending_approvals()),
            hooks_called=self._agency.hooks_called,
            hooks_failed=self._agency.hooks_failed,
            guardrail_checks=self._agency.guardrail_checks,
            guardrail_trips=self._agency.guardrail_trips,
        )

    # -- internals: config -------------------------------------------------------------------

    def session_config(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig:
        """What ``session.update`` says for `resolved` (see :class:`RealtimeRunConfig`)."""
        base = p.SessionConfig(
            instructions=resolved.instructions,
            tools=resolved.protocol_tools(),
            prompt=resolved.agent.prompt,
        )
        if self.config.model_settings is None:
            return base
        agent_fields = () if initial else ("instructions", "tools", "prompt")
        overrides = {
            f.name: getattr(self.config.model_settings, f.name)
            for f in attrs.fields(p.SessionConfig)
            if f.name != "raw"
            and f.name not in agent_fields
            and getattr(self.config.model_settings, f.name) not in (None, p.UNSET)
        }
        return attrs.evolve(base, **overrides)

    # -- the port the agency uses ------------------------------------------------------------

    def push(self, event: RealtimeSessionEvent) -> None:
        self._events.push(event)

    async def send(self, event: p.ClientEvent) -> None:
        try:
            await self._link.send(event)
        except ModelLinkError as exc:  # closed under a late tool or guardrail: nothing to tell
            log.debug("not sent (%s): %r", exc, event)

    async def request_response(self) -> None:
        await self._request_response()

    def feed(self, event: turns.TurnInput) -> None:
        self._feed(event)

    def interrupt_response(self, response_id: str) -> None:
        self._virtual_progress()
        self._feed(turns.InterruptRequested(response_id))

    def is_latest_response(self, response_id: str) -> bool:
        return response_id == self._last_response_id

    # -- internals: the turn machine ---------------------------------------------------------

    def _feed(self, event: turns.TurnInput, audio: bytes = b"") -> None:
        for action in self._machine.handle(event, trio.current_time()):
            self._execute(action, event, audio)
        # Wake the ticker only for an earlier deadline: a later one (most inputs push it
        # later) is found when the armed one passes, so audio frames cost no task switch.
        deadline = self._machine.deadline
        if deadline is not None and deadline < self._armed_deadline:
            self._wake.set()

    def _execute(self, action: turns.TurnAction, cause: turns.TurnInput, audio: bytes) -> None:
        if isinstance(action, turns.PlayAudio):
            assert isinstance(cause, turns.AudioReceived)
            if self._playback is not None:
                pcm = self._output_format.to_pcm16(audio)  # decoded only when played here
                self._playback.enqueue(action.item_id, action.content_index, pcm)
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
            self._cancel_counter += 1
            event_id = f"{_CANCEL_ID}{self._cancel_counter}"
            self._send_soon(p.ResponseCancel(event_id=event_id, response_id=action.response_id))
        elif isinstance(action, turns.TruncateItem):
            self._send_soon(
                p.ConversationItemTruncate(
                    item_id=action.item_id,
                    content_index=action.content_index,
                    audio_end_ms=action.audio_end_ms,
                )
            )
        elif isinstance(action, turns.DeleteItem):
            self._send_soon(p.ConversationItemDelete(item_id=action.item_id))
        elif isinstance(action, turns.AudioInterrupted):
            self._events.push(RealtimeAudioInterrupted(action.item_id, action.content_index))
        elif isinstance(action, turns.TurnTimedOut):
            self._timeouts += 1
            log.warning("turn timed out in %s: %s", action.state.value, action.reason)
        elif isinstance(action, turns.Unexpected):
            self._unexpected += 1
            log.debug("unexpected turn input in %s: %r", action.state.value, action.input)

    def _send_soon(self, event: p.ClientEvent) -> None:
        try:
            self._link.send_nowait(event)
        except trio.WouldBlock:
            assert self._nursery is not None
            self._nursery.start_soon(self._link.send, event)
        except Exception as exc:  # the link is closed: nothing left to correct
            log.debug("not sent (%s): %r", exc, event)

    def _on_vad(self, event: VadSpeechStarted | VadSpeechStopped) -> None:
        if isinstance(event, VadSpeechStarted):
            self._virtual_progress()
            self._agency.on_user_speech()
            self._feed(turns.UserSpeechStarted("local"))
        else:
            self._feed(turns.UserSpeechStopped("local"))

    def _on_playback(self, position: PlaybackPosition | None) -> None:
        if position is None:
            self._feed(turns.PlaybackProgressed.idle())
        else:
            self._feed(
                turns.PlaybackProgressed(
                    position.item_id, position.content_index, position.played_ms
                )
            )

    def _virtual_progress(self) -> None:
        """No sink and no reports from the app: assume real-time playback since the first
        chunk of each item."""
        if self._playback is not None or self._app_reports_playback:
            return
        now = trio.current_time()
        for (item_id, index), first in list(self._first_audio_at.items()):
            received = self._machine.received_ms(item_id, index)
            if not received:  # the machine is done with this item: so are we
                del self._first_audio_at[(item_id, index)]
                continue
            played = min(received, (now - first) * 1000)
            self._feed(turns.PlaybackProgressed(item_id, index, played))

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
                self._virtual_progress()
                self._feed(turns.Tick())

    # -- internals: uplink -------------------------------------------------------------------

    async def _uplink_task(self) -> None:
        async for frame in self._uplink:
            data = self._input_format.from_pcm16(frame.pcm)
            await self._link.send(p.InputAudioBufferAppend(audio=data))

    # -- internals: server events ------------------------------------------------------------

    async def _reader(self) -> None:
        async for event in self._link:
            if self.config.raw_events:
                self._events.push(RealtimeRawModelEvent(event))
            try:
                self._on_server_event(event)
            except Exception as exc:  # never let one odd event end the session
                log.exception("error handling %s", getattr(event, "type", event))
                self._events.push(RealtimeError({"type": "session_error", "message": str(exc)}))
            if isinstance(event, LinkClosed):
                break
        await self.close()

    def _on_server_event(self, event: Any) -> None:
        if isinstance(event, p.ResponseOutputAudioDelta):
            self._on_audio_delta(event)
        elif isinstance(event, p.ResponseOutputAudioDone):
            if self._playback is not None:
                self._playback.end_item(event.item_id)
            self._events.push(RealtimeAudioEnd(event.item_id, event.content_index))
        elif isinstance(event, p.InputAudioBufferSpeechStarted):
            self._virtual_progress()
            self._agency.on_user_speech()
            self._feed(turns.UserSpeechStarted("server"))
        elif isinstance(event, p.InputAudioBufferSpeechStopped):
            self._feed(turns.UserSpeechStopped("server"))
        elif isinstance(event, p.ResponseCreated):
            self._response_active = True
            self._create_in_flight = None
            self._last_response_id = event.response.id
            self._feed(turns.ResponseStarted(event.response.id or ""))
            agent = self.agent
            self._response_agents[event.response.id or ""] = agent
            while len(self._response_agents) > 64:  # responses that never reported done
                del self._response_agents[next(iter(self._response_agents))]
            self._events.push(RealtimeAgentStartEvent(agent, event.response.id))
            self._agency.on_agent_start(agent)
        elif isinstance(event, p.ResponseDone):
            rid = event.response.id or ""
            self._response_active = False
            self.context.usage.add(event.response.usage)
            self._feed(turns.ResponseFinished(rid, event.response.status or "completed"))
            # The agent that produced the response (a handoff in it switched the session).
            agent = self._response_agents.pop(rid, self.agent)
            if event.response.status == "failed":  # say why: a failed response is silent
                details = event.response.status_details
                error = details.error if details is not None else None
                message = (error.message if error is not None else None) or "no reason given"
                self._events.push(
                    RealtimeError(
                        {"type": "response_failed", "response_id": rid, "message": message}
                    )
                )
            self._events.push(RealtimeAgentEndEvent(agent, rid, event.response.status))
            self._agency.on_agent_end(agent, self._history.response_text(event.response.output))
            if self._create_pending:
                self._create_pending = False
                self._send_create()
        elif isinstance(event, p.SessionCreated | p.SessionUpdated):
            self._on_session(event.session)
        elif isinstance(
            event,
            p.ConversationItemAdded
            | p.ConversationItemDone
            | p.ConversationItemCreated
            | p.ConversationItemRetrieved,
        ):
            self._push_all(
                self._history.upsert(event.item, getattr(event, "previous_item_id", None))
            )
        elif isinstance(event, p.ResponseOutputItemAdded | p.ResponseOutputItemDone):
            self._push_all(self._history.upsert(event.item, None))
            if isinstance(event, p.ResponseOutputItemDone) and isinstance(
                event.item, p.FunctionCallItem
            ):
                self._agency.on_function_call(event.item)
        elif isinstance(event, p.ResponseOutputAudioTranscriptDelta | p.ResponseOutputTextDelta):
            audio = isinstance(event, p.ResponseOutputAudioTranscriptDelta)
            self._push_all(self._history.append_text(event.item_id, event.delta, audio=audio))
            self._agency.on_output_text(event.response_id, event.item_id, event.delta)
        elif isinstance(event, p.ResponseOutputAudioTranscriptDone | p.ResponseOutputTextDone):
            self._agency.on_output_done(event.item_id)
        elif isinstance(event, p.ConversationItemTruncated):
            self._push_all(self._history.mark_truncated(event.item_id, event.audio_end_ms))
            # The server cut the transcript too: fetch the item to show what was heard.
            self._send_soon(p.ConversationItemRetrieve(item_id=event.item_id))
        elif isinstance(event, p.ConversationItemDeleted):
            self._push_all(self._history.delete(event.item_id))
        elif isinstance(event, p.InputAudioTranscriptionCompleted):
            self._push_all(self._history.set_user_transcript(event.item_id, event.transcript))
        elif isinstance(event, p.InputAudioBufferTimeoutTriggered):
            self._events.push(
                RealtimeInputAudioTimeoutTriggered(
                    event.item_id, event.audio_start_ms, event.audio_end_ms
                )
            )
        elif isinstance(event, p.ErrorEvent):
            self._on_error(event)
        elif isinstance(event, p.ServerProtocolError):
            self._events.push(RealtimeError({"type": "protocol_error", "message": str(event)}))
        elif isinstance(event, LinkClosed) and (
            event.by == "error" or (event.by != "local" and event.code not in (1000, None))
        ):
            message = f"the model link closed ({event.by}, {event.code}): {event.reason}"
            self._events.push(RealtimeError({"type": "link_closed", "message": message}))

    def _on_audio_delta(self, event: p.ResponseOutputAudioDelta) -> None:
        data = bytes(event.audio)
        ms = self._output_format.duration_ms(len(data))
        if self._playback is None and not self._app_reports_playback:
            key = (event.item_id, event.content_index)
            self._first_audio_at.setdefault(key, trio.current_time())
        self._feed(
            turns.AudioReceived(event.response_id, event.item_id, event.content_index, ms),
            audio=data,
        )

    def _on_session(self, session: p.SessionConfig) -> None:
        self._server_session = session
        audio = session.audio
        detection = audio.input.turn_detection if audio and audio.input else None
        self._machine.server_cancels_on_speech = bool(
            detection not in (None, p.UNSET) and getattr(detection, "interrupt_response", False)
        )
        if audio and audio.output and audio.output.format:
            self._output_format = audio.output.format
        if audio and audio.input and audio.input.format:
            self._input_format = audio.input.format

    def _on_error(self, event: p.ErrorEvent) -> None:
        error = event.error
        ours = (error.event_id or "").startswith(_CANCEL_ID)
        if error.code == "response_cancel_not_active" and ours:
            return  # we cancelled a response the server had already ended: harmless
        if self._create_in_flight is not None and error.event_id == self._create_in_flight:
            self._create_in_flight = None
        self._events.push(RealtimeError(error))

    # -- internals: responses ----------------------------------------------------------------

    async def _request_response(self) -> None:
        if self._response_active or self._create_in_flight is not None:
            self._create_pending = True  # coalesced: one response for everything queued
            return
        self._send_create()

    def _send_create(self) -> None:
        self._create_counter += 1
        event_id = f"rtagents_response_create_{self._create_counter}"
        self._create_in_flight = event_id
        self._send_soon(p.ResponseCreate(event_id=event_id))

    def _push_all(self, events: Sequence[RealtimeSessionEvent]) -> None:
        for event in events:
            self._events.push(event)


def _format(settings: p.SessionConfig | None, direction: str) -> p.AudioFormat:
    """The configured input or output format (PCM 24 kHz unless the settings say otherwise)."""
    audio = settings.audio if settings else None
    side = getattr(audio, direction, None) if audio else None
    fmt = getattr(side, "format", None)
    return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()


@contextlib.asynccontextmanager
async def open_session(
    agent: RealtimeAgent, config: RealtimeRunConfig | None = None, *, context: Any = None
) -> AsyncIterator[RealtimeSession]:
    """The trio-first entry point: a connected session for the duration of the block."""
    async with RealtimeSession(agent, config or RealtimeRunConfig(), context) as session:
        yield session


class RealtimeRunner:
    """Mirrors the OpenAI Agents SDK: ``async with await RealtimeRunner(agent).run() as s``."""

    def __init__(self, starting_agent: RealtimeAgent, *, config: RealtimeRunConfig | None = None):
        self.starting_agent = starting_agent
        self.config = config or RealtimeRunConfig()

    async def run(
        self, *, context: Any = None, config: RealtimeRunConfig | None = None
    ) -> RealtimeSession:
        """A session, not yet connected (no I/O happens until ``async with``).  `context` is
        the app's object, handed to tools, guardrails, hooks and dynamic instructions."""
        return RealtimeSession(self.starting_agent, config or self.config, context)
