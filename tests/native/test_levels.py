"""The VAD level kernel (``native.mean_squares``) and the level meter built on it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents import native
from rtagents._core.levels import LevelMeter, dbfs

samples = st.lists(st.integers(-32768, 32767), max_size=2000)


def reference(values: list[int], frame: int) -> list[float]:
    x = np.array(values, dtype=np.int64)
    whole = len(x) - len(x) % frame
    return list((x[:whole] * x[:whole]).reshape(-1, frame).sum(axis=1) / frame)


@given(samples, st.integers(1, 400))
def test_mean_squares_is_exact(values: list[int], frame: int) -> None:
    pcm = np.array(values, dtype="<i2").tobytes()
    assert native.mean_squares(pcm, frame) == reference(values, frame)
    assert native.mean_squares(bytearray(pcm), frame) == reference(values, frame)
    assert native.mean_squares(memoryview(pcm), frame) == reference(values, frame)


def test_mean_squares_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        native.mean_squares(b"\0\0", 0)
    with pytest.raises(TypeError):
        native.mean_squares("not audio", 160)  # type: ignore[arg-type]
    assert native.mean_squares(b"", 160) == []


def test_full_scale_extremes() -> None:
    loudest = np.array([-32768] * 160, dtype="<i2").tobytes()
    assert native.mean_squares(loudest, 160) == [32768.0**2]
    assert dbfs(32768.0**2) == 0.0
    assert -271 < dbfs(0.0) < -270  # clamped, not -inf


@given(samples, st.lists(st.integers(0, 700), min_size=1, max_size=20))
def test_level_meter_is_chunking_invariant(values: list[int], cuts: list[int]) -> None:
    pcm = np.array(values, dtype="<i2").tobytes()
    whole = LevelMeter(160).feed(pcm)
    meter = LevelMeter(160)
    pieces: list[float] = []
    at = 0
    for cut in cuts * 10:
        step = 2 * cut
        pieces += meter.feed(pcm[at : at + step])
        at += step
        if at >= len(pcm):
            break
    pieces += meter.feed(pcm[at:])
    assert pieces == whole
    assert whole == [dbfs(ms) for ms in reference(values, 160)]


def test_level_meter_refuses_odd_bytes() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        LevelMeter(160).feed(b"\0")
    with pytest.raises(ValueError, match="at least one sample"):
        LevelMeter(0)
