"""Local VAD (detector and actor) and capture (sources, re-framing, resampling, WAV)."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing

from rtagents.actors import (
    AudioFrame,
    AudioQueue,
    CaptureActor,
    EnergyDetector,
    IteratorSource,
    SoundDeviceSource,
    VadActor,
    VadSpeechStarted,
    VadSpeechStopped,
    WavSink,
    WavSource,
)
from rtagents.testing import FakeAudioSource, silence, voice


def test_detector_onset_and_offset_with_hysteresis() -> None:
    detector = EnergyDetector(rate=16000)
    audio = silence(1.0, 16000) + voice(1.0, 16000) + silence(1.0, 16000)
    decisions = detector.feed(audio)
    (start, start_ms), (stop, stop_ms) = decisions
    assert (start, stop) == ("start", "stop")
    assert 1000 < start_ms <= 1030  # within 30 ms of the voice onset
    assert 2000 + 250 <= stop_ms <= 2000 + 350  # ~300 ms of silence ends it
    with pytest.raises(ValueError, match="hysteresis"):
        EnergyDetector(start_dbfs=-50, stop_dbfs=-40)
    with pytest.raises(ValueError, match="even"):
        detector.feed(b"\x00")


def test_detector_decisions_do_not_depend_on_chunking() -> None:
    audio = silence(0.3, 16000) + voice(0.5, 16000) + silence(0.6, 16000)
    whole = EnergyDetector().feed(audio)
    pieces = EnergyDetector()
    chunked = [d for i in range(0, len(audio), 122) for d in pieces.feed(audio[i : i + 122])]
    assert chunked == whole


async def test_vad_actor_decides_on_the_frame_itself(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue: AudioQueue[AudioFrame] = AudioQueue(10)
    seen: list[VadSpeechStarted | VadSpeechStopped] = []
    vad = VadActor(queue, seen.append)
    audio = silence(0.5) + voice(0.5) + silence(0.5)  # 24 kHz: resampled to 16 kHz
    frames = [audio[i : i + 960] for i in range(0, len(audio), 960)]
    onset_frame = None
    for n, pcm in enumerate(frames):
        vad.process(AudioFrame(pcm, 24000, n * 0.02, n))
        if seen and onset_frame is None:
            onset_frame = n  # the decision came while this very frame was processed
    assert onset_frame is not None
    started, stopped = seen
    assert isinstance(started, VadSpeechStarted)
    assert isinstance(stopped, VadSpeechStopped)
    assert started.timestamp == onset_frame * 0.02
    assert 0.5 <= started.timestamp <= 0.54
    assert vad.statistics().speech_starts == 1


async def test_wav_source_to_capture_frames_and_wav_sink_round_trip(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "in.wav"
    stereo48 = np.repeat(np.frombuffer(voice(1.0, 48000), "<i2")[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(48000)
        wav.writeframes(stereo48.astype("<i2").tobytes())
    source = WavSource(path, tail_silence_ms=100)
    assert source.rate == 48000
    out: AudioQueue[AudioFrame] = AudioQueue(1000)
    capture = CaptureActor(source, out_rate=24000, outputs=[out])
    start = trio.current_time()
    await capture.run()
    frames = []
    async for frame in out:
        frames.append(frame)
    assert all(len(f.pcm) == 960 for f in frames)
    assert len(frames) == 55  # 1.1 s in 20 ms frames
    assert [f.seq for f in frames] == list(range(1, 56))
    assert frames[10].timestamp - start == pytest.approx(0.220, abs=0.021)  # paced
    assert capture.statistics().resampling
    # And out again through a WAV sink.
    sink = WavSink(tmp_path / "out.wav", 24000, realtime=False)
    for f in frames:
        await sink.write(f.pcm)
    await sink.aclose()
    with wave.open(str(tmp_path / "out.wav"), "rb") as wav:
        assert wav.getframerate() == 24000
        assert wav.getnframes() == 55 * 480


async def test_iterator_source_reframes_odd_chunk_sizes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    audio = voice(0.1)
    chunks = [audio[i : i + 302] for i in range(0, len(audio), 302)]
    out: AudioQueue[AudioFrame] = AudioQueue(100)
    await CaptureActor(IteratorSource(chunks, 24000), outputs=[out]).run()
    got = b"".join([f.pcm async for f in out])
    assert got == audio  # 100 ms is exactly 5 frames


async def test_fake_source_paces_frames(autojump_clock: trio.testing.MockClock) -> None:
    times = []
    async for _ in FakeAudioSource([b"\x00\x00" * 480] * 5, start_at=1.0).frames():
        times.append(trio.current_time())
    assert times == pytest.approx([1.0, 1.02, 1.04, 1.06, 1.08])


def test_bad_wav_files_are_rejected(tmp_path: Path) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 800)
    with pytest.raises(ValueError, match="16-bit"):
        WavSource(eight_bit)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="not a readable WAV"):
        WavSource(junk)


def test_missing_sounddevice_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(RuntimeError, match=r"rtagents\[audio\]"):
        SoundDeviceSource()
