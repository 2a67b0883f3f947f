"""JSON values, base64 audio and the error primitives every Realtime wire value shares.

Theory of operation
-------------------
This is the bottom layer of the protocol package: the type aliases for JSON (:data:`JSONValue`,
:data:`JSONObject`) and raw bytes (:data:`AudioData`), the :data:`UNSET` marker for nullable
fields left out, :class:`WireFormatError` (a bad value at a dotted path, with the
``ProtocolErrorCode`` OpenAI's server would use), strict base64 for audio and images, strict
compact JSON, and the small helpers the codec and the item classes use to name and check what
they read (:func:`json_kind`, :func:`join_path`, :func:`expect_object`, reprs that never print
samples or huge frames).  Pure functions and values: no I/O, no clock.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

import pybase64

if TYPE_CHECKING:
    JSONValue: TypeAlias = (
        bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
    )
else:
    # At run time the alias only needs to tell the codec "any JSON value goes here".
    JSONValue = object

#: A JSON object as produced by :func:`json.loads`.
JSONObject: TypeAlias = dict[str, JSONValue]
#: Audio (or image) bytes accepted by encoders; decoders always produce ``bytes``.
AudioData: TypeAlias = bytes | bytearray | memoryview

#: Why a message was rejected.  The values mirror the ``code`` strings OpenAI's server uses in
#: ``error`` events, plus ``invalid_json`` and ``invalid_event`` for frames that are not a
#: JSON object at all.
ProtocolErrorCode: TypeAlias = Literal[
    "invalid_json",
    "invalid_event",
    "missing_required_parameter",
    "invalid_type",
    "invalid_value",
    "unknown_parameter",
]


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: Marks a nullable field that was left out (as opposed to set to ``None``, which is sent as
#: JSON ``null``).
UNSET: Final = Unset.UNSET


class WireFormatError(ValueError):
    """A JSON value does not have the shape the Realtime types require.

    ``path`` is the dotted location of the bad value (``"session.audio.input.format.type"``,
    ``"item.content[0].audio"``), empty for the object itself.  Raised by ``from_wire``; the
    event decoders turn it into a protocol-error value.
    """

    def __init__(self, path: str, problem: str, *, code: ProtocolErrorCode) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem
        self.code: ProtocolErrorCode = code


# -- base64 ------------------------------------------------------------------------------------


def b64encode_audio(data: AudioData) -> str:
    """Encode raw bytes as padded standard base64 text, the form every audio field uses.

    Accepts any contiguous buffer (``bytes``, ``bytearray``, ``memoryview``, ``array``) without
    copying it first.  pybase64's SIMD codec: every audio frame goes through here (2–3× faster
    than :mod:`binascii` on a 20 ms frame; ``benchmarks/wire_codecs.py`` measures it).
    """
    return pybase64.b64encode(data).decode("ascii")


def b64decode_audio(text: str | AudioData) -> bytes:
    """Decode padded standard base64, rejecting anything else.

    Raises :class:`ValueError` on whitespace, a wrong alphabet, bad padding, data after the
    padding, or non-ASCII text.  pybase64 with ``validate=True``: ~18× faster than
    ``binascii.a2b_base64(strict_mode=True)`` on a 100 ms delta, and it accepts what that
    accepts, less one looseness (a stray ``=`` after a complete quantum); the tests hold it
    to that.
    """
    return pybase64.b64decode(text, validate=True)  # raises binascii.Error, a ValueError


def audio_repr(data: AudioData | None) -> str:
    """A repr for audio fields that shows the size, never the samples."""
    return "None" if data is None else f"<{len(data)} bytes>"


def text_preview(text: str, limit: int = 80) -> str:
    """A repr for possibly huge text (raw frames): the start and the total length."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} chars)"


# -- JSON --------------------------------------------------------------------------------------


def dump_json(wire: Mapping[str, JSONValue]) -> str:
    """Compact JSON text for one frame (no spaces, UTF-8 kept as is, NaN refused)."""
    return json.dumps(wire, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def load_json(text: str) -> JSONValue:
    """Parse strict JSON: ``NaN``/``Infinity`` and out-of-range numbers are refused.

    Raises :class:`ValueError` or :class:`RecursionError`.
    """
    value: JSONValue = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    return value


def json_kind(value: object) -> str:
    """The JSON name of a value's kind, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def wrong_type(path: str, expected: str, value: object) -> WireFormatError:
    return WireFormatError(
        path, f"expected {expected}, got {json_kind(value)}", code="invalid_type"
    )


def missing_field(path: str) -> WireFormatError:
    return WireFormatError(path, "required field is missing", code="missing_required_parameter")


def expect_object(value: object, path: str) -> JSONObject:
    if not isinstance(value, dict):
        raise wrong_type(path, "an object", value)
    return value
