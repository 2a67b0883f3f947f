"""The public audio test helpers: a fake microphone and a fake sound card on the trio clock,
and the PCM16 signals."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.testing

from rtagents.testing import FakeAudioSink, FakeAudioSource, silence, voice


async def test_fake_source_paces_frames(autojump_clock: trio.testing.MockClock) -> None:
    frames = [bytes([n, 0]) * 480 for n in range(5)]
    times, got = [], []
    async for frame in FakeAudioSource(frames, start_at=1.0).frames():
        got.append(frame)
        times.append(trio.current_time())
        await trio.sleep(0.007)  # a slow consumer does not shift the schedule
    assert got == frames
    assert times == pytest.approx([1.0, 1.02, 1.04, 1.06, 1.08])


async def test_fake_source_starts_now_if_start_at_has_passed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    await trio.sleep(3)
    times = [trio.current_time() async for _ in FakeAudioSource([b""] * 3, frame_ms=10).frames()]
    assert times == pytest.approx([3.0, 3.01, 3.02])


async def test_fake_sink_plays_like_a_sound_card(autojump_clock: trio.testing.MockClock) -> None:
    sink = FakeAudioSink(rate=16000)
    await sink.write(bytes(320))  # 10 ms: returns when played
    assert trio.current_time() == pytest.approx(0.01)
    async with trio.open_nursery() as nursery:
        # Written late by 2 ms: the next write starts at "now", not in the past.
        await trio.sleep(0.002)
        nursery.start_soon(sink.write, bytes(640))
    assert trio.current_time() == pytest.approx(0.032)
    tone = np.zeros(160, "<i2")
    tone[:100] = 1000
    await sink.write(tone.tobytes())
    await sink.write(bytes(160))  # silence after it
    assert [t for t, _ in sink.writes] == pytest.approx([0.0, 0.012, 0.032, 0.042])
    assert sink.last_nonzero_time() == pytest.approx(0.032 + 99 / 16000)
    assert sink.last_nonzero_time(before=0.03) is None
    assert sink.seconds_written == pytest.approx(0.01 + 0.02 + 0.01 + 0.005)
    assert sink.audio() == bytes(320) + bytes(640) + tone.tobytes() + bytes(160)
    assert sink.frame_ms == 20
    await sink.aclose()
    assert sink.closed
    with pytest.raises(trio.ClosedResourceError):
        await sink.write(bytes(2))


async def test_fake_sink_rejects_odd_pcm() -> None:
    with pytest.raises(ValueError, match="even number"):
        await FakeAudioSink().write(b"\x00")


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_voice_and_silence(rate: int) -> None:
    v = np.frombuffer(voice(0.5, rate), "<i2")
    assert len(v) == rate // 2
    assert 20 * np.log10(np.sqrt(np.mean(v.astype(float) ** 2)) / 32768) > -30  # loud enough
    assert voice(0.5, rate) == voice(0.5, rate)  # deterministic
    assert voice(0.5, rate, seed=1) != voice(0.5, rate)
    assert silence(0.25, rate) == bytes(rate // 2)
