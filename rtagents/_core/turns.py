"""Turn taking, sans-IO: who is speaking, and what to do when the user talks over the agent.

Theory of operation
-------------------
:class:`TurnMachine` is fed *inputs* — local VAD and server speech events, response and audio
events from the model, playback progress, tool calls, explicit interrupts and clock ticks — each
with ``now`` (seconds, any monotonic clock).  ``handle`` returns a list of *actions* for the
session to carry out, in order, in one place: play or drop a chunk of agent audio, stop
playback, cancel a response, cancel the tools that stop on barge-in, truncate or delete an
assistant item, tell the app its audio was interrupted, report a turn that timed out.
``deadline`` is when the machine wants a :class:`Tick`.  It never reads a clock, never does I/O.

The machine is the table :data:`TABLE`: for each *legal* (state, input type) pair, the handler
that runs and the states it may lead to.  A pair that is not in the table changes nothing and
yields an :class:`Unexpected` action — never an exception.  Handlers return the next state (the
machine checks it against the table); no handler assigns the state.  The table, printed by
:func:`table_markdown` (``python -m tools.turn_table``), is kept in ``docs/architecture.md``;
a test fails if the two drift apart.

Barge-in (user speech, or an explicit interrupt, while the agent speaks): stop playback at once
(the playback actor fades out within one frame), drop every later audio chunk of that response,
cancel the response unless the server is already doing so, cancel the running tools that opted
in (``cancel_on_interrupt``), and truncate the assistant item at the audio actually played.  The
truncation is sent when the cancelled response has finished (its audio is final then) or at once
if it had already finished; it is clamped to the audio received for the item and is never 0 ms:
an item of which nothing was heard is deleted instead.  An item played to its end is left alone.

Playback positions come from the sink (``PlaybackProgressed``).  With no sink and no reports
from the app (``assume_realtime_playback``), the machine assumes each item plays in real time
from its first chunk, as the OpenAI Agents SDK does.

Deadlines: the machine never stays ``AGENT_SPEAKING`` with nothing happening.  Once the response
is done it expects playback to drain within the unplayed audio's duration plus ``slack``; while
the response runs it expects a sign of life (audio, progress, a tool call) every
``response_timeout`` seconds; otherwise it returns to ``IDLE`` with :class:`TurnTimedOut`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, TypeAlias

import attrs

from rtagents._core.turn_values import (  # the machine's vocabulary, re-exported
    AudioInterrupted,
    AudioReceived,
    CancelInterruptibleTools,
    CancelResponse,
    DeleteItem,
    DropAudio,
    InterruptRequested,
    PlayAudio,
    PlaybackProgressed,
    ResponseFinished,
    ResponseStarted,
    StopPlayback,
    Tick,
    ToolCallFinished,
    ToolCallStarted,
    TruncateItem,
    TurnAction,
    TurnInput,
    TurnState,
    TurnTimedOut,
    Unexpected,
    UserInputSent,
    UserSpeechStarted,
    UserSpeechStopped,
)

__all__ = [
    "TABLE",
    "AudioInterrupted",
    "AudioReceived",
    "CancelInterruptibleTools",
    "CancelResponse",
    "DeleteItem",
    "DropAudio",
    "Handler",
    "InterruptRequested",
    "Outcome",
    "PlayAudio",
    "PlaybackProgressed",
    "ResponseFinished",
    "ResponseStarted",
    "StopPlayback",
    "Tick",
    "ToolCallFinished",
    "ToolCallStarted",
    "TruncateItem",
    "TurnAction",
    "TurnInput",
    "TurnMachine",
    "TurnState",
    "TurnTimedOut",
    "Unexpected",
    "UserInputSent",
    "UserSpeechStarted",
    "UserSpeechStopped",
    "table_markdown",
]

S = TurnState

# -- the machine -------------------------------------------------------------------------------


@attrs.define
class _ItemAudio:
    response_id: str
    first_at: float  # when its first chunk arrived (for assumed real-time playback)
    received_ms: float = 0.0
    played_ms: float = 0.0


@attrs.define
class _PendingTruncate:
    response_id: str
    item_id: str
    content_index: int
    played_ms: float
    received_ms: float  # grows with the cancelled response's late (dropped) audio


Outcome: TypeAlias = tuple[TurnState, list[TurnAction]]
Handler: TypeAlias = Callable[["TurnMachine", TurnInput, float], Outcome]


@attrs.define
class TurnMachine:
    """See the module docstring.  ``server_cancels_on_speech``: the session's server VAD has
    ``interrupt_response`` on, so a server ``speech_started`` cancels the response by itself.
    ``server_plays_audio``: the server plays the agent's audio itself (a SIP call) and knows
    what the caller heard, so a barge-in truncates nothing from here."""

    server_cancels_on_speech: bool = True
    response_timeout: float = 30.0
    slack: float = 1.0
    cancel_timeout: float = 5.0
    assume_realtime_playback: bool = False
    server_plays_audio: bool = False
    state: TurnState = attrs.field(init=False, default=TurnState.IDLE)
    user_speaking: bool = attrs.field(init=False, default=False)
    response_id: str | None = attrs.field(init=False, default=None)  # running response
    _cancelled: set[str] = attrs.field(init=False, factory=set)  # responses whose audio we drop
    _cancel_sent: set[str] = attrs.field(init=False, factory=set)
    _items: dict[tuple[str, int], _ItemAudio] = attrs.field(init=False, factory=dict)
    _playing: tuple[str, int] | None = attrs.field(init=False, default=None)
    _pending: list[_PendingTruncate] = attrs.field(init=False, factory=list)
    _tools: set[str] = attrs.field(init=False, factory=set)
    _last_activity: float = attrs.field(init=False, default=0.0)
    _interrupted_at: float = attrs.field(init=False, default=0.0)

    # -- public ------------------------------------------------------------------------------

    def handle(self, event: TurnInput, now: float) -> list[TurnAction]:
        entry = TABLE.get((self.state, type(event)))
        if entry is None:
            return [Unexpected(self.state, event)]
        handler, allowed = entry
        if self.assume_realtime_playback:
            self._assume_played(now)
        state, actions = handler(self, event, now)
        assert state in allowed, f"{handler.__name__}: {self.state} -> {state} is not declared"
        self.state = state
        return actions

    @property
    def deadline(self) -> float | None:
        if self.state is S.INTERRUPTED:
            return self._interrupted_at + self.cancel_timeout
        if self.state is S.AWAITING_RESPONSE:
            return self._last_activity + self.response_timeout
        if self.state is not S.AGENT_SPEAKING or self._tools:
            return None
        if self.response_id is not None:
            return self._last_activity + self.response_timeout
        if self.assume_realtime_playback and self._items:
            # When the last item is assumed to have played out (exactly: no report will come).
            return max(a.first_at + a.received_ms / 1000 for a in self._items.values())
        return self._last_activity + self._unplayed_ms() / 1000 + self.slack

    def received_ms(self, item_id: str, content_index: int = 0) -> float:
        item = self._items.get((item_id, content_index))
        return item.received_ms if item else 0.0

    # -- helpers -----------------------------------------------------------------------------

    def _unplayed_ms(self) -> float:
        return sum(max(0.0, i.received_ms - i.played_ms) for i in self._items.values())

    def _audio_pending(self) -> bool:
        return self._unplayed_ms() > 0.5

    def _after_agent(self) -> TurnState:
        return S.USER_SPEAKING if self.user_speaking else S.IDLE

    def _assume_played(self, now: float) -> None:
        """No sink and no reports: each item plays in real time from its first chunk."""
        for key, audio in self._items.items():
            audio.played_ms = min(audio.received_ms, max(0.0, (now - audio.first_at) * 1000))
            if audio.played_ms > 0:
                self._playing = key

    def _settle(self) -> TurnState:
        """The state after agent audio: still speaking while a response runs or audio plays."""
        if self.response_id is None and not self._audio_pending():
            self._items.clear()
            self._playing = None
            return self._after_agent()
        return S.AGENT_SPEAKING

    def _tools_on_barge_in(self) -> list[TurnAction]:
        return [CancelInterruptibleTools()] if self._tools else []

    def _barge_in(
        self, source: Literal["local", "server", "app"], now: float, *, cancel_tools: bool = True
    ) -> Outcome:
        """Stop the agent: playback, the running response, the tools that stop on barge-in,
        and what the model thinks was heard."""
        actions: list[TurnAction] = []
        if self._audio_pending() or self._playing is not None:
            actions.append(StopPlayback())
            # The item playing, else (nothing reported played yet) the first one waiting to:
            # an app that plays audio itself must flush what it buffered either way.
            current = self._playing or next(
                (k for k, a in self._items.items() if a.received_ms - a.played_ms > 0.5), None
            )
            if current is not None:
                actions.append(AudioInterrupted(*current))
        running = self.response_id
        if running is not None:
            self._cancelled.add(running)
            server_does_it = source == "server" and self.server_cancels_on_speech
            if not server_does_it and running not in self._cancel_sent:
                self._cancel_sent.add(running)
                actions.append(CancelResponse(running))
        # What was heard of each item: truncate now if its response is over, else when it is.
        for (item_id, index), audio in self._items.items():
            if audio.played_ms >= audio.received_ms - 0.5 and audio.response_id != running:
                continue  # played to the end: nothing to correct
            pending = _PendingTruncate(
                audio.response_id, item_id, index, audio.played_ms, audio.received_ms
            )
            if audio.response_id == running:
                self._pending.append(pending)
            else:
                actions.extend(self._truncate(pending))
            self._cancelled.add(audio.response_id)
        self._items.clear()
        self._playing = None
        if cancel_tools:
            actions += self._tools_on_barge_in()
        if running is not None:
            self._interrupted_at = now
            return S.INTERRUPTED, actions
        return self._after_agent(), actions

    def _truncate(self, pending: _PendingTruncate) -> list[TurnAction]:
        if self.server_plays_audio:
            return []  # the server truncates at what it played
        heard = min(pending.played_ms, pending.received_ms)
        if heard >= pending.received_ms - 0.5:
            return []  # everything it had was heard
        end = math.floor(heard)
        if end < 1:
            return [DeleteItem(pending.item_id)]
        return [TruncateItem(pending.item_id, pending.content_index, end)]

    def _flush_pending(self, response_id: str | None) -> list[TurnAction]:
        actions: list[TurnAction] = []
        keep = []
        for pending in self._pending:
            if response_id is None or pending.response_id == response_id:
                actions.extend(self._truncate(pending))
            else:
                keep.append(pending)
        self._pending = keep
        return actions

    def _forget(self, response_id: str) -> None:
        """A finished response sends nothing more: forget its ids (no growth over a session)."""
        self._cancel_sent.discard(response_id)
        self._cancelled.discard(response_id)
        if self.response_id == response_id:
            self.response_id = None

    # -- handlers: the user ------------------------------------------------------------------

    def _user_starts(self, event: TurnInput, now: float) -> Outcome:
        """The user starts (or goes on) speaking while the agent is silent."""
        self.user_speaking = True
        self._last_activity = now
        state = S.INTERRUPTED if self.state is S.INTERRUPTED else S.USER_SPEAKING
        return state, self._tools_on_barge_in()

    def _user_barges_in(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, UserSpeechStarted)
        self.user_speaking = True
        self._last_activity = now
        return self._barge_in(event.source, now)

    def _user_stops(self, event: TurnInput, now: float) -> Outcome:
        self.user_speaking = False
        self._last_activity = now
        return (S.AWAITING_RESPONSE if self.state is S.USER_SPEAKING else self.state), []

    def _input_sent(self, event: TurnInput, now: float) -> Outcome:
        self._last_activity = now
        if self.state in (S.IDLE, S.USER_SPEAKING):
            return S.AWAITING_RESPONSE, []
        return self.state, []

    def _app_interrupts(self, event: TurnInput, now: float) -> Outcome:
        """Outside agent speech there is nothing to stop but interruptible tools."""
        assert isinstance(event, InterruptRequested)
        by_app = event.response_id is None
        return self.state, (self._tools_on_barge_in() if by_app else [])

    def _app_interrupts_agent(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, InterruptRequested)
        target = event.response_id
        by_app = target is None  # (else a guardrail: tools are not the user's to stop)
        if target is None or target == self.response_id:
            return self._barge_in("app", now, cancel_tools=by_app)
        playing = any(a.response_id == target for a in self._items.values())
        if self.response_id is None and playing:
            return self._barge_in("app", now, cancel_tools=by_app)
        return self.state, []  # a newer response runs, or that one is over and heard

    # -- handlers: the model -----------------------------------------------------------------

    def _response_starts(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, ResponseStarted)
        actions: list[TurnAction] = []
        if self.state is S.INTERRUPTED:
            # The server started the next response before finishing the cancelled one.
            actions += self._flush_pending(None)
        if self.state is S.AGENT_SPEAKING and self.response_id not in (None, event.response_id):
            actions.append(Unexpected(self.state, event))  # overlapping responses
        self.response_id = event.response_id
        self._cancelled.discard(event.response_id)
        self._last_activity = now
        return S.AGENT_SPEAKING, actions

    def _audio_arrives(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, AudioReceived)
        if event.response_id in self._cancelled:
            return self._audio_dropped(event, now)
        key = (event.item_id, event.content_index)
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = _ItemAudio(event.response_id, now)
        item.received_ms += event.ms
        self._last_activity = now
        return S.AGENT_SPEAKING, [PlayAudio(event.item_id, event.content_index)]

    def _audio_dropped(self, event: TurnInput, now: float) -> Outcome:
        """Audio of a cancelled response: never played; counted towards its truncation."""
        assert isinstance(event, AudioReceived)
        key = (event.item_id, event.content_index)
        for pending in self._pending:
            if (pending.item_id, pending.content_index) == key:
                pending.received_ms += event.ms
        return self.state, [DropAudio(event.item_id, event.ms)]

    def _response_ends(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, ResponseFinished)
        self._last_activity = now
        self._forget(event.response_id)
        return self._settle(), []

    def _cancelled_response_ends(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, ResponseFinished)
        self._last_activity = now
        actions = self._flush_pending(event.response_id)
        self._forget(event.response_id)
        if not self._pending and self.response_id is None:
            return (S.USER_SPEAKING if self.user_speaking else S.AWAITING_RESPONSE), actions
        return S.INTERRUPTED, actions

    def _late_response_ends(self, event: TurnInput, now: float) -> Outcome:
        """A response that the machine gave up on (a timeout) finished after all."""
        assert isinstance(event, ResponseFinished)
        self._forget(event.response_id)
        return self.state, []

    # -- handlers: playback, tools, time -----------------------------------------------------

    def _progress(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, PlaybackProgressed)
        self._last_activity = now
        if event.item_id is None:
            self._playing = None
            for item in self._items.values():
                item.played_ms = item.received_ms  # drained: all of it was played
        else:
            key = (event.item_id, event.content_index)
            current = self._items.get(key)
            if current is not None:
                current.played_ms = min(event.played_ms, current.received_ms)
                self._playing = key
        return (self._settle() if self.state is S.AGENT_SPEAKING else self.state), []

    def _tool_starts(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, ToolCallStarted)
        self._tools.add(event.call_id)
        self._last_activity = now
        return self.state, []

    def _tool_ends(self, event: TurnInput, now: float) -> Outcome:
        assert isinstance(event, ToolCallFinished)
        self._tools.discard(event.call_id)
        self._last_activity = now
        return self.state, []

    def _nothing_due(self, event: TurnInput, now: float) -> Outcome:
        return self.state, []

    def _tick_speaking(self, event: TurnInput, now: float) -> Outcome:
        if self.assume_realtime_playback:
            state = self._settle()
            if state is not S.AGENT_SPEAKING:
                return state, []  # the assumed playback ended: a normal end of turn
        deadline = self.deadline
        if deadline is None or now < deadline:
            return S.AGENT_SPEAKING, []
        reason = (
            "the response went silent"
            if self.response_id is not None
            else "playback never reported the end of the audio"
        )
        # The audio accounting stays: if that audio does play (or the user barges in over it)
        # later, positions and truncations are still right.
        given_up, self.response_id = self.response_id, None
        return self._after_agent(), [TurnTimedOut(S.AGENT_SPEAKING, reason, given_up)]

    def _tick_interrupted(self, event: TurnInput, now: float) -> Outcome:
        if now < self._interrupted_at + self.cancel_timeout:
            return S.INTERRUPTED, []
        actions: list[TurnAction] = [
            TurnTimedOut(S.INTERRUPTED, "cancelled response never finished", self.response_id)
        ]
        actions += self._flush_pending(None)
        self.response_id = None
        return (S.USER_SPEAKING if self.user_speaking else S.IDLE), actions

    def _tick_awaiting(self, event: TurnInput, now: float) -> Outcome:
        if now < self._last_activity + self.response_timeout:
            return S.AWAITING_RESPONSE, []
        return S.IDLE, [TurnTimedOut(S.AWAITING_RESPONSE, "no response came")]


# -- the table ---------------------------------------------------------------------------------

IDLE, USER, AWAITING, AGENT, INTERRUPTED = (
    S.IDLE,
    S.USER_SPEAKING,
    S.AWAITING_RESPONSE,
    S.AGENT_SPEAKING,
    S.INTERRUPTED,
)
_QUIET = (IDLE, USER, AWAITING)  # the agent is silent and no response runs
_ALL = tuple(TurnState)
M = TurnMachine

#: (state, input type) -> (handler, the states it may lead to).  Only legal pairs are listed.
#: Audio in a quiet state is not: the server announces every response (``response.created``),
#: so such audio belongs to a response the machine gave up on, and it is not played.
TABLE: dict[tuple[TurnState, type], tuple[Handler, frozenset[TurnState]]] = {}


def _declare(states: tuple[TurnState, ...], kind: type, handler: Handler, *to: TurnState) -> None:
    for state in states:
        assert (state, kind) not in TABLE, f"{state}, {kind.__name__} declared twice"
        # "stay" (no targets given) means the handler keeps the state it was called in
        TABLE[(state, kind)] = (handler, frozenset(to or (state,)))


_declare((IDLE, AWAITING), UserSpeechStarted, M._user_starts, USER)
_declare((USER, INTERRUPTED), UserSpeechStarted, M._user_starts)
_declare((AGENT,), UserSpeechStarted, M._user_barges_in, INTERRUPTED, USER, IDLE)
_declare((USER,), UserSpeechStopped, M._user_stops, AWAITING)
_declare((IDLE, AWAITING, AGENT, INTERRUPTED), UserSpeechStopped, M._user_stops)
_declare((IDLE, USER), UserInputSent, M._input_sent, AWAITING)
_declare((AWAITING, AGENT, INTERRUPTED), UserInputSent, M._input_sent)
_declare((*_QUIET, AGENT, INTERRUPTED), ResponseStarted, M._response_starts, AGENT)
_declare((AGENT,), AudioReceived, M._audio_arrives, AGENT)
_declare((INTERRUPTED,), AudioReceived, M._audio_dropped)
_declare((AGENT,), ResponseFinished, M._response_ends, AGENT, USER, IDLE)
_declare((INTERRUPTED,), ResponseFinished, M._cancelled_response_ends, INTERRUPTED, USER, AWAITING)
_declare(_QUIET, ResponseFinished, M._late_response_ends)
_declare((AGENT,), PlaybackProgressed, M._progress, AGENT, USER, IDLE)
_declare((*_QUIET, INTERRUPTED), PlaybackProgressed, M._progress)
_declare(_ALL, ToolCallStarted, M._tool_starts)
_declare(_ALL, ToolCallFinished, M._tool_ends)
_declare((AGENT,), InterruptRequested, M._app_interrupts_agent, AGENT, INTERRUPTED, USER, IDLE)
_declare((*_QUIET, INTERRUPTED), InterruptRequested, M._app_interrupts)
_declare((AGENT,), Tick, M._tick_speaking, AGENT, USER, IDLE)
_declare((INTERRUPTED,), Tick, M._tick_interrupted, INTERRUPTED, USER, IDLE)
_declare((AWAITING,), Tick, M._tick_awaiting, AWAITING, IDLE)
_declare((IDLE, USER), Tick, M._nothing_due)


def _cell(state: TurnState, kind: type) -> str:
    entry = TABLE.get((state, kind))
    if entry is None:
        return "*Unexpected*"
    handler, to = entry
    name = handler.__name__.lstrip("_")
    if to == {state}:
        return name
    return f"{name} → " + ", ".join(s.value for s in TurnState if s in to)


def table_markdown() -> str:
    """The turn table as Markdown: one row per input, one column per state; a cell names the
    handler and, where it may change the state, the states it may lead to."""
    inputs = list(TurnInput.__args__)
    lines = [
        "| input | " + " | ".join(s.value for s in TurnState) + " |",
        "|---" * (len(TurnState) + 1) + "|",
    ]
    for kind in inputs:
        cells = " | ".join(_cell(state, kind) for state in TurnState)
        lines.append(f"| {kind.__name__} | {cells} |")
    return "\n".join(lines) + "\n"
