"""The local Realtime server over real loopback WebSockets, driven by our own model link.

Rules: every event the server sends in these tests is validated strictly against the official
`openai` types; audio times are derived from samples, so expectations are exact to a frame;
no timing assertions.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import trio
import trio.testing

from rtagents import native
from rtagents import protocol as p
from rtagents.local import LocalServer, Rule, ScriptedResponder, open_local_realtime_server
from rtagents.local._responders import synthetic_voice
from rtagents.models import (
    LinkConnected,
    OpenAIRealtimeConfig,
    OpenAIRealtimeLink,
    open_openai_realtime,
)
from tests.protocol import oracle

WEATHER = p.FunctionTool(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
RULES = (
    Rule(
        when="weather", call="get_weather", arguments={"city": "Oslo"}, after_tool="It is {output}."
    ),
    Rule(when="story", say="Once upon a time " * 12),
    Rule(say="Hello there."),
)


def utterance_24k(lead_s: float, voice_s: float, tail_s: float) -> bytes:
    voice: bytes = np.rint(synthetic_voice(voice_s)).astype("<i2").tobytes()
    return bytes(int(48000 * lead_s)) + voice + bytes(int(48000 * tail_s))


@asynccontextmanager
async def connected(
    rules: tuple[Rule, ...] = RULES,
) -> AsyncIterator[tuple[LocalServer, OpenAIRealtimeLink]]:
    async with open_local_realtime_server(ScriptedResponder(rules=rules)) as server:
        config = OpenAIRealtimeConfig(url=server.url, keepalive_interval=None)
        async with open_openai_realtime(config) as link:
            assert isinstance(await link.receive(), LinkConnected)
            created = await link.receive()
            assert isinstance(created, p.SessionCreated)
            yield server, link


async def until(link: OpenAIRealtimeLink, done: Callable[[object], bool]) -> list[object]:
    """Events up to and including the first for which `done` is true; each validated."""
    events: list[object] = []
    with trio.fail_after(10):
        async for event in link:
            raw = getattr(event, "raw", None)
            assert raw is not None, event
            oracle.assert_valid_server_event(raw)
            events.append(event)
            if done(event):
                return events
    raise AssertionError("link closed")  # pragma: no cover


def is_done(event: object) -> bool:
    return isinstance(event, p.ResponseDone)


def types(events: list[object]) -> list[str]:
    return [e.type for e in events if not isinstance(e, p.ResponseOutputAudioDelta)]  # type: ignore[attr-defined]


async def test_session_created_and_updated_echo_the_effective_config() -> None:
    async with (
        open_local_realtime_server() as server,
        open_openai_realtime(OpenAIRealtimeConfig(url=server.url, keepalive_interval=None)) as link,
    ):
        await link.receive()
        created = await link.receive()
        assert isinstance(created, p.SessionCreated)
        oracle.assert_valid_server_event(created.to_wire())
        assert created.session.audio is not None
        assert created.session.audio.input is not None
        vad = created.session.audio.input.turn_detection
        assert isinstance(vad, p.ServerVad)
        assert (vad.threshold, vad.silence_duration_ms, vad.interrupt_response) == (
            0.5,
            500,
            True,
        )
        update = p.SessionConfig(
            instructions="Be brief.",
            audio=p.AudioConfig(
                input=p.AudioInputConfig(turn_detection=p.ServerVad(silence_duration_ms=300))
            ),
        )
        await link.send(p.SessionUpdate(session=update, event_id="u1"))
        (updated,) = await until(link, lambda e: isinstance(e, p.SessionUpdated))
        assert isinstance(updated, p.SessionUpdated)
        assert updated.session.instructions == "Be brief."
        assert updated.session.audio is not None
        assert updated.session.audio.input is not None
        new_vad = updated.session.audio.input.turn_detection
        assert isinstance(new_vad, p.ServerVad)
        assert (new_vad.threshold, new_vad.silence_duration_ms, new_vad.create_response) == (
            0.5,
            300,
            True,
        )
        assert updated.session.audio.output is not None  # untouched parts stay


async def test_ten_seconds_of_audio_with_server_vad_and_a_spoken_answer() -> None:
    async with connected() as (server, link):
        audio = utterance_24k(1.0, 1.5, 7.5)  # 10 s
        for i in range(0, len(audio), 960):  # 20 ms appends
            await link.send(p.InputAudioBufferAppend(audio=audio[i : i + 960]))
        events = await until(link, is_done)
    started = next(e for e in events if isinstance(e, p.InputAudioBufferSpeechStarted))
    stopped = next(e for e in events if isinstance(e, p.InputAudioBufferSpeechStopped))
    assert abs(started.audio_start_ms - 700) <= 20  # 1000 ms onset - 300 ms padding
    assert abs(stopped.audio_end_ms - 2500) <= 20
    assert types(events)[:5] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert types(events)[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    audio_bytes = sum(len(e.audio) for e in events if isinstance(e, p.ResponseOutputAudioDelta))
    transcript = "".join(
        e.delta for e in events if isinstance(e, p.ResponseOutputAudioTranscriptDelta)
    )
    assert transcript == "Hello there."
    assert audio_bytes // 48 == len(transcript) * 60  # 60 ms of voice per character
    done = events[-1]
    assert isinstance(done, p.ResponseDone)
    assert done.response.status == "completed"
    assert done.response.usage is not None
    assert server.sessions[0].items[0].audio  # the user's audio is kept for recognisers


async def test_cancel_mid_response_stops_the_audio() -> None:
    async with connected() as (_, link):
        await link.send(
            p.ConversationItemCreate(
                item=p.MessageItem(role="user", content=(p.InputTextContent(text="tell a story"),))
            )
        )
        await link.send(p.ResponseCreate())
        await until(link, lambda e: isinstance(e, p.ResponseOutputAudioDelta))
        await link.send(p.ResponseCancel(event_id="c1"))
        events = await until(link, is_done)
        done = events[-1]
        assert isinstance(done, p.ResponseDone)
        assert done.response.status == "cancelled"
        assert done.response.status_details is not None
        assert done.response.status_details.reason == "client_cancelled"
        sent_ms = (
            sum(len(e.audio) for e in events if isinstance(e, p.ResponseOutputAudioDelta)) // 48
        )
        assert sent_ms < len("Once upon a time " * 12) * 60
        # nothing is active now: a second cancel is an error naming our event id
        await link.send(p.ResponseCancel(event_id="c2"))
        (error,) = await until(link, lambda e: isinstance(e, p.ErrorEvent))
        assert isinstance(error, p.ErrorEvent)
        assert error.error.event_id == "c2"


async def test_barge_in_cancels_and_truncate_is_checked_against_the_audio() -> None:
    async with connected() as (server, link):
        await link.send(
            p.ConversationItemCreate(
                item=p.MessageItem(
                    role="user", content=(p.InputTextContent(text="a story please"),)
                )
            )
        )
        await link.send(p.ResponseCreate())
        first = await until(link, lambda e: isinstance(e, p.ResponseOutputAudioDelta))
        item_id = first[-1].item_id  # type: ignore[attr-defined]
        speech = utterance_24k(0.0, 0.5, 0.0)
        await link.send(p.InputAudioBufferAppend(audio=speech))
        events = await until(link, is_done)
        assert "input_audio_buffer.speech_started" in types(events)
        done = events[-1]
        assert isinstance(done, p.ResponseDone)
        assert done.response.status == "cancelled"
        assert done.response.status_details is not None
        assert done.response.status_details.reason == "turn_detected"
        stored = next(s for s in server.sessions[0].items if s.item.id == item_id)
        received_ms = stored.audio_ms
        assert received_ms > 0
        await link.send(
            p.ConversationItemTruncate(item_id=item_id, audio_end_ms=received_ms + 1, event_id="t1")
        )
        (error,) = await until(link, lambda e: isinstance(e, p.ErrorEvent))
        assert error.error.event_id == "t1"  # type: ignore[attr-defined]
        await link.send(
            p.ConversationItemTruncate(item_id=item_id, audio_end_ms=100, event_id="t2")
        )
        (truncated,) = await until(link, lambda e: isinstance(e, p.ConversationItemTruncated))
        assert truncated.audio_end_ms == 100  # type: ignore[attr-defined]
        assert stored.audio_ms == 100  # the server's conversation reflects it
        part = stored.item.content[0]  # type: ignore[union-attr]
        assert isinstance(part, p.OutputAudioContent)
        assert part.transcript is not None
        assert len(part.transcript) < len("Once upon a time " * 12)


async def test_tool_call_round_trip() -> None:
    async with connected() as (_, link):
        await link.send(p.SessionUpdate(session=p.SessionConfig(tools=(WEATHER,))))
        await link.send(
            p.ConversationItemCreate(
                item=p.MessageItem(
                    role="user", content=(p.InputTextContent(text="weather in Oslo?"),)
                )
            )
        )
        await link.send(p.ResponseCreate())
        events = await until(link, is_done)
        call = next(e for e in events if isinstance(e, p.ResponseFunctionCallArgumentsDone))
        assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Oslo"})
        await link.send(
            p.ConversationItemCreate(
                item=p.FunctionCallOutputItem(call_id=call.call_id, output="sunny")
            )
        )
        await link.send(p.ResponseCreate())
        events = await until(link, is_done)
        transcript = "".join(
            e.delta for e in events if isinstance(e, p.ResponseOutputAudioTranscriptDelta)
        )
        assert transcript == "It is sunny."


async def test_text_only_response() -> None:
    async with connected() as (_, link):
        await link.send(
            p.ConversationItemCreate(
                item=p.MessageItem(role="user", content=(p.InputTextContent(text="hi"),))
            )
        )
        await link.send(p.ResponseCreate(response=p.ResponseParams(output_modalities=("text",))))
        events = await until(link, is_done)
        text = "".join(e.delta for e in events if isinstance(e, p.ResponseOutputTextDelta))
        assert text == "Hello there."
        assert not any(isinstance(e, p.ResponseOutputAudioDelta) for e in events)


async def test_mu_law_session() -> None:
    async with connected() as (_, link):
        pcmu = p.AudioFormat.pcmu()
        audio = p.AudioConfig(
            input=p.AudioInputConfig(format=pcmu), output=p.AudioOutputConfig(format=pcmu)
        )
        await link.send(p.SessionUpdate(session=p.SessionConfig(audio=audio)))
        voice = np.frombuffer(utterance_24k(0.5, 1.0, 1.0), dtype="<i2")
        ulaw = native.Resampler(24000, 8000).process_to_ulaw(voice.tobytes())
        for i in range(0, len(ulaw), 160):
            await link.send(p.InputAudioBufferAppend(audio=ulaw[i : i + 160]))
        events = await until(link, is_done)
        stopped = next(e for e in events if isinstance(e, p.InputAudioBufferSpeechStopped))
        assert abs(stopped.audio_end_ms - 1500) <= 20
        out = b"".join(e.audio for e in events if isinstance(e, p.ResponseOutputAudioDelta))
        assert abs(len(out) // 8 - len("Hello there.") * 60) <= 1  # μ-law: 8 bytes per ms


async def test_bad_input_gets_errors_with_event_ids_and_the_connection_survives() -> None:
    async with connected() as (_, link):
        bad = [
            ("not json", None),
            (json.dumps({"type": "no.such.event", "event_id": "e1"}), "e1"),
            (json.dumps({"type": "conversation.item.truncate", "event_id": "e2"}), "e2"),
            (
                json.dumps({"type": "input_audio_buffer.append", "event_id": "e3", "audio": "!!!"}),
                "e3",
            ),
            (
                json.dumps(
                    {"type": "conversation.item.delete", "event_id": "e4", "item_id": "nope"}
                ),
                "e4",
            ),
            (json.dumps({"type": "response.cancel", "event_id": "e5"}), "e5"),
            (json.dumps({"type": "input_audio_buffer.commit", "event_id": "e6"}), "e6"),
            (
                json.dumps(
                    {
                        "type": "conversation.item.truncate",
                        "event_id": "e7",
                        "item_id": "x",
                        "content_index": 0,
                        "audio_end_ms": 5,
                    }
                ),
                "e7",
            ),
        ]
        for frame, event_id in bad:
            await link.send(frame)
            (error,) = await until(link, lambda e: isinstance(e, p.ErrorEvent))
            assert isinstance(error, p.ErrorEvent)
            assert error.error.event_id == event_id, frame
        await link.send(
            p.ConversationItemCreate(
                item=p.MessageItem(role="user", content=(p.InputTextContent(text="hi"),))
            )
        )
        await link.send(p.ResponseCreate())
        assert isinstance((await until(link, is_done))[-1], p.ResponseDone)


async def test_a_connection_ends_even_when_the_client_never_answers_the_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Cancelled while its client has gone silent (the client's tasks cancelled, its stream left
    # open), the server still ends the connection: its side of the close handshake waits for
    # the client's reply CLOSE_TIMEOUT at most.  (A `rtagents demo` stopped with Ctrl-C used to
    # hang here.)
    from trio_websocket import wrap_client_stream

    from rtagents.local._server import CLOSE_TIMEOUT, serve_stream

    client_stream, server_stream = trio.testing.memory_stream_pair()
    with trio.fail_after(10 * CLOSE_TIMEOUT):
        async with trio.open_nursery() as outer:
            outer.start_soon(serve_stream, server_stream)
            with trio.CancelScope() as client_scope:
                async with trio.open_nursery() as client_nursery:
                    ws = await wrap_client_stream(
                        client_nursery,
                        client_stream,  # type: ignore[arg-type]
                        "memory",
                        "/v1/realtime",
                    )
                    assert json.loads(await ws.get_message())["type"] == "session.created"
                    client_scope.cancel()
            cancelled_at = trio.current_time()
            outer.cancel_scope.cancel()
    assert trio.current_time() - cancelled_at <= CLOSE_TIMEOUT + 0.1
