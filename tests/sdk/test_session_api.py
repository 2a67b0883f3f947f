"""The SDK's session surface on whole sessions (real link, real local server in memory, mock
clock): runner call shapes, config dicts, event info, items as lists, raw model events,
``session.model``, user messages with images, the playback tracker driving truncation."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

import rtagents
from rtagents import (
    RealtimeAgent,
    RealtimeModelListener,
    RealtimeModelSendRawMessage,
    RealtimeModelSendUserInput,
    RealtimePlaybackTracker,
    RealtimeRunConfig,
    RealtimeRunHooks,
    RealtimeRunner,
    RealtimeSession,
)
from rtagents import protocol as p
from rtagents.local import ResponseContext, ResponsePart, ScriptedResponder
from rtagents.testing import LocalModel, local_model

STORY = "Once upon a time there was a story that went on for a good few seconds. " * 3
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()


class Story:
    def __init__(self, text: str = STORY) -> None:
        self.text = text
        self.voice = ScriptedResponder()
        self.contexts: list[ResponseContext] = []

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        self.contexts.append(context)
        for part in self.voice.speak(self.text, context.audio_output):
            yield part


async def events_until(session: RealtimeSession, kind: str, limit: int = 2000) -> list[Any]:
    seen: list[Any] = []
    with trio.fail_after(60):
        async for event in session:
            seen.append(event)
            if event.type == kind or len(seen) >= limit:
                return seen
    return seen


def server_state(model: LocalModel) -> Any:
    (state,) = model.server.sessions
    return state


async def test_runner_with_sdk_config_dicts(autojump_clock: trio.testing.MockClock) -> None:
    model = local_model(Story("Hi."))
    runner = RealtimeRunner(
        RealtimeAgent(name="Bot", instructions="Be brief."),
        model=model,
        config={
            "model_settings": {"voice": "alloy", "turn_detection": {"type": "server_vad"}},
            "guardrails_settings": {"debounce_text_length": 20},
            "tracing_disabled": True,
            "async_tool_calls": False,
        },
    )
    context = {"user": 7}
    async with await runner.run(context=context) as session:
        await session.send_message("hello")
        events = await events_until(session, "agent_end")
    session_config = server_state(model).config
    assert session_config.audio.output.voice == "alloy"
    assert isinstance(session_config.audio.input.turn_detection, p.ServerVad)
    # the SDK's default transcription comes along, so user transcripts are not lost
    assert session_config.audio.input.transcription.model == "gpt-4o-mini-transcribe"
    assert session_config.instructions == "Be brief."
    assert all(e.info.context.context is context for e in events)
    assert runner.config.guardrails_settings.debounce_text_length == 20
    assert session._agency._tools.executor.one_at_a_time  # async_tool_calls=False
    assert session_config.tracing is p.UNSET  # tracing_disabled: none sent


async def test_the_class_level_run_shape(autojump_clock: trio.testing.MockClock) -> None:
    calls: list[str] = []

    class Hooks(RealtimeRunHooks):
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            calls.append(agent.name)

    model = local_model(Story("Hi."))
    session = await RealtimeRunner.run(
        RealtimeAgent(name="Bot"),
        session={"voice": "cedar"},
        context="ctx",
        hooks=Hooks(),
        model=model,
    )
    async with session:
        await session.send_message("hello")
        await events_until(session, "agent_end")
    assert server_state(model).config.audio.output.voice == "cedar"
    assert server_state(model).config.tracing == "auto"  # the SDK's default
    assert calls == ["Bot"]
    with pytest.raises(ValueError, match="once"):
        await RealtimeRunner.run(
            RealtimeAgent(name="Bot"), session={}, config={"model_settings": {}}
        )


def test_bad_runner_arguments_are_refused_at_construction() -> None:
    agent = RealtimeAgent(name="Bot")
    with pytest.raises(ValueError, match="'model_setings'"):
        RealtimeRunner(agent, config={"model_setings": {}})
    with pytest.raises(TypeError, match="RealtimeAgent"):
        RealtimeRunner("Bot")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RealtimeModel"):
        RealtimeRunner(agent, model=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pre_approval_tool_input_guardrails"):
        RealtimeRunner(
            agent, config={"tool_execution": {"pre_approval_tool_input_guardrails": True}}
        )
    with pytest.raises(ValueError, match="'debounce'"):
        RealtimeRunConfig.coerce({"guardrails_settings": {"debounce": 3}})


async def test_items_are_lists_and_dump_like_the_sdk(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sdk_items = pytest.importorskip("agents.realtime.items")
    model = local_model(Story("Fine."))
    async with await RealtimeRunner(RealtimeAgent(name="Bot"), model=model).run() as session:
        await session.send_message(
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": PNG, "detail": "low"},
                ],
            }
        )
        events = await events_until(session, "agent_end")
    updates = [e for e in events if e.type == "history_updated"]
    assert isinstance(updates[-1].history, list)
    user = next(e.item for e in events if e.type == "history_added" and e.item.role == "user")
    assert isinstance(user.content, list)
    assert [c.type for c in user.content] == ["input_text", "input_image"]
    dumped = user.model_dump()
    sdk_user = sdk_items.UserMessageItem(**dumped)
    assert sdk_user.model_dump() == {k: v for k, v in dumped.items() if k != "status"} | (
        {"status": dumped["status"]} if "status" in dumped else {}
    )
    stored = server_state(model).items[0].item
    assert [type(c).__name__ for c in stored.content] == ["InputTextContent", "InputImageContent"]
    assert stored.content[1].detail == "low"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"type": "message", "role": "user", "content": []}, "at least one"),
        ({"type": "message", "role": "user", "content": [{"type": "input_audio"}]}, "input_audio"),
        ({"type": "message", "role": "user", "content": [{"type": "input_image"}]}, "image_url"),
        ({"type": "message", "role": "assistant", "content": []}, "role 'user'"),
        ({"type": "message", "role": "user", "contents": []}, "'contents'"),
    ],
)
async def test_bad_user_messages_raise_before_anything_is_sent(
    autojump_clock: trio.testing.MockClock, message: Any, error: str
) -> None:
    model = local_model(Story("Fine."))
    async with await RealtimeRunner(RealtimeAgent(name="Bot"), model=model).run() as session:
        with pytest.raises(ValueError, match=error):
            await session.send_message(message)
        await session.send_message("still fine")
        await events_until(session, "agent_end")


async def test_raw_model_events_speak_the_sdks_vocabulary(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Story("Hello there."))
    async with await RealtimeRunner(RealtimeAgent(name="Bot"), model=model).run() as session:
        await session.send_message("hi")
        events = await events_until(session, "agent_end")
    raw = [e for e in events if e.type == "raw_model_event"]
    kinds = [e.data.type for e in raw]
    assert kinds[0] == "connection_status"
    for expected in ("raw_server_event", "turn_started", "audio", "transcript_delta", "turn_ended"):
        assert expected in kinds
    audio = [e.data for e in raw if e.data.type == "audio"]
    assert isinstance(audio[0], rtagents.RealtimeModelAudioEvent)
    assert audio[0].data
    server = [e for e in raw if e.data.type == "raw_server_event"]
    assert server[0].data.data["type"] == "session.created"
    assert isinstance(server[0].wire, p.SessionCreated)
    # each server message's raw event comes before what it means
    done = kinds.index("turn_ended")
    assert kinds[done - 1] in ("raw_server_event", "usage")


async def test_session_model_sends_raw_events_through_the_sequencer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    responder = Story("Sure.")
    model = local_model(responder)
    received: list[str] = []

    class Listener(RealtimeModelListener):
        async def on_event(self, event: Any) -> None:
            received.append(event.type)

    async with await RealtimeRunner(RealtimeAgent(name="Bot"), model=model).run() as session:
        assert session.model is model
        session.model.add_listener(Listener())
        await session.model.send_event(RealtimeModelSendUserInput("hi"))
        # a manual response.create while the first is still running: it waits its turn
        await session.model.send_event(
            RealtimeModelSendRawMessage(
                {"type": "response.create", "other_data": {"response": {"instructions": "Again"}}}
            )
        )
        with pytest.raises(ValueError, match="not a valid client event"):
            await session.model.send_event(RealtimeModelSendRawMessage({"type": "nonsense"}))
        with pytest.raises(TypeError, match="cannot send"):
            await session.model.send_event(object())
        await events_until(session, "agent_end")
        await events_until(session, "agent_end")
    assert len(responder.contexts) == 2
    assert responder.contexts[1].params is not None
    assert responder.contexts[1].params.instructions == "Again"
    assert "turn_ended" in received
    assert "raw_server_event" in received


async def test_the_playback_tracker_decides_where_the_item_is_cut(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The app plays the audio itself, 20 ms at a time in real time, and reports it through the
    # SDK's tracker; after 1.2 s it interrupts.  The truncation is at what the tracker said.
    model = local_model(Story(), pace=0.01)
    tracker = RealtimePlaybackTracker()
    runner = RealtimeRunner(RealtimeAgent(name="Teller"), model=model)
    async with await runner.run(model_config={"playback_tracker": tracker}) as session:
        await session.send_message("tell me a story")
        received: list[Any] = []
        with trio.fail_after(30):
            async for event in session:
                if event.type == "audio":
                    received.append(event)
                if sum(len(e.audio.data) for e in received) >= 48000 * 3:
                    break  # 3 s of audio arrived (much faster than real time)
        first = received[0]
        for _ in range(60):  # 1.2 s played
            await trio.sleep(0.02)
            tracker.on_play_bytes(first.item_id, first.content_index, bytes(960))
        assert tracker.get_state()["elapsed_ms"] == pytest.approx(1200)
        await session.interrupt()
        events = await events_until(session, "audio_interrupted")
        await trio.sleep(1)
    assert events[-1].item_id == first.item_id
    assert tracker.get_state()["current_item_id"] is None  # told it was interrupted
    stored = {s.item.id: s for s in server_state(model).items}
    assert stored[first.item_id].audio_ms == 1200


def test_the_tracker_counts_time_in_the_output_format() -> None:
    tracker = RealtimePlaybackTracker()
    tracker.on_play_bytes("a", 0, bytes(4800))  # PCM16 24 kHz: 100 ms
    tracker.set_audio_format("g711_ulaw")
    tracker.on_play_bytes("a", 0, bytes(800))  # μ-law 8 kHz: 100 ms
    assert tracker.get_state() == {
        "current_item_id": "a",
        "current_item_content_index": 0,
        "elapsed_ms": 200.0,
    }
    tracker.on_play_ms("b", 0, 5)  # a new item starts over
    assert tracker.get_state()["elapsed_ms"] == 5
    tracker.on_interrupted()
    assert tracker.get_state()["current_item_id"] is None


async def test_approve_and_reject_return_none_and_ignore_unknown_calls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Story("Hi."))
    async with await RealtimeRunner(RealtimeAgent(name="Bot"), model=model).run() as session:
        results: list[Any] = [
            await session.approve_tool_call("nope"),  # type: ignore[func-returns-value]
            await session.reject_tool_call("nope"),  # type: ignore[func-returns-value]
        ]
        assert results == [None, None]


async def test_a_model_serves_one_session_at_a_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Story("Hi."))
    runner = RealtimeRunner(RealtimeAgent(name="Bot"), model=model)
    async with await runner.run():
        with pytest.raises(rtagents.models.ModelLinkError, match="one model per session"):
            async with await runner.run():
                pass
    async with await runner.run():  # free again once the first closed
        pass
    # without model=, every run gets its own model: concurrent sessions are fine
    free = RealtimeRunner(RealtimeAgent(name="Bot"), config={"link_factory": model.link_factory})
    async with await free.run(), await free.run():
        pass
