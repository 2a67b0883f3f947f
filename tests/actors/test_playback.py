"""The playback actor: exact audio out, real positions, jitter buffer and underruns, capacity,
resampling, and the barge-in stop (last agent sample within 20 ms, faded, nothing late); and
the paced WAV and null sinks.

Everything runs on trio's MockClock (autojump), so audio time is exact and nothing sleeps."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import native
from rtagents.actors import PlaybackActor, PlaybackPosition
from rtagents.audio import NullSink, SoundDeviceSink, WavSink
from rtagents.testing import FakeAudioSink, voice

Progress = list[tuple[float, PlaybackPosition | None]]  # (trio time, reported position)


def actor(sink: FakeAudioSink, progress: Progress, **kw: Any) -> PlaybackActor:
    return PlaybackActor(
        sink, on_progress=lambda pos: progress.append((trio.current_time(), pos)), **kw
    )


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.int64)


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
    assert [len(pcm) for _, pcm in sink.writes] == [480] * 100  # 10 ms frames
    positions = [pos for _, pos in progress if pos is not None]
    assert [p.played_ms for p in positions] == pytest.approx([10.0 * n for n in range(1, 101)])
    assert {(p.item_id, p.content_index) for p in positions} == {("item_1", 0)}
    assert progress[-1][1] is None  # idle, once
    assert sum(pos is None for _, pos in progress) == 1
    # Each report comes when that audio has been played (the sink is paced like a device).
    for t, pos in progress[:-1]:
        assert pos is not None
        assert t == pytest.approx(sink.writes[0][0] + pos.played_ms / 1000)
    stats = player.statistics()
    assert (stats.frames_written, stats.underruns, stats.interrupts) == (100, 0, 0)
    assert stats.written_ms == pytest.approx(1000)
    assert stats.queued_ms == 0  # exactly: counted in bytes, no float residue
    assert not stats.playing
    assert player.position() is None


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
        assert player.statistics().queued_ms == pytest.approx(10)
        player.enqueue("a", 0, voice(0.040))  # now 50 ms queued: start at once
        await trio.sleep(0.001)
        assert sink.writes[0][0] == 0.005
        await trio.sleep(1)
        # A trickle: 10 ms and nothing else; it starts after two frames' time anyway.
        start = trio.current_time()
        player.enqueue("b", 0, voice(0.010, seed=3))
        await trio.sleep(1)
        # A short item that has ended starts at once.
        ended_at = trio.current_time()
        player.enqueue("c", 0, voice(0.015))
        player.end_item("c")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    begins = {pcm: t for t, pcm in reversed(sink.writes)}
    assert begins[voice(0.010, seed=3)] == start + 0.020
    c_writes = [(t, len(pcm)) for t, pcm in sink.writes if t >= ended_at]
    assert c_writes == [(ended_at, 480), (ended_at + 0.010, 240)]  # the partial frame too


async def test_an_underrun_is_counted_and_the_jitter_buffer_applies_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, prebuffer_ms=40)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("a", 0, voice(0.05))
        await trio.sleep(0.2)  # played out; the item has not ended: underrun
        assert player.statistics().underruns == 1
        assert not player.statistics().playing
        resumed = trio.current_time()
        player.enqueue("a", 0, voice(0.02, seed=1))  # 20 ms < 40 ms: wait two frames' time
        await trio.sleep(0.2)
        player.end_item("a")
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    later = [t for t, _ in sink.writes if t >= resumed]
    assert later[0] == pytest.approx(resumed + 0.020)
    assert player.statistics().underruns == 2  # ran dry again before end_item came
    positions = [pos.played_ms for _, pos in progress if pos is not None]
    assert positions == pytest.approx([10, 20, 30, 40, 50, 60, 70])  # the item goes on
    assert [pos for _, pos in progress].count(None) == 2  # idle after each drain


async def test_interrupt_stops_within_one_frame_with_a_fade(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, fade_ms=8)
    audio = voice(2.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("item_1", 0, audio)
        await trio.sleep(0.5137)  # in the middle of a frame
        t = trio.current_time()
        position = player.interrupt_nowait()
        player.enqueue("item_1", 0, voice(0.5))  # late audio of the same item: dropped
        await trio.sleep(0.5)
        item_2_at = trio.current_time()
        player.enqueue("item_2", 0, voice(0.3, seed=1))  # a new item plays
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    start = sink.writes[0][0]
    assert position == PlaybackPosition("item_1", 0, 520.0)  # the frame in flight included
    last = sink.last_nonzero_time(before=item_2_at)
    assert last is not None
    assert last <= t + 0.020
    # The fade is the audio that would have come next, on a linear ramp that ends at zero.
    (fade_start, fade), *rest = [(s, p) for s, p in sink.writes if t < s < item_2_at]
    assert rest == []  # nothing else of item_1 after the fade
    assert fade_start == pytest.approx(start + 0.520)
    next_audio = samples(audio[2 * 24 * 520 :][: len(fade)])
    assert len(fade) == 2 * 24 * 8
    ramp = np.linspace(1, 0, 24 * 8 + 1)[1:]
    assert np.abs(samples(fade) - next_audio * ramp).max() <= 0.5
    assert samples(fade)[-1] == 0
    assert any(s > item_2_at for s, p in sink.writes if any(p))  # item_2 was played
    stats = player.statistics()
    assert stats.interrupts == 1
    assert stats.late_dropped_ms == pytest.approx(500)
    assert stats.flushed_ms == pytest.approx(2000 - 520)
    # Progress: nothing reported for the frame in flight after the interrupt, then idle.
    item_1 = [pos for _, pos in progress if pos is not None and pos.item_id == "item_1"]
    assert item_1[-1].played_ms == pytest.approx(510)


@settings(max_examples=40, deadline=None)
@given(
    lead=st.floats(0.0, 0.1),
    at=st.floats(0.06, 0.4),
    fade_ms=st.integers(0, 10),
    frame_ms=st.sampled_from([5, 10]),
)
def test_barge_in_contract_whenever_the_interrupt_comes(
    lead: float, at: float, fade_ms: int, frame_ms: int
) -> None:
    """Interrupt at t → the last agent sample reaches the sink by t + 20 ms, nothing plays
    after, and the position returned is what was written."""
    sink = FakeAudioSink()
    player = PlaybackActor(sink, frame_ms=frame_ms, fade_ms=fade_ms)
    result: dict[str, float | PlaybackPosition | None] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(player.run)
            await trio.sleep(lead)
            player.enqueue("a", 0, voice(0.3))
            player.enqueue("b", 0, voice(0.3, seed=1))  # queued behind: flushed too
            await trio.sleep(at)
            result["t"] = trio.current_time()
            result["pos"] = pos = player.interrupt_nowait()
            player.enqueue("b", 0, voice(0.1))  # b is playing or queued: late, dropped
            if pos is None or pos.item_id == "a":
                player.enqueue("a", 0, voice(0.1))  # so was a: dropped
            await trio.sleep(0.5)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    t, pos = result["t"], result["pos"]
    assert isinstance(t, float)
    last = sink.last_nonzero_time()
    assert last is not None
    assert last <= t + 0.020
    assert last <= t + (frame_ms + fade_ms) / 1000
    if pos is not None:  # (None: the interrupt came before the jitter buffer let it start)
        assert isinstance(pos, PlaybackPosition)
        written_ms = sum(len(p) for s, p in sink.writes if s <= t) / 2 / 24
        offset = 0 if pos.item_id == "a" else 300  # positions are item-relative
        assert pos.played_ms == pytest.approx(written_ms - offset)
        # The frame in flight counts: at most one frame ahead of the playout clock.
        ahead = written_ms / 1000 - (t - sink.writes[0][0])
        assert -1e-9 <= ahead <= frame_ms / 1000 + 1e-9
    stopped_a = pos is None or pos.item_id == "a"
    assert player.statistics().late_dropped_ms == pytest.approx(200 if stopped_a else 100)


async def test_interrupt_when_idle_writes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        assert player.interrupt_nowait() is None
        player.enqueue("a", 0, voice(0.01))  # waiting for the jitter buffer
        assert player.interrupt_nowait() is None
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert sink.writes == []
    assert progress == []
    stats = player.statistics()
    assert (stats.interrupts, stats.frames_written) == (2, 0)
    assert stats.flushed_ms == pytest.approx(10)


async def test_a_second_interrupt_keeps_the_fade(autojump_clock: trio.testing.MockClock) -> None:
    sink = FakeAudioSink()
    player = PlaybackActor(sink)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("a", 0, voice(1.0))
        await trio.sleep(0.2031)
        first = player.interrupt_nowait()
        assert player.interrupt_nowait() == first
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    fade = sink.writes[-1][1]
    assert len(fade) == 2 * 24 * 8
    assert samples(fade)[0] != 0


async def test_capacity_drops_the_oldest_audio(autojump_clock: trio.testing.MockClock) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress, capacity_ms=1000)
    audio = voice(3.0)
    player.enqueue("a", 0, audio)
    stats = player.statistics()
    assert stats.dropped_ms == pytest.approx(2000)
    assert stats.queued_ms == pytest.approx(1000)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.end_item("a")
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert sink.audio() == audio[2 * 48000 :]  # the newest second, in order
    first = next(pos for _, pos in progress if pos is not None)
    assert first.played_ms == pytest.approx(2010)  # positions stay item-relative


async def test_resamples_each_item_as_one_stream(autojump_clock: trio.testing.MockClock) -> None:
    sink, progress = FakeAudioSink(rate=48000), Progress()
    player = actor(sink, progress)
    a, b = voice(0.5), voice(0.25, seed=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        for i in range(0, len(a), 1202):  # odd-sized deltas
            player.enqueue("a", 0, a[i : i + 1202])
        player.enqueue("b", 0, b)  # a new item: a's resampler is flushed
        player.end_item("b")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert sink.audio() == native.resample(a, 24000, 48000) + native.resample(b, 24000, 48000)
    ends: dict[str, float] = {}
    for _, pos in progress:
        if pos is not None:
            ends[pos.item_id] = pos.played_ms
    assert ends == pytest.approx({"a": 500.0, "b": 250.0})


async def test_more_audio_after_end_item_continues_the_item(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink, progress = FakeAudioSink(), Progress()
    player = actor(sink, progress)
    player.enqueue("a", 0, voice(0.015))
    player.end_item("a")
    player.enqueue("a", 0, voice(0.015))
    player.end_item("a")
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    positions = [pos.played_ms for _, pos in progress if pos is not None]
    assert positions == pytest.approx([10, 15, 25, 30])


def test_bad_arguments_are_rejected() -> None:
    player = PlaybackActor(FakeAudioSink())
    with pytest.raises(ValueError, match="even number"):
        player.enqueue("a", 0, b"\x00")
    with pytest.raises(ValueError, match="whole number"):
        PlaybackActor(FakeAudioSink(rate=22050), frame_ms=10)  # 220.5 samples
    with pytest.raises(ValueError, match="capacity_ms"):
        PlaybackActor(FakeAudioSink(), capacity_ms=5)


async def test_wav_sink_is_paced_like_a_device_and_writes_the_file(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    sink = WavSink(tmp_path / "out.wav", 16000)
    returns = []
    audio = voice(0.1, 16000)
    for i in range(0, len(audio), 320):  # 10 ms chunks written as fast as accepted
        await sink.write(audio[i : i + 320])
        returns.append(trio.current_time())
    assert returns == pytest.approx([0.01 * n for n in range(1, 11)])
    await trio.sleep(1)  # idle: the schedule restarts at "now", no burst
    await sink.write(audio[:320])
    assert trio.current_time() == pytest.approx(1.11)
    await sink.aclose()
    await sink.aclose()  # idempotent
    with pytest.raises(trio.ClosedResourceError):
        await sink.write(audio[:320])
    with wave.open(str(tmp_path / "out.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.readframes(wav.getnframes()) == audio + audio[:320]


async def test_null_sink_paces_or_not(autojump_clock: trio.testing.MockClock) -> None:
    paced, fast = NullSink(8000), NullSink(8000, realtime=False)
    await paced.write(bytes(160))
    await paced.write(bytes(160))
    assert trio.current_time() == pytest.approx(0.02)
    await fast.write(bytes(16000))
    assert trio.current_time() == pytest.approx(0.02)
    await paced.aclose()


def test_sound_device_sink_without_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(RuntimeError, match=r"pip install 'rtagents\[audio\]'.*PortAudio"):
        SoundDeviceSink()


async def test_a_sink_closed_by_its_owner_ends_playback_quietly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A session closes its sink before its actors stop; playback in the middle of an item
    # must end there, not fail the session's nursery (seen as a flaky benchmark crash).
    sink = FakeAudioSink()
    player = actor(sink, Progress())
    ended = trio.Event()

    async def play() -> None:
        await player.run()
        ended.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(play)
        player.enqueue("item_1", 0, voice(1.0))
        await trio.sleep(0.3)
        await sink.aclose()
        with trio.fail_after(1):
            await ended.wait()
    assert 0 < player.statistics().frames_written < 100
