"""Whole sessions: the real link and the real local server over an in-memory transport, real
actors, fake audio devices, all on trio's mock clock (no real sleeps, deterministic)."""

from __future__ import annotations

import contextlib
import math
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing

from rtagents import RealtimeRunConfig, RealtimeRunner, RealtimeSession, open_session
from rtagents import items as it
from rtagents import protocol as p
from rtagents.agent import RealtimeAgent, function_tool
from rtagents.audio import WavSink, WavSource
from rtagents.events import RealtimeSessionEvent
from rtagents.local import ScriptedResponder
from rtagents.testing import (
    FakeAudioSink,
    FakeAudioSource,
    TurnsResponder,
    local_model,
    silence,
    voice,
)
from rtagents.testing._scripted import ScriptedModel

FRAME = 0.020


Turns = TurnsResponder


STORY = "Once upon a time there was a story that went on for a good few seconds. " * 2


def frames(pcm: bytes, rate: int = 24000) -> list[bytes]:
    step = int(rate * FRAME) * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


async def collect(session: RealtimeSession, into: list[RealtimeSessionEvent]) -> None:
    async for event in session:
        into.append(event)


def transcript(item: it.RealtimeItem) -> str:
    assert isinstance(item, it.AssistantMessageItem)
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


def kinds(events: Sequence[RealtimeSessionEvent]) -> list[str]:
    return [e.type for e in events if e.type not in ("raw_model_event", "audio")]


