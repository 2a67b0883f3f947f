"""Shared helpers of the resampler tests: an independent float64 reference, signals, fits.

The reference re-derives every tap from the kernel table in filters.h (cubic Hermite, the same
double operations as resample.c's kernel_at; 2:1 pairs from 11,025 Hz up use its half-band
filter) and computes each output straight from the
definition: output k is Σ_i x[i] · L · h[k·M + D - i·L], the prototype h at lcm(in, out) applied
to the input zero-stuffed by L, taken at prototype index k·M + D (D = half the prototype).
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import numpy as np

import rtagents.native
from rtagents.native import SUPPORTED_RATES

FILTERS_H = Path(rtagents.native.__file__).with_name("filters.h")
PAIRS = [(a, b) for a in SUPPORTED_RATES for b in SUPPORTED_RATES if a != b]
ALL_PAIRS = [(a, b) for a in SUPPORTED_RATES for b in SUPPORTED_RATES]
UP_PAIRS = [(a, b) for a, b in PAIRS if a < b]
DOWN_PAIRS = [(a, b) for a, b in PAIRS if a > b]


def _array(text: str, name: str) -> np.ndarray:
    match = re.search(rf"{name}\[(\d+)\] = \{{(.*?)\}};", text, re.S)
    assert match is not None, name
    values = [float(v) for v in match.group(2).replace("\n", " ").split(",") if v.strip()]
    assert len(values) == int(match.group(1))
    return np.array(values, dtype=np.float64)


@cache
def kernel_table() -> tuple[int, int, np.ndarray, np.ndarray]:
    """(half width T, steps per sample, k(i/steps), k'(i/steps)/steps) from filters.h."""
    text = FILTERS_H.read_text()

    def define(name: str) -> int:
        match = re.search(rf"#define {name} (\d+)", text)
        assert match is not None, name
        return int(match.group(1))

    return (
        define("RT_KERNEL_HALF_WIDTH"),
        define("RT_KERNEL_STEPS"),
        _array(text, "rt_kernel_value"),
        _array(text, "rt_kernel_slope"),
    )


@cache
def half_band() -> np.ndarray:
    """filters.h's 2:1 filter (every second tap zero)."""
    return _array(FILTERS_H.read_text(), "rt_half_band")


@cache
def prototype(low: int, high: int) -> np.ndarray:
    """The pair's prototype at lcm(low, high), unity passband gain (float64)."""
    if high == 2 * low and (len(half_band()) - 1) * 125 <= low:  # its delay fits in 2 ms
        return half_band()
    half, steps, values, slopes = kernel_table()
    phases = math.lcm(low, high) // low
    n = np.abs(np.arange(-(half * phases - 1), half * phases))
    u = n.astype(np.int64) * steps
    i = np.minimum(u // phases, half * steps - 1)
    t = (u - i * phases).astype(np.float64) / float(phases)
    t2 = t * t
    t3 = t2 * t
    k = (
        (2 * t3 - 3 * t2 + 1) * values[i]
        + (t3 - 2 * t2 + t) * slopes[i]
        + (-2 * t3 + 3 * t2) * values[i + 1]
        + (t3 - t2) * slopes[i + 1]
    )
    return np.where(u >= half * steps * phases, 0.0, k) / phases


def reference(pcm: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Unrounded float64 output of the ideal (infinite precision) version of our resampler."""
    if in_rate == out_rate:
        return pcm.astype(np.float64)
    h = prototype(min(in_rate, out_rate), max(in_rate, out_rate))
    g = math.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    total = round(len(pcm) * out_rate / in_rate)
    m = np.arange(total, dtype=np.int64) * down + (len(h) - 1) // 2
    newest, branch = m // up, m % up
    x = pcm.astype(np.float64)
    out = np.zeros(total)
    for t in range(-(-len(h) // up)):  # x[newest - t] meets h[branch + t*up]
        i, tap = newest - t, branch + t * up
        ok = (i >= 0) & (i < len(x)) & (tap < len(h))
        out[ok] += x[i[ok]] * (up * h[tap[ok]])
    return out


def to_int16(y: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.rint(y), -32768, 32767), dtype=np.int16)


def pcm(samples: np.ndarray) -> bytes:
    return samples.astype("<i2").tobytes()


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.int64)


def noise(n: int, seed: int = 0, scale: int = 12000) -> np.ndarray:
    return np.random.default_rng(seed).integers(-scale, scale, n).astype(np.int16)


def tone(freq: float, rate: int, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def fitted_amplitudes(
    y: np.ndarray, freqs: list[float], rate: int, start: int = 0
) -> tuple[list[float], np.ndarray]:
    """Joint least-squares amplitudes of sines at known frequencies, and the residual.

    Fitting all of them together matters: a strong tone leaks into a lone fit at another
    frequency over a finite window and would hide an 80 dB image.
    """
    t = (np.arange(len(y)) + start) / rate
    columns = []
    for freq in freqs:
        columns += [np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)]
    basis = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    amplitudes = [float(np.hypot(coef[2 * i], coef[2 * i + 1])) for i in range(len(freqs))]
    return amplitudes, y - basis @ coef


def trimmed(data: bytes, rate: int) -> np.ndarray:
    y = samples(data).astype(np.float64)
    edge = rate // 20  # skip 50 ms of start-up and tail
    return y[edge:-edge]
