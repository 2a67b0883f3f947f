"""Streaming resampler: reference agreement, streaming properties, quality, kernels, bad input.

Rules: the reference is an independent float64 numpy implementation of the same maths (zero-stuff
by L, convolve with the prototype from filters.h, pick every M-th sample at delay D); ours must
agree to within 1 LSB everywhere.  Quality figures (alias rejection, ripple, SNR) are checked on
the real C output because they are properties of the code, not timings; speed lives in
benchmarks/kernels.py.
"""

from __future__ import annotations

import itertools
import math
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtagents.native
from rtagents.native import SUPPORTED_RATES, Resampler, resample, ulaw_decode, ulaw_encode

PAIRS = [(a, b) for a in SUPPORTED_RATES for b in SUPPORTED_RATES if a != b]
ALL_PAIRS = [(a, b) for a in SUPPORTED_RATES for b in SUPPORTED_RATES]
FILTERS_H = Path(rtagents.native.__file__).with_name("filters.h")


@cache
def prototype(low: int, high: int) -> np.ndarray:
    text = FILTERS_H.read_text()
    match = re.search(rf"rt_h_{low}_{high}\[(\d+)\] = \{{(.*?)\}};", text, re.S)
    assert match is not None
    values = [
        float(v.rstrip("f")) for v in match.group(2).replace("\n", " ").split(",") if v.strip()
    ]
    assert len(values) == int(match.group(1))
    return np.array(values, dtype=np.float64)


