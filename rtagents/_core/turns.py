"""Turn taking, sans-IO: who is speaking, and what to do when the user talks over the agent.

Theory of operation
-------------------
:class:`TurnMachine` is fed *inputs* — local VAD and server speech events, response and audio
events from the model, playback progress from the playback actor, tool calls, explicit
interrupts and clock ticks — each with ``now`` (seconds, any monotonic clock).  ``handle``
returns a list of *actions* for the session to carry out in order: play or drop a chunk of agent
audio, stop playback, cancel a response, truncate or delete an assistant item, tell the app its
audio was interrupted, or report a turn that timed out.  ``deadline`` is the time at which the
machine wants a :class:`Tick`; it never reads a clock and never does I/O.

States (:class:`TurnState`): ``IDLE``; ``USER_SPEAKING``; ``AWAITING_RESPONSE`` (the user's turn
ended or a message was sent; no response yet); ``AGENT_SPEAKING`` (a response is running or its
audio is still playing); ``INTERRUPTED`` (the user barged in; the cancelled response has not
finished yet).  Which handler runs for a (state, input) pair is the table ``_TABLE``; a pair not
in it changes nothing and yields an :class:`Unexpected` value — never an exception.

Barge-in.  On user speech (or an explicit interrupt) while agent audio is playing or a response
is running: stop playback at once (the playback actor fades out within one frame), drop every
later audio chunk of that response, cancel the response unless the server is already doing so,
and truncate the assistant item at the audio actually played, as last reported by playback.
The truncation is sent when the cancelled response has finished (so the item's audio is final)
or at once when it had already finished.  It is clamped to the audio received for the item and
is never 0 ms: an item of which nothing was heard is deleted instead.  If the item had been
played to its end, nothing is truncated.

Deadlines.  The machine never stays ``AGENT_SPEAKING`` with nothing happening: once the response
is done it expects playback to drain within the unplayed audio's duration plus ``slack``, and
while the response runs it expects some sign of life (audio, progress, a tool call) every
``response_timeout`` seconds; otherwise it returns to ``IDLE`` with :class:`TurnTimedOut`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Literal, TypeAlias

import attrs

# -- inputs ------------------------------------------------------------------------------------


@attrs.frozen
class UserSpeechStarted:
    source: Literal["local", "server"]


@attrs.frozen
class UserSpeechStopped:
    source: Literal["local", "server"]


@attrs.frozen
class UserInputSent:
    """A message or a committed audio buffer that the model will answer."""


@attrs.frozen
class ResponseStarted:
    response_id: str


@attrs.frozen
class AudioReceived:
    response_id: str
    item_id: str
    content_index: int
    ms: float  # duration of the chunk


@attrs.frozen
class ResponseFinished:
    response_id: str
    status: str = "completed"


@attrs.frozen
class PlaybackProgressed:
    """``played_ms`` of (item_id, content_index) has reached the sink; None: playback is idle."""

    item_id: str | None
    content_index: int = 0
    played_ms: float = 0.0

    @classmethod
    def idle(cls) -> PlaybackProgressed:
        return cls(None)


@attrs.frozen
class ToolCallStarted:
    call_id: str


@attrs.frozen
class ToolCallFinished:
    call_id: str


@attrs.frozen
class InterruptRequested:
    """The app asked to interrupt (``session.interrupt()``), or a guardrail stopped response
    ``response_id``: then only that response is stopped, and only if it is the running one or
    its audio is still playing with no newer response running."""

    response_id: str | None = None


@attrs.frozen
class Tick:
    """The deadline passed (or the session just wants the clock looked at)."""


TurnInput: TypeAlias = (
    UserSpeechStarted
    | UserSpeechStopped
    | UserInputSent
    | ResponseStarted
    | AudioReceived
    | ResponseFinished
    | PlaybackProgressed
    | ToolCallStarted
    | ToolCallFinished
    | InterruptRequested
    | Tick
)

# -- actions -----------------------------------------------------------------------------------


@attrs.frozen
class PlayAudio:
    item_id: str
    content_index: int


@attrs.frozen
class DropAudio:
    item_id: str
    ms: float
    reason: Literal["interrupted"] = "interrupted"


@attrs.frozen
class StopPlayback:
    """Flush playback now (with a short fade)."""


@attrs.frozen
class CancelResponse:
    response_id: str


@attrs.frozen
class TruncateItem:
    item_id: str
    content_index: int
    audio_end_ms: int


@attrs.frozen
class DeleteItem:
    """Nothing of this assistant item was heard: remove it rather than truncate at 0 ms."""

    item_id: str


@attrs.frozen
class AudioInterrupted:
    item_id: str
    content_index: int


@attrs.frozen
class TurnTimedOut:
    state: TurnState
    reason: str


@attrs.frozen
class Unexpected:
    """An input that makes no sense in the current state (a protocol-level oddity)."""

    state: TurnState
    input: TurnInput


TurnAction: TypeAlias = (
    PlayAudio
    | DropAudio
    | StopPlayback
    | CancelResponse
    | TruncateItem
    | DeleteItem
    | AudioInterrupted
    | TurnTimedOut
    | Unexpected
)


class TurnState(enum.Enum):
    IDLE = "idle"
    USER_SPEAKING = "user_speaking"
    AWAITING_RESPONSE = "awaiting_response"
    AGENT_SPEAKING = "agent_speaking"
    INTERRUPTED = "interrupted"


S = TurnState

# -- the machine -------------------------------------------------------------------------------


@attrs.define
class _ItemAudio:
    response_id: str
    received_ms: float = 0.0
    played_ms: float = 0.0


@attrs.define
class _PendingTruncate:
    response_id: str
    item_id: str
    content_index: int
    played_ms: float
    received_ms: float  # grows with the cancelled response's late (dropped) audio


Handler: TypeAlias = Callable[["TurnMachine", TurnInput, float], list[TurnAction]]


@attrs.define
class TurnMachine:
    """See the module docstring.  ``server_cancels_on_speech``: the session's server VAD has
    ``interrupt_response`` on, so a server ``speech_started`` cancels the response by itself."""

    server_cancels_on_speech: bool = True
    response_timeout: float = 30.0
    slack: float = 1.0
    cancel_timeout: float = 5.0
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
        handler = _TABLE.get((self.state, type(event)))
        if handler is None:
            return [Unexpected(self.state, event)]
        return handler(self, event, now)

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

    def _maybe_done_speaking(self) -> None:
        speaking = self.state is S.AGENT_SPEAKING
        if speaking and self.response_id is None and not self._audio_pending():
            self.state = self._after_agent()
            self._items.clear()
            self._playing = None

    def _barge_in(self, source: Literal["local", "server", "app"], now: float) -> list[TurnAction]:
        """Stop the agent: playback, the running response, and what the model thinks was heard."""
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
        for (item_id, index), audio in list(self._items.items()):
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
        if running is not None:
            self.state = S.INTERRUPTED
            self._interrupted_at = now
        else:
            self.state = self._after_agent()
        return actions

    @staticmethod
    def _truncate(pending: _PendingTruncate) -> list[TurnAction]:
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

    # -- handlers ----------------------------------------------------------------------------

    def _on_user_started(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, UserSpeechStarted)
        self.user_speaking = True
        self._last_activity = now
        if self.state is S.AGENT_SPEAKING:
            return self._barge_in(event.source, now)
        if self.state is S.AWAITING_RESPONSE and self.response_id is None:
            self.state = S.USER_SPEAKING  # the user goes on before any answer came
        elif self.state is S.IDLE:
            self.state = S.USER_SPEAKING
        return []

    def _on_user_stopped(self, event: TurnInput, now: float) -> list[TurnAction]:
        self.user_speaking = False
        self._last_activity = now
        if self.state is S.USER_SPEAKING:
            self.state = S.AWAITING_RESPONSE
        return []

    def _on_input_sent(self, event: TurnInput, now: float) -> list[TurnAction]:
        self._last_activity = now
        if self.state in (S.IDLE, S.USER_SPEAKING):
            self.state = S.AWAITING_RESPONSE
        return []

    def _on_response_started(self, event: TurnInput, now: float) -> list[TurnAction]:
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
        self.state = S.AGENT_SPEAKING
        return actions

    def _on_audio(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, AudioReceived)
        key = (event.item_id, event.content_index)
        if event.response_id in self._cancelled or self.state is S.INTERRUPTED:
            for pending in self._pending:
                if (pending.item_id, pending.content_index) == key:
                    pending.received_ms += event.ms
            return [DropAudio(event.item_id, event.ms)]
        actions: list[TurnAction] = []
        if self.state is not S.AGENT_SPEAKING:
            # Audio with no response.created first: play it, but say it was odd.
            actions.append(Unexpected(self.state, event))
            self.state = S.AGENT_SPEAKING
            self.response_id = event.response_id
        item = self._items.setdefault(key, _ItemAudio(event.response_id))
        item.received_ms += event.ms
        self._last_activity = now
        actions.append(PlayAudio(event.item_id, event.content_index))
        return actions

    def _on_response_finished(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, ResponseFinished)
        self._last_activity = now
        actions: list[TurnAction] = []
        if self.response_id == event.response_id:
            self.response_id = None
        if self.state is S.INTERRUPTED:
            actions += self._flush_pending(event.response_id)
            if not self._pending and self.response_id is None:
                self.state = S.USER_SPEAKING if self.user_speaking else S.AWAITING_RESPONSE
        # A finished response sends nothing more: forget its ids (no growth over a session).
        self._cancel_sent.discard(event.response_id)
        self._cancelled.discard(event.response_id)
        self._maybe_done_speaking()
        return actions

    def _on_progress(self, event: TurnInput, now: float) -> list[TurnAction]:
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
        self._maybe_done_speaking()
        return []

    def _on_tool_started(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, ToolCallStarted)
        self._tools.add(event.call_id)
        self._last_activity = now
        return []

    def _on_tool_finished(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, ToolCallFinished)
        self._tools.discard(event.call_id)
        self._last_activity = now
        return []

    def _on_interrupt(self, event: TurnInput, now: float) -> list[TurnAction]:
        assert isinstance(event, InterruptRequested)
        if self.state is not S.AGENT_SPEAKING:
            return []
        target = event.response_id
        if target is None or target == self.response_id:
            return self._barge_in("app", now)
        playing = any(a.response_id == target for a in self._items.values())
        if self.response_id is None and playing:
            return self._barge_in("app", now)
        return []  # a newer response runs, or that one is over and heard: not ours to stop

    def _on_tick(self, event: TurnInput, now: float) -> list[TurnAction]:
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        state = self.state
        if state is S.INTERRUPTED:
            actions: list[TurnAction] = [TurnTimedOut(state, "cancelled response never finished")]
            actions += self._flush_pending(None)
            self.response_id = None
            self.state = S.USER_SPEAKING if self.user_speaking else S.IDLE
            return actions
        if state is S.AWAITING_RESPONSE:
            self.state = S.IDLE
            return [TurnTimedOut(state, "no response came")]
        reason = (
            "the response went silent"
            if self.response_id is not None
            else "playback never reported the end of the audio"
        )
        # The audio accounting stays: if that audio does play (or the user barges in over it)
        # later, positions and truncations are still right.
        self.response_id = None
        self.state = self._after_agent()
        return [TurnTimedOut(state, reason)]


_EVERY_STATE = tuple(TurnState)


def _table() -> dict[tuple[TurnState, type], Handler]:
    table: dict[tuple[TurnState, type], Handler] = {}

    def on(kind: type, handler: Handler, states: tuple[TurnState, ...] = _EVERY_STATE) -> None:
        for state in states:
            table[(state, kind)] = handler

    m = TurnMachine
    on(UserSpeechStarted, m._on_user_started)
    on(UserSpeechStopped, m._on_user_stopped)
    on(UserInputSent, m._on_input_sent)
    on(ResponseStarted, m._on_response_started)
    on(AudioReceived, m._on_audio)
    on(ResponseFinished, m._on_response_finished)
    on(PlaybackProgressed, m._on_progress)
    on(ToolCallStarted, m._on_tool_started)
    on(ToolCallFinished, m._on_tool_finished)
    on(InterruptRequested, m._on_interrupt)
    on(Tick, m._on_tick)
    return table


_TABLE = _table()
