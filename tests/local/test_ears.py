"""The local server's ears: the :class:`Ears` task on its own, and whole sessions against the
local server with a fake transcriber, all on trio's mock clock (no real sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import attrs
import pytest
import trio
import trio.testing

from rtagents import RealtimeRunConfig, RealtimeSession, open_session
from rtagents import items as it
from rtagents import protocol as p
from rtagents.agent import RealtimeAgent
from rtagents.events import RealtimeSessionEvent
from rtagents.local import ResponderError, ResponseContext, ResponsePart, ScriptedResponder
from rtagents.local._core import Outcome, ServerSession
from rtagents.local._input import UserAudio
from rtagents.local._transcriber import Ears
from rtagents.testing import (
    FakeAudioSink,
    FakeAudioSource,
    local_model,
    server_events,
    silence,
    voice,
)
from tests.protocol import oracle

FRAME = 960  # 20 ms of PCM16 at 24 kHz
QUESTION = "what is the weather in paris"

T = TypeVar("T")


# -- the fake transcriber ---------------------------------------------------------------------


@attrs.define
class Plan:
    """How one utterance goes.  Partials grow word by word towards `final` (never reaching it)
    unless `partials` gives them (the n-th feed returns the n-th, then the last again)."""

    final: str = QUESTION
    partials: Sequence[str] | None = None
    fail_feed_at: int | None = None  # the feed call (0-based) that raises
    fail_finish: bool = False
    finish_delay: float = 0.0


class FeedError(RuntimeError):
    pass


@attrs.define(eq=False)
class FakeUtterance:
    plan: Plan
    rate: int
    fed: bytearray = attrs.field(factory=bytearray)
    feeds: int = 0
    finished: bool = False
    closed: bool = False

    async def feed(self, pcm16: bytes) -> str:
        await trio.lowlevel.checkpoint()
        assert not self.finished
        assert not self.closed
        n = self.feeds
        self.feeds += 1
        if self.plan.fail_feed_at == n:
            raise FeedError("the decoder choked")
        self.fed += pcm16
        if self.plan.partials is not None:
            return self.plan.partials[min(n, len(self.plan.partials) - 1)]
        words = self.plan.final.split()
        return " ".join(words[: min(n + 1, len(words) - 1)])

    async def finish(self) -> str:
        assert not self.finished
        assert not self.closed
        if self.plan.finish_delay:
            await trio.sleep(self.plan.finish_delay)
        await trio.lowlevel.checkpoint()
        if self.plan.fail_finish:
            raise FeedError("the final pass failed")
        self.finished = True
        return self.plan.final

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()
        self.closed = True


@attrs.define(eq=False)
class FakeTranscriber:
    """Utterance n follows plans[n] (the last plan repeats)."""

    plans: Sequence[Plan] = (Plan(),)
    utterances: list[FakeUtterance] = attrs.field(factory=list)

    async def open_utterance(self, rate: int) -> FakeUtterance:
        await trio.lowlevel.checkpoint()
        plan = self.plans[min(len(self.utterances), len(self.plans) - 1)]
        utterance = FakeUtterance(plan, rate)
        self.utterances.append(utterance)
        return utterance


# -- Ears on its own --------------------------------------------------------------------------


TRANSCRIBE = p.SessionConfig(
    audio=p.AudioConfig(input=p.AudioInputConfig(transcription=p.Transcription(model="x")))
)
TURN = silence(0.3) + voice(0.8) + silence(0.7)


def transcribing_session() -> ServerSession:
    session = ServerSession(stream_user_audio=True)
    session.receive(p.SessionUpdate(session=TRANSCRIBE).to_json())
    assert session.transcription_enabled
    return session


def appended(session: ServerSession, pcm: bytes) -> list[Outcome]:
    return [
        session.receive(p.InputAudioBufferAppend(audio=pcm[i : i + FRAME]).to_json())
        for i in range(0, len(pcm), FRAME)
    ]


def pieces(outcomes: list[Outcome]) -> list[UserAudio]:
    return [piece for outcome in outcomes for piece in outcome.user_audio]


def committed_ids(outcomes: list[Outcome]) -> list[str]:
    return [
        e.item_id for o in outcomes for e in o.events if isinstance(e, p.InputAudioBufferCommitted)
    ]


@attrs.define(eq=False)
class Harness:
    session: ServerSession
    transcriber: FakeTranscriber
    sent: list[p.WireEvent] = attrs.field(factory=list)
    marks: list[tuple[str, str]] = attrs.field(factory=list)
    ears: Ears = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.ears = Ears(
            self.session, self.transcriber, self.send, lambda w, r: self.marks.append((w, r))
        )

    async def send(self, events: list[p.WireEvent]) -> None:
        for event in events:
            oracle.assert_valid_server_event(event.to_wire())
        self.sent.extend(events)
        await trio.lowlevel.checkpoint()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.sent if isinstance(e, kind)]

    async def stream(self, pcm: bytes) -> list[Outcome]:
        """As the server's reader does: each 20 ms frame through the core, its pieces to the
        ears, while the recognizer keeps up."""
        outcomes = []
        for i in range(0, len(pcm), FRAME):
            outcome = self.session.receive(
                p.InputAudioBufferAppend(audio=pcm[i : i + FRAME]).to_json()
            )
            outcomes.append(outcome)
            await self.ears.put(outcome.user_audio)
            await trio.sleep(0.02)
        return outcomes

    async def hear(self, feed: Callable[[], Awaitable[T]]) -> T:
        """Run the ears while `feed` puts audio, until every committed transcript is final."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.ears.run)
            result = await feed()
            with trio.fail_after(1):
                await self.ears.wait_transcripts()
            nursery.cancel_scope.cancel()
        return result

    async def put_per_frame(self, outcomes: list[Outcome]) -> None:
        """The pieces of audio already committed, one put per client frame."""
        for outcome in outcomes:
            await self.ears.put(outcome.user_audio)
            await trio.sleep(0.02)


