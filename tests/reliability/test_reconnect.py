"""Sessions that survive their network: cut, stall, delay or corrupt the connection (the local
model in memory, mock clock) and the session resumes the conversation or ends with a clear
error — no hang, no leaked task, no user audio lost within the replay buffer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from rtagents import (
    RealtimeAgent,
    RealtimeRunConfig,
    RealtimeSession,
    function_tool,
    open_session,
)
from rtagents import protocol as p
from rtagents.local import ResponseContext, ResponsePart, ScriptedResponder
from rtagents.local._responders import CallTool
from rtagents.testing import ChaosModel, Fault, chaos_model, voice

SPEECH_S = 1.0


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class TwoTurns:
    """Turn 1 (typed 'weather'): a tool call, then an answer with its output.  Any other turn:
    'Hello again.'."""

    def __init__(self) -> None:
        self.voice = ScriptedResponder()

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        last = context.conversation[-1] if context.conversation else None
        if isinstance(last, p.FunctionCallOutputItem):
            text = f"The weather is {last.output}."
        elif isinstance(last, p.MessageItem) and "weather" in str(last.content):
            yield CallTool("get_weather", json.dumps({"city": "Paris"}))
            return
        else:
            text = "Hello again."
        for part in self.voice.speak(text, context.audio_output):
            yield part


def nurseries() -> int:
    root = trio.lowlevel.current_root_task()
    assert root is not None
    return len(root.child_nurseries)


def agent() -> RealtimeAgent:
    return RealtimeAgent(name="A", instructions="Be brief.", tools=[get_weather])


async def converse(model: ChaosModel) -> tuple[list[Any], Any]:
    """Turn 1 typed, turn 2 spoken (1 s of speech through send_audio, server VAD)."""
    config = RealtimeRunConfig(
        link_factory=model.link_factory,
        local_vad=False,
        model_settings={"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}},
    )
    events: list[Any] = []

    async def collect(session: RealtimeSession) -> None:
        async for event in session:
            events.append(event)

    def answers() -> int:
        return sum(1 for e in events if e.type == "agent_end" and e.status == "completed")

    stats = None
    with trio.fail_after(120):
        async with open_session(agent(), config) as session, trio.open_nursery() as nursery:
            nursery.start_soon(collect, session)
            await session.send_message("What is the weather?")
            with trio.move_on_after(30):
                while answers() < 2 and not any(e.type == "error" for e in events):  # noqa: ASYNC110
                    await trio.sleep(0.1)  # the tool call's response, then the answer
            speech = voice(SPEECH_S, seed=4) + bytes(2 * 24000)  # then 1 s of silence
            for i in range(0, len(speech), 960):
                await session.send_audio(speech[i : i + 960])
                await trio.sleep(0.02)
            with trio.move_on_after(30):
                while answers() < 3:  # noqa: ASYNC110 (polling the collected events)
                    await trio.sleep(0.1)
            stats = session.statistics()
            nursery.cancel_scope.cancel()
    return events, stats


FRAMES = int((SPEECH_S + 1.0) / 0.02)  # the spoken turn: speech, then a second of silence


def heard_whole_turn(model: ChaosModel, events: list[Any]) -> bool:
    """No user audio lost: every frame of the spoken turn reached a server, and if the link was
    lost before that turn was answered, the connection that answered it got all of it."""
    sockets = model.sockets
    if sum(s.audio_appends for s in sockets) < FRAMES:
        return False
    kinds = [(e.type, getattr(e, "status", None)) for e in events]
    answered = [i for i, k in enumerate(kinds) if k == ("agent_end", "completed")]
    lost = [i for i, (kind, _) in enumerate(kinds) if kind == "connection_lost"]
    if lost and len(answered) >= 3 and lost[-1] < answered[2]:
        return sockets[-1].audio_appends >= FRAMES
    return True


async def test_without_faults_the_conversation_completes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = chaos_model(TwoTurns(), pace=0.01)
    events, _ = await converse(model)
    texts = [e.type for e in events if e.type in ("agent_end", "error", "reconnected")]
    assert texts.count("agent_end") == 3
    assert heard_whole_turn(model, events)


async def test_a_cut_mid_answer_reconnects_and_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = chaos_model(TwoTurns(), Fault("cut", at_event=30), pace=0.01)
    events, stats = await converse(model)
    kinds = [e.type for e in events]
    assert "connection_lost" in kinds
    (back,) = [e for e in events if e.type == "reconnected"]
    assert back.outage_s < 5
    assert back.restored_items >= 1
    assert model.connections == 2
    assert stats.link.outages == 1
    # the conversation went on: the spoken turn was answered on the new connection
    finals = [e for e in events if e.type == "agent_end" and e.status == "completed"]
    assert finals
    assert heard_whole_turn(model, events)
    # the new server holds the restored conversation: the user's question and the tool call
    final = model.server.sessions[-1]
    kinds_there = [type(s.item).__name__ for s in final.items]
    assert "FunctionCallItem" in kinds_there
    assert "FunctionCallOutputItem" in kinds_there


async def count_server_messages() -> int:
    model = chaos_model(TwoTurns(), pace=0.01)
    await converse(model)
    return model.sockets[0]._received


@pytest.mark.parametrize("kind", ["cut", "corrupt"])
async def test_a_fault_at_every_event_resumes_or_ends_clearly(
    autojump_clock: trio.testing.MockClock, kind: str
) -> None:
    total = await count_server_messages()
    assert total > 40
    step = 1 if kind == "cut" else 7
    for at in range(0, total, step):
        model = chaos_model(TwoTurns(), Fault(kind, at_event=at), pace=0.01)  # type: ignore[arg-type]
        before = nurseries()
        events, _ = await converse(model)
        errors = [e for e in events if e.type == "error"]
        completed = [e for e in events if e.type == "agent_end" and e.status == "completed"]
        resumed = len(completed) >= 3 and heard_whole_turn(model, events)
        assert resumed or errors, f"{kind} at {at}: neither resumed nor an error"
        assert nurseries() == before, at


@pytest.mark.parametrize("at", [3, 25, 60])
async def test_a_stalled_server_is_given_up_on_clearly(
    autojump_clock: trio.testing.MockClock, at: int
) -> None:
    # The server stops talking but answers pings: no reconnect (the link is alive), the turn
    # times out with an error event, and nothing hangs.
    model = chaos_model(TwoTurns(), Fault("stall", at_event=at), pace=0.01)
    events, _ = await converse(model)  # returns: nothing hangs
    assert model.connections == 1
    if at < 50:  # a response was due (at 60 the server goes quiet while the session waits for
        # nothing it knows of: without local VAD it cannot tell that the user spoke)
        assert any(e.type == "error" and e.error.type == "turn_timeout" for e in events)


async def test_late_messages_still_make_a_conversation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = chaos_model(TwoTurns(), Fault("delay", at_event=10, seconds=0.05), pace=0.01)
    events, _ = await converse(model)
    completed = [e for e in events if e.type == "agent_end" and e.status == "completed"]
    assert len(completed) == 3
    assert heard_whole_turn(model, events)


async def test_when_every_reconnect_fails_the_session_ends_with_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ChaosModel(TwoTurns(), 0.01, faults=[Fault("cut", at_event=20)], refuse_from=1)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    with trio.fail_after(60):
        async with open_session(agent(), config) as session:
            await session.send_message("What is the weather?")
            async for event in session:
                events.append(event)
    kinds = [e.type for e in events]
    assert "connection_lost" in kinds
    assert "reconnected" not in kinds
    assert any(e.type == "error" and e.error.type == "link_closed" for e in events)
    assert model.connections == 1 + RealtimeRunConfig().reconnect.attempts  # type: ignore[union-attr]


async def test_a_deliberate_close_never_reconnects_and_reconnect_can_be_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = chaos_model(TwoTurns(), pace=0.01)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    async with open_session(agent(), config) as session:
        await session.send_message("hello")
        await trio.sleep(1)
    await trio.sleep(10)
    assert model.connections == 1
    off = chaos_model(TwoTurns(), Fault("cut", at_event=5), pace=0.01)
    config = RealtimeRunConfig(link_factory=off.link_factory, local_vad=False, reconnect=False)
    events: list[Any] = []
    with trio.fail_after(30):
        async with open_session(agent(), config) as session:
            await session.send_message("What is the weather?")
            async for event in session:
                events.append(event)
    assert off.connections == 1
    assert any(e.type == "error" and e.error.type == "link_closed" for e in events)


def test_reconnect_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="'tries'"):
        RealtimeRunConfig.coerce({"reconnect": {"tries": 3}})
    assert RealtimeRunConfig.coerce({"reconnect": False}).reconnect is None
    custom = RealtimeRunConfig.coerce({"reconnect": {"attempts": 2, "audio_seconds": 1.0}})
    assert custom.reconnect is not None
    assert custom.reconnect.attempts == 2


async def test_a_dead_peer_is_noticed_within_five_seconds_and_the_session_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = chaos_model(TwoTurns(), Fault("blackhole", at_event=20), pace=0.01)
    lost_at: list[float] = []
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    with trio.fail_after(60):
        async with open_session(agent(), config) as session:
            await session.send_message("What is the weather?")
            async for event in session:
                if event.type == "connection_lost":
                    lost_at.append(trio.current_time())
                if event.type == "reconnected":
                    break
    dead_since = model.sockets[0].blackholed_at
    assert dead_since is not None
    assert lost_at[0] - dead_since <= 5.0 + 0.1  # keepalive: 2.5 s interval + 2.5 s timeout
    assert model.connections == 2
