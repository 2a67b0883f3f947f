"""Capture: sources (WAV, iterables, sounddevice's missing-library path), re-framing into exact
frames with timestamps and sequence numbers, resampling, drops, and WAV → capture → playback
→ WAV round trips.  On trio's MockClock: audio time is exact and nothing sleeps."""

from __future__ import annotations

import builtins
import struct
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from rtagents import native
from rtagents.actors import CaptureActor, PlaybackActor
from rtagents.audio import (
    AudioFrame,
    AudioQueue,
    IteratorSource,
    SoundDeviceSource,
    WavSink,
    WavSource,
)
from rtagents.testing import voice


def write_wav(path: Path, pcm: bytes, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


def read_wav(path: Path) -> tuple[int, bytes]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return wav.getframerate(), wav.readframes(wav.getnframes())


def drain(queue: AudioQueue[AudioFrame]) -> list[AudioFrame]:
    frames = []
    while True:
        try:
            frames.append(queue.receive_nowait())
        except trio.EndOfChannel:
            return frames


async def test_wav_source_48k_stereo_to_24k_frames(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    mono = np.frombuffer(voice(1.0, 48000), "<i2")
    stereo = np.stack([mono, mono // 2], axis=1).astype("<i2").tobytes()  # mixed down: 3/4
    source = WavSource(write_wav(tmp_path / "in.wav", stereo, 48000, 2), tail_silence_ms=100)
    assert (source.rate, source.seconds) == (48000, 1.1)
    out: AudioQueue[AudioFrame] = AudioQueue(1000)
    capture = CaptureActor(source, out_rate=24000, outputs=[out])
    await capture.run()
    assert out.closed
    frames = drain(out)
    assert [len(f.pcm) for f in frames] == [960] * 55  # 1.1 s in 20 ms frames at 24 kHz
    assert {f.rate for f in frames} == {24000}
    assert [f.seq for f in frames] == list(range(1, 56))
    # Chunk n arrives at n × 20 ms; the resampler's look-ahead delays each frame by one chunk,
    # and the last comes out of the flush with the last chunk.
    times = [0.02 * n for n in range(1, 55)] + [1.08]
    assert [f.timestamp for f in frames] == pytest.approx(times)
    mixed = (mono.astype(np.int32) + mono // 2) // 2
    expected = native.resample(mixed.astype("<i2").tobytes() + bytes(9600), 48000, 24000)
    assert b"".join(f.pcm for f in frames) == expected
    stats = capture.statistics()
    assert (stats.frames, stats.seconds, stats.resampling, stats.output_drops) == (
        55,
        1.1,
        True,
        (0,),
    )


async def test_wav_source_paces_chunks_on_a_fixed_schedule(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pcm = np.arange(11025 // 2, dtype="<i2").tobytes()  # 0.5 s at 11025 Hz: 220.5 per 20 ms
    source = WavSource(write_wav(tmp_path / "odd.wav", pcm, 11025), tail_silence_ms=40)
    start = trio.current_time()
    chunks, times = [], []
    async for chunk in source.frames():
        chunks.append(chunk)
        times.append(trio.current_time() - start)
        await trio.sleep(0.003)  # a slow consumer does not shift the schedule
    assert b"".join(chunks) == pcm + bytes(2 * 441)
    assert [len(c) // 2 for c in chunks[:4]] == [220, 221, 220, 221]  # sample-exact
    assert times == pytest.approx([0.02 * n for n in range(len(chunks))])
    assert len(chunks) == 27  # 0.54 s


async def test_capture_re_frames_any_chunking_and_pads_the_last_frame(
    autojump_clock: trio.testing.MockClock,
) -> None:
    audio = voice(0.105)  # 5¼ frames
    chunks = [audio[i : i + 302] for i in range(0, len(audio), 302)]
    out: AudioQueue[AudioFrame] = AudioQueue(100)
    capture = CaptureActor(IteratorSource(chunks, 24000), outputs=[out])
    await capture.run()
    frames = drain(out)
    assert b"".join(f.pcm for f in frames) == audio + bytes(2 * 360)
    assert [len(f.pcm) for f in frames] == [960] * 6
    assert not capture.statistics().resampling


async def test_iterator_source_takes_async_iterables() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            await trio.lowlevel.checkpoint()
            yield bytes(320)

    out: AudioQueue[AudioFrame] = AudioQueue(10)
    await CaptureActor(IteratorSource(chunks(), 16000), out_rate=16000, outputs=[out]).run()
    assert [len(f.pcm) for f in drain(out)] == [640, 640]  # 30 ms → two 20 ms frames


async def test_slow_outputs_lose_their_oldest_frames() -> None:
    small: AudioQueue[AudioFrame] = AudioQueue(2)
    large: AudioQueue[AudioFrame] = AudioQueue(100)
    capture = CaptureActor(IteratorSource([voice(0.2)], 24000), outputs=[small, large])
    await capture.run()
    assert capture.statistics().output_drops == (8, 0)
    assert [f.seq for f in drain(small)] == [9, 10]
    assert len(drain(large)) == 10


async def test_odd_pcm_is_rejected_and_the_outputs_still_close() -> None:
    out: AudioQueue[AudioFrame] = AudioQueue(10)
    capture = CaptureActor(IteratorSource([bytes(960), b"\x00"], 24000), outputs=[out])
    with pytest.raises(ValueError, match="even number"):
        await capture.run()
    assert out.closed
    assert len(drain(out)) == 1


async def test_close_outputs_false_leaves_them_open() -> None:
    out: AudioQueue[AudioFrame] = AudioQueue(10)
    await CaptureActor(IteratorSource([], 24000), outputs=[out], close_outputs=False).run()
    assert not out.closed


def test_capture_frame_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CaptureActor(IteratorSource([], 8000), out_rate=8000, frame_ms=0, outputs=[])


async def test_rates_without_whole_samples_per_frame_frame_exactly() -> None:
    """11,025 Hz has 220.5 samples in 20 ms: frames alternate 220 and 221 samples, nothing
    drifts, every sample arrives once, in order, at the source's rate (no conversion here)."""
    pcm = bytes(range(256)) * (2 * 11025 // 256) + bytes(2 * 11025 % 256)  # 1 s, any content
    out: AudioQueue[AudioFrame] = AudioQueue(100)
    chunks = [pcm[i : i + 1000] for i in range(0, len(pcm), 1000)]
    await CaptureActor(IteratorSource(chunks, 11025), outputs=[out]).run()
    frames = [out.receive_nowait() for _ in range(len(out))]
    sizes = [len(f.pcm) // 2 for f in frames]
    assert set(sizes[:-1]) == {220, 221}
    assert all(f.rate == 11025 for f in frames)
    assert b"".join(f.pcm for f in frames)[: len(pcm)] == pcm
    # boundaries are exact: frame n ends at floor(11025 * 20 * (n + 1) / 1000)
    ends = [sum(sizes[: n + 1]) for n in range(len(sizes))]
    assert ends == [11025 * 20 * (n + 1) // 1000 for n in range(len(sizes))]


async def test_outputs_can_be_any_stage_with_send_nowait() -> None:
    seen: list[int] = []

    class Stage:
        def send_nowait(self, frame: AudioFrame) -> None:
            seen.append(frame.seq)

    await CaptureActor(IteratorSource([voice(0.1)], 24000), outputs=[Stage()]).run()
    assert seen == [1, 2, 3, 4, 5]


async def test_wav_round_trip_through_capture_and_playback(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """WavSource → CaptureActor → queue → PlaybackActor → WavSink: the same audio comes out
    (padded to a whole frame), resampled on the way in and out when rates differ."""
    user = voice(1.013, 48000)
    source = WavSource(write_wav(tmp_path / "in.wav", user, 48000))
    sink = WavSink(tmp_path / "out.wav", 48000)
    player = PlaybackActor(sink)
    frames: AudioQueue[AudioFrame] = AudioQueue(8)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)

        async def forward() -> None:
            async for frame in frames:
                player.enqueue("user", 0, frame.pcm)
            player.end_item("user")

        nursery.start_soon(forward)
        await nursery.start(CaptureActor(source, out_rate=24000, outputs=[frames]).run)
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    await sink.aclose()
    assert frames.statistics().dropped == 0
    rate, played = read_wav(tmp_path / "out.wav")
    captured = native.resample(user, 48000, 24000)
    captured += bytes(-len(captured) % 960)  # the last frame is padded to 20 ms
    assert rate == 48000
    assert played == native.resample(captured, 24000, 48000)
    assert player.statistics().underruns == 0


async def test_wav_round_trip_without_resampling(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    user = voice(0.5)
    out: AudioQueue[AudioFrame] = AudioQueue(100)
    await CaptureActor(WavSource(write_wav(tmp_path / "in.wav", user, 24000)), outputs=[out]).run()
    sink = WavSink(tmp_path / "out.wav", 24000, realtime=False)
    for frame in drain(out):
        await sink.write(frame.pcm)
    await sink.aclose()
    assert read_wav(tmp_path / "out.wav") == (24000, user)


def test_bad_wav_files_are_rejected(tmp_path: Path) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 800)
    with pytest.raises(ValueError, match=r"only 16-bit PCM WAV files.*8-bit"):
        WavSource(eight_bit)
    # IEEE float (format 3): a compressed/other format the wave module does not read.
    data = struct.pack("<4f", 0.0, 0.5, -0.5, 0.0)
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    float_wav = tmp_path / "float.wav"
    float_wav.write_bytes(
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    with pytest.raises(ValueError, match=r"not a readable WAV.*16-bit PCM"):
        WavSource(float_wav)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="not a readable WAV"):
        WavSource(junk)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable WAV"):
        WavSource(empty)


def test_missing_sounddevice_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(RuntimeError, match=r"pip install 'rtagents\[audio\]'.*PortAudio"):
        SoundDeviceSource()


def test_missing_portaudio_gives_the_same_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(RuntimeError, match=r"rtagents\[audio\].*PortAudio library not found"):
        SoundDeviceSource(16000, 10)
