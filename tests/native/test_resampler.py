"""Streaming resampler: streaming properties, fused μ-law paths, kernel builds, bad input.

Every pair among the supported rates is covered.  Agreement with the float64 reference and the
quality figures are in test_resampler_quality.py; speed lives in benchmarks/kernels.py.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents.native import SUPPORTED_RATES, Resampler, resample, ulaw_decode, ulaw_encode
from tests.native.resampling import ALL_PAIRS, PAIRS, noise, pcm, reference, to_int16

# -- streaming --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
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


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, 12000, -8000, 44056, 192000])
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


# -- other rates ------------------------------------------------------------------------------

ODD_PAIRS = [(12000, 24000), (37800, 48000), (88200, 44100), (44056, 48000), (7999, 8000)]


@pytest.mark.parametrize(("in_rate", "out_rate"), ODD_PAIRS)
def test_any_rate_builds_the_same_kind_of_resampler(in_rate: int, out_rate: int) -> None:
    x = noise(in_rate // 25 + 3, seed=in_rate)
    rs = Resampler.any_rate(in_rate, out_rate)
    whole = rs.process(pcm(x)) + rs.flush()
    ref = to_int16(reference(x, in_rate, out_rate)).astype(np.int64)
    got = np.frombuffer(whole, "<i2").astype(np.int64)
    assert len(got) == len(ref) == round(len(x) * out_rate / in_rate)
    assert np.max(np.abs(got - ref)) <= 1
    chunked = b"".join(rs.process(pcm(x[i : i + 333])) for i in range(0, len(x), 333))
    assert chunked + rs.flush() == whole
    assert rs.delay_ms <= 16.5 / min(in_rate, out_rate) * 1000  # 16.5: the half-band


@pytest.mark.parametrize(
    ("in_rate", "out_rate", "message"),
    [
        (400000, 8000, "unsupported in_rate 400000 Hz"),
        (8000, 999, "unsupported out_rate 999 Hz"),
        (96000, 7000, "cannot resample 96000 Hz to 7000 Hz: the ratio 7/96 is above 12"),
        (383999, 32000, "needs more than 1048576 filter taps"),
    ],
)
def test_any_rate_refuses_what_it_cannot_build(in_rate: int, out_rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Resampler.any_rate(in_rate, out_rate)
    with pytest.raises(ValueError, match="supported rates are 8000, 11025"):
        Resampler(12000, 24000)  # the plain constructor stays with the tested rates
