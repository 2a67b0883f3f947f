"""The audio hot path's shortcuts agree with the slow, obviously-correct forms."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents import protocol as p


@given(st.binary(max_size=4000))
def test_encode_audio_append_is_the_event_s_own_encoding(audio: bytes) -> None:
    text = p.encode_audio_append(audio)
    assert text == p.InputAudioBufferAppend(audio=audio).to_json()
    decoded = p.decode_client_event(text)
    assert isinstance(decoded, p.InputAudioBufferAppend)
    assert decoded.audio == audio


def test_encode_audio_append_takes_any_buffer() -> None:
    data = bytes(range(256)) * 4
    expected = p.encode_audio_append(data)
    assert p.encode_audio_append(bytearray(data)) == expected
    assert p.encode_audio_append(memoryview(data)) == expected


def _stdlib(text: str | bytes) -> bytes | None:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _ours(text: str | bytes) -> bytes | None:
    try:
        return p.b64decode_audio(text)
    except ValueError:
        return None


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@given(
    st.one_of(
        st.binary(max_size=64).map(lambda b: binascii.b2a_base64(b, newline=False).decode()),
        st.text(alphabet=_B64 + "= \n-_é", max_size=24),
        st.text(max_size=12),
    )
)
def test_b64decode_audio_is_strict_binascii_minus_its_one_looseness(text: str) -> None:
    """Whatever we accept, ``binascii.a2b_base64(strict_mode=True)`` accepts with the same
    value; the one thing it takes that we refuse is a stray ``=`` after a complete quantum
    (``"0000="``: not a multiple of four characters, so not RFC 4648 base64)."""
    forms: list[str | bytes] = [text, text.encode()] if text.isascii() else [text]
    for form in forms:
        ours, stdlib = _ours(form), _stdlib(form)
        if ours is not None or stdlib is None:
            assert ours == stdlib
        else:
            assert len(form) % 4 != 0
            assert text.endswith("=")


@pytest.mark.parametrize(
    "text", ["YQ", "YQ=", "Y Q==", "YQ==\n", "YQ==YQ==", "=YQ=", "YQ-_", "é", "YQ===", "Y", "0000="]
)
def test_b64decode_audio_refuses_loose_base64(text: str) -> None:
    with pytest.raises(ValueError, match=r"[Nn]on-base64|[Ii]ncorrect|[Ee]xcess|padding"):
        p.b64decode_audio(text)


@given(st.binary(max_size=2000))
def test_b64_round_trip(data: bytes) -> None:
    text = p.b64encode_audio(data)
    assert text == binascii.b2a_base64(data, newline=False).decode()
    assert p.b64decode_audio(text) == data
