"""No wedged turn: a response that errors, goes silent, or loses its connection is ended by the
session, the app is told, and the next input gets a response (mock clock, scripted model)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from rtagents import RealtimeAgent, RealtimeRunConfig, RealtimeSession, open_session
from rtagents import protocol as p
from rtagents.testing import ScriptedModel


def created(rid: str) -> p.ResponseCreated:
    return p.ResponseCreated(event_id=f"c_{rid}", response=p.Response(id=rid, status="in_progress"))


def delta(rid: str, n: int = 0) -> p.ResponseOutputAudioDelta:
    return p.ResponseOutputAudioDelta(
        event_id=f"d_{rid}_{n}",
        response_id=rid,
        item_id=f"item_{rid}",
        output_index=0,
        content_index=0,
        audio=bytes(4800),
    )


def server_error(message: str = "the server failed") -> p.ErrorEvent:
    return p.ErrorEvent(event_id="e1", error=p.ErrorDetails(type="server_error", message=message))


async def collect(session: RealtimeSession, into: list[Any]) -> None:
    async for event in session:
        into.append(event)


def creates(model: ScriptedModel) -> int:
    return len(model.sent_of(p.ResponseCreate))


async def test_a_response_that_errors_instead_of_finishing_does_not_wedge(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    async with open_session(RealtimeAgent(name="A"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("hi")
        assert creates(model) == 1
        model.emit(created("r1"), delta("r1"), server_error())
        await trio.sleep(1)
        await session.send_message("are you there?")
        await trio.sleep(60)  # the session gives the silent response up
        assert creates(model) == 2
        n.cancel_scope.cancel()
    kinds = [e.type for e in events if e.type != "raw_model_event"]
    assert "agent_end" in kinds
    timeouts = [e for e in events if e.type == "error" and e.error.type == "turn_timeout"]
    assert timeouts


async def test_a_response_that_goes_quiet_is_ended_with_or_without_a_sink(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    async with open_session(RealtimeAgent(name="A"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("hi")
        model.emit(created("r1"), delta("r1"))
        await trio.sleep(120)
        assert any(e.type == "agent_end" for e in events)
        await session.send_message("hello?")
        await trio.sleep(1)
        assert creates(model) == 2
        n.cancel_scope.cancel()


async def test_a_clean_close_mid_response_is_an_error_and_ends_the_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    async with open_session(RealtimeAgent(name="A"), config) as session:
        await session.send_message("hi")
        model.emit(created("r1"), delta("r1"))
        model.close_from_server(1000, "bye")
        with trio.fail_after(5):
            await collect(session, events)
    kinds = [e.type for e in events if e.type != "raw_model_event"]
    assert "agent_end" in kinds
    errors = [e.error for e in events if e.type == "error"]
    assert any(e["type"] == "link_closed" for e in errors)


async def test_a_create_the_server_never_answers_does_not_wedge(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    async with open_session(RealtimeAgent(name="A"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("hi")  # the server never says response.created
        await trio.sleep(60)
        await session.send_message("hello?")
        await trio.sleep(1)
        assert creates(model) == 2
        n.cancel_scope.cancel()
    assert any(e.type == "error" and e.error["type"] == "turn_timeout" for e in events)


async def test_a_late_done_of_a_given_up_response_changes_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[Any] = []
    async with open_session(RealtimeAgent(name="A"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("hi")
        model.emit(created("r1"), delta("r1"))
        await trio.sleep(60)  # given up
        await session.send_message("again")
        await trio.sleep(0.1)
        model.emit(created("r2"))
        await trio.sleep(0.1)
        model.emit(
            p.ResponseDone(event_id="late", response=p.Response(id="r1", status="completed"))
        )
        await session.send_message("and again")  # r2 still runs: this one must wait
        await trio.sleep(1)
        assert creates(model) == 2
        model.emit(p.ResponseDone(event_id="d2", response=p.Response(id="r2", status="completed")))
        await trio.sleep(1)
        assert creates(model) == 3
        n.cancel_scope.cancel()
    ends = [e.response_id for e in events if e.type == "agent_end"]
    assert ends == ["r1", "r2"]  # one agent_end each, none for the late done


def ended(session: RealtimeSession) -> str | None:
    return session.ended_by


async def test_the_app_can_tell_how_the_session_ended(
    autojump_clock: trio.testing.MockClock,
) -> None:
    for code, expected in ((1000, "server"), (1011, "error")):
        model = ScriptedModel(strict=False)
        config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
        events: list[Any] = []
        async with open_session(RealtimeAgent(name="A"), config) as session:
            assert ended(session) is None
            model.close_from_server(code, "bye")
            with trio.fail_after(5):
                await collect(session, events)
        assert session.ended_by == expected
        assert any(e.type == "error" for e in events) == (expected == "error")
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    async with open_session(RealtimeAgent(name="A"), config) as session:
        pass
    assert session.ended_by == "app"
