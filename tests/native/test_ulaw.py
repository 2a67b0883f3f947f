"""G.711 μ-law codec: bit-exactness with audioop, known answers, properties and bad input.

Rules: the oracle is CPython's audioop (stdlib up to 3.12, the audioop-lts package on 3.13+);
the golden hashes below were taken from audioop and pin the result even where no audioop is
installed.  No timing assertions here: speed is measured by benchmarks/kernels.py.
"""

from __future__ import annotations

import hashlib
import importlib
import struct
import warnings
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents.native import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_PCM16 = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))
ENCODE_ALL_SHA256 = "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a"
DECODE_ALL_SHA256 = "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"


def _audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("audioop")


audioop = _audioop()


def test_encode_matches_audioop_on_every_pcm16_value() -> None:
    ours = ulaw_encode(ALL_PCM16)
    assert ours == audioop.lin2ulaw(ALL_PCM16, 2)
    assert hashlib.sha256(ours).hexdigest() == ENCODE_ALL_SHA256


def test_decode_matches_audioop_on_every_code() -> None:
    ours = ulaw_decode(ALL_CODES)
    assert ours == audioop.ulaw2lin(ALL_CODES, 2)
    assert hashlib.sha256(ours).hexdigest() == DECODE_ALL_SHA256


@pytest.mark.parametrize(
    ("sample", "code", "decoded"),
    [
        (0, 0xFF, 0),
        (1000, 0xCE, 988),
        (-1000, 0x4E, -988),
        (12345, 0x97, 12412),
        (-12345, 0x17, -12412),
        (32767, 0x80, 32124),
        (-32768, 0x00, -32124),
        (-1, 0x7E, -8),  # audioop floors to 14 bits before taking the magnitude
    ],
)
def test_known_answers(sample: int, code: int, decoded: int) -> None:
    assert ulaw_encode(struct.pack("<h", sample)) == bytes([code])
    assert struct.unpack("<h", ulaw_decode(bytes([code])))[0] == decoded


def test_textbook_encoder_differences_are_audioop_ones() -> None:
    # The textbook 16-bit encoder differs from audioop on 381 negative inputs (protocols.md
    # §7); we follow audioop.  Spot-check a few of those inputs.
    for sample in (-1, -2, -3, -31611):
        pcm = struct.pack("<h", sample)
        assert ulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)


def test_round_trip_on_every_code_except_negative_zero() -> None:
    again = ulaw_encode(ulaw_decode(ALL_CODES))
    for code in range(256):
        expected = 0xFF if code == 0x7F else code  # negative zero re-encodes as positive zero
        assert again[code] == expected, hex(code)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000))
def test_decode_is_audioop_for_any_bytes(data: bytes) -> None:
    assert ulaw_decode(data) == audioop.ulaw2lin(data, 2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-32768, 32767), max_size=2000))
def test_encode_decode_encode_is_stable(samples: list[int]) -> None:
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    code = ulaw_encode(pcm)
    assert len(code) == len(samples)
    assert ulaw_encode(ulaw_decode(code)) == code.replace(b"\x7f", b"\xff")


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_accepts_bytes_bytearray_and_memoryview(wrap: type) -> None:
    pcm = ALL_PCM16[:3202]
    assert ulaw_encode(wrap(pcm)) == audioop.lin2ulaw(pcm, 2)
    assert ulaw_decode(wrap(ALL_CODES)) == audioop.ulaw2lin(ALL_CODES, 2)


def test_memoryview_of_int16_array_uses_raw_bytes() -> None:
    view = memoryview(ALL_PCM16).cast("h")
    assert ulaw_encode(view) == audioop.lin2ulaw(ALL_PCM16, 2)


def test_large_input_grows_the_scratch_buffer() -> None:
    big = ALL_PCM16 * 3  # larger than the initial per-thread buffer
    assert ulaw_encode(big) == audioop.lin2ulaw(big, 2)
    assert ulaw_encode(b"") == b""
    assert ulaw_decode(b"") == b""


def test_results_are_independent_bytes() -> None:
    first = ulaw_encode(ALL_PCM16[:320])
    ulaw_encode(ALL_PCM16[-320:])  # reuses the scratch buffer
    assert first == audioop.lin2ulaw(ALL_PCM16[:320], 2)


def test_odd_pcm16_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        ulaw_encode(b"\x00\x01\x02")


@pytest.mark.parametrize("bad", ["text", 123, None, [1, 2], bytearray(4).decode()])
def test_non_buffer_input_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match="bytes, bytearray or memoryview"):
        ulaw_encode(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes, bytearray or memoryview"):
        ulaw_decode(bad)  # type: ignore[arg-type]


def test_non_contiguous_memoryview_is_rejected() -> None:
    strided = memoryview(ALL_PCM16[:64])[::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        ulaw_decode(strided)


# -- A-law (audio/pcma): the same contract ---------------------------------------------------


def test_alaw_matches_audioop_on_every_value_and_code() -> None:
    assert alaw_encode(ALL_PCM16) == audioop.lin2alaw(ALL_PCM16, 2)
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_alaw_silence_and_round_trip() -> None:
    assert alaw_encode(b"\x00\x00") == b"\xd5"
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES


def test_alaw_bad_input() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        alaw_encode(b"\x00")
    with pytest.raises(TypeError, match="bytes, bytearray or memoryview"):
        alaw_decode("x")  # type: ignore[arg-type]
    assert alaw_decode(memoryview(b"\xd5\xd5")) == b"\x08\x00\x08\x00"