async def test_ears_hear_every_streamed_sample_and_report_the_transcript(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber())
    outcomes = await h.hear(lambda: h.stream(TURN))
    (item_id,) = committed_ids(outcomes)
    (utterance,) = h.transcriber.utterances
    assert utterance.rate == 24000
    assert utterance.finished
    assert not utterance.closed
    streamed = b"".join(piece.pcm for piece in pieces(outcomes))
    assert bytes(utterance.fed) == streamed
    assert h.session.user_audio(item_id).endswith(streamed)
    assert utterance.feeds == sum(1 for x in pieces(outcomes) if x.pcm)  # kept up: no batching
    (completed,) = h.of(p.InputAudioTranscriptionCompleted)
    assert (completed.item_id, completed.transcript) == (item_id, QUESTION)
    assert completed.usage.seconds == pytest.approx(len(streamed) / 48000, abs=0.001)
    assert isinstance(h.sent[-1], p.InputAudioTranscriptionCompleted)
    (item,) = h.session.conversation()
    assert item.content[0].transcript == QUESTION  # type: ignore[union-attr]
    stages = [m for m in h.marks if m[0] in ("end_of_turn", "transcribed")]
    assert stages == [("end_of_turn", item_id), ("transcribed", item_id)]
    assert h.ears.failures == 0
    stats = h.ears.statistics()
    assert stats.pieces == len(pieces(outcomes))
    assert (stats.transcripts, stats.failures, stats.queued) == (1, 0, 0)
    assert (stats.open_utterances, stats.pending_transcripts) == (0, 0)


async def test_deltas_only_extend_what_was_said(autojump_clock: trio.testing.MockClock) -> None:
    revising = Plan(partials=("what", "what is", "what was", "what was the", "what is the"))
    h = Harness(transcribing_session(), FakeTranscriber([revising]))
    outcomes = appended(h.session, TURN)  # committed before recognition catches up
    (item_id,) = committed_ids(outcomes)
    await h.hear(lambda: h.put_per_frame(outcomes))
    deltas = [e.delta for e in h.of(p.InputAudioTranscriptionDelta)]
    # "what was…" revises what was said: no delta until a hypothesis extends it again.
    assert deltas == ["what", " is", " the", " weather in paris"]
    assert "".join(deltas) == QUESTION
    assert all(getattr(e, "item_id", None) == item_id for e in h.sent)
    assert [type(e).__name__ for e in h.sent][-1] == "InputAudioTranscriptionCompleted"


