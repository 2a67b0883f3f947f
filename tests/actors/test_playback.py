"""The playback actor: exact audio out, real positions, jitter buffer, and a one-frame stop."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.lowlevel
import trio.testing

from rtagents.actors import PlaybackActor, PlaybackPosition
from rtagents.testing import FakeAudioSink, voice


class Progress(list[tuple[float, PlaybackPosition | None]]):
    """(trio time, position) reports."""


def actor(sink: FakeAudioSink, progress: Progress, **kw: int) -> PlaybackActor:
    return PlaybackActor(
        sink, on_progress=lambda pos: progress.append((trio.current_time(), pos)), **kw
    )


async def test_plays_the_item_exactly_and_reports_positions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress)
    audio = voice(1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        for i in range(0, len(audio), 4800):  # 100 ms deltas, faster than real time
            player.enqueue("item_1", 0, audio[i : i + 4800])
        player.end_item("item_1")
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert sink.audio() == audio
    positions = [pos.played_ms for _, pos in progress if pos is not None]
    assert positions == sorted(positions)
    assert positions[-1] == pytest.approx(1000.0)
    assert progress[-1][1] is None  # idle, once
    assert sum(pos is None for _, pos in progress) == 1
    # Each report comes when that audio has been played (the sink is paced like a device).
    for t, pos in progress[:-1]:
        assert pos is not None
        assert t == pytest.approx(sink.writes[0][0] + pos.played_ms / 1000)
    stats = player.statistics()
    assert stats.frames_written == 100
    assert stats.underruns == 0


async def test_jitter_buffer_waits_for_prebuffer_or_two_frames(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, prebuffer_ms=40)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("a", 0, voice(0.010))  # 10 ms: not enough to start
        await trio.sleep(0.005)
        assert sink.writes == []
        player.enqueue("a", 0, voice(0.040))  # now 50 ms queued: start at once
        await trio.lowlevel.checkpoint()
        await trio.sleep(0.001)
        assert sink.writes[0][0] == pytest.approx(0.005)
        await trio.sleep(1)
        # A trickle: 10 ms and nothing else; it starts after two frames' time anyway.
        start = trio.current_time()
        player.enqueue("b", 0, voice(0.010))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    later = [t for t, _ in sink.writes if t >= start]
    assert later[0] == pytest.approx(start + 0.020)


async def test_interrupt_stops_within_one_frame_with_a_fade(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, fade_ms=8)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("item_1", 0, voice(2.0))
        await trio.sleep(0.5137)  # in the middle of a frame
        t = trio.current_time()
        position = player.interrupt_nowait()
        player.enqueue("item_1", 0, voice(0.5))  # late audio of the same item: dropped
        await trio.sleep(0.5)
        player.enqueue("item_2", 0, voice(0.3, seed=1))  # a new item plays
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert position is not None
    assert position.item_id == "item_1"
    assert abs(position.played_ms / 1000 - (t - sink.writes[0][0])) <= 0.010
    last = sink.last_nonzero_time(before=t + 0.1)
    assert last is not None
    assert last <= t + 0.020
    # The fade: the last write before the pause is short and decays to silence.
    _fade_start, fade = next((s, p) for s, p in sink.writes if s > t and s < t + 0.1)
    samples = np.abs(np.frombuffer(fade, "<i2").astype(np.int32))
    assert len(samples) <= 24000 * 8 // 1000
    envelope = np.linspace(1, 0, len(samples) + 1)[1:]
    assert np.all(samples <= np.abs(np.frombuffer(voice(2.0), "<i2")).max() * envelope + 1)
    assert samples[-1] <= 100
    stats = player.statistics()
    assert stats.interrupts == 1
    assert stats.late_dropped_ms == pytest.approx(500)
    assert stats.flushed_ms > 1000
    assert any(s > t + 0.4 for s, p in sink.writes if any(p))  # item_2 was played


async def test_capacity_drops_the_oldest_audio(autojump_clock: trio.testing.MockClock) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, capacity_ms=1000)
    player.enqueue("a", 0, voice(3.0))
    assert player.statistics().dropped_ms == pytest.approx(2000)
    assert player.statistics().queued_ms == pytest.approx(1000)


async def test_resamples_to_the_sink_rate(autojump_clock: trio.testing.MockClock) -> None:
    sink, progress = FakeAudioSink(rate=48000), Progress()
    player = actor(sink, progress)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("a", 0, voice(0.5))
        player.end_item("a")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert len(sink.audio()) == 2 * 48000 // 2
    last = [pos for _, pos in progress if pos is not None][-1]
    assert last.played_ms == pytest.approx(500)


def test_odd_pcm_is_rejected() -> None:
    player = PlaybackActor(FakeAudioSink())
    with pytest.raises(ValueError, match="even number"):
        player.enqueue("a", 0, b"\x00")