def reference(pcm: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Unrounded float64 output of the ideal (infinite precision) version of our resampler."""
    if in_rate == out_rate:
        return pcm.astype(np.float64)
    h = prototype(min(in_rate, out_rate), max(in_rate, out_rate))
    g = math.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    stuffed = np.zeros(len(pcm) * up)
    stuffed[::up] = pcm * float(up)
    filtered = np.convolve(stuffed, h)
    total = round(len(pcm) * out_rate / in_rate)
    index = np.arange(total) * down + (len(h) - 1) // 2
    out = np.zeros(total)
    valid = index < len(filtered)
    out[valid] = filtered[index[valid]]
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
    square = np.where((np.arange(in_rate // 10) // 37) % 2 == 0, 32767, -32768).astype(np.int16)
    ours = samples(resample(pcm(square), in_rate, out_rate))
    ref = reference(square, in_rate, out_rate)
    assert np.max(np.abs(ref)) > 32767  # the filter's overshoot really needs clipping here
    assert np.max(np.abs(ours - to_int16(ref))) <= 1


# -- streaming --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    pair=st.sampled_from(ALL_PAIRS),
    n=st.integers(0, 3000),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 3000), max_size=25),
)
def test_any_chunking_then_flush_equals_one_shot(
    pair: tuple[int, int], n: int, seed: int, cuts: list[int]
) -> None:
    in_rate, out_rate = pair
    data = pcm(noise(n, seed))
    one_shot = resample(data, in_rate, out_rate)
    rs = Resampler(in_rate, out_rate)
    bounds = sorted({0, n, *(c for c in cuts if c <= n)})
    streamed = b"".join(rs.process(data[2 * a : 2 * b]) for a, b in itertools.pairwise(bounds))
    streamed += rs.flush()
    assert streamed == one_shot
    assert len(one_shot) == 2 * round(n * out_rate / in_rate)


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_one_sample_and_odd_chunks(in_rate: int, out_rate: int) -> None:
    data = pcm(noise(701, seed=3))
    one_shot = resample(data, in_rate, out_rate)
    rs = Resampler(in_rate, out_rate)
    singles = b"".join(rs.process(data[i : i + 2]) for i in range(0, len(data), 2)) + rs.flush()
    assert singles == one_shot
    odd = b"".join(rs.process(data[i : i + 2 * 37]) for i in range(0, len(data), 2 * 37))
    assert odd + rs.flush() == one_shot


@pytest.mark.parametrize(("in_rate", "out_rate"), ALL_PAIRS)
def test_withheld_audio_equals_the_delay(in_rate: int, out_rate: int) -> None:
    rs = Resampler(in_rate, out_rate)
    assert 0 <= rs.delay_ms <= 2.0
    assert rs.delay_ms == pytest.approx(rs.delay_samples * 1000 / out_rate)
    fed = 0
    received = 0
    for i in range(50):  # 50 chunks of 20 ms
        chunk = noise(in_rate // 50, seed=i)
        fed += len(chunk)
        received += len(rs.process(pcm(chunk))) // 2
        withheld = fed * out_rate / in_rate - received
        assert withheld <= rs.delay_samples + 1  # constant, never bursty
    assert received + len(rs.flush()) // 2 == round(fed * out_rate / in_rate)


def test_flush_and_reset_start_a_new_stream() -> None:
    data = pcm(noise(800, seed=9))
    rs = Resampler(8000, 24000)
    first = rs.process(data) + rs.flush()
    assert rs.process(data) + rs.flush() == first  # flush left it reset
    rs.process(pcm(noise(123, seed=1)))
    rs.reset()
    assert rs.process(data) + rs.flush() == first
    assert rs.flush() == b""  # nothing fed, nothing owed


def test_identity_is_a_copy() -> None:
    data = pcm(noise(1000))
    rs = Resampler(16000, 16000)
    assert rs.process(data) == data
    assert rs.flush() == b""
    assert rs.delay_samples == 0
    assert rs.kernel == "copy"


# -- fused telephone paths --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=1200), st.sampled_from(SUPPORTED_RATES))
def test_process_ulaw_is_decode_then_resample(ulaw: bytes, out_rate: int) -> None:
    fused, plain = Resampler(8000, out_rate), Resampler(8000, out_rate)
    assert (
        fused.process_ulaw(ulaw) + fused.flush() == plain.process(ulaw_decode(ulaw)) + plain.flush()
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2000), st.integers(0, 2**32 - 1), st.sampled_from(SUPPORTED_RATES))
def test_process_to_ulaw_is_resample_then_encode(n: int, seed: int, in_rate: int) -> None:
    data = pcm(noise(n, seed, scale=32000))
    fused, plain = Resampler(in_rate, 8000), Resampler(in_rate, 8000)
    got = fused.process_to_ulaw(data) + fused.flush_to_ulaw()
    assert got == ulaw_encode(plain.process(data) + plain.flush())


def test_fused_paths_accept_all_buffer_types() -> None:
    ulaw = ulaw_encode(pcm(noise(160)))
    expected = Resampler(8000, 24000).process_ulaw(ulaw)
    for wrap in (bytearray, memoryview):
        assert Resampler(8000, 24000).process_ulaw(wrap(ulaw)) == expected


# -- kernels ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_every_kernel_build_gives_identical_bits(
    in_rate: int, out_rate: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # noise, then a full-scale square wave whose overshoot exercises the saturating stores
    square = np.where((np.arange(2000) // 29) % 2 == 0, 32767, -32768).astype(np.int16)
    data = pcm(np.concatenate([noise(2000, seed=5), square]))
    outputs = {}
    for kernel in ("scalar", "sse2", "default"):
        monkeypatch.setenv("RTAGENTS_KERNEL", kernel)
        rs = Resampler(in_rate, out_rate)
        outputs[rs.kernel] = rs.process(data[:3002]) + rs.process(data[3002:]) + rs.flush()
    assert len(set(outputs.values())) == 1, sorted(outputs)
    assert "scalar" in outputs


def test_the_compiled_extension_is_in_use() -> None:
    from rtagents.native import _resample

    assert Path(_resample.__file__).suffix in {".so", ".pyd"}
    assert type(_resample.ffi).__module__.startswith("_cffi_backend")
    assert Resampler(8000, 24000).kernel in {"avx", "sse2", "scalar"}


# -- quality ----------------------------------------------------------------------------------


def fitted_amplitudes(
    y: np.ndarray, freqs: list[float], rate: int
) -> tuple[list[float], np.ndarray]:
    """Joint least-squares amplitudes of sines at known frequencies, and the residual.

    Fitting all of them together matters: a strong tone leaks into a lone fit at another
    frequency over a finite window and would hide an 80 dB image.
    """
    t = np.arange(len(y)) / rate
    columns = []
    for freq in freqs:
        columns += [np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)]
    basis = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return [
        float(np.hypot(coef[2 * i], coef[2 * i + 1])) for i in range(len(freqs))
    ], y - basis @ coef


def fitted_gain(y: np.ndarray, freq: float, rate: int) -> tuple[float, np.ndarray]:
    amplitudes, residual = fitted_amplitudes(y, [freq], rate)
    return amplitudes[0], residual


def trimmed(data: bytes, rate: int) -> np.ndarray:
    y = samples(data).astype(np.float64)
    edge = rate // 20  # skip 50 ms of start-up and tail
    return y[edge:-edge]


# Alias and image rejection are measured at the frequencies where aliases and images land,
# by fitting a sine there.  (Total output power would also count the int16 quantisation error
# of the test tone itself, a floor near 80 dB for a periodic 0.5 FS tone.)


@pytest.mark.parametrize(("in_rate", "out_rate"), [p for p in PAIRS if p[0] > p[1]])
def test_aliases_are_at_least_80_db_down(in_rate: int, out_rate: int) -> None:
    for freq in np.linspace(0.575 * out_rate, 0.95 * in_rate / 2, 6) + 7.3:  # not a rate fraction
        x = tone(freq, in_rate, 0.3, 0.5)
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        alias = abs(freq - round(freq / out_rate) * out_rate)
        amplitude, _ = fitted_gain(y, alias, out_rate)
        rejection = 20 * np.log10(0.5 * 32767 / max(amplitude, 1e-9))
        assert rejection >= 80, (freq, rejection)


@pytest.mark.parametrize(("in_rate", "out_rate"), [p for p in PAIRS if p[0] < p[1]])
def test_images_are_at_least_80_db_down(in_rate: int, out_rate: int) -> None:
    for freq in np.linspace(0.05, 0.85, 5) * in_rate / 2 - 7.3:  # not a rate fraction
        x = tone(freq, in_rate, 0.3, 0.5)
        y = trimmed(resample(pcm(x), in_rate, out_rate), out_rate)
        images = [
            image
            for k in range(1, out_rate // in_rate + 1)
            for image in (k * in_rate - freq, k * in_rate + freq)
            if image < out_rate / 2
        ]
        amplitudes, _ = fitted_amplitudes(y, [freq, *images], out_rate)
        for image, amplitude in zip(images, amplitudes[1:], strict=True):
            rejection = 20 * np.log10(0.5 * 32767 / max(amplitude, 1e-9))
            assert rejection >= 80, (freq, image, rejection)


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_passband_is_flat_to_0_425_of_the_lower_rate(in_rate: int, out_rate: int) -> None:
    low = min(in_rate, out_rate)
    for freq in np.linspace(0.05, 0.85, 7) * low / 2:
        x = tone(freq, in_rate, 0.3, 0.5)
        gain_in, _ = fitted_gain(x[in_rate // 20 : -in_rate // 20].astype(float), freq, in_rate)
        gain_out, _ = fitted_gain(
            trimmed(resample(pcm(x), in_rate, out_rate), out_rate), freq, out_rate
        )
        assert abs(20 * np.log10(gain_out / gain_in)) <= 0.01, freq  # target ±0.1 dB


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
    snr = 10 * np.log10(np.sum(expected**2) / np.sum((y - expected) ** 2))
    assert snr >= 75, snr


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, 44100, 11025, -8000, 96000])
def test_unsupported_rates_are_rejected(rate: int) -> None:
    with pytest.raises(ValueError, match="unsupported in_rate"):
        Resampler(rate, 8000)
    with pytest.raises(ValueError, match="unsupported out_rate"):
        Resampler(8000, rate)


@pytest.mark.parametrize("rate", [8000.0, "8000", True, None])
def test_non_integer_rates_are_rejected(rate: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        Resampler(rate, 8000)  # type: ignore[arg-type]


def test_bad_audio_is_rejected_and_leaves_the_stream_intact() -> None:
    data = pcm(noise(500))
    rs = Resampler(24000, 8000)
    first = rs.process(data[:400])
    with pytest.raises(ValueError, match="even number of bytes"):
        rs.process(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="even number of bytes"):
        rs.process_to_ulaw(bytearray(5))
    with pytest.raises(TypeError, match="bytes, bytearray or memoryview"):
        rs.process("not audio")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes, bytearray or memoryview"):
        rs.process_ulaw(np.zeros(4, dtype=np.int16))  # type: ignore[arg-type]
    rest = rs.process(data[400:]) + rs.flush()
    assert first + rest == resample(data, 24000, 8000)


def test_repr_names_the_rates() -> None:
    assert repr(Resampler(8000, 24000)) == "Resampler(in_rate=8000, out_rate=24000)"
