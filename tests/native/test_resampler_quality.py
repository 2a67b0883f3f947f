"""Resampler accuracy and quality for every pair of supported rates, on the real C output.

Rules: the reference (tests/native/resampling.py) is an independent float64 implementation of
the same maths from filters.h's kernel table; ours must agree to within 1 LSB everywhere.  The
quality figures are properties of the code, not timings: in-band SNR against analytic sines
(time-aligned, no delay fitted), passband flatness, and image / alias rejection counted as the
*total* power of everything that is not the wanted tone, over a tone sweep.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rtagents.native import Resampler, resample
from tests.native.resampling import (
    ALL_PAIRS,
    DOWN_PAIRS,
    PAIRS,
    UP_PAIRS,
    fitted_amplitudes,
    noise,
    pcm,
    reference,
    samples,
    to_int16,
    tone,
    trimmed,
)

# -- agreement with the reference -------------------------------------------------------------


@pytest.mark.parametrize(("in_rate", "out_rate"), ALL_PAIRS)
def test_matches_float64_reference_within_one_lsb(in_rate: int, out_rate: int) -> None:
    x = noise(3 * in_rate // 50 + 7, seed=in_rate + out_rate)
    ours = samples(resample(pcm(x), in_rate, out_rate))
    ref = to_int16(reference(x, in_rate, out_rate)).astype(np.int64)
    assert len(ours) == len(ref) == round(len(x) * out_rate / in_rate)
    assert np.max(np.abs(ours - ref), initial=0) <= 1


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_full_scale_input_saturates_without_wrapping(in_rate: int, out_rate: int) -> None:
    period = max(3, round(37 * in_rate / 8000))
    square = np.where((np.arange(in_rate // 10) // period) % 2 == 0, 32767, -32768)
    x = square.astype(np.int16)
    ours = samples(resample(pcm(x), in_rate, out_rate))
    ref = reference(x, in_rate, out_rate)
    assert np.max(np.abs(ref)) > 32767  # the filter's overshoot really needs clipping here
    assert np.max(np.abs(ours - to_int16(ref))) <= 1


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_an_impulse_comes_out_centred_on_its_time(in_rate: int, out_rate: int) -> None:
    """Time alignment: the response to a click at input time n sits at output time n·out/in."""
    x = np.zeros(in_rate // 50, dtype=np.int16)
    where = len(x) // 2 + 3
    x[where] = 30000
    y = samples(resample(pcm(x), in_rate, out_rate)).astype(np.float64)
    centre = float(np.sum(np.arange(len(y)) * y) / np.sum(y))
    assert centre == pytest.approx(where * out_rate / in_rate, abs=0.02)
    assert Resampler(in_rate, out_rate).delay_ms <= 2.0


# -- quality ----------------------------------------------------------------------------------

AMPLITUDE = 0.9  # of full scale: keeps the int16 rounding floor (≈ -95 dB) out of the figures


def _unwanted_db(y: np.ndarray, wanted: list[float], rate: int, reference_power: float) -> float:
    """Power of what is left once the wanted tones are fitted out, dB re `reference_power`."""
    residual = fitted_amplitudes(y, wanted, rate)[1] if wanted else y
    return 10 * math.log10(max(float(np.mean(residual**2)), 1e-12) / reference_power)


@pytest.mark.parametrize(("in_rate", "out_rate"), UP_PAIRS)
def test_images_total_at_least_80_db_down(in_rate: int, out_rate: int) -> None:
    power = (AMPLITUDE * 32767) ** 2 / 2
    for freq in np.linspace(0.05, 0.85, 6) * in_rate / 2 - 7.3:  # not a rate fraction
        x = tone(freq, in_rate, 0.3, AMPLITUDE)
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        assert _unwanted_db(y, [freq], out_rate, power) <= -80, freq


@pytest.mark.parametrize(
    ("in_rate", "out_rate"), [p for p in DOWN_PAIRS if 0.95 * p[0] / 2 > 0.575 * p[1]]
)
def test_aliases_total_at_least_80_db_down(in_rate: int, out_rate: int) -> None:
    power = (AMPLITUDE * 32767) ** 2 / 2
    for freq in np.linspace(0.575 * out_rate, 0.95 * in_rate / 2, 6) + 7.3:
        x = tone(freq, in_rate, 0.3, AMPLITUDE)
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        assert _unwanted_db(y, [], out_rate, power) <= -80, freq


@pytest.mark.parametrize(("in_rate", "out_rate"), DOWN_PAIRS)
def test_in_band_tones_leave_no_aliases_when_downsampling(in_rate: int, out_rate: int) -> None:
    """The images behind a rational ratio (k·in ± f, folded) are counted too."""
    power = (AMPLITUDE * 32767) ** 2 / 2
    for freq in np.linspace(0.05, 0.85, 4) * out_rate / 2 + 7.3:
        x = tone(freq, in_rate, 0.3, AMPLITUDE)
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        assert _unwanted_db(y, [freq], out_rate, power) <= -80, freq


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_passband_is_flat_to_0_425_of_the_lower_rate(in_rate: int, out_rate: int) -> None:
    low = min(in_rate, out_rate)
    for freq in np.linspace(0.05, 0.85, 7) * low / 2:
        x = tone(freq, in_rate, 0.3, 0.5)
        gain_in = fitted_amplitudes(
            x[in_rate // 20 : -in_rate // 20].astype(float), [freq], in_rate
        )
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        gain_out = fitted_amplitudes(y, [freq], out_rate)
        assert abs(20 * np.log10(gain_out[0][0] / gain_in[0][0])) <= 0.01, freq


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_snr_against_analytic_in_band_sines(in_rate: int, out_rate: int) -> None:
    nyquist = min(in_rate, out_rate) / 2
    freqs = [f * nyquist for f in (0.03, 0.11, 0.23, 0.41, 0.59, 0.80)]

    def signal(rate: int) -> np.ndarray:
        t = np.arange(rate // 2) / rate
        return sum(0.12 * 32767 * np.sin(2 * np.pi * f * t) for f in freqs)  # type: ignore[return-value]

    x = np.rint(signal(in_rate)).astype(np.int16)
    y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
    expected = signal(out_rate)[out_rate // 20 : -out_rate // 20]  # time-aligned: no delay fit
    n = min(len(y), len(expected))  # an odd rate's half second is not a whole number
    y, expected = y[:n], expected[:n]
    snr = 10 * np.log10(np.sum(expected**2) / np.sum((y - expected) ** 2))
    assert snr >= 75, snr
