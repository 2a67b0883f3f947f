"""The page's adapter (``create_app``) through ASGI in memory, on trio's MockClock: a fake page
(tests/web/_page.py) ↔ the app ↔ one RealtimeSession per socket ↔ the local model in memory.

What is proven here: each page message reaches the session (text, images, approvals,
interrupt, playback reports, microphone audio), each session event reaches the page, the
interrupt truncates the server's item at the page's reported position, bad frames are
answered and never end a conversation, pages are independent, and the page leaving or the
session failing ends the other side cleanly.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import trio
import trio.testing
from starlette.applications import Starlette
from starlette.routing import Mount

from rtagents import RealtimeAgent, RealtimeRunConfig, function_tool
from rtagents import items as it
from rtagents import protocol as p
from rtagents.apps.demo_agent import forecast
from rtagents.apps.loader import AgentLoadError
from rtagents.models import OpenAIRealtimeConfig
from rtagents.testing import (
    FakeAudioSink,
    Fault,
    Rule,
    ScriptedResponder,
    chaos_model,
    local_model,
    silence,
    voice,
)
from rtagents.web import create_app
from rtagents.web import protocol as wp

from ._page import FakePage, http_get

SKY, DEGREES = forecast("Paris")
ANSWER = f"In Paris it is {SKY} and {DEGREES} degrees."
RULES = (
    Rule(when="weather", call="get_weather", arguments={"city": "Paris"}, after_tool="{output}"),
    Rule(when="secret", call="open_safe", arguments={"code": "1234"}, after_tool="{output}"),
    Rule(when="story", say="Once upon a time there was a long story that went on and on."),
    Rule(say="Hello from the local model."),
)
# A 1x1 PNG.
PNG = (
    "data:image/png;base64,"
    + base64.b64encode(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    ).decode()
)


def make_app(agent: Any = None, **kwargs: Any) -> tuple[Any, Any]:
    model = local_model(ScriptedResponder(RULES))
    config = RealtimeRunConfig(link_factory=model.link_factory)
    return create_app(agent, config=config, **kwargs), model.server


async def play_all(page: FakePage, item: tuple[str, int]) -> None:
    """What the playback worklet does when an item has played to its end."""
    played = len(page.audio.get(item, b"")) / 48
    await page.send_json(
        {"type": "playback", "item_id": item[0], "content_index": item[1], "played_ms": played}
    )
    await page.send_json({"type": "playback_idle"})


async def test_a_text_turn_with_a_tool_call_reaches_the_page(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, server = make_app()  # the demo agent (get_weather, get_time)
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        ready = await page.until_type(wp.Ready)
        assert ready.agent == "Assistant"
        assert ready.sample_rate == 24000
        await page.until_type(wp.State, state="idle")
        await page.send_json({"type": "text", "text": "what is the weather"})

        start = await page.until_type(wp.ToolStart)
        assert (start.name, start.arguments) == ("get_weather", '{"city": "Paris"}')
        end = await page.until_type(wp.ToolEnd)
        assert (end.call_id, end.output) == (start.call_id, ANSWER)
        audio_start = await page.until_type(wp.AudioStart)
        final = await page.until(
            lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final
        )
        assert final.text == ANSWER
        assert final.item_id == audio_start.item_id
        item = (audio_start.item_id, audio_start.content_index)
        # Every agent chunk arrived as binary frames of whole PCM16 samples.
        assert len(page.audio[item]) > 48000
        assert len(page.audio[item]) % 2 == 0
        users = [m for m in page.of_type(wp.Transcript) if m.role == "user"]
        assert users[-1].text == "what is the weather"
        assert any(m.state == "agent_speaking" for m in page.of_type(wp.State))
        # The page plays it all: the turn ends (the session waits for the page's playback).
        await play_all(page, item)
        await page.until_type(wp.State, state="idle")
        (connection,) = app.state.rtagents.connections
        assert connection.reports == 1
        assert connection.audio_out > 0
        await page.leave()
    (state,) = server.sessions
    assert [type(s.item).__name__ for s in state.items] == [
        "MessageItem",
        "FunctionCallItem",
        "FunctionCallOutputItem",
        "MessageItem",
    ]


async def test_interrupt_truncates_at_what_the_page_reported_played(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, server = make_app()
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready)
        await page.send_json({"type": "text", "text": "tell me a story"})
        start = await page.until_type(wp.AudioStart)
        await page.until(lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final)
        item = (start.item_id, start.content_index)
        received_ms = len(page.audio[item]) / 48
        assert received_ms > 2000
        # The page played 700.6 ms, flushed, reported that, then asked to interrupt.
        for ms in (100.0, 400.0, 700.6):
            await page.send_json(
                {"type": "playback", "item_id": item[0], "content_index": item[1], "played_ms": ms}
            )
        await page.send_json({"type": "interrupt"})
        interrupted = await page.until_type(wp.AudioInterrupted)
        assert (interrupted.item_id, interrupted.content_index) == item
        cut = await page.until(
            lambda m: isinstance(m, wp.Transcript) and m.truncated_at_ms is not None
        )
        assert cut.truncated_at_ms == 700
        (connection,) = app.state.rtagents.connections
        assert connection.report_at_interrupt == wp.PlaybackProgress(*item, 700.6)
        assert connection.interrupts == 1
        session = connection.session
        answer = next(i for i in session.history if isinstance(i, it.AssistantMessageItem))
        assert answer.truncated_at_ms == 700
        (state,) = server.sessions
        stored = next(s for s in state.items if s.item.id == item[0])
        assert stored.audio_ms == 700  # the server's item was cut where the page stopped
        await page.leave()


async def test_bad_frames_get_errors_and_the_conversation_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, _ = make_app()
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready)
        bad: list[tuple[Any, str]] = [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_message"),
            ('{"type": "dance"}', "unknown_type"),
            ('{"type": "playback", "item_id": "x", "played_ms": NaN}', "bad_json"),
            ('{"type": "playback", "item_id": "x", "played_ms": true}', "bad_field"),
            ('{"type": "image", "image_url": "https://example.com/a.png"}', "bad_field"),
            (b"\x01\x02\x03", "bad_audio"),
            (bytes(wp.MAX_AUDIO_BYTES + 2), "bad_audio"),
        ]
        for frame, code in bad:
            if isinstance(frame, bytes):
                await page.send_bytes(frame)
            else:
                await page.send_text(frame)
            error = await page.until_type(wp.Error)
            assert error.code == code, (frame, error)
        # Approving or rejecting a call nobody waits for is no error: nothing happens.
        await page.send_json({"type": "approve", "call_id": "call_nobody"})
        await page.send_json({"type": "reject", "call_id": "call_nobody", "reason": "no"})
        await page.send_json({"type": "text", "text": "hello"})
        answer = await page.until(
            lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final
        )
        assert answer.text == "Hello from the local model."
        (connection,) = app.state.rtagents.connections
        assert connection.errors_sent == len(bad)
        await page.leave()


async def test_an_image_is_sent_as_input_image(autojump_clock: trio.testing.MockClock) -> None:
    app, server = make_app()
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready)
        await page.send_json({"type": "image", "image_url": PNG, "text": "what is this?"})
        user = await page.until(lambda m: isinstance(m, wp.Transcript) and m.role == "user")
        assert user.text == "[image] what is this?"
        await page.until(lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final)
        await page.leave()
    (state,) = server.sessions
    message = state.items[0].item
    assert isinstance(message, p.MessageItem)
    kinds = [type(part).__name__ for part in message.content]
    assert kinds == ["InputImageContent", "InputTextContent"]
    assert message.content[0].image_url == PNG  # type: ignore[union-attr]


async def test_approval_buttons_run_or_refuse_the_tool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    opened: list[str] = []

    @function_tool(needs_approval=True)
    def open_safe(code: str) -> str:
        """Open the safe.

        Args:
            code: The code.
        """
        opened.append(code)
        return "The safe is open."

    agent = RealtimeAgent("Guard", tools=[open_safe])
    app, _ = make_app(agent)
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready, agent="Guard")
        await page.send_json({"type": "text", "text": "the secret please"})
        asked = await page.until_type(wp.ApprovalRequired)
        assert (asked.name, asked.arguments) == ("open_safe", '{"code": "1234"}')
        assert opened == []
        await page.send_json({"type": "approve", "call_id": asked.call_id})
        end = await page.until_type(wp.ToolEnd, call_id=asked.call_id)
        assert end.output == "The safe is open."
        assert opened == ["1234"]
        # Played out, then asked again: this time refused, with the page's reason.
        item = (await page.until_type(wp.AudioStart)).item_id
        await page.until(lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final)
        await play_all(page, (item, 0))
        await page.until_type(wp.State, state="idle")
        await page.send_json({"type": "text", "text": "secret again"})
        asked = await page.until_type(wp.ApprovalRequired)
        await page.send_json({"type": "reject", "call_id": asked.call_id, "reason": "not now"})
        end = await page.until_type(wp.ToolEnd, call_id=asked.call_id)
        assert end.output == "not now"
        assert opened == ["1234"]
        await page.leave()


async def test_microphone_frames_reach_the_model(autojump_clock: trio.testing.MockClock) -> None:
    app, server = make_app()
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready)
        speech = silence(0.3) + voice(1.0) + silence(1.2)
        for i in range(0, len(speech), 960):  # 20 ms frames, in real time
            await page.send_bytes(speech[i : i + 960])
            await trio.sleep(0.02)
        # The server's VAD heard a turn and the model answered it.
        await page.until_type(wp.State, state="user_speaking")
        answer = await page.until(
            lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final
        )
        assert answer.text == "Hello from the local model."
        (connection,) = app.state.rtagents.connections
        assert connection.audio_in == len(speech) // 960
        await page.leave()
    (state,) = server.sessions
    user = state.items[0]
    assert isinstance(user.item, p.MessageItem)
    assert user.item.role == "user"
    assert len(user.audio) > 48000  # about a second of the page's audio, kept by the server


async def test_pages_are_independent_and_leaving_ends_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, server = make_app()
    web = app.state.rtagents
    async with trio.open_nursery() as nursery:
        first, second = FakePage(app), FakePage(app)
        await first.open(nursery)
        await second.open(nursery)
        await first.until_type(wp.Ready)
        await second.until_type(wp.Ready)
        assert len(web.connections) == 2
        await first.send_json({"type": "text", "text": "tell me a story"})
        await second.send_json({"type": "text", "text": "weather"})
        story = await first.until(
            lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final
        )
        weather = await second.until(
            lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final
        )
        assert story.text.startswith("Once upon a time")
        assert weather.text == ANSWER
        assert not first.of_type(wp.ToolStart)
        session = web.connections[0].session
        await first.leave()
        await trio.sleep(1)  # (virtual time) the session closes
        assert len(web.connections) == 1
        assert session.ended_by == "app"
        assert web.recent[-1].ended
        # The other page carries on.
        await second.send_json({"type": "text", "text": "hello"})
        await second.until(lambda m: isinstance(m, wp.Transcript) and m.text.startswith("Hello"))
        await second.leave()
    assert len(server.sessions) == 2


async def test_a_full_app_turns_pages_away(autojump_clock: trio.testing.MockClock) -> None:
    app, _ = make_app(max_connections=1)
    async with trio.open_nursery() as nursery:
        first, second = FakePage(app), FakePage(app)
        await first.open(nursery)
        await first.until_type(wp.Ready)
        await second.open(nursery)
        busy = await second.until_type(wp.Error)
        assert busy.code == "busy"
        assert await second.next() is None
        assert second.close_code == 1013
        await first.leave()


async def test_a_failing_factory_or_model_is_told_to_the_page(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def broken() -> RealtimeAgent:
        raise RuntimeError("no config")

    app, _ = make_app(broken)
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        error = await page.until_type(wp.Error)
        assert (error.code, error.message) == (
            "agent",
            "agent: the factory failed: RuntimeError: no config",
        )
        assert await page.next() is None
        assert page.close_code == 1011

    # A model nobody can reach: the page hears why, and the socket closes (the page retries).
    config = RealtimeRunConfig(
        model=OpenAIRealtimeConfig(url="ws://127.0.0.1:9/v1/realtime", api_key="x"),
        reconnect=None,
    )
    app = create_app(RealtimeAgent("A"), config=config)
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        error = await page.until_type(wp.Error)
        assert error.code == "session_failed"
        assert "could not connect" in error.message
        assert await page.next() is None
        assert page.close_code == 1011


async def test_a_session_that_ends_by_itself_closes_the_page_socket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The model's connection is cut at its third message and reconnection is off: the session
    # ends ("error"); the page hears why and its socket closes with 1011 (the page reconnects).
    model = chaos_model(ScriptedResponder(RULES), Fault("cut", at_event=3))
    config = RealtimeRunConfig(link_factory=model.link_factory, reconnect=None)
    app = create_app(RealtimeAgent("A"), config=config)
    async with trio.open_nursery() as nursery:
        page = FakePage(app)
        await page.open(nursery)
        await page.until_type(wp.Ready)
        await page.send_json({"type": "text", "text": "hello"})
        ended = await page.until(lambda m: isinstance(m, wp.Error) and m.code == "session_ended")
        assert ended.message == "the session ended (error)"
        while await page.next() is not None:
            pass
        assert page.close_code == 1011
    (connection,) = app.state.rtagents.recent
    assert connection.ended
    assert connection.session.ended_by == "error"


async def test_the_page_is_served_and_the_app_mounts_anywhere(
    autojump_clock: trio.testing.MockClock,
) -> None:
    voice_app, _ = make_app()
    outer = Starlette(routes=[Mount("/voice", app=voice_app)])
    status, headers, body = await http_get(outer, "/voice/?autostart=1")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b'<script type="module" src="app.js">' in body
    for name in ("app.js", "capture-worklet.js", "playback-worklet.js"):
        status, headers, body = await http_get(outer, f"/voice/{name}")
        assert status == 200, name
        assert "javascript" in headers["content-type"]
    assert b"registerProcessor" in (await http_get(outer, "/voice/playback-worklet.js"))[2]
    # The WebSocket under the mount.
    async with trio.open_nursery() as nursery:
        page = FakePage(outer, "/voice/ws")
        await page.open(nursery)
        await page.until_type(wp.Ready)
        await page.send_json({"type": "text", "text": "hello"})
        await page.until(lambda m: isinstance(m, wp.Transcript) and m.role == "agent" and m.final)
        await page.leave()


def test_create_app_refuses_what_cannot_work() -> None:
    with pytest.raises(AgentLoadError, match="no module named 'surely_not_a_module'"):
        create_app("surely_not_a_module:agent")
    with pytest.raises(ValueError, match="the page is the microphone and speaker"):
        create_app(RealtimeAgent("A"), config=RealtimeRunConfig(audio_sink=FakeAudioSink()))
    with pytest.raises(ValueError, match="max_connections"):
        create_app(RealtimeAgent("A"), max_connections=0)
