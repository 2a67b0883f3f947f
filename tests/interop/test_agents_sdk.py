"""An independent client against the local server: the OpenAI Agents SDK's realtime session.

The SDK (``openai-agents``, installed by the ``interop`` extra, which CI installs) runs unchanged
on asyncio in this process; the local server runs as a separate process started the way a user
starts it, ``python -m rtagents local-server``, with a script and a pace.  Each scenario checks
what the SDK saw (its session events and history) and that the SDK reported no error: the SDK
validates every server event against the official types and reports failures as errors.

This is an integration test over real sockets and real time (the SDK's clock is asyncio's), so it
is kept short: responses are paced at twice real time and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

import numpy as np
import pytest

pytest.importorskip("agents.realtime", reason="needs the interop extra (openai-agents)")

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner, RealtimeSession

from rtagents.local import synthetic_voice

pytestmark = pytest.mark.interop

STORY = (
    "Once upon a time there was a very long story that went on and on, "
    "for many seconds of audio, until somebody interrupted it."
)
SCRIPT = {
    "rules": [
        {
            "when": "weather",
            "call": "get_weather",
            "arguments": {"city": "Paris"},
            "after_tool": "The weather is {output}.",
        },
        {"when": "story", "say": STORY},
        {"say": "Hello from the local model."},
    ],
    "ms_per_char": 60,
    "chunk_ms": 100,
}
PACE = 0.05  # 100 ms of audio every 50 ms: twice real time
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    script = tmp_path_factory.mktemp("interop") / "script.json"
    script.write_text(json.dumps(SCRIPT))
    command = [sys.executable, "-m", "rtagents", "local-server", "--port", "0"]
    command += ["--script", str(script), "--pace", str(PACE)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("listening on ws://127.0.0.1:"), line
            yield line.split()[-1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()  # type: ignore[union-attr]


def speech(seconds: float, silence: float) -> bytes:
    """PCM16 24 kHz: a speech-like signal, then silence (the SDK's default input format)."""
    voice: bytes = np.rint(synthetic_voice(seconds, seed=3)).astype("<i2").tobytes()
    return voice + bytes(2 * int(24000 * silence))


async def feed(session: RealtimeSession, pcm: bytes) -> None:
    """Send audio the way a microphone would: 20 ms frames at real time."""
    for i in range(0, len(pcm), 960):
        await session.send_audio(pcm[i : i + 960])
        await asyncio.sleep(0.02)


class Transcript:
    """What one SDK session saw, collected by :func:`run_session`."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.server: list[dict[str, Any]] = []  # raw server events, in order
        self.audio_bytes: dict[str, int] = {}  # item id -> PCM bytes the SDK handed out

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def errors(self) -> list[Any]:
        errors = [e for e in self.events if e.type == "error"]
        errors += [e for e in self.server if e["type"] == "error"]
        return errors

    def server_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.server if e["type"] == kind]

    def history(self) -> list[Any]:
        updates = [e for e in self.events if e.type in ("history_updated", "history_added")]
        for event in reversed(updates):
            if event.type == "history_updated":
                return list(event.history)
        return []


async def run_session(
    url: str,
    agent: RealtimeAgent[Any],
    body: Callable[[RealtimeSession, Transcript], Awaitable[None]],
    on_event: Callable[[RealtimeSession, Transcript, Any], None] | None = None,
    *,
    turns: int,
    settings: dict[str, Any] | None = None,
) -> Transcript:
    """Run one SDK session until `turns` agent turns have ended (or the timeout)."""
    seen = Transcript()
    runner = RealtimeRunner(agent, config=cast(Any, {"model_settings": settings or {}}))
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-not-a-key"})
    async with session:

        async def consume() -> None:
            ended = 0
            async for event in session:
                seen.events.append(event)
                if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                    seen.server.append(event.data.data)
                if event.type == "audio":
                    item = event.audio.item_id
                    seen.audio_bytes[item] = seen.audio_bytes.get(item, 0) + len(event.audio.data)
                if on_event is not None:
                    on_event(session, seen, event)
                if event.type == "agent_end":
                    ended += 1
                    if ended == turns:
                        return

        await body(session, seen)
        await asyncio.wait_for(consume(), TIMEOUT)
        # Let the last history updates (they follow agent_end) arrive.
        await asyncio.sleep(0.2)
    return seen


def assistant_messages(history: list[Any]) -> list[Any]:
    return [i for i in history if i.type == "message" and i.role == "assistant"]


def spoken(item: Any) -> str:
    return "".join(
        (getattr(part, "transcript", None) or getattr(part, "text", None) or "")
        for part in item.content
    )


def test_text_turn(server_url: str) -> None:
    async def body(session: RealtimeSession, _: Transcript) -> None:
        await session.send_message("Hi there")

    agent: RealtimeAgent[Any] = RealtimeAgent(name="Greeter", instructions="Be brief.")
    seen = asyncio.run(
        run_session(server_url, agent, body, turns=1, settings={"output_modalities": ["text"]})
    )
    assert seen.errors() == []
    assert "agent_start" in seen.types()
    assert "audio" not in seen.types()
    history = seen.history()
    assert [(i.type, i.role) for i in history] == [("message", "user"), ("message", "assistant")]
    assert spoken(assistant_messages(history)[0]) == "Hello from the local model."
    assert seen.server_of("response.done")[0]["response"]["usage"]["total_tokens"] > 0


def test_audio_turn_with_server_vad(server_url: str) -> None:
    async def body(session: RealtimeSession, _: Transcript) -> None:
        await feed(session, speech(1.0, 0.8))

    agent: RealtimeAgent[Any] = RealtimeAgent(name="Listener", instructions="Be brief.")
    seen = asyncio.run(run_session(server_url, agent, body, turns=1))
    assert seen.errors() == []
    kinds = [e["type"] for e in seen.server]
    order = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "response.created",
        "response.done",
    ]
    assert [kinds.index(k) for k in order] == sorted(kinds.index(k) for k in order)
    started = seen.server_of("input_audio_buffer.speech_started")[0]
    stopped = seen.server_of("input_audio_buffer.speech_stopped")[0]
    # The speech lasts 1.0 s; the server's silence window (500 ms by default) ends the turn.
    assert 900 <= stopped["audio_end_ms"] - started["audio_start_ms"] <= 1700
    history = seen.history()
    assert history[0].type == "message"
    assert history[0].role == "user"
    assert history[0].content[0].type == "input_audio"
    (answer,) = assistant_messages(history)
    assert spoken(answer) == "Hello from the local model."
    assert sum(seen.audio_bytes.values()) >= 48 * 1000  # at least a second of 24 kHz PCM16


def test_tool_call_round_trip(server_url: str) -> None:
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    async def body(session: RealtimeSession, _: Transcript) -> None:
        await session.send_message("What's the weather like?")

    agent: RealtimeAgent[Any] = RealtimeAgent(name="Weather", tools=[get_weather])
    # Two turns: the one that calls the tool, and the one that speaks its output.
    seen = asyncio.run(run_session(server_url, agent, body, turns=2))
    assert seen.errors() == []
    assert calls == ["Paris"]
    assert "tool_start" in seen.types()
    assert "tool_end" in seen.types()
    (tool_end,) = [e for e in seen.events if e.type == "tool_end"]
    assert tool_end.output == "sunny in Paris"
    history = seen.history()
    assert [i.type for i in history] == ["message", "function_call", "message"]
    assert history[1].name == "get_weather"
    assert json.loads(history[1].arguments) == {"city": "Paris"}
    assert spoken(history[2]) == "The weather is sunny in Paris."


def test_interruption_with_truncate(server_url: str) -> None:
    interrupted = asyncio.Event()

    async def body(session: RealtimeSession, _: Transcript) -> None:
        await session.send_message("Tell me a story.")

    tasks: list[asyncio.Task[None]] = []

    def on_event(session: RealtimeSession, seen: Transcript, event: Any) -> None:
        # After a few chunks of the story, the user starts talking over it.
        if event.type == "audio" and not tasks and sum(seen.audio_bytes.values()) >= 4800 * 3:
            tasks.append(asyncio.ensure_future(feed(session, speech(0.6, 0.8))))
        if event.type == "audio_interrupted":
            interrupted.set()

    agent: RealtimeAgent[Any] = RealtimeAgent(name="Storyteller")
    # Two turns: the interrupted story, and the answer to the user's interruption.
    seen = asyncio.run(run_session(server_url, agent, body, on_event, turns=2))
    assert seen.errors() == []
    assert interrupted.is_set()

    first, second = seen.server_of("response.done")
    assert first["response"]["status"] == "cancelled"
    assert first["response"]["status_details"]["reason"] == "turn_detected"
    assert second["response"]["status"] == "completed"

    # The SDK truncated the story item at what it thinks was heard, and the server accepted
    # it: never 0, never more than the audio the item had.
    (truncated,) = seen.server_of("conversation.item.truncated")
    story_id = first["response"]["output"][0]["id"]
    assert truncated["item_id"] == story_id
    received_ms = seen.audio_bytes[story_id] // 48
    assert 0 < truncated["audio_end_ms"] <= received_ms
    assert received_ms < len(STORY) * SCRIPT["ms_per_char"]  # type: ignore[operator]

    history = seen.history()
    story = next(i for i in assistant_messages(history) if i.item_id == story_id)
    assert story.status == "incomplete"
    assert 0 < len(spoken(story)) < len(STORY)
    assert STORY.startswith(spoken(story))
    assert spoken(assistant_messages(history)[-1]) == "Hello from the local model."


def test_spoken_question_to_the_offline_speech_model() -> None:
    # `rtagents local-server --speech`: the SDK speaks a real (synthesized) question, asks for
    # input transcription, and gets the transcript, its own tool called with the city heard,
    # and a spoken answer - every server event validated by the SDK against the official types.
    speech_parts = pytest.importorskip("rtagents.local.speech")
    voice = speech_parts.EspeakVoice(threaded=False)
    question = bytes(2 * 12000) + voice.synthesize_sync("What is the weather in Paris?")
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the weather forecast for a city."""
        calls.append(city)
        return f"In {city} it is sunny."

    command = [sys.executable, "-m", "rtagents", "local-server", "--port", "0", "--speech"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split()[-1]

            async def body(session: RealtimeSession, _: Transcript) -> None:
                await feed(session, question + bytes(2 * 24000))

            agent: RealtimeAgent[Any] = RealtimeAgent(name="Weather", tools=[get_weather])
            settings = {"input_audio_transcription": {"model": "gpt-4o-mini-transcribe"}}
            seen = asyncio.run(run_session(url, agent, body, turns=2, settings=settings))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()  # type: ignore[union-attr]
    assert seen.errors() == []
    (completed,) = seen.server_of("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "what is the weather in paris"
    assert calls == ["Paris"]
    history = seen.history()
    assert history[0].content[0].transcript == "what is the weather in paris"
    assert spoken(assistant_messages(history)[-1]) == "In Paris it is sunny."
    assert sum(seen.audio_bytes.values()) >= 48 * 1000  # a second of spoken answer at least
