"""The turn machine: examples, every (state, input) pair, and random interleavings."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rtagents._core import turns as t
from rtagents._core.turns import TurnMachine, TurnState

S = TurnState


def state_of(m: TurnMachine) -> TurnState:
    """The state, read through a call so that mypy does not narrow it between steps."""
    return m.state


def speak(m: TurnMachine, rid: str, ms: float, now: float = 0.0) -> list[t.TurnAction]:
    actions = m.handle(t.ResponseStarted(rid), now)
    actions += m.handle(t.AudioReceived(rid, f"item_{rid}", 0, ms), now)
    return actions


def test_a_plain_exchange() -> None:
    m = TurnMachine()
    assert m.handle(t.UserSpeechStarted("local"), 0.0) == []
    assert state_of(m) is S.USER_SPEAKING
    m.handle(t.UserSpeechStopped("local"), 1.0)
    assert state_of(m) is S.AWAITING_RESPONSE
    assert speak(m, "r1", 500, 1.2) == [t.PlayAudio("item_r1", 0)]
    assert state_of(m) is S.AGENT_SPEAKING
    m.handle(t.ResponseFinished("r1"), 1.3)
    assert state_of(m) is S.AGENT_SPEAKING  # its audio is still playing
    m.handle(t.PlaybackProgressed("item_r1", 0, 480), 1.7)
    assert state_of(m) is S.AGENT_SPEAKING
    m.handle(t.PlaybackProgressed.idle(), 1.72)
    assert state_of(m) is S.IDLE
    assert m.deadline is None


def test_barge_in_while_the_response_runs_truncates_after_it_ends() -> None:
    m = TurnMachine(server_cancels_on_speech=True)
    speak(m, "r1", 1000)
    m.handle(t.PlaybackProgressed("item_r1", 0, 340.0), 0.4)
    actions = m.handle(t.UserSpeechStarted("local"), 0.41)
    # Local VAD is first: we stop playback and cancel ourselves.
    assert actions == [
        t.StopPlayback(),
        t.AudioInterrupted("item_r1", 0),
        t.CancelResponse("r1"),
    ]
    assert state_of(m) is S.INTERRUPTED
    # Late audio of the cancelled response is dropped; the server's speech_started adds nothing.
    assert m.handle(t.AudioReceived("r1", "item_r1", 0, 100), 0.42) == [t.DropAudio("item_r1", 100)]
    assert m.handle(t.UserSpeechStarted("server"), 0.45) == []
    assert m.handle(t.ResponseFinished("r1", "cancelled"), 0.5) == [
        t.TruncateItem("item_r1", 0, 340)
    ]
    assert state_of(m) is S.USER_SPEAKING


def test_server_barge_in_does_not_cancel_twice() -> None:
    m = TurnMachine(server_cancels_on_speech=True)
    speak(m, "r1", 1000)
    m.handle(t.PlaybackProgressed("item_r1", 0, 100.0), 0.1)
    actions = m.handle(t.UserSpeechStarted("server"), 0.2)
    assert t.CancelResponse("r1") not in actions
    assert t.StopPlayback() in actions
    off = TurnMachine(server_cancels_on_speech=False)
    speak(off, "r1", 1000)
    assert t.CancelResponse("r1") in off.handle(t.UserSpeechStarted("server"), 0.2)


def test_barge_in_after_the_response_finished_truncates_at_once() -> None:
    m = TurnMachine()
    speak(m, "r1", 2000)
    m.handle(t.ResponseFinished("r1"), 0.1)
    m.handle(t.PlaybackProgressed("item_r1", 0, 720.0), 0.8)
    actions = m.handle(t.InterruptRequested(), 0.81)
    assert actions == [
        t.StopPlayback(),
        t.AudioInterrupted("item_r1", 0),
        t.TruncateItem("item_r1", 0, 720),
    ]
    assert state_of(m) is S.IDLE


def test_nothing_heard_deletes_instead_of_truncating_at_zero() -> None:
    m = TurnMachine()
    speak(m, "r1", 400)
    m.handle(t.ResponseFinished("r1"), 0.05)
    actions = m.handle(t.UserSpeechStarted("local"), 0.06)
    assert t.DeleteItem("item_r1") in actions
    assert not any(isinstance(a, t.TruncateItem) for a in actions)


def test_played_to_the_end_means_no_truncate() -> None:
    m = TurnMachine()
    speak(m, "r1", 400)
    m.handle(t.ResponseFinished("r1"), 0.05)
    m.handle(t.PlaybackProgressed("item_r1", 0, 400.0), 0.45)
    # Playback has not yet said it is idle, but all of the audio was heard.
    actions = m.handle(t.UserSpeechStarted("local"), 0.46)
    assert not any(isinstance(a, t.TruncateItem | t.DeleteItem) for a in actions)


def test_a_silent_response_times_out() -> None:
    m = TurnMachine(response_timeout=5.0)
    m.handle(t.ResponseStarted("r1"), 0.0)
    assert m.deadline == 5.0
    assert m.handle(t.Tick(), 4.9) == []
    (timed_out,) = m.handle(t.Tick(), 5.0)
    assert isinstance(timed_out, t.TurnTimedOut)
    assert state_of(m) is S.IDLE


def test_playback_that_never_reports_the_end_times_out() -> None:
    m = TurnMachine(slack=1.0)
    speak(m, "r1", 3000)
    m.handle(t.ResponseFinished("r1"), 0.5)
    assert m.deadline == pytest.approx(0.5 + 3.0 + 1.0)
    m.handle(t.Tick(), 4.6)
    assert state_of(m) is S.IDLE


def test_tool_calls_suspend_the_deadline() -> None:
    m = TurnMachine(response_timeout=5.0)
    m.handle(t.ResponseStarted("r1"), 0.0)
    m.handle(t.ToolCallStarted("c1"), 1.0)
    assert m.deadline is None
    m.handle(t.ToolCallFinished("c1"), 20.0)
    assert m.deadline == 25.0


def test_audio_without_response_created_is_reported_and_not_played() -> None:
    """The server announces every response; unannounced audio belongs to a response the machine
    gave up on (a timeout), and playing it late would talk over the user."""
    m = TurnMachine()
    actions = m.handle(t.AudioReceived("r9", "i9", 0, 20), 0.0)
    assert actions == [t.Unexpected(S.IDLE, t.AudioReceived("r9", "i9", 0, 20))]
    assert state_of(m) is S.IDLE
    assert m.received_ms("i9") == 0


def test_barge_in_cancels_interruptible_tools_only_while_tools_run() -> None:
    m = TurnMachine()
    speak(m, "r1", 1000)
    m.handle(t.ToolCallStarted("c1"), 0.1)
    actions = m.handle(t.UserSpeechStarted("local"), 0.2)
    assert t.CancelInterruptibleTools() in actions
    m.handle(t.ToolCallFinished("c1"), 0.3)
    assert t.CancelInterruptibleTools() not in m.handle(t.UserSpeechStarted("local"), 0.4)
    # the user speaking over a tool while the agent is silent stops it too
    idle = TurnMachine()
    idle.handle(t.ToolCallStarted("c2"), 0.0)
    assert idle.handle(t.UserSpeechStarted("server"), 0.1) == [t.CancelInterruptibleTools()]
    assert idle.handle(t.InterruptRequested(), 0.2) == [t.CancelInterruptibleTools()]


def test_a_guardrail_interrupt_leaves_tools_alone() -> None:
    m = TurnMachine()
    speak(m, "r1", 1000)
    m.handle(t.ToolCallStarted("c1"), 0.1)
    actions = m.handle(t.InterruptRequested("r1"), 0.2)
    assert t.CancelResponse("r1") in actions
    assert t.CancelInterruptibleTools() not in actions


def test_assumed_realtime_playback_ends_the_turn_when_the_audio_would_have_played() -> None:
    m = TurnMachine(assume_realtime_playback=True)
    speak(m, "r1", 500, now=10.0)
    m.handle(t.ResponseFinished("r1"), 10.1)
    assert state_of(m) is S.AGENT_SPEAKING
    assert m.deadline == pytest.approx(10.5)
    # a barge-in at 10.3 s truncates at what real-time playback had reached
    barged = TurnMachine(assume_realtime_playback=True)
    speak(barged, "r1", 500, now=10.0)
    barged.handle(t.ResponseFinished("r1"), 10.1)
    actions = barged.handle(t.UserSpeechStarted("local"), 10.3)
    assert t.TruncateItem("item_r1", 0, 300) in actions
    assert m.handle(t.Tick(), 10.5) == []  # played out: a normal end, not a timeout
    assert state_of(m) is S.IDLE


# -- the table --------------------------------------------------------------------------------


def test_the_table_lists_only_legal_pairs_and_the_rest_are_unexpected() -> None:
    inputs = list(t.TurnInput.__args__)
    missing = [(s, k) for s in TurnState for k in inputs if (s, k) not in t.TABLE]
    assert missing, "a table that lists every pair declares nothing"
    for state, kind in missing:
        m = machine_in(state)
        event = next(e for e in INPUTS if type(e) is kind)
        assert m.handle(event, 0.07) == [t.Unexpected(state, event)]
        assert state_of(m) is state


def test_the_architecture_page_shows_the_current_table() -> None:
    from pathlib import Path

    page = Path(__file__).parent.parent / "docs" / "architecture.md"
    assert t.table_markdown() in page.read_text(), "run: python -m tools.turn_table --write"


# -- every (state, input) pair ----------------------------------------------------------------

INPUTS: list[t.TurnInput] = [
    t.UserSpeechStarted("local"),
    t.UserSpeechStarted("server"),
    t.UserSpeechStopped("local"),
    t.UserInputSent(),
    t.ResponseStarted("rX"),
    t.AudioReceived("r1", "item_r1", 0, 20),
    t.AudioReceived("rX", "item_rX", 0, 20),
    t.ResponseFinished("r1"),
    t.ResponseFinished("rX", "cancelled"),
    t.PlaybackProgressed("item_r1", 0, 10),
    t.PlaybackProgressed.idle(),
    t.ToolCallStarted("c"),
    t.ToolCallFinished("c"),
    t.InterruptRequested(),
    t.Tick(),
]


def machine_in(state: TurnState) -> TurnMachine:
    m = TurnMachine()
    if state is S.USER_SPEAKING:
        m.handle(t.UserSpeechStarted("local"), 0.0)
    elif state is S.AWAITING_RESPONSE:
        m.handle(t.UserInputSent(), 0.0)
    elif state in (S.AGENT_SPEAKING, S.INTERRUPTED):
        speak(m, "r1", 200)
        m.handle(t.PlaybackProgressed("item_r1", 0, 40), 0.05)
        if state is S.INTERRUPTED:
            m.handle(t.UserSpeechStarted("local"), 0.06)
    assert state_of(m) is state
    return m


@pytest.mark.parametrize("state", list(TurnState))
@pytest.mark.parametrize("event", INPUTS, ids=repr)
@pytest.mark.parametrize("now", [0.07, 1000.0])
def test_every_state_and_input_pair_is_handled(
    state: TurnState, event: t.TurnInput, now: float
) -> None:
    m = machine_in(state)
    actions = m.handle(event, now)
    assert all(isinstance(a, t.TurnAction) for a in actions)
    entry = t.TABLE.get((state, type(event)))
    assert m.state in (entry[1] if entry else {state})
    assert m.deadline is None or math.isfinite(m.deadline)


# -- random interleavings ---------------------------------------------------------------------

FRAME_MS = 20.0


class Conversation(RuleBasedStateMachine):
    """A model that streams audio, a player that plays it in 20 ms frames and reports
    progress, a user who talks whenever, and the app's interrupts — in any order."""

    @initialize(server_cancels=st.booleans())
    def setup(self, server_cancels: bool) -> None:
        self.m = TurnMachine(server_cancels_on_speech=server_cancels, response_timeout=10.0)
        self.now = 0.0
        self.ids = itertools.count(1)
        self.running: str | None = None  # the model's running response
        self.received: dict[str, float] = {}  # item -> all audio the model sent for it
        self.queue: list[tuple[str, str, float]] = []  # player: (response, item, frame ms)
        self.position: dict[str, float] = {}  # item -> played ms
        self.at_stop: dict[str, float] = {}  # item -> played ms when playback was stopped
        self.barred: set[str] = set()  # responses barred from the sink after a barge-in
        self.sink: list[tuple[str, float]] = []  # (response, ms) that reached the speaker
        self.truncated: set[str] = set()

    def feed(self, event: t.TurnInput) -> list[t.TurnAction]:
        before = self.m.state
        actions = self.m.handle(event, self.now)
        barge_in = isinstance(event, t.UserSpeechStarted | t.InterruptRequested)
        if barge_in and before is S.AGENT_SPEAKING:
            # What the user had heard of each item at the moment of the barge-in.
            items = {item for _, item, _ in self.queue} | set(self.position)
            if self.running is not None:
                items.add(f"item_{self.running}")
                self.barred.add(self.running)
            for item in items:
                self.at_stop.setdefault(item, self.position.get(item, 0.0))
        for action in actions:
            self.execute(action, event)
        return actions

    def execute(self, action: t.TurnAction, cause: t.TurnInput) -> None:
        if isinstance(action, t.PlayAudio):
            assert isinstance(cause, t.AudioReceived)
            assert cause.response_id not in self.barred, "audio of an interrupted response"
            remaining = cause.ms
            while remaining > 1e-9:
                frame = min(FRAME_MS, remaining)
                self.queue.append((cause.response_id, cause.item_id, frame))
                remaining -= frame
        elif isinstance(action, t.StopPlayback):
            assert isinstance(cause, t.UserSpeechStarted | t.InterruptRequested)
            self.barred |= {rid for rid, _, _ in self.queue}
            self.queue.clear()
        elif isinstance(action, t.TruncateItem):
            item = action.item_id
            assert item not in self.truncated
            self.truncated.add(item)
            assert 0 < action.audio_end_ms <= self.received[item]
            assert abs(action.audio_end_ms - self.at_stop[item]) <= FRAME_MS
        elif isinstance(action, t.DeleteItem):
            assert self.at_stop.get(action.item_id, 0.0) < 1.0 + FRAME_MS

    # model side
    @precondition(lambda self: self.running is None)
    @rule()
    def response_starts(self) -> None:
        self.running = f"r{next(self.ids)}"
        self.barred.discard(self.running)
        self.feed(t.ResponseStarted(self.running))

    @precondition(lambda self: self.running is not None)
    @rule(ms=st.sampled_from([20.0, 40.0, 100.0, 7.5]))
    def audio_arrives(self, ms: float) -> None:
        assert self.running is not None
        item = f"item_{self.running}"
        self.received[item] = self.received.get(item, 0.0) + ms
        self.feed(t.AudioReceived(self.running, item, 0, ms))

    @precondition(lambda self: self.running is not None)
    @rule(status=st.sampled_from(["completed", "cancelled"]))
    def response_ends(self, status: str) -> None:
        assert self.running is not None
        rid, self.running = self.running, None
        self.feed(t.ResponseFinished(rid, status))

    # the player
    @rule(frames=st.integers(1, 10))
    def playback_runs(self, frames: int) -> None:
        for _ in range(frames):
            if not self.queue:
                self.feed(t.PlaybackProgressed.idle())
                return
            rid, item, ms = self.queue.pop(0)
            self.sink.append((rid, ms))
            assert rid not in self.barred
            self.now += ms / 1000
            self.position[item] = self.position.get(item, 0.0) + ms
            self.feed(t.PlaybackProgressed(item, 0, self.position[item]))

    # the user and the app
    @rule(source=st.sampled_from(["local", "server"]))
    def user_starts(self, source: str) -> None:
        self.feed(t.UserSpeechStarted(source))  # type: ignore[arg-type]

    @rule(source=st.sampled_from(["local", "server"]))
    def user_stops(self, source: str) -> None:
        self.feed(t.UserSpeechStopped(source))  # type: ignore[arg-type]

    @rule()
    def app_interrupts(self) -> None:
        self.feed(t.InterruptRequested())

    @rule()
    def message_sent(self) -> None:
        self.feed(t.UserInputSent())

    @rule(dt=st.floats(0.0, 3.0))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        self.feed(t.Tick())

    @rule()
    def deadline_passes(self) -> None:
        deadline = self.m.deadline
        if deadline is None:
            return
        self.now = max(self.now, deadline)
        before = self.m.state
        self.feed(t.Tick())
        if before is S.AGENT_SPEAKING:
            assert self.m.state is not S.AGENT_SPEAKING, "stuck speaking past the deadline"

    @invariant()
    def deadline_is_in_reach(self) -> None:
        if hasattr(self, "m") and self.m.state is S.AGENT_SPEAKING and not self.m._tools:
            assert self.m.deadline is not None


Conversation.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
TestConversation = Conversation.TestCase


@given(st.lists(st.sampled_from(INPUTS), max_size=40), st.lists(st.floats(0, 100), max_size=40))
def test_any_input_sequence_never_raises(events: list[t.TurnInput], times: list[float]) -> None:
    m = TurnMachine()
    now = 0.0
    for event, dt in zip(events, itertools.cycle(times or [0.1]), strict=False):
        now += dt
        for action in m.handle(event, now):
            if isinstance(action, t.TruncateItem):
                assert action.audio_end_ms >= 1
