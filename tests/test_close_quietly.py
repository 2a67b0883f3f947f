"""Close quietly: however a session ends — ``close()``, leaving ``async with``, cancelling an
outer nursery, the peer dropping the connection with reconnect off — while capture, an app's
``send_audio`` loop, playback and tools are all busy, every task of the session ends within 1 s
of mock-clock time, nothing escapes ``async with``, and what the app calls afterwards is a no-op
counted in ``statistics().calls_after_close`` (mock clock, no real sleeps)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from rtagents import RealtimeAgent, RealtimeRunConfig, RealtimeSession, TurnState, open_session
from rtagents import protocol as p
from rtagents.agent import function_tool
from rtagents.local import ResponseContext, ResponsePart, ScriptedResponder
from rtagents.models import LinkClosed, ModelLinkError, ReconnectPolicy, ResilientLink
from rtagents.testing import (
    FakeAudioSink,
    FakeAudioSource,
    Fault,
    ScriptedModel,
    chaos_model,
    local_model,
    silence,
)

FRAME = 0.020
CHUNK = silence(FRAME)  # 20 ms of PCM16 at 24 kHz: what an app's microphone hands send_audio
BUDGET = 1.0  # mock-clock seconds every task gets to end once close began


# -- the app around the session ----------------------------------------------------------------


class Mic:
    """The SDK-shaped microphone: a task of the app's own nursery (not the session's) that hands
    ``send_audio`` a 20 ms chunk every 20 ms (every ``commit_every``-th with ``commit=True``)
    and goes on after the session closed under it, as an app that does not watch for that does.
    ``after_close``: the calls it made once the session had closed.  ``late_commits``: commit
    only after the close (so a commit does not move the turn state the test set up)."""

    def __init__(
        self,
        session: RealtimeSession,
        *,
        chunks: int = 150,
        commit_every: int = 0,
        late_commits: bool = False,
    ) -> None:
        self.session = session
        self.chunks = chunks
        self.commit_every = commit_every
        self.late_commits = late_commits
        self.after_close = 0
        self.done = False

    async def run(self) -> None:
        for k in range(self.chunks):
            closed = self.session.ended_by is not None
            self.after_close += closed
            commit = bool(self.commit_every) and k % self.commit_every == self.commit_every - 1
            commit = commit and (closed or not self.late_commits)
            await self.session.send_audio(CHUNK, commit=commit)
            await trio.sleep(FRAME)
        self.done = True


async def call_everything(session: RealtimeSession) -> int:
    """Every call an app makes on a session, made after it closed; returns how many."""
    await session.send_message("are you still there?")
    await session.send_audio(CHUNK)
    await session.send_audio(CHUNK, commit=True)
    await session.interrupt()
    await session.approve_tool_call("call_sync")
    await session.reject_tool_call("call_async", "no")
    await session.update_agent(RealtimeAgent("B"))
    session.playback_progress("item_r1", 0, 100.0)
    session.playback_finished()
    return 9


def live_source() -> FakeAudioSource:
    """A microphone that is still talking (silence: the turn states stay where the test put
    them) when the session closes."""
    return FakeAudioSource([CHUNK] * 3000)


# -- reaching each turn state with the scripted model -------------------------------------------

RID = "r1"


def created(rid: str = RID) -> p.ResponseCreated:
    return p.ResponseCreated(event_id=f"c_{rid}", response=p.Response(id=rid, status="in_progress"))


def delta(n: int, rid: str = RID) -> p.ResponseOutputAudioDelta:
    return p.ResponseOutputAudioDelta(
        event_id=f"d_{rid}_{n}",
        response_id=rid,
        item_id=f"item_{rid}",
        output_index=0,
        content_index=0,
        audio=bytes(2 * 24000),  # 1 s of agent audio: playback is busy at the close
    )


def function_call(call_id: str, name: str, arguments: dict[str, Any]) -> p.ResponseOutputItemDone:
    return p.ResponseOutputItemDone(
        event_id=f"e_{call_id}",
        response_id="r0",
        output_index=0,
        item=p.FunctionCallItem(
            id=f"i_{call_id}",
            call_id=call_id,
            name=name,
            arguments=json.dumps(arguments),
            status="completed",
        ),
    )


async def reach(state: TurnState, session: RealtimeSession, model: ScriptedModel) -> None:
    """Drive the session into `state` (the turn table's inputs, from the server and the app)."""
    if state is TurnState.USER_SPEAKING:
        model.emit(p.InputAudioBufferSpeechStarted(event_id="s1", item_id="u1", audio_start_ms=0))
    elif state is TurnState.AWAITING_RESPONSE:
        await session.send_message("hello")
    elif state in (TurnState.AGENT_SPEAKING, TurnState.INTERRUPTED):
        await session.send_message("tell me a story")
        model.emit(created(), *(delta(n) for n in range(5)))
    await trio.sleep(0.3)  # playback and the microphones run meanwhile
    if state is TurnState.INTERRUPTED:
        await session.interrupt()  # the cancelled response never finishes: still interrupted
        await trio.sleep(0.1)
    assert session.turn_state is state


class Tools:
    """A sync tool blocked in its worker thread and an async tool asleep, both busy at the
    close.  ``release()`` lets the thread end (after the test: the session abandons it)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.async_started = trio.Event()
        self.async_finished = False

        @function_tool
        def lookup(query: str) -> str:
            """Look something up (blocks its thread)."""
            self.entered.set()
            self.gate.wait(30)
            return "found"

        @function_tool
        async def ponder(topic: str) -> str:
            """Think it over for a long while."""
            self.async_started.set()
            await trio.sleep(3600)
            self.async_finished = True
            return "pondered"

        self.tools = [lookup, ponder]

    async def start(self, model: ScriptedModel, *, sync: bool = True) -> None:
        model.emit(function_call("call_async", "ponder", {"topic": "life"}))
        await self.async_started.wait()
        if sync:
            model.emit(function_call("call_sync", "lookup", {"query": "q"}))
            # Real time passes while the thread starts (virtual time stands still meanwhile).
            await trio.to_thread.run_sync(self.entered.wait, 5)
            assert self.entered.is_set()

    def release(self) -> None:
        self.gate.set()


# -- the harness -------------------------------------------------------------------------------

HOWS = ["close", "exit", "cancel_outer", "peer_drop"]


async def close_while_busy(
    how: str,
    model: Any,
    config: RealtimeRunConfig,
    agent: RealtimeAgent,
    setup: Callable[[RealtimeSession], Awaitable[None]],
    *,
    drop: Callable[[], Awaitable[None]] | None = None,
    mic_commit_every: int = 0,
    late_commits: bool = False,
) -> tuple[RealtimeSession, Mic, float]:
    """Run `setup` in a session with a live microphone task in the app's own nursery, then end
    the session `how`; return the session, the microphone, and how long (mock clock) the
    session took to end once its close began.  Raises whatever escaped."""
    box: dict[str, Any] = {}

    async def app(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with open_session(agent, config) as session:
            box["session"] = session
            mic = Mic(session, commit_every=mic_commit_every, late_commits=late_commits)
            box["mic"] = mic
            outer_app.start_soon(mic.run)
            await setup(session)
            box["began"] = trio.current_time()
            if how == "close":
                await session.close()
                await trio.lowlevel.checkpoint()  # the block is cancelled from here on
                raise AssertionError("the block goes on after close()")
            if how == "cancel_outer":
                task_status.started()
                await trio.sleep_forever()
            if how == "peer_drop":
                assert drop is not None
                await drop()
                await trio.sleep_forever()  # the session ends itself: the block is cancelled
            # how == "exit": leave the block with everything running
        box["ended"] = trio.current_time()
        task_status.started()

    async with trio.open_nursery() as outer_app:
        async with trio.open_nursery() as outer:
            await outer.start(app)
            if how == "cancel_outer":
                outer.cancel_scope.cancel()
        box.setdefault("ended", trio.current_time())
    session, mic = box["session"], box["mic"]
    return session, mic, box["ended"] - box["began"]


def scripted_config(model: ScriptedModel, sink: FakeAudioSink) -> RealtimeRunConfig:
    return RealtimeRunConfig(
        link_factory=model.link_factory,
        audio_source=live_source(),
        audio_sink=sink,
        reconnect=False,
    )


# -- every turn state × every way to close ------------------------------------------------------


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("state", list(TurnState), ids=lambda s: s.value)
async def test_close_from_every_turn_state_while_everything_runs(
    autojump_clock: trio.testing.MockClock, state: TurnState, how: str
) -> None:
    model = ScriptedModel(strict=False)
    sink = FakeAudioSink()
    tools = Tools()
    agent = RealtimeAgent("A", tools=tools.tools)

    async def setup(session: RealtimeSession) -> None:
        await reach(state, session, model)
        if state is TurnState.AGENT_SPEAKING:
            assert session.statistics().playback.playing
        await tools.start(model)
        assert session.turn_state is state
        stats = session.statistics()
        assert stats.tools.running == 2
        assert stats.capture.frames > 0

    async def drop() -> None:
        model.close_from_server(1011, "gone")

    try:
        session, mic, took = await close_while_busy(
            how,
            model,
            scripted_config(model, sink),
            agent,
            setup,
            drop=drop,
            mic_commit_every=5,
            late_commits=True,
        )
    finally:
        tools.release()
    assert took <= BUDGET
    assert session.ended_by == ("error" if how == "peer_drop" else "app")
    assert sink.closed
    assert not tools.async_finished
    stats = session.statistics()
    assert stats.tools.threads_abandoned == 1
    assert mic.done
    assert mic.after_close > 0
    calls = await call_everything(session)
    after = session.statistics().calls_after_close
    assert mic.after_close + calls <= after <= mic.chunks + calls


# -- the other ways a session ends -------------------------------------------------------------


async def test_a_sync_tool_blocked_in_its_thread_does_not_hold_the_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    tools = Tools()
    config = scripted_config(model, FakeAudioSink())

    async def setup(session: RealtimeSession) -> None:
        await tools.start(model)

    try:
        session, mic, took = await close_while_busy(
            "exit", model, config, RealtimeAgent("A", tools=tools.tools), setup, mic_commit_every=3
        )
    finally:
        tools.release()
    assert took <= BUDGET
    assert session.statistics().tools.threads_abandoned == 1
    assert mic.done
    calls = await call_everything(session)
    assert session.statistics().calls_after_close >= mic.after_close + calls


async def test_an_async_tool_asleep_is_cancelled_by_the_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    tools = Tools()
    config = scripted_config(model, FakeAudioSink())

    async def setup(session: RealtimeSession) -> None:
        await tools.start(model, sync=False)
        await trio.sleep(1)

    session, mic, took = await close_while_busy(
        "close", model, config, RealtimeAgent("A", tools=tools.tools), setup, mic_commit_every=3
    )
    assert took <= BUDGET
    assert not tools.async_finished
    assert not model.sent_of(p.ConversationItemCreate)  # cancelled with the session: no answer
    assert mic.done
    calls = await call_everything(session)
    assert session.statistics().calls_after_close >= mic.after_close + calls


async def test_closing_twice_and_from_two_tasks_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    sink = FakeAudioSink()
    config = scripted_config(model, sink)
    async with trio.open_nursery() as app:
        async with open_session(RealtimeAgent("A"), config) as session:
            mic = Mic(session, commit_every=3)
            app.start_soon(mic.run)
            await reach(TurnState.AGENT_SPEAKING, session, model)
            began = trio.current_time()
            app.start_soon(session.close)
            await session.close()
            await session.close()
        ended = trio.current_time()
        await session.close()  # after the block too
    assert ended - began <= BUDGET
    assert mic.done
    assert session.statistics().calls_after_close >= mic.after_close > 0


async def test_breaking_out_of_the_event_loop_closes_quietly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = scripted_config(model, FakeAudioSink())
    async with trio.open_nursery() as app:
        async with open_session(RealtimeAgent("A"), config) as session:
            mic = Mic(session, commit_every=5)
            app.start_soon(mic.run)
            await session.send_message("tell me a story")
            model.emit(created(), *(delta(n) for n in range(5)))
            async for event in session:
                if event.type == "audio":
                    break
            began = trio.current_time()
        ended = trio.current_time()
    assert ended - began <= BUDGET
    assert mic.done
    assert session.statistics().calls_after_close >= mic.after_close > 0


@pytest.mark.parametrize("commit_every", [0, 4], ids=["audio", "audio+commit"])
async def test_the_peer_drops_the_connection_with_reconnect_off(
    autojump_clock: trio.testing.MockClock, commit_every: int
) -> None:
    """The real link and the local server over memory: the connection is cut mid-answer while
    the app's microphone task streams (and commits) audio; the session ends itself quietly."""
    model = chaos_model(Story(), Fault("cut", at_event=12), pace=0.05)
    sink = FakeAudioSink()
    config = RealtimeRunConfig(
        link_factory=model.link_factory,
        audio_source=live_source(),
        audio_sink=sink,
        reconnect=False,
    )
    events: list[Any] = []

    async def setup(session: RealtimeSession) -> None:
        await session.send_message("tell me a story")
        async for event in session:  # the session ends when the link drops
            events.append(event)

    session, mic, took = await close_while_busy(
        "exit", model, config, RealtimeAgent("A"), setup, mic_commit_every=commit_every
    )
    assert model.sockets[0].applied
    assert session.ended_by == "error"
    assert any(e.type == "error" and e.error["type"] == "link_closed" for e in events)
    assert took <= BUDGET
    assert mic.done
    assert mic.after_close > 0
    calls = await call_everything(session)
    assert session.statistics().calls_after_close >= mic.after_close + calls


class Story:
    """Answers every turn with a long story (about 20 s of agent audio)."""

    def __init__(self) -> None:
        self.voice = ScriptedResponder()

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        for part in self.voice.speak("Once upon a time " * 20, context.audio_output):
            yield part


@pytest.mark.parametrize("reconnect", [True, False], ids=["resilient", "plain"])
@pytest.mark.parametrize("how", ["close", "exit", "cancel_outer"])
async def test_the_real_link_mid_answer(
    autojump_clock: trio.testing.MockClock, reconnect: bool, how: str
) -> None:
    """The real link (resilient or plain) and the local server, closed mid-story while the
    app's microphone streams and commits audio."""
    model = local_model(Story(), pace=0.05)
    sink = FakeAudioSink()
    config = RealtimeRunConfig(
        link_factory=model.link_factory,
        audio_source=live_source(),
        audio_sink=sink,
        reconnect=reconnect,
        local_vad=False,
    )

    async def setup(session: RealtimeSession) -> None:
        assert isinstance(session._link, ResilientLink) is reconnect
        await session.send_message("tell me a story")
        await trio.sleep(1.0)
        assert session.turn_state is TurnState.AGENT_SPEAKING

    session, mic, took = await close_while_busy(
        how, model, config, RealtimeAgent("A"), setup, mic_commit_every=2
    )
    assert took <= BUDGET
    assert sink.closed
    assert mic.done
    assert mic.after_close > 0
    calls = await call_everything(session)
    assert session.statistics().calls_after_close >= mic.after_close + calls


async def test_sending_after_the_block_is_a_counted_no_op(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, reconnect=False)
    async with open_session(RealtimeAgent("A"), config) as session:
        pass
    sent = len(model.sent)
    await session.send_message("hello?")
    await session.send_audio(CHUNK, commit=True)
    assert len(model.sent) == sent
    assert session.statistics().calls_after_close == 2


# -- the resilient link: a connection that has just ended ---------------------------------------


class DroppingLink:
    """One connection the peer drops on ``drop()``: it reports the loss and refuses sends at
    once (as a closed link does), while its ``run`` takes a moment more to return (a closing
    handshake)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed = False
        self._dropped = trio.Event()
        self._handler: Callable[[Any], None] = lambda event: None

    def set_handler(self, handler: Callable[[Any], None]) -> None:
        self._handler = handler

    async def run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self)
        await self._dropped.wait()
        if not self.closed:
            self.closed = True
            self._handler(LinkClosed(code=1006, reason="dropped", by="peer"))
            await trio.sleep(0.5)

    def drop(self) -> None:
        self._dropped.set()

    async def send(self, event: Any) -> None:
        await trio.lowlevel.checkpoint()
        self.send_nowait(event)

    def send_nowait(self, event: Any) -> None:
        if self.closed:
            raise ModelLinkError("the model link is closed")
        self.sent.append(event)

    send_audio_nowait = send_nowait
    send_audio = send

    async def aclose(self) -> None:
        self.closed = True
        self._dropped.set()
        await trio.lowlevel.checkpoint()

    def statistics(self) -> None:
        return None


async def test_a_send_as_a_connection_ends_waits_for_the_next_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Between a connection's end and the resilient link noticing it, sends are queued for the
    next connection (audio replayed), not refused: the session is not closing."""
    links = [DroppingLink(), DroppingLink()]
    fresh = iter(links)

    async def on_resume(link: Any) -> tuple[int, tuple[str, ...]]:
        return 0, ()

    resilient = ResilientLink(lambda: next(fresh), ReconnectPolicy(jitter=0), on_resume)
    async with trio.open_nursery() as nursery:
        await nursery.start(resilient.run)
        links[0].drop()
        await trio.sleep(0.1)  # refused from now on; the resilient link has not noticed yet
        assert resilient.statistics().state == "open"
        await resilient.send(p.InputAudioBufferCommit())
        resilient.send_nowait(p.ResponseCreate())
        resilient.send_audio_nowait(p.InputAudioBufferAppend(audio=CHUNK))
        await trio.sleep(5)
        assert resilient.statistics().state == "open"
        await resilient.aclose()
        with pytest.raises(ModelLinkError):  # closing: refused, for the caller to count
            resilient.send_nowait(p.ResponseCreate())
    sent = [type(e) for e in links[1].sent]
    assert sent == [p.InputAudioBufferCommit, p.ResponseCreate, p.InputAudioBufferAppend]


@pytest.mark.parametrize("commit_every", [1, 3])
async def test_a_link_that_refuses_sends_before_it_has_ended(
    autojump_clock: trio.testing.MockClock, commit_every: int
) -> None:
    """A model link whose peer dropped refuses sends at once but takes a moment to end (reconnect
    off): the app's commits and messages meanwhile are counted no-ops, not errors."""
    link = DroppingLink()
    config = RealtimeRunConfig(
        link_factory=lambda config: link,
        audio_source=live_source(),
        audio_sink=FakeAudioSink(),
        reconnect=False,
    )

    sessions: list[RealtimeSession] = []

    async def setup(session: RealtimeSession) -> None:
        sessions.append(session)
        await trio.sleep(0.5)

    async def drop() -> None:
        link.drop()
        await trio.sleep(0.2)
        (session,) = sessions
        assert link.closed  # refusing sends...
        assert session.ended_by is None  # ...before it has ended
        before = session.statistics().calls_after_close
        await session.send_message("hello?")
        assert session.statistics().calls_after_close == before + 1

    session, mic, took = await close_while_busy(
        "peer_drop",
        link,
        config,
        RealtimeAgent("A"),
        setup,
        drop=drop,
        mic_commit_every=commit_every,
    )
    assert session.ended_by == "error"
    assert took <= BUDGET
    assert mic.done
    assert session.statistics().calls_after_close >= mic.after_close + 1
