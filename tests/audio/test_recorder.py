"""The call recorder: a complete stereo WAV, resampled sides, and a stalled disk that costs
the recording some audio but never holds up the call."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from rtagents.audio import CallRecorder
from rtagents.audio import recorder as recorder_module
from rtagents.testing import voice


def read(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (2, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
        return wav.getframerate(), frames


async def test_both_sides_at_any_rate_on_one_clock(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "r.wav"
    recorder = CallRecorder(path, rate=8000, start=trio.current_time())
    user = voice(1.0, 48000)  # a 48 kHz microphone
    agent = voice(0.5, 24000, seed=3)  # agent audio at the model's rate
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        for k in range(50):
            recorder.user(user[k * 1920 : (k + 1) * 1920], 48000, trio.current_time())
            if k >= 25:
                recorder.agent(agent[(k - 25) * 960 : (k - 24) * 960], 24000, trio.current_time())
            await trio.sleep(0.02)
        await recorder.aclose()
        nursery.cancel_scope.cancel()
    rate, frames = read(path)
    assert rate == 8000
    assert abs(len(frames) - 8000) < 40  # 1 s (the resampler's look-ahead aside)
    left, right = np.abs(frames[:, 0]), np.abs(frames[:, 1])
    assert left[:7800].mean() > 300
    assert right[:3900].max() == 0  # the agent started at 0.5 s
    assert right[4100:7800].mean() > 300
    stats = recorder.statistics()
    assert (stats.dropped_ms, stats.late_ms) == (0, 0)
    recorder.user(user[:1920], 48000, trio.current_time())  # after close: ignored
    await recorder.aclose()  # idempotent


async def test_a_stalled_disk_drops_audio_not_the_call(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = CallRecorder(
        tmp_path / "r.wav", rate=8000, start=trio.current_time(), max_pending_s=0.5
    )
    disk_back = trio.Event()

    async def stalled_disk(function: Callable[..., Any], *args: Any) -> Any:
        await disk_back.wait()  # the disk hangs (in virtual time) until released
        return function(*args)

    monkeypatch.setattr(recorder_module, "run_sync", stalled_disk)
    frame = voice(0.02, 8000)
    fed = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        for _ in range(150):  # 3 s of calls to the recorder: none may wait
            with trio.testing.assert_no_checkpoints():
                recorder.user(frame, 8000, trio.current_time())
            fed += 1
            await trio.sleep(0.02)
        stats = recorder.statistics()
        assert stats.pending_blocks <= 3  # bounded: 0.5 s of 0.2 s blocks
        assert stats.dropped_ms > 1000
        disk_back.set()
        await recorder.aclose()
        nursery.cancel_scope.cancel()
    _, frames = read(tmp_path / "r.wav")
    assert 0 < len(frames) < fed * 160