async def test_deltas_heard_while_the_user_speaks_add_up_to_the_transcript(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber())
    await h.hear(lambda: h.stream(TURN))
    (completed,) = h.of(p.InputAudioTranscriptionCompleted)
    assert completed.transcript == QUESTION
    assert "".join(e.delta for e in h.of(p.InputAudioTranscriptionDelta)) == QUESTION


async def test_a_recognizer_that_fell_behind_catches_up_in_one_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber())
    outcomes = appended(h.session, TURN + TURN)
    first, second = committed_ids(outcomes)
    async with trio.open_nursery() as nursery:
        await h.ears.put(pieces(outcomes))  # everything queued before the task runs
        await nursery.start(h.ears.run)
        await h.ears.wait_transcripts()
        nursery.cancel_scope.cancel()
    one, two = h.transcriber.utterances
    assert (one.feeds, two.feeds) == (1, 1)  # each item's audio joined into one feed
    grouped = {
        k: b"".join(x.pcm for x in pieces(outcomes) if x.item_id == k) for k in (first, second)
    }
    assert (bytes(one.fed), bytes(two.fed)) == (grouped[first], grouped[second])
    assert [(e.item_id, e.transcript) for e in h.of(p.InputAudioTranscriptionCompleted)] == [
        (first, QUESTION),
        (second, QUESTION),
    ]


async def test_wait_transcripts_waits_for_a_slow_final_pass(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber([Plan(finish_delay=2.0)]))
    outcomes = appended(h.session, TURN)
    async with trio.open_nursery() as nursery:
        await nursery.start(h.ears.run)
        start = trio.current_time()
        await h.ears.put(pieces(outcomes))  # marks the transcript pending at once
        await h.ears.wait_transcripts()
        assert trio.current_time() - start == pytest.approx(2.0)
        assert len(h.of(p.InputAudioTranscriptionCompleted)) == 1
        await h.ears.wait_transcripts()  # nothing pending: returns at once
        assert trio.current_time() - start == pytest.approx(2.0)
        nursery.cancel_scope.cancel()


async def test_cleared_speech_closes_the_utterance_without_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber())
    async with trio.open_nursery() as nursery:
        await nursery.start(h.ears.run)
        outcomes = appended(h.session, silence(0.3) + voice(0.6))
        await h.ears.put(pieces(outcomes))
        cleared = h.session.receive(p.InputAudioBufferClear().to_json())
        assert [x.kind for x in cleared.user_audio] == ["discard"]
        await h.ears.put(cleared.user_audio)
        with trio.fail_after(1):
            await h.ears.wait_transcripts()
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    (utterance,) = h.transcriber.utterances
    assert utterance.closed
    assert not utterance.finished
    assert not h.of(p.InputAudioTranscriptionCompleted)
    assert not h.of(p.InputAudioTranscriptionFailed)
    assert [m for m in h.marks if m[0] in ("end_of_turn", "transcribed")] == []


async def test_a_failing_feed_fails_that_item_only(autojump_clock: trio.testing.MockClock) -> None:
    transcriber = FakeTranscriber([Plan(fail_feed_at=2), Plan()])
    h = Harness(transcribing_session(), transcriber)
    outcomes = appended(h.session, TURN + TURN)  # committed: the failure can be announced
    await h.hear(lambda: h.put_per_frame(outcomes))
    first, second = committed_ids(outcomes)
    bad, good = transcriber.utterances
    assert bad.feeds == 3
    assert bad.closed
    assert not bad.finished
    (failed,) = h.of(p.InputAudioTranscriptionFailed)
    assert failed.item_id == first
    assert "FeedError" in (failed.error.message or "")
    assert "the decoder choked" in (failed.error.message or "")
    # The failed item gets no completed event; the next item is transcribed as usual.
    assert [(e.item_id, e.transcript) for e in h.of(p.InputAudioTranscriptionCompleted)] == [
        (second, QUESTION)
    ]
    assert good.finished
    assert h.ears.failures == 1
    first_deltas = [e for e in h.of(p.InputAudioTranscriptionDelta) if e.item_id == first]
    assert "".join(e.delta for e in first_deltas) == "what is"  # what was said before