@pytest.mark.parametrize("pace", [0.05, 0.1], ids=["model-2x-realtime", "model-realtime"])
async def test_barge_in_mid_answer_then_a_second_turn(
    autojump_clock: trio.testing.MockClock, pace: float
) -> None:
    # The user speaks 1 s, the agent tells a long story; 2.5 s into it the user talks over
    # it; the agent stops at once, the model is told what was heard, and a second turn follows.
    audio = silence(0.5) + voice(1.0) + silence(1.5 + 2.5) + voice(0.8, seed=2) + silence(4.0)
    barge_in_at = 0.5 + 1.0 + 1.5 + 2.5
    model = local_model(Turns(STORY, "Yes?"), pace=pace)
    sink = FakeAudioSink()
    config = RealtimeRunConfig(
        audio_source=FakeAudioSource(frames(audio)),
        audio_sink=sink,
        link_factory=model.link_factory,
    )
    events: list[RealtimeSessionEvent] = []
    async with open_session(RealtimeAgent("Teller"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await trio.sleep(len(audio) / 48000 + 2)
        stats = session.statistics()
        history = session.history
        n.cancel_scope.cancel()

    story_item, _ = (
        e.item.item_id
        for e in events
        if e.type == "history_added" and isinstance(e.item, it.AssistantMessageItem)
    )
    interrupted = [e for e in events if e.type == "audio_interrupted"]
    assert [(e.item_id, e.content_index) for e in interrupted] == [(story_item, 0)]

    # The server got a truncate at what had been played, and cut its item there.
    (server,) = model.server.sessions
    stored = {s.item.id: s for s in server.items}
    heard_ms = stored[story_item].audio_ms
    onset = stats.last_barge_in_at
    assert onset is not None
    assert barge_in_at <= onset <= barge_in_at + 0.1  # local VAD: within a few frames of speech
    first_audio = next(t for t, pcm in sink.writes if any(pcm))
    assert abs(heard_ms / 1000 - (onset - first_audio)) <= FRAME + 0.001

    # Barge-in stop: no agent sample reaches the sink later than one frame after the onset,
    # until the second answer starts.
    second_start = next(t for t, pcm in sink.writes if t > onset + 0.1 and any(pcm))
    last_story_sample = max(
        t + i / 24000 for t, pcm in sink.writes if t < second_start for i in _nonzero(pcm)
    )
    assert last_story_sample <= onset + FRAME

    # History: the story is cut at what was heard; the second answer is whole.
    assistant = [i for i in history if isinstance(i, it.AssistantMessageItem)]
    story_text = transcript(assistant[0])
    assert 0 < len(story_text) < len(STORY)
    assert STORY.startswith(story_text)
    assert transcript(assistant[-1]) == "Yes?"
    assert kinds(events).count("agent_end") == 2
    assert stats.playback.interrupts == 1
    # The local VAD saw both user turns and made the barge-in decision (not the server).
    assert stats.vad.frames == stats.capture.frames
    assert stats.vad.speech_starts == 2
    assert stats.events_dropped == {}


def _nonzero(pcm: bytes) -> list[int]:
    import numpy as np

    samples = np.frombuffer(pcm, "<i2")
    idx = np.flatnonzero(samples)
    return [int(idx[-1])] if len(idx) else []


async def test_text_turn_and_history(autojump_clock: trio.testing.MockClock) -> None:
    model = local_model(Turns("Hello there."))
    config = RealtimeRunConfig(link_factory=model.link_factory, audio_sink=FakeAudioSink())
    events: list[RealtimeSessionEvent] = []
    runner = RealtimeRunner(RealtimeAgent("Greeter", instructions="Be brief."), config=config)
    async with await runner.run() as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("Hi")
        await trio.sleep(5)
        n.cancel_scope.cancel()
    assert kinds(events)[0] == "history_updated"
    assert "agent_start" in kinds(events)
    assert "agent_end" in kinds(events)
    assert "audio_end" in kinds(events)
    user, answer = session.history
    assert isinstance(user, it.UserMessageItem)
    assert isinstance(answer, it.AssistantMessageItem)
    assert transcript(answer) == "Hello there."
    audio = b"".join(e.data for e in events if e.type == "audio")
    assert len(audio) == 2 * 24000 * len("Hello there.") * 60 // 1000
    assert session.turn_state.value == "idle"
    (server,) = model.server.sessions
    assert server.config.instructions == "Be brief."


async def test_tool_call_round_trip(autojump_clock: trio.testing.MockClock) -> None:
    calls = []

    @function_tool
    async def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        await trio.sleep(1.0)  # a slow tool does not stall the session
        return f"sunny in {city}"

    from rtagents.local import Rule

    responder = ScriptedResponder(
        rules=(Rule(when="weather", call="get_weather", arguments={"city": "Oslo"}),)
    )
    model = local_model(responder)
    config = RealtimeRunConfig(link_factory=model.link_factory)
    events: list[RealtimeSessionEvent] = []
    agent = RealtimeAgent("Weather", tools=[get_weather])
    async with open_session(agent, config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("How is the weather?")
        await trio.sleep(10)
        n.cancel_scope.cancel()
    assert calls == ["Oslo"]
    (start,) = [e for e in events if e.type == "tool_start"]
    (end,) = [e for e in events if e.type == "tool_end"]
    assert start.call_id == end.call_id
    assert end.output == "sunny in Oslo"
    types = [i.type for i in session.history]
    assert types == ["message", "function_call", "message"]
    answer = session.history[2]
    assert isinstance(answer, it.AssistantMessageItem)
    assert transcript(answer) == "The result is sunny in Oslo."
    assert session.statistics().tool_calls == 1


async def test_a_stalled_consumer_keeps_memory_bounded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # 60 s of conversation while nobody reads the events.
    audio = (silence(1.0) + voice(1.0) + silence(8.0)) * 6
    model = local_model(Turns("A fairly long answer to keep audio flowing for a while."))
    config = RealtimeRunConfig(
        audio_source=FakeAudioSource(frames(audio)),
        audio_sink=FakeAudioSink(),
        link_factory=model.link_factory,
        event_queue_size=64,
    )
    async with open_session(RealtimeAgent("Talker"), config) as session:
        await trio.sleep(60)
        stats = session.statistics()
        drained: list[RealtimeSessionEvent] = []
        with contextlib.suppress(trio.WouldBlock):
            while True:
                drained.append(session.receive_nowait())
    assert stats.event_queue_peak <= 64
    assert sum(stats.events_dropped.values()) > 0
    assert set(stats.events_dropped) <= {"audio", "raw_model_event", "history_updated"}
    # What the consumer finds after the stall: at most the queue's capacity, and the
    # important events (turn boundaries) survived while bulk ones were dropped.
    assert 0 < len(drained) <= 64
    assert sum(e.type == "agent_end" for e in drained) >= 5
    assert stats.capture.frames >= 2900
    assert stats.playback.frames_written > 0
    assert math.isfinite(stats.agent_audio_dropped_ms)


async def test_server_errors_and_a_closed_link_are_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[RealtimeSessionEvent] = []
    async with open_session(RealtimeAgent("A"), config) as session:
        model.emit(
            p.ErrorEvent(
                event_id="e1",
                error=p.ErrorDetails(type="invalid_request_error", message="bad", event_id="x"),
            )
        )
        model.close_from_server(1011, "server exploded")
        with trio.fail_after(5):
            await collect(session, events)
    errors = [e for e in events if e.type == "error"]
    assert errors[0].error.message == "bad"
    assert "1011" in errors[1].error["message"]
    assert isinstance(model.sent[0], p.SessionUpdate)


async def test_send_audio_rejects_odd_pcm(autojump_clock: trio.testing.MockClock) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory)
    async with open_session(RealtimeAgent("A"), config) as session:
        with pytest.raises(ValueError, match="even number of bytes"):
            await session.send_audio(b"\x00\x01\x02")
        await session.send_audio(b"\x00\x00" * 480, commit=True)
    appends = model.sent_of(p.InputAudioBufferAppend)
    assert [len(bytes(a.audio)) for a in appends] == [960]
    assert model.sent_of(p.InputAudioBufferCommit)


async def test_wav_file_in_wav_file_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    audio = silence(0.5) + voice(1.0) + silence(2.0) + voice(0.6, seed=2) + silence(3.0)
    with wave.open(str(tmp_path / "user.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(audio)
    model = local_model(Turns(STORY, "Yes?"), pace=0.05)
    config = RealtimeRunConfig(
        audio_source=WavSource(tmp_path / "user.wav"),
        audio_sink=WavSink(tmp_path / "agent.wav"),
        link_factory=model.link_factory,
    )
    async with open_session(RealtimeAgent("Teller"), config) as session:
        await trio.sleep(len(audio) / 48000 + 3)
        stats = session.statistics()
    with wave.open(str(tmp_path / "agent.wav"), "rb") as wav:
        played = wav.readframes(wav.getnframes())
    # The file holds what was played: part of the story (cut at the barge-in, 1.5 s in),
    # then the whole second answer; nothing of the story after the cut.
    assert stats.playback.interrupts == 1
    seconds = len(played) / 48000
    assert seconds == pytest.approx(stats.playback.written_ms / 1000, abs=0.01)
    assert 1.0 < seconds < 1.5 + 0.3 + len("Yes?") * 0.06 + 0.5
    assert len(played) / 48000 < len(STORY) * 0.06


async def test_interrupt_without_a_sink_truncates_at_real_time_playback(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Turns(STORY), pace=0.01)  # the whole story arrives quickly
    config = RealtimeRunConfig(link_factory=model.link_factory)
    events: list[RealtimeSessionEvent] = []
    async with open_session(RealtimeAgent("Teller"), config) as session, trio.open_nursery() as n:
        n.start_soon(collect, session, events)
        await session.send_message("tell me a story")
        await trio.sleep(2.0)
        await session.interrupt()
        await trio.sleep(1.0)
        n.cancel_scope.cancel()
    (server,) = model.server.sessions
    story = next(
        s for s in server.items if isinstance(s.item, p.MessageItem) and s.item.role == "assistant"
    )
    # No sink: the session assumes real-time playback from the first chunk (about 2 s ago).
    assert 1800 <= story.audio_ms <= 2100
    assert [e.type for e in events].count("audio_interrupted") == 1


async def test_formats_are_converted_once_at_the_edges_and_follow_session_updated(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A 48 kHz microphone and a μ-law model: each 20 ms frame goes out as 160 bytes of μ-law
    (one fused pass); after a session.updated to PCM, as 960 bytes of PCM16 at 24 kHz."""
    model = ScriptedModel(strict=False)
    mic = voice(2.0, 48000)
    settings = p.SessionConfig(
        audio=p.AudioConfig(
            input=p.AudioInputConfig(format=p.AudioFormat.pcmu()),
            output=p.AudioOutputConfig(format=p.AudioFormat.pcmu()),
        )
    )
    config = RealtimeRunConfig(
        link_factory=model.link_factory,
        model_settings=settings,
        audio_source=FakeAudioSource([mic[i : i + 1920] for i in range(0, len(mic), 1920)], 48000),
        local_vad=False,
    )
    async with open_session(RealtimeAgent("A"), config) as session:
        await trio.sleep(0.5)
        appends = model.sent_of(p.InputAudioBufferAppend)
        assert appends
        assert all(len(bytes(a.audio)) in (159, 160, 161) for a in appends[1:])
        model.emit(
            p.SessionUpdated(
                event_id="ev_1",
                session=p.SessionConfig(
                    audio=p.AudioConfig(input=p.AudioInputConfig(format=p.AudioFormat.pcm()))
                ),
            )
        )
        await trio.sleep(0.5)
        later = model.sent_of(p.InputAudioBufferAppend)[len(appends) + 2 :]
        assert later
        assert all(len(bytes(a.audio)) in (958, 960, 962) for a in later)
        stats = session.statistics().uplink
        assert stats.format == "audio/pcm"
        assert stats.frames == len(model.sent_of(p.InputAudioBufferAppend))


async def test_send_audio_in_a_tight_loop_meets_backpressure_not_loss(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """An app pushing a recording as fast as it can (no sleeps) gets every frame to the
    server: ``send_audio`` waits while the link's audio lane is full instead of dropping."""
    model = local_model(Turns("Got it."))
    config = RealtimeRunConfig(
        uplink_queue_frames=2,  # a lane of two appends: the loop must wait for the socket
        model_settings={"turn_detection": None},
    )
    chunks = frames(voice(6.0, 24000))
    async with open_session(RealtimeAgent("A"), config, model=model) as session:
        for chunk in chunks:
            await session.send_audio(chunk)
        stats = session.statistics()
        await trio.sleep(1)
        (server,) = model.server.sessions
        received_ms = server._input.audio_ms()
    assert stats.uplink.frames == len(chunks)
    assert stats.link.link.audio_dropped == 0
    assert stats.link.link.audio_queue_peak <= 2
    assert received_ms == 6000


async def test_a_recording_puts_the_user_left_and_the_agent_right_as_played(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """User left at capture time, agent right as the sink played it — cut where the user
    barged in — on one clock; the WAV is complete once the session has closed."""
    audio = silence(0.5) + voice(1.0) + silence(1.5 + 2.5) + voice(0.8, seed=2) + silence(3.0)
    model = local_model(Turns(STORY, "Yes?"), pace=0.05)
    sink = FakeAudioSink()
    path = tmp_path / "calls" / "call.wav"
    config = RealtimeRunConfig(
        audio_source=FakeAudioSource(frames(audio)),
        audio_sink=sink,
        link_factory=model.link_factory,
        recording_path=path,
    )
    async with open_session(RealtimeAgent("Teller"), config) as session:
        start = trio.current_time()
        await trio.sleep(len(audio) / 48000 + 1)
        stats = session.statistics()
    assert stats.recording.dropped_ms == 0
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 24000)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    left, right = stereo[:, 0].astype(np.int64), stereo[:, 1].astype(np.int64)

    def loud(channel: np.ndarray, at: float, ms: float = 20) -> bool:
        a = round(at * 24000)
        return bool(np.abs(channel[a : a + round(ms * 24)]).max() > 300)

    assert loud(left, 0.5 + 0.1)  # the user, where they spoke
    assert not loud(left, 0.2)
    assert not loud(right, 0.5 + 0.1)
    # The agent's audio lands exactly where and as the sink played it.
    played = [(t, pcm) for t, pcm in sink.writes if np.abs(np.frombuffer(pcm, "<i2")).max() > 300]
    for t, pcm in played[:50]:
        at = round((t - start) * 24000)
        assert right[at : at + len(pcm) // 2].tolist() == np.frombuffer(pcm, "<i2").tolist()
    # The barge-in: the agent's channel falls silent within a few frames of the user's voice.
    barge_in = 0.5 + 1.0 + 1.5 + 2.5
    assert loud(left, barge_in + 0.05)
    assert loud(right, barge_in - 0.2)
    assert not loud(right, barge_in + 0.1, ms=200)
