"""Resampler implementations under test, and the signal-quality measurements applied to them.

Every implementation is driven the way a realtime pipeline drives it: 20 ms chunks with state
carried between them, then a flush (where the library has one).  The measurements:

* **SNR** — six sines at 0.03/0.11/0.23/0.41/0.59/0.80 × the lower Nyquist frequency, 0.12 FS
  each, rounded to int16 at the input rate; the output is compared with the same sines computed
  analytically at the output rate, after fitting one best time offset (a grid over ±8 output
  samples, then a finer one), 50 ms skipped at each end.  The fitted offset is reported: a
  time-aligned resampler has ≈ 0.
* **Passband** — 0.5 FS tones swept over 0.05–0.85 × the lower Nyquist; the gain of each is the
  least-squares amplitude at its frequency.  Ripple is the largest |gain| in dB; the edge figure
  is the gain at 0.85 × the lower Nyquist (3.4 kHz when one side is 8 kHz).
* **Alias rejection** (downsampling) — 0.5 FS tones swept from 0.575 × the output rate (the first
  frequency whose alias lands inside the passband) to 0.95 × the input Nyquist; the amplitude at
  each tone's alias frequency is fitted; the worst (least attenuated) is reported.
* **Image rejection** (upsampling) — 0.5 FS tones over 0.05–0.85 × the input Nyquist; the tone
  and all its images below the output Nyquist are fitted jointly (a lone fit would count the
  tone's spectral leakage); the worst image is reported.
* **Withheld latency** — 3 s streamed in 20 ms chunks; after each chunk, the output still owed
  (samples fed × out/in − samples received) in ms; min/mean/max over chunks after 0.5 s.

Test frequencies carry a 7.3 Hz offset so that they are not simple fractions of the rates
(periodic int16 rounding error would otherwise land exactly on the measured frequencies).
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from rtagents.native import Resampler, resample

Stream = Callable[[np.ndarray, int, int], np.ndarray]
CHUNK_S = 0.02
EDGE_S = 0.05


def optional(name: str) -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module(name)
        except ImportError:
            return None


audioop = optional("audioop")
soxr = optional("soxr")
scipy_signal = optional("scipy.signal")


def chunks(x: np.ndarray, rate: int) -> list[np.ndarray]:
    step = int(rate * CHUNK_S)
    return [x[i : i + step] for i in range(0, len(x), step)]


# -- implementations: stream(x, in_rate, out_rate) -> int16 output ------------------------


def stream_ours(x: np.ndarray, a: int, b: int) -> np.ndarray:
    rs = Resampler(a, b)
    parts = [rs.process(c.tobytes()) for c in chunks(x, a)] + [rs.flush()]
    return np.frombuffer(b"".join(parts), dtype="<i2")


def _soxr_stream(quality: str) -> Stream:
    def run(x: np.ndarray, a: int, b: int) -> np.ndarray:
        assert soxr is not None
        rs = soxr.ResampleStream(a, b, 1, dtype="int16", quality=quality)
        parts = [rs.resample_chunk(c) for c in chunks(x, a)]
        parts.append(rs.resample_chunk(np.zeros(0, dtype=np.int16), last=True))
        return np.concatenate(parts)

    return run


def stream_audioop(x: np.ndarray, a: int, b: int) -> np.ndarray:
    assert audioop is not None
    state = None
    out = []
    for c in chunks(x, a):
        data, state = audioop.ratecv(c.tobytes(), 2, 1, a, b, state)
        out.append(data)
    return np.frombuffer(b"".join(out), dtype="<i2")


def bulk_resample_poly(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """scipy has no streaming form: quality is measured on one-shot output."""
    assert scipy_signal is not None
    g = math.gcd(a, b)
    y = scipy_signal.resample_poly(x.astype(np.float64), b // g, a // g)
    return np.asarray(np.clip(np.rint(y), -32768, 32767), dtype=np.int16)


def implementations() -> dict[str, Stream]:
    impls: dict[str, Stream] = {"ours": stream_ours}
    if soxr is not None:
        impls["soxr HQ"] = _soxr_stream("HQ")
        impls["soxr VHQ"] = _soxr_stream("VHQ")
    if audioop is not None:
        impls["audioop"] = stream_audioop
    if scipy_signal is not None:
        impls["resample_poly"] = bulk_resample_poly
    return impls


# -- signals and fits -------------------------------------------------------------------------


def sines(
    freqs: list[float], amplitude: float, rate: int, seconds: float, delay: float = 0.0
) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate - delay / rate
    return np.asarray(
        sum(amplitude * 32767 * np.sin(2 * np.pi * f * t) for f in freqs), dtype=np.float64
    )


def to_int16(y: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.rint(y), -32768, 32767), dtype=np.int16)


def trim(y: np.ndarray, rate: int) -> np.ndarray:
    edge = int(EDGE_S * rate)
    return np.asarray(y[edge : len(y) - edge], dtype=np.float64)


def fit_amplitudes(y: np.ndarray, freqs: list[float], rate: int, start: int) -> list[float]:
    t = (np.arange(len(y)) + start) / rate
    cols = [fn(2 * np.pi * f * t) for f in freqs for fn in (np.sin, np.cos)]
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1), y, rcond=None)
    return [float(math.hypot(coef[2 * i], coef[2 * i + 1])) for i in range(len(freqs))]


def snr(impl: Stream, a: int, b: int, seconds: float) -> tuple[float, float]:
    """(SNR in dB against analytic sines after the best single delay, that delay in samples)."""
    nyq = min(a, b) / 2
    freqs = [f * nyq + 7.3 for f in (0.03, 0.11, 0.23, 0.41, 0.59, 0.80)]
    x = to_int16(sines(freqs, 0.12, a, seconds))
    y = impl(x, a, b).astype(np.float64)
    n = min(len(y), int(b * seconds))
    edge = int(EDGE_S * b)
    seg = y[edge : n - edge]
    t = (np.arange(len(seg)) + edge) / b
    basis = [
        (32767 * 0.12 * np.sin(2 * np.pi * f * t), 32767 * 0.12 * np.cos(2 * np.pi * f * t))
        for f in freqs
    ]

    def error(d: float) -> float:
        ref = sum(
            s * math.cos(2 * math.pi * f * d / b) - c * math.sin(2 * math.pi * f * d / b)
            for (s, c), f in zip(basis, freqs, strict=True)
        )
        return float(np.sum((seg - ref) ** 2))

    best = min(np.arange(-8, 8.001, 0.05), key=error)
    best = min(np.arange(best - 0.05, best + 0.05, 0.001), key=error)
    signal_power = float(np.sum(sum(s for s, _ in basis) ** 2))
    snr_db = 10 * math.log10(signal_power / max(error(best), 1e-9))
    return snr_db, round(float(best), 3) + 0.0  # + 0.0: no "-0.0"


def passband(impl: Stream, a: int, b: int, seconds: float) -> tuple[float, float]:
    """(max |gain| in dB over the passband, gain in dB at 0.85 × the lower Nyquist)."""
    nyq = min(a, b) / 2
    gains = []
    for f in [*np.linspace(0.05, 0.85, 12) * nyq + 7.3, 0.85 * nyq]:
        x = to_int16(sines([f], 0.5, a, seconds))
        gin = fit_amplitudes(trim(x.astype(float), a), [f], a, int(EDGE_S * a))[0]
        gout = fit_amplitudes(trim(impl(x, a, b), b), [f], b, int(EDGE_S * b))[0]
        gains.append(20 * math.log10(max(gout, 1e-9) / gin))
    return max(abs(g) for g in gains), gains[-1]


def rejection(impl: Stream, a: int, b: int, seconds: float) -> float:
    """Worst alias (a > b) or image (a < b) rejection in dB (positive = attenuated)."""
    full = 0.5 * 32767
    worst = math.inf
    if a > b:
        for f in np.linspace(0.575 * b, 0.95 * a / 2, 8) + 7.3:
            x = to_int16(sines([f], 0.5, a, seconds))
            alias = abs(f - round(f / b) * b)
            amp = fit_amplitudes(trim(impl(x, a, b), b), [alias], b, int(EDGE_S * b))[0]
            worst = min(worst, 20 * math.log10(full / max(amp, 1e-9)))
    else:
        for f in np.linspace(0.05, 0.85, 6) * a / 2 - 7.3:
            x = to_int16(sines([f], 0.5, a, seconds))
            images = [i for k in range(1, b // a + 1) for i in (k * a - f, k * a + f) if i < b / 2]
            amps = fit_amplitudes(trim(impl(x, a, b), b), [f, *images], b, int(EDGE_S * b))
            worst = min([worst, *(20 * math.log10(full / max(amp, 1e-9)) for amp in amps[1:])])
    return worst


def withheld_ms(name: str, a: int, b: int, seconds: float = 3.0) -> tuple[float, float, float]:
    """(min, mean, max) ms of output owed after each 20 ms chunk, past the first 0.5 s."""
    x = to_int16(sines([440.0, 1234.5], 0.2, a, seconds))
    step = int(a * CHUNK_S)
    owed: list[float] = []
    fed = received = 0
    feed = _feeder(name, a, b)
    for i in range(0, len(x), step):
        chunk = x[i : i + step]
        fed += len(chunk)
        received += feed(chunk)
        if fed / a >= 0.5:
            owed.append((fed * b / a - received) / b * 1000)
    return min(owed), float(np.mean(owed)), max(owed)


def _feeder(name: str, a: int, b: int) -> Callable[[np.ndarray], int]:
    """A stateful per-chunk feed returning how many output samples came out."""
    if name == "ours":
        rs = Resampler(a, b)
        return lambda c: len(rs.process(c.tobytes())) // 2
    if name.startswith("soxr"):
        assert soxr is not None
        st = soxr.ResampleStream(a, b, 1, dtype="int16", quality=name.split()[1])
        return lambda c: len(st.resample_chunk(c))
    if name == "audioop":
        assert audioop is not None
        box: list[Any] = [None]

        def feed(c: np.ndarray) -> int:
            out, box[0] = audioop.ratecv(c.tobytes(), 2, 1, a, b, box[0])
            return len(out) // 2

        return feed
    g = math.gcd(a, b)  # resample_poly per chunk: stateless, so nothing is withheld (but it clicks)
    return lambda c: len(bulk_resample_poly(c, a, b)) if g else 0


def response_sweep(a: int, b: int, points: int, seconds: float) -> list[tuple[float, float]]:
    """Our measured magnitude response: (input frequency, output level in dB) per tone."""
    out = []
    for f in np.linspace(20, 0.98 * a / 2, points) + 7.3:
        x = to_int16(sines([f], 0.5, a, seconds))
        y = trim(np.frombuffer(resample(x.tobytes(), a, b), dtype="<i2").astype(float), b)
        if f < b / 2:
            amp = fit_amplitudes(y, [f], b, int(EDGE_S * b))[0]
        else:
            amp = fit_amplitudes(y, [abs(f - round(f / b) * b)], b, int(EDGE_S * b))[0]
        out.append((float(f), 20 * math.log10(max(amp, 1e-3) / (0.5 * 32767))))
    return out
