"""Local VAD: the sans-IO energy detector (onset/offset, hysteresis, chunking invariance) and
the actor (resampling per input rate, decisions emitted on the deciding frame itself)."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents._core.vad import Decision, Detector, EnergyDetector
from rtagents.actors import VadActor, VadSpeechStarted, VadSpeechStopped
from rtagents.audio import AudioFrame, AudioQueue
from rtagents.testing import silence, voice

VadEvent = VadSpeechStarted | VadSpeechStopped


def test_detector_onset_and_offset_with_hysteresis() -> None:
    detector = EnergyDetector(rate=16000)
    audio = silence(1.0, 16000) + voice(1.0, 16000) + silence(1.0, 16000)
    (start, start_ms), (stop, stop_ms) = detector.feed(audio)
    assert (start, stop) == ("start", "stop")
    assert 1000 < start_ms <= 1030  # within 30 ms of the voice onset
    assert 2000 + 250 <= stop_ms <= 2000 + 310  # ~300 ms of silence ends it
    assert not detector.speaking


def test_a_level_between_the_thresholds_changes_nothing() -> None:
    def tone(dbfs: float, ms: int) -> bytes:
        import numpy as np

        n = 16 * ms
        amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
        x = amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)
        return bytes(np.rint(x).astype("<i2").tobytes())

    detector = EnergyDetector()  # start above -40 dBFS, stop below -48 dBFS
    assert detector.feed(tone(-44, 1000)) == []  # between: never starts
    assert detector.feed(tone(-30, 30)) == [("start", 1020)]
    assert detector.feed(tone(-44, 1000)) == []  # between: never stops
    assert detector.feed(tone(-60, 300)) == [("stop", 2330)]


def test_min_durations_of_zero_still_need_one_sub_frame_of_evidence() -> None:
    detector = EnergyDetector(min_speech_ms=0, min_silence_ms=0)
    assert detector.feed(silence(0.1, 16000)) == []
    assert detector.feed(voice(0.1, 16000))[0] == ("start", 120)
    assert detector.feed(silence(0.05, 16000)) == [("stop", 210)]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 800), min_size=1, max_size=40))
def test_detector_decisions_do_not_depend_on_chunking(sizes: list[int]) -> None:
    audio = silence(0.3, 16000) + voice(0.5, 16000) + silence(0.6, 16000) + voice(0.2, 16000)
    whole = EnergyDetector().feed(audio)
    assert [kind for kind, _ in whole] == ["start", "stop", "start"]
    pieces, chunked, i, n = EnergyDetector(), [], 0, 0
    while i < len(audio):
        size = 2 * sizes[n % len(sizes)]
        chunked += pieces.feed(audio[i : i + size])
        i, n = i + size, n + 1
    assert chunked == whole


def test_bad_detector_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        EnergyDetector(start_dbfs=-50, stop_dbfs=-40)
    with pytest.raises(ValueError, match="10 ms"):
        EnergyDetector(rate=22050)
    with pytest.raises(ValueError, match="even"):
        EnergyDetector().feed(b"\x00")


def frames_of(audio: bytes, rate: int = 24000, frame_ms: int = 20) -> list[AudioFrame]:
    size = 2 * rate * frame_ms // 1000
    return [
        AudioFrame(audio[i : i + size], rate, (n + 1) * frame_ms / 1000, n + 1)
        for n, i in enumerate(range(0, len(audio), size))
    ]


@pytest.mark.parametrize("lead_ms", [500, 510, 507, 513, 519])
def test_vad_actor_decides_on_the_frame_itself(lead_ms: int) -> None:
    queue: AudioQueue[AudioFrame] = AudioQueue(10)
    seen: list[VadEvent] = []
    vad = VadActor(queue, seen.append)
    audio = silence(lead_ms / 1000) + voice(0.5) + silence(0.5)  # 24 kHz: resampled to 16 kHz
    for frame in frames_of(audio):
        before = len(seen)
        vad.process(frame)
        for event in seen[before:]:
            assert event.timestamp == frame.timestamp  # decided while this frame was processed
            if isinstance(event, VadSpeechStarted):
                # ...and this frame holds the audio that decided it: no waiting for the next.
                assert frame.timestamp - 0.020 < event.audio_ms / 1000 <= frame.timestamp
    started, stopped = seen
    assert isinstance(started, VadSpeechStarted)
    assert isinstance(stopped, VadSpeechStopped)
    # Onset within 30 ms of the voice in audio time (its first ~10 ms are a quiet ramp, then
    # 20 ms of speech), plus up to 10 ms when the voice starts off the 10 ms sub-frame grid.
    assert 20 < started.audio_ms - lead_ms <= (30 if lead_ms % 10 == 0 else 40)
    assert 250 <= stopped.audio_ms - (lead_ms + 500) <= 320
    stats = vad.statistics()
    assert (stats.frames, stats.speech_starts, stats.speech_stops) == (len(frames_of(audio)), 1, 1)
    assert not stats.speaking


class RecordingDetector:
    """A plug-in detector: records what it is fed; says "start" after 100 ms of audio."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.fed = 0
        self.decided = False

    def feed(self, pcm16: bytes) -> list[Decision]:
        self.fed += len(pcm16) // 2
        if not self.decided and self.fed >= self.rate // 10:
            self.decided = True
            return [("start", self.fed * 1000 // self.rate)]
        return []


async def test_vad_actor_runs_until_closed_with_a_plugged_in_detector(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue: AudioQueue[AudioFrame] = AudioQueue(100)
    seen: list[VadEvent] = []
    detector = RecordingDetector(8000)
    checked: Detector = detector  # (structurally a Detector)
    vad = VadActor(queue, seen.append, detector=checked)
    for frame in frames_of(voice(0.2, 48000), 48000) + frames_of(voice(0.2, 24000), 24000):
        queue.send_nowait(frame)
    queue.close()
    with trio.fail_after(1):
        await vad.run()
    # Each input rate has its own stream to 8 kHz, whose look-ahead is made up with silence:
    # the detector has seen exactly as much audio as was captured.
    assert detector.fed == 2 * 1600
    assert seen == [VadSpeechStarted(0.1, 100)]
    stats = vad.statistics()
    assert (stats.frames, stats.speech_starts, stats.speaking, stats.input_dropped) == (
        20,
        1,
        True,
        0,
    )


async def test_vad_actor_statistics_count_input_drops() -> None:
    queue: AudioQueue[AudioFrame] = AudioQueue(2)
    vad = VadActor(queue, lambda event: None)
    for frame in frames_of(silence(0.1)):
        queue.send_nowait(frame)
    queue.close()
    await vad.run()
    assert (vad.statistics().frames, vad.statistics().input_dropped) == (2, 3)