async def test_a_feed_error_in_a_caught_up_batch_fails_that_item_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transcriber = FakeTranscriber([Plan(fail_feed_at=0), Plan()])
    h = Harness(transcribing_session(), transcriber)
    outcomes = appended(h.session, TURN + TURN)
    first, second = committed_ids(outcomes)
    async with trio.open_nursery() as nursery:
        await h.ears.put(pieces(outcomes))  # all queued at once: one batch
        await nursery.start(h.ears.run)
        with trio.fail_after(1):
            await h.ears.wait_transcripts()
        nursery.cancel_scope.cancel()
    bad, good = transcriber.utterances
    assert bad.closed
    assert not bad.finished
    (failed,) = h.of(p.InputAudioTranscriptionFailed)
    assert failed.item_id == first
    assert failed.error.message == "speech recognition failed: FeedError: the decoder choked"
    assert [(e.item_id, e.transcript) for e in h.of(p.InputAudioTranscriptionCompleted)] == [
        (second, QUESTION)
    ]
    assert good.finished
    assert h.ears.failures == 1


async def test_a_failing_final_pass_fails_that_item_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transcriber = FakeTranscriber([Plan(fail_finish=True), Plan()])
    h = Harness(transcribing_session(), transcriber)
    outcomes = await h.hear(lambda: h.stream(TURN + TURN))
    first, second = committed_ids(outcomes)
    bad, good = transcriber.utterances
    assert bad.closed
    assert not bad.finished
    assert [e.item_id for e in h.of(p.InputAudioTranscriptionFailed)] == [first]
    assert [e.item_id for e in h.of(p.InputAudioTranscriptionCompleted)] == [second]
    assert good.finished
    assert h.ears.failures == 1
    items = {i.id: i for i in h.session.conversation()}
    assert items[first].content[0].transcript is None  # type: ignore[union-attr]
    assert items[second].content[0].transcript == QUESTION  # type: ignore[union-attr]


