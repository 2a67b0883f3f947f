"""The bridge's PCM mode (``CallOptions(audio="pcm16")``): the session's audio is PCM16 at
24 kHz, converted per call by the fused native kernels; the fake Twilio peer on one end, the
local Realtime model in memory on the other, on trio's mock clock."""

from __future__ import annotations

import argparse
import itertools
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import RealtimeAgent, native
from rtagents.events import RealtimeAudio, RealtimeDtmf
from rtagents.phone import CallOptions, add_arguments, create_twilio_app
from rtagents.phone.bridge import AgentAudio, CallerAudio
from rtagents.protocol import twilio as tw
from rtagents.testing import TurnsResponder, local_model, silence, voice

from .test_bridge import call, interrupt_a_story, ulaw

PCM = CallOptions(audio="pcm16")


def tone_ulaw(seconds: float, hz: float = 1000.0) -> bytes:
    """A tone as Twilio would carry it: μ-law at 8 kHz."""
    t = np.arange(int(8000 * seconds)) / 8000
    return native.ulaw_encode((8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())


def reference_ulaw(pcm24k: bytes) -> bytes:
    """What one part's PCM16 at 24 kHz should reach Twilio as: one-shot resample, then μ-law."""
    return native.ulaw_encode(native.resample(pcm24k, 24000, 8000))


def media_after(received: list[Any], index: int = 0) -> bytes:
    return b"".join(m.payload for m in received[index:] if isinstance(m, tw.OutboundMedia))


def agent_audio(events: list[Any]) -> dict[str, bytes]:
    """The agent's PCM deltas, joined per item (in order of the items' first delta)."""
    parts: dict[str, bytes] = {}
    for event in events:
        if isinstance(event, RealtimeAudio):
            parts[event.item_id] = parts.get(event.item_id, b"") + event.data
    return parts


# -- end to end ----------------------------------------------------------------------------------


async def test_a_pcm_call_converts_both_ways_and_keeps_everything_else(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    model = local_model(TurnsResponder("Hello, how can I help?"))
    async with trio.open_nursery() as nursery:
        peer, bridge, events = await call(
            nursery, RealtimeAgent(name="Phone"), model, options=PCM, recording_dir=tmp_path
        )
        await peer.press("5")
        peer.talk(ulaw(silence(0.3)) + tone_ulaw(1.0) + ulaw(silence(0.6)))
        await trio.sleep(6)
        await trio.testing.wait_all_tasks_blocked()
        stats = bridge.statistics()
        (server,) = model.server.sessions
        received_samples = server._input._total_samples  # every caller sample the model got
        await peer.hang_up()
        await bridge.ended.wait()
        nursery.cancel_scope.cancel()
    audio_config = server.config.audio
    assert audio_config is not None
    assert audio_config.input is not None
    assert audio_config.output is not None
    assert audio_config.input.format is not None
    assert audio_config.output.format is not None
    assert audio_config.input.format.type == "audio/pcm"
    assert audio_config.output.format.type == "audio/pcm"
    # Caller audio: every 20 ms μ-law frame became 480 samples at 24 kHz, less the resampler's
    # look-ahead still withheld (under 2 ms).
    delay = round(native.Resampler(8000, 24000).delay_samples)
    assert received_samples == 480 * stats.frames_in - delay
    # ... and what was said survived: the committed user turn is the 1 kHz tone, at 24 kHz, with
    # no image of it above the phone band.
    user = [s for s in server.items if getattr(s.item, "role", "") == "user"]
    assert user
    assert user[0].audio
    heard = np.frombuffer(user[0].audio, "<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(len(heard))))
    freqs = np.fft.rfftfreq(len(heard), 1 / 24000)
    assert abs(freqs[np.argmax(spectrum)] - 1000) < 10
    assert spectrum[freqs > 4400].max() < 1e-3 * spectrum.max()  # images ≥ 60 dB down
    # Agent audio: each answer reached Twilio as μ-law identical to a one-shot conversion of
    # all its deltas (no clicks at delta edges), of its exact duration, in 20 ms media frames.
    answers = agent_audio(events)
    assert len(answers) == 1
    (pcm,) = answers.values()
    sent = media_after(peer.received)
    assert sent == reference_ulaw(pcm)
    assert len(sent) == round(len(pcm) / 2 / 3)
    media = [m for m in peer.received if isinstance(m, tw.OutboundMedia)]
    marks = [m for m in peer.received if isinstance(m, tw.OutboundMark)]
    assert all(len(m.payload) <= 160 for m in media)
    assert len(media) == len(marks) == stats.frames_out
    # Marks count μ-law milliseconds, which are the session's milliseconds: all of it was heard.
    assert stats.heard_ms == pytest.approx(len(pcm) / 48, abs=0.1)
    assert stats.audio == "pcm16"
    assert stats.convert_in_us[2] > 0
    assert stats.convert_out_us[2] > 0
    assert stats.malformed_in == 0
    assert RealtimeDtmf("5") in events
    # The recording: the caller (decoded from the session's PCM) and the agent as sent.
    (recording,) = await trio.to_thread.run_sync(lambda: list(tmp_path.glob("*.wav")))
    with wave.open(str(recording), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert np.abs(stereo[:, 0]).max() > 3000
    assert np.abs(stereo[:, 1]).max() > 300


async def test_a_barge_in_in_pcm_mode_clears_truncates_and_sends_no_stale_audio(
    autojump_clock: trio.testing.MockClock,
) -> None:
    story = await interrupt_a_story(PCM, after_s=4)
    model, peer, events, stats = story.model, story.peer, story.events, story.stats
    heard_before, heard_at_interrupt = story.heard_before, story.heard_at_interrupt
    assert stats.clears == 1
    story_id = next(e.item_id for e in events if e.type == "audio_interrupted")
    (server,) = model.server.sessions
    stored = {s.item.id: s for s in server.items}
    # Truncated exactly at what Twilio had acknowledged as played when the barge-in came.
    assert heard_before <= stored[story_id].audio_ms == int(heard_at_interrupt[0])
    # After the clear, only the answer to the second turn went out, and all of it, exactly:
    # nothing of the story (not even the resampler's withheld tail).
    clear_at = next(i for i, m in enumerate(peer.received) if isinstance(m, tw.OutboundClear))
    answers = agent_audio(events)
    assert next(iter(answers)) == story_id
    rest = [pcm for item, pcm in answers.items() if item != story_id]
    assert len(rest) == 1
    assert media_after(peer.received, clear_at) == reference_ulaw(rest[0])
    played_after = peer.player.played_audio(since=peer.clear_times[0] + 0.001)
    assert played_after == reference_ulaw(rest[0])


# -- the converters ------------------------------------------------------------------------------


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


_pcm = st.lists(st.integers(-32768, 32767), min_size=0, max_size=2400).map(
    lambda xs: np.array(xs, "<i2").tobytes()
)


@settings(max_examples=60, deadline=None)
@given(pcm=_pcm, cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_agent_deltas_gives_the_same_ulaw_as_one_delta(
    pcm: bytes, cuts: list[int]
) -> None:
    split = AgentAudio()
    chunks = [c for delta in _splits(pcm, cuts) for c in split.convert("item", 0, delta)]
    chunks += split.end("item", 0)
    assert all((c.item_id, c.content_index) == ("item", 0) for c in chunks)
    assert b"".join(c.data for c in chunks) == reference_ulaw(pcm)
    assert split.part is None


@settings(max_examples=40, deadline=None)
@given(ulaw_bytes=st.binary(max_size=1600), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_caller_frames_gives_the_same_pcm_as_one_frame(
    ulaw_bytes: bytes, cuts: list[int]
) -> None:
    caller = CallerAudio()
    streamed = b"".join(caller.convert(frame) for frame in _splits(ulaw_bytes, cuts))
    whole = native.resample(native.ulaw_decode(ulaw_bytes), 8000, 24000)
    assert whole.startswith(streamed)  # the same, less the look-ahead still withheld
    assert len(whole) - len(streamed) <= 2 * round(native.Resampler(8000, 24000).delay_samples)


def test_each_part_is_its_own_stream_and_a_reset_drops_the_tail() -> None:
    first, second = voice(0.5), voice(0.3, seed=3)
    audio = AgentAudio()
    out = audio.convert("a", 0, first[:1001])  # (an odd split: one byte carried over)
    out += audio.convert("a", 0, first[1001:])
    out += audio.convert("b", 0, second)  # a new part: the first's tail comes out first
    out += audio.end("b", 0)
    assert audio.end("b", 0) == []  # (ended already)
    by_part = {item: b"".join(c.data for c in out if c.item_id == item) for item in "ab"}
    assert by_part == {"a": reference_ulaw(first), "b": reference_ulaw(second)}
    # A barge-in mid-part: nothing withheld survives into the next part.
    audio.convert("c", 0, first)
    assert audio.reset() == "c"
    assert audio.part is None
    after = audio.convert("d", 0, second) + audio.end()
    assert b"".join(c.data for c in after) == reference_ulaw(second)
    assert {c.item_id for c in after} == {"d"}


# -- options, app and command line ---------------------------------------------------------------


def test_the_audio_option_is_checked_and_passed_through() -> None:
    assert CallOptions().audio == "pcmu"
    with pytest.raises(ValueError, match="pcmu, pcm16"):
        CallOptions(audio="pcm8")  # type: ignore[arg-type]
    model = local_model(TurnsResponder("Hi."))
    app = create_twilio_app(RealtimeAgent(name="Phone"), model=lambda: model, audio="pcm16")
    assert app.state.rtagents_phone.options.audio == "pcm16"
    app = create_twilio_app(
        RealtimeAgent(name="Phone"), options=CallOptions(chunk_ms=40), audio="pcm16"
    )
    assert app.state.rtagents_phone.options == CallOptions(chunk_ms=40, audio="pcm16")
    with pytest.raises(ValueError, match=r"CallOptions\.audio"):
        create_twilio_app(RealtimeAgent(name="Phone"), audio="wav")  # type: ignore[arg-type]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).audio == "pcmu"
    assert parser.parse_args(["--audio", "pcm16"]).audio == "pcm16"
    with pytest.raises(SystemExit):
        parser.parse_args(["--audio", "opus"])
