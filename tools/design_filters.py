"""Design the resampler's anti-alias / anti-image kernel and write ``rtagents/native/filters.h``.

Run ``python tools/design_filters.py`` to regenerate the header, or ``--check`` to verify that the
committed header is what this script produces (needs scipy, a dev dependency only).

Theory of operation
-------------------
A conversion between rates ``a`` and ``b`` (``low`` the lower one) runs one linear-phase FIR
prototype at ``lcm(a, b)`` = P × low; both directions of a pair share it.  Every prototype is a
sampling of *one* continuous kernel k(τ), τ in samples of the lower rate: tap n of the P-phase
prototype is k(n / P) / P.  So 8 ↔ 48 kHz (P = 6), 44.1 ↔ 48 kHz (P = 160) and 11.025 ↔ 96 kHz
(P = 1280) all have the same response relative to their lower rate, and the header holds one
small table instead of a prototype per pair.  The C code (resample.c) builds a pair's polyphase
bank from the table when a resampler is created.

The kernel: k(τ) = Σ_m a_m cos(π m τ / T) on |τ| < T = HALF_WIDTH, 0 outside, with k(T) = k''(T)
= 0 (so the spectrum falls off as 1/f⁵ far out).  Its spectrum is linear in the a_m, so the
a_m come from a linear program (scipy's HiGHS):

* passband to 0.425 × low: |gain - 1| ≤ MAX_RIPPLE (±0.0016 dB), which keeps in-band tones
  ≥ 75 dB SNR;
* stopband from 0.575 × low: |gain| ≤ δ × (0.575 × low / f)^DECAY, δ minimised.

The stopband edge sits past the lower Nyquist frequency on purpose: content between 0.5 and
0.575 × low folds (or images) into 0.425–0.5 × low, above the passband (above the telephone
band at 8 kHz).  The 1/f decay is what makes one kernel serve every ratio: a tone's images (or
the images behind an alias) sit at k × rate ± f for every k up to P/2, and all of them reach the
output, so what must be ≥ 80 dB down is their *total* power, which a flat (equiripple) stopband
would let grow with P.  The same constraints are imposed on the sampled responses for P = 2, 3
and 4, where the kernel's spectrum aliases onto itself.

The half-width T = 16 samples of the lower rate makes the group delay (TP - 1) / lcm just under
16 / low: 2 ms at 8 kHz, 1 ms at 16 kHz, 0.36 ms at 44.1 kHz.

Table: k and k' × 1/STEPS at τ = i / STEPS, i = 0 … T × STEPS, printed to 12 significant digits.
C evaluates k(τ) by cubic Hermite interpolation on it (kernel_at in resample.c; the formula is
copied in ``hermite`` below and in tests/native), in double precision with no FMA contraction,
so Python reproduces C's taps exactly.  Interpolation error is below 1e-7 of the peak.
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import cache
from pathlib import Path

import numpy as np

RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)
PASS_EDGE = 0.425  # × lower rate
STOP_EDGE = 0.575  # × lower rate
MAX_RIPPLE = 1.8e-4
DECAY = 1.0  # stopband bound falls as (STOP_EDGE / f) ** DECAY
HALF_WIDTH = 16  # T, samples of the lower rate
STEPS = 32  # table points per sample of the lower rate
DESIGN_SPAN = 6.0  # × lower rate: the highest frequency in the cosine series
MAX_DELAY_MS = 2.0
HEADER = Path(__file__).resolve().parent.parent / "rtagents" / "native" / "filters.h"


def _kernel_spectrum(f: np.ndarray, terms: int) -> np.ndarray:
    """Rows: frequency f (× low); columns: the spectrum of cos(π m τ / T) on |τ| < T."""
    t = HALF_WIDTH
    m = np.arange(terms)
    col = np.asarray(f, dtype=np.float64)[:, None]
    return t * (np.sinc(2 * t * col - m) + np.sinc(2 * t * col + m))


def _sampled(f: np.ndarray, terms: int, phases: int | None) -> np.ndarray:
    """Spectrum rows of the kernel sampled at `phases` points per sample (None: continuous)."""
    rows = _kernel_spectrum(f, terms)
    if phases is not None:
        for r in range(1, int(2 * DESIGN_SPAN / phases) + 3):
            rows = rows + _kernel_spectrum(r * phases - f, terms)
            rows = rows + _kernel_spectrum(r * phases + f, terms)
    return rows


def design_kernel() -> np.ndarray:
    """The cosine-series coefficients a_m of the kernel (see the module docstring)."""
    from scipy.optimize import linprog

    terms = int(2 * HALF_WIDTH * DESIGN_SPAN)
    m = np.arange(terms)
    step = 1 / (2 * HALF_WIDTH * 6)  # six grid points per spectral lobe
    ub: list[np.ndarray] = []
    bounds: list[np.ndarray] = []
    for phases in (None, 2, 3, 4, 6):
        top = DESIGN_SPAN + 3 if phases is None else phases / 2
        fp = np.linspace(0, PASS_EDGE, 300)
        fs = np.arange(STOP_EDGE, top + step / 2, step)
        weight = (STOP_EDGE / fs) ** DECAY
        bp, bs = _sampled(fp, terms, phases), _sampled(fs, terms, phases)
        zp, ws = np.zeros((len(fp), 1)), weight[:, None]
        ub += [
            np.hstack([bp, zp]),
            np.hstack([-bp, zp]),
            np.hstack([bs, -ws]),
            np.hstack([-bs, -ws]),
        ]
        bounds += [
            np.full(len(fp), 1 + MAX_RIPPLE),
            np.full(len(fp), MAX_RIPPLE - 1),
            np.zeros(2 * len(fs)),
        ]
    sign = (-1.0) ** m
    eq = np.array([np.append(sign, 0.0), np.append(sign * m**2, 0.0)])  # k(T) = k''(T) = 0
    cost = np.zeros(terms + 1)
    cost[-1] = 1.0
    result = linprog(
        cost,
        A_ub=np.vstack(ub),
        b_ub=np.concatenate(bounds),
        A_eq=eq,
        b_eq=np.zeros(2),
        bounds=[(None, None)] * terms + [(0, None)],
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"kernel design failed: {result.message}")
    return np.asarray(result.x[:terms], dtype=np.float64)


def _fmt(value: float) -> str:
    return f"{value:.12e}"


@cache
def table() -> tuple[np.ndarray, np.ndarray]:
    """(k(i / STEPS), k'(i / STEPS) / STEPS) for i = 0 … T × STEPS, as printed in the header."""
    a = design_kernel()
    m = np.arange(len(a))
    tau = np.arange(HALF_WIDTH * STEPS + 1) / STEPS
    angle = np.pi * np.outer(tau, m) / HALF_WIDTH
    values = np.cos(angle) @ a
    slopes = -(np.sin(angle) @ (a * np.pi * m / HALF_WIDTH)) / STEPS
    values[-1] = slopes[-1] = 0.0
    values[np.abs(values) < 1e-15] = 0.0
    slopes[np.abs(slopes) < 1e-15] = 0.0

    def rounded(x: np.ndarray) -> np.ndarray:
        return np.array([float(_fmt(v)) for v in x])

    return rounded(values), rounded(slopes)


def hermite(num: np.ndarray, den: int, values: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """k(num / den) for integers num ≥ 0, exactly as resample.c's kernel_at computes it."""
    u = np.asarray(num, dtype=np.int64) * STEPS
    i = np.minimum(u // den, HALF_WIDTH * STEPS - 1)
    t = (u - i * den).astype(np.float64) / float(den)
    t2 = t * t
    t3 = t2 * t
    y = (
        (2 * t3 - 3 * t2 + 1) * values[i]
        + (t3 - 2 * t2 + t) * slopes[i]
        + (-2 * t3 + 3 * t2) * values[i + 1]
        + (t3 - t2) * slopes[i + 1]
    )
    return np.where(u >= HALF_WIDTH * STEPS * den, 0.0, y)


@cache
def half_band() -> np.ndarray:
    """The 2:1 prototype (at twice the lower rate, the lower rate = 1): every second tap zero.

    Linear-phase equiripple with equal weights, whose transition band is symmetric about a
    quarter of its rate, so that remez gives a half-band shape; the near-zero taps are then set
    to exactly zero and the centre tap to 0.5.  It halves the work of a 2:1 pair (one branch is
    a copy) but needs 16.5 samples of the lower rate of delay, not 16: so it is used where that
    still fits in MAX_DELAY_MS (not at 8 kHz).  The shortest length 4k + 3 that meets the
    general kernel's ripple and 83 dB wins.
    """
    from scipy import signal

    for ntaps in range(15, 1001, 4):  # 4k+3 taps: the outermost taps are non-zero
        h = signal.remez(ntaps, [0, PASS_EDGE, STOP_EDGE, 1], [1, 0], weight=[1, 1], fs=2)
        centre = (ntaps - 1) // 2
        h[centre % 2 :: 2] = np.where(np.arange(centre % 2, ntaps, 2) == centre, 0.5, 0.0)
        h = np.array([float(_fmt(v)) for v in h])
        freqs, mag = _magnitude(h, 2)
        ripple = np.max(np.abs(mag[freqs <= PASS_EDGE] - 1))
        if ripple <= MAX_RIPPLE and np.max(mag[freqs >= STOP_EDGE]) <= 10 ** (-83 / 20):
            return h
    raise RuntimeError("no half-band filter meets the specification")


def uses_half_band(low: int, high: int) -> bool:
    """As resample.c: a 2:1 pair whose half-band delay fits in MAX_DELAY_MS."""
    return high == 2 * low and (len(half_band()) - 1) / 2 / (2 * low) * 1000 <= MAX_DELAY_MS


def prototype(low: int, high: int) -> np.ndarray:
    """The pair's prototype at lcm(low, high), unity passband gain, float64 (2TP - 1 taps from
    the kernel, or the half-band filter)."""
    if uses_half_band(low, high):
        return half_band()
    phases = math.lcm(low, high) // low
    n = np.abs(np.arange(-(HALF_WIDTH * phases - 1), HALF_WIDTH * phases))
    values, slopes = table()
    return hermite(n, phases, values, slopes) / phases


def _magnitude(h: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    n_fft = 1 << max(20, math.ceil(math.log2(16 * len(h))))
    return np.fft.rfftfreq(n_fft, 1.0 / rate), np.abs(np.fft.rfft(h.astype(np.float32), n_fft))


def _unwanted_db(freqs: np.ndarray, mag: np.ndarray, a: int, b: int, lcm: int) -> float:
    """Worst total power of a tone's images and aliases, dB re the tone, over a tone sweep."""
    low = min(a, b)
    tones = list(np.linspace(0, PASS_EDGE * low, 35)[1:])
    if a / 2 > STOP_EDGE * low:
        tones += list(np.linspace(STOP_EDGE * low, a / 2, 35))
    worst = -math.inf
    k = np.arange(lcm // a + 1)
    for f in tones:
        phi = np.concatenate([k * a + f, k * a - f])
        phi = np.unique(np.round(phi[(phi >= 0) & (phi <= lcm / 2)], 6))  # f = a/2: one
        if f <= PASS_EDGE * low:
            phi = phi[np.abs(phi - f) > 1e-6]  # the tone itself is wanted
        power = float(np.sum(np.interp(phi, freqs, mag) ** 2))
        worst = max(worst, 10 * math.log10(max(power, 1e-30)))
    return worst


def measure(low: int, high: int) -> dict[str, float]:
    """Ripple, stopband attenuation and worst image / alias totals of the pair's prototype."""
    lcm = math.lcm(low, high)
    h = prototype(low, high)
    freqs, mag = _magnitude(h, lcm)
    return {
        "taps": len(h),
        "phases": lcm // low,
        "delay_ms": (len(h) - 1) / 2 / lcm * 1000,
        "ripple": float(np.max(np.abs(mag[freqs <= PASS_EDGE * low] - 1.0))),
        "stopband_db": float(-20 * np.log10(np.max(mag[freqs >= STOP_EDGE * low]))),
        "images_db": -_unwanted_db(freqs, mag, low, high, lcm),
        "aliases_db": -_unwanted_db(freqs, mag, high, low, lcm),
    }


def pairs() -> list[tuple[int, int]]:
    return [(a, b) for i, a in enumerate(RATES) for b in RATES[i + 1 :]]


def _array(name: str, values: np.ndarray) -> list[str]:
    lines = [f"static const double {name}[{len(values)}] = {{"]
    text = [_fmt(float(v)) for v in values]
    for i in range(0, len(text), 4):
        lines.append("    " + ", ".join(text[i : i + 4]) + ",")
    return [*lines, "};", ""]


def render() -> str:
    values, slopes = table()
    lines = [
        "/* Generated by tools/design_filters.py -- do not edit by hand.",
        " *",
        " * One continuous low-pass kernel k(tau), tau in samples of the lower rate of a pair,",
        f" * |tau| < {HALF_WIDTH}; a pair's prototype at lcm(a, b) = P x low has taps k(n/P)/P.",
        f" * Passband to {PASS_EDGE} x low (ripple <= {MAX_RIPPLE:g}), stopband from "
        f"{STOP_EDGE} x low,",
        f" * falling as 1/f.  Table: k(i/{STEPS}) and k'(i/{STEPS})/{STEPS}, "
        "cubic Hermite in between.",
        " *",
        " * Per pair (both directions share the prototype): taps, delay, passband ripple, worst",
        " * stopband attenuation, and the worst total power of a tone's images (low -> high) and",
        " * aliases (high -> low) over a tone sweep, in dB below the tone.",
    ]
    worst_images = worst_aliases = math.inf
    for low, high in pairs():
        r = measure(low, high)
        if r["delay_ms"] > MAX_DELAY_MS:
            raise RuntimeError(f"{low}<->{high} needs more than {MAX_DELAY_MS} ms of delay")
        worst_images = min(worst_images, r["images_db"])
        worst_aliases = min(worst_aliases, r["aliases_db"])
        kind = "half-band" if uses_half_band(low, high) else f"P {int(r['phases']):4d}"
        lines.append(
            f" *   {low:5d} <-> {high:5d}: {int(r['taps']):5d} taps ({kind:>9}), "
            f"{r['delay_ms']:.3f} ms, ripple {r['ripple']:.2e}, stop {r['stopband_db']:.1f}, "
            f"images {r['images_db']:.1f}, aliases {r['aliases_db']:.1f}"
        )
    lines += [
        f" * Worst over all pairs: images {worst_images:.1f} dB, aliases {worst_aliases:.1f} dB.",
        " *",
        " * 2:1 pairs whose delay allows it use rt_half_band instead: every second tap zero.",
        " */",
        "#ifndef RT_FILTERS_H",
        "#define RT_FILTERS_H",
        "",
        f"#define RT_KERNEL_HALF_WIDTH {HALF_WIDTH} /* T: samples of the lower rate */",
        f"#define RT_KERNEL_STEPS {STEPS} /* table points per sample of the lower rate */",
        f"#define RT_HALF_BAND_TAPS {len(half_band())}",
        "",
        *_array("rt_kernel_value", values),
        *_array("rt_kernel_slope", slopes),
        *_array("rt_half_band", half_band()),
        "#endif",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed header")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if HEADER.read_text() != text:
            print(f"{HEADER} is stale: run python tools/design_filters.py", file=sys.stderr)
            return 1
        print(f"{HEADER} is up to date")
        return 0
    HEADER.write_text(text)
    print(f"wrote {HEADER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