async def test_cancelling_the_ears_closes_open_utterances(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness(transcribing_session(), FakeTranscriber())
    async with trio.open_nursery() as nursery:
        await nursery.start(h.ears.run)
        await h.ears.put(pieces(appended(h.session, silence(0.3) + voice(0.6))))
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    (utterance,) = h.transcriber.utterances
    assert utterance.fed
    assert utterance.closed
    assert not utterance.finished


# -- whole sessions with a fake transcriber ---------------------------------------------------


@attrs.define(eq=False)
class Recorder:
    """Answers "Okay." (spoken) every time, or raises ResponderError for the responses
    numbered in `fail` (0-based); keeps every context it was given."""

    fail: frozenset[int] = frozenset()
    contexts: list[ResponseContext] = attrs.field(factory=list)

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        n = len(self.contexts)
        self.contexts.append(context)
        if n in self.fail:
            yield ScriptedResponder().speak("Oh", context.audio_output)[0]
            raise ResponderError(f"the brain is unreachable ({n})")
        for part in ScriptedResponder().speak("Okay.", context.audio_output):
            yield part


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


@attrs.define
class Run:
    events: list[RealtimeSessionEvent]
    history: tuple[it.RealtimeItem, ...]
    server: ServerSession
    timeline: list[tuple[float, str, str]]
    stats: Any

    def raw(self, kind: type[Any]) -> list[Any]:
        return [e.wire for e in server_events(self.events) if isinstance(e.wire, kind)]


async def run_session(
    transcriber: FakeTranscriber, responder: Recorder, audio: bytes, *, after: float = 3.0
) -> Run:
    model = local_model(responder, transcriber=transcriber)
    config = RealtimeRunConfig(
        audio_source=FakeAudioSource(frames(audio)),
        audio_sink=FakeAudioSink(),
        link_factory=model.link_factory,
        model_settings=TRANSCRIBE,
    )
    events: list[RealtimeSessionEvent] = []

    async def collect(session: RealtimeSession) -> None:
        async for event in session:
            events.append(event)

    async with open_session(RealtimeAgent("A"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session)
        await trio.sleep(len(audio) / 48000 + after)
        history = session.history
        stats = session.statistics()
        n.cancel_scope.cancel()
    (server,) = model.server.sessions
    timeline = [(m.t, m.what, m.ref) for m in model.server.timeline.marks]
    return Run(events, history, server, timeline, stats)


def user_transcripts(run: Run) -> list[str | None]:
    return [
        part.transcript
        for item in run.history
        if isinstance(item, it.UserMessageItem)
        for part in item.content
        if isinstance(part, it.InputAudio)
    ]


def user_message(item: p.ConversationItem) -> bool:
    return isinstance(item, p.MessageItem) and item.role == "user"


def assert_valid(run: Run) -> None:
    for event in server_events(run.events):
        if isinstance(event.wire, p.WireEvent):
            raw = getattr(event.wire, "raw", None)
            oracle.assert_valid_server_event(raw if raw is not None else event.wire.to_wire())
    assert run.stats.events_dropped == {}


ONE_TURN = silence(0.5) + voice(1.0) + silence(1.0)
TWO_TURNS = ONE_TURN + silence(2.0) + voice(0.8, seed=2) + silence(1.0)


async def test_the_response_waits_for_a_slow_transcript(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transcriber = FakeTranscriber([Plan(finish_delay=2.0)])
    responder = Recorder()
    run = await run_session(transcriber, responder, ONE_TURN, after=4.0)
    assert_valid(run)
    (context,) = responder.contexts
    (user,) = [i for i in context.conversation if isinstance(i, p.MessageItem) and i.role == "user"]
    assert user.content == (p.InputAudioContent(transcript=QUESTION),)
    assert user_transcripts(run) == [QUESTION]
    (done,) = run.raw(p.ResponseDone)
    assert done.response.status == "completed"
    # The answer's audio left only after the transcript, 2 s after the end of the turn.
    times = {what: t for t, what, _ in run.timeline}
    assert times["transcribed"] - times["end_of_turn"] == pytest.approx(2.0)
    assert times["first_audio_sent"] >= times["transcribed"]


REVISING = Plan(partials=("what", "what is", "what was", "what was the", "what is the"))


async def test_the_history_gets_the_final_transcript_not_a_revised_partial(
    autojump_clock: trio.testing.MockClock,
) -> None:
    run = await run_session(FakeTranscriber([REVISING]), Recorder(), ONE_TURN)
    assert_valid(run)
    (completed,) = run.raw(p.InputAudioTranscriptionCompleted)
    assert completed.transcript == QUESTION
    deltas = [e.delta for e in run.raw(p.InputAudioTranscriptionDelta)]
    assert not any("was" in d for d in deltas)  # a revised partial is never announced
    # Every delta came before the completed event.
    raw = [e.wire for e in server_events(run.events)]
    assert all(raw.index(e) < raw.index(completed) for e in run.raw(p.InputAudioTranscriptionDelta))
    assert user_transcripts(run) == [QUESTION]
    server_user = [s.item for s in run.server.items if getattr(s.item, "role", None) == "user"]
    assert server_user[0].content == (p.InputAudioContent(transcript=QUESTION),)  # type: ignore[union-attr]


async def test_live_deltas_add_up_to_the_transcript(autojump_clock: trio.testing.MockClock) -> None:
    run = await run_session(FakeTranscriber([REVISING]), Recorder(), ONE_TURN)
    deltas = [e.delta for e in run.raw(p.InputAudioTranscriptionDelta)]
    assert "".join(deltas) == QUESTION  # got " weather in paris": the words before were lost


@pytest.mark.parametrize(
    "failing",
    [
        pytest.param(Plan(fail_feed_at=1), id="feed"),
        pytest.param(Plan(fail_finish=True), id="finish"),
    ],
)
async def test_a_failing_transcriber_fails_the_turn_and_the_session_goes_on(
    autojump_clock: trio.testing.MockClock, failing: Plan
) -> None:
    transcriber = FakeTranscriber([failing, Plan(final="thank you")])
    responder = Recorder()
    run = await run_session(transcriber, responder, TWO_TURNS)
    assert_valid(run)
    # Both turns were answered; the first with no transcript (the response was not stuck).
    assert [d.response.status for d in run.raw(p.ResponseDone)] == ["completed", "completed"]
    (failed,) = run.raw(p.InputAudioTranscriptionFailed)
    assert "FeedError" in (failed.error.message or "")
    (completed,) = run.raw(p.InputAudioTranscriptionCompleted)
    assert completed.transcript == "thank you"
    assert failed.item_id != completed.item_id
    first, second = responder.contexts
    assert [i.content for i in first.conversation if isinstance(i, p.MessageItem)] == [
        (p.InputAudioContent(transcript=None),)
    ]
    assert [
        i.content[0].transcript  # type: ignore[union-attr]
        for i in second.conversation
        if user_message(i)
    ] == [None, "thank you"]
    assert user_transcripts(run) == [None, "thank you"]
    assert not [e for e in run.events if e.type == "error"]


async def test_the_timeline_of_a_turn(autojump_clock: trio.testing.MockClock) -> None:
    run = await run_session(FakeTranscriber([Plan(finish_delay=0.5)]), Recorder(), ONE_TURN)
    (item_id,) = [s.item.id for s in run.server.items if getattr(s.item, "role", None) == "user"]
    (done,) = run.raw(p.ResponseDone)
    response_id = done.response.id
    wanted = [
        "speech_stopped",
        "end_of_turn",
        "response_started",
        "transcribed",
        "first_audio_sent",
    ]
    marks = [(t, what, ref) for t, what, ref in run.timeline if what in wanted]
    # The response starts at the end of the turn and waits for the transcript (0.5 s here)
    # before its first audio.
    assert [what for _, what, _ in marks] == wanted
    refs = {what: ref for _, what, ref in marks}
    assert refs == {
        "speech_stopped": item_id,
        "end_of_turn": item_id,
        "response_started": response_id,
        "transcribed": item_id,
        "first_audio_sent": response_id,
    }
    times = [t for t, _, _ in marks]
    assert times == sorted(times)
    t = {what: time for time, what, _ in marks}
    assert t["end_of_turn"] == t["speech_stopped"] == t["response_started"]
    assert t["transcribed"] - t["end_of_turn"] == pytest.approx(0.5)
    assert t["first_audio_sent"] == pytest.approx(t["transcribed"])
    # The speech stopped 500 ms of silence after the voice ended (1.5 s into the audio).
    assert t["speech_stopped"] == pytest.approx(2.0, abs=0.05)


async def test_a_responder_error_fails_the_response_and_the_next_one_works(
    autojump_clock: trio.testing.MockClock,
) -> None:
    responder = Recorder(fail=frozenset({0}))
    run = await run_session(FakeTranscriber(), responder, TWO_TURNS)
    assert_valid(run)
    failed, ok = run.raw(p.ResponseDone)
    assert failed.response.status == "failed"
    details = failed.response.status_details
    assert details is not None
    assert details.type == "failed"
    assert details.error is not None
    assert details.error.message == "the brain is unreachable (0)"
    assert ok.response.status == "completed"
    assert len(responder.contexts) == 2
    # The failed answer's partial message is in the conversation, marked incomplete.
    assistant = [s.item for s in run.server.items if getattr(s.item, "role", None) == "assistant"]
    assert [a.status for a in assistant] == ["incomplete", "completed"]  # type: ignore[union-attr]
    assert run.server.active is None
