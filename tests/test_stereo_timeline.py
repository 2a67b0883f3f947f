"""The recorder's timeline: two mono streams on one clock, as interleaved stereo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents._core.stereo_timeline import LEFT, RIGHT, StereoTimeline

RATE = 8000
FRAME = 160  # 20 ms


def tone(n: int, value: int) -> bytes:
    return np.full(n, value, dtype="<i2").tobytes()


def channels(stereo: bytes) -> tuple[np.ndarray, np.ndarray]:
    frames = np.frombuffer(stereo, "<i2").reshape(-1, 2)
    return frames[:, 0], frames[:, 1]


@given(
    st.lists(st.floats(-0.004, 0.004), min_size=1, max_size=60),
    st.lists(st.floats(0.0, 0.3), max_size=60),
)
def test_a_jittery_stream_stays_contiguous_whatever_the_take_schedule(
    jitter: list[float], takes: list[float]
) -> None:
    timeline = StereoTimeline(RATE, start=10.0, hold=0.2)
    frames = [
        np.arange(k * FRAME, (k + 1) * FRAME, dtype="<i2").tobytes() for k in range(len(jitter))
    ]
    out = b""
    now = 10.0
    take_at = iter(takes)
    for k, frame in enumerate(frames):
        at = 10.0 + k * 0.02 + jitter[k]
        timeline.add(LEFT, frame, at)
        now = max(now, at)
        step = next(take_at, 0.0)
        now += min(step, 0.01)  # never more than hold behind the stream
        out += timeline.take(now)
    out += timeline.finish()
    left, right = channels(out)
    start = round((jitter[0]) * RATE)  # the run starts exactly where its first frame belongs
    if start >= 0:
        assert left[start:].tobytes().startswith(b"".join(frames))
        assert not left[:start].any()
    else:  # its first samples were before the recording's start: cut, counted
        assert left.tobytes().startswith(b"".join(frames)[-2 * start :])
        assert timeline.late_ms == pytest.approx(-1000 * start / RATE)
    assert not right.any()


def test_a_gap_is_silence_and_both_channels_share_the_clock() -> None:
    timeline = StereoTimeline(RATE, start=0.0, hold=0.0)
    timeline.add(LEFT, tone(FRAME, 100), 0.0)  # the user speaks for 20 ms at 0
    timeline.add(RIGHT, tone(FRAME, 200), 0.1)  # the agent answers at 100 ms
    timeline.add(LEFT, tone(FRAME, 300), 0.5)  # the user again at 500 ms: a gap of silence
    left, right = channels(timeline.take(1.0))
    assert len(left) == RATE  # exactly up to now
    assert (left[:FRAME] == 100).all()
    assert not left[FRAME:4000].any()
    assert (left[4000 : 4000 + FRAME] == 300).all()
    assert (right[800 : 800 + FRAME] == 200).all()
    assert not right[:800].any()
    assert timeline.take(1.0) == b""


def test_audio_older_than_what_was_written_is_cut_and_counted() -> None:
    timeline = StereoTimeline(RATE, start=0.0, hold=0.0)
    assert len(timeline.take(1.0)) == 4 * RATE
    timeline.add(RIGHT, tone(2 * FRAME, 7), 0.98)  # 20 ms of it are in the past already
    assert timeline.late_ms == pytest.approx(20.0)
    _, right = channels(timeline.finish())
    assert len(right) == FRAME
    assert (right == 7).all()


def test_take_holds_back_for_late_chunks_and_memory_stays_bounded() -> None:
    timeline = StereoTimeline(RATE, start=0.0, hold=0.5)
    written = 0
    for k in range(500):  # 10 s of user audio, taken as it goes
        timeline.add(LEFT, tone(FRAME, 1), k * 0.02)
        written += len(timeline.take(k * 0.02 + 0.02)) // 4
        assert timeline.pending_ms <= 520
    assert written == round((10.0 - 0.5) * RATE)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        StereoTimeline(0, 0.0)
    with pytest.raises(ValueError, match="negative"):
        StereoTimeline(RATE, 0.0, hold=-1)
    timeline = StereoTimeline(RATE, 0.0)
    with pytest.raises(ValueError, match="LEFT"):
        timeline.add(2, b"", 0.0)
    with pytest.raises(ValueError, match="even"):
        timeline.add(LEFT, b"\0", 0.0)
