"""The wire codec shared by every Realtime event and configuration value.

Theory of operation
-------------------
A Realtime WebSocket carries one JSON object per text frame.  This module converts those objects
to frozen attrs values and back.  Each class is described once, by its attrs fields and their
type annotations, and that description drives both directions.  Nothing here performs I/O or
reads a clock.

* A class takes part by deriving from :class:`WireValue` (events derive from :class:`WireEvent`).
  Its attrs fields, in declaration order, are its wire keys; ``metadata={"wire_key": ...}``
  renames one.  A class whose wire form holds a constant ``"type"`` (an event type,
  ``"server_vad"``, ``"function"``, ...) sets the ``_wire_tag`` class variable: the tag is
  written first and checked when reading.
* The annotation decides the JSON form: ``str``/``int``/``float``/``bool`` as themselves;
  :data:`AudioData` as padded standard base64; ``tuple[X, ...]`` as an array; ``dict[str, str]``
  and :data:`JSONObject` as objects; another ``WireValue`` as a nested object; ``Literal[...]``
  and unions of literals, numbers and classes by dispatching on the JSON kind and then on the
  nested ``"type"`` key.
* ``X | None`` marks an optional key: absent and ``null`` both read as ``None``, and ``None`` is
  not written.  ``X | None | Unset`` marks a key where ``null`` means something (for example
  ``turn_detection: null`` switches VAD off): absent reads as :data:`UNSET` and is not written,
  ``null`` reads as ``None`` and is written.  Every other field is required.
* Reading raises :class:`WireFormatError` carrying the dotted path of the bad value.  The event
  decoders catch it at the one receive boundary and return a protocol-error *value* instead;
  they never raise on peer input.
* Reading is lenient by default (unknown keys are ignored, so a newer server keeps working).
  ``strict`` reading, which the server role uses on client events, also rejects keys the
  official types do not declare, as OpenAI's server does.
* The per-class descriptions are compiled on first use, so annotations may name classes defined
  later in a module.
"""

from __future__ import annotations

import binascii
import enum
import json
import math
import types
from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Literal,
    Self,
    TypeAlias,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

import attrs

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
    copying it first.
    """
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode_audio(text: str | AudioData) -> bytes:
    """Decode padded standard base64, rejecting anything else.

    Raises :class:`ValueError` on whitespace, a wrong alphabet, bad padding, data after the
    padding, or non-ASCII text.
    """
    return binascii.a2b_base64(text, strict_mode=True)


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


def _wrong_type(path: str, expected: str, value: object) -> WireFormatError:
    return WireFormatError(
        path, f"expected {expected}, got {json_kind(value)}", code="invalid_type"
    )


def _missing(path: str) -> WireFormatError:
    return WireFormatError(path, "required field is missing", code="missing_required_parameter")


def expect_object(value: object, path: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _wrong_type(path, "an object", value)
    return value


# -- value classes -----------------------------------------------------------------------------


class WireValue:
    """Base of every class with a JSON wire form.  See the module docstring."""

    __slots__ = ()

    #: The constant ``"type"`` of the wire object, or ``None`` when it has none.
    _wire_tag: ClassVar[str | None] = None
    #: Other ``"type"`` values accepted when reading leniently.
    _wire_tag_aliases: ClassVar[tuple[str, ...]] = ()
    #: Keys the official types declare but that carry nothing for us (for example ``object``).
    _wire_ignored: ClassVar[frozenset[str]] = frozenset()
    #: A class that catches every ``"type"`` its union does not otherwise know.
    _wire_fallback: ClassVar[bool] = False

    def to_wire(self) -> JSONObject:
        """The wire object: a fresh dict holding only declared keys."""
        return _encode_object(self)

    @classmethod
    def from_wire(cls, wire: object, *, strict: bool = False) -> Self:
        """Build a value from its wire object.

        Raises :class:`WireFormatError` naming the offending path.  With ``strict`` set,
        undeclared keys are errors too.
        """
        return cls._decode_wire(wire, strict, "")

    @classmethod
    def _decode_wire(cls, wire: object, strict: bool, path: str) -> Self:
        return _decode_object(cls, wire, strict, path)


class WireEvent(WireValue):
    """Base of every client and server event class."""

    __slots__ = ()

    @property
    def type(self) -> str:
        """The event's ``type`` string."""
        tag = self._wire_tag
        assert tag is not None
        return tag

    def to_json(self) -> str:
        """The compact JSON text to send in one WebSocket text frame."""
        return dump_json(self.to_wire())


# -- field codecs ------------------------------------------------------------------------------


class _Codec:
    expected = "a value"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> JSONValue:
        result: JSONValue = value
        return result


class _StrCodec(_Codec):
    expected = "a string"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, str):
            return value
        raise _wrong_type(path, self.expected, value)


class _IntCodec(_Codec):
    expected = "an integer"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _wrong_type(path, self.expected, value)


class _FloatCodec(_Codec):
    expected = "a number"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        return _to_float(value, path, self.expected)


def _to_float(value: object, path: str, expected: str) -> float:
    if isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            pass
    else:
        raise _wrong_type(path, expected, value)
    raise WireFormatError(path, "number is out of range", code="invalid_value")


class _BoolCodec(_Codec):
    expected = "a boolean"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, bool):
            return value
        raise _wrong_type(path, self.expected, value)


class _Base64Codec(_Codec):
    expected = "a base64 string"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if not isinstance(value, str):
            raise _wrong_type(path, self.expected, value)
        try:
            return b64decode_audio(value)
        except ValueError as exc:
            raise WireFormatError(path, f"invalid base64 ({exc})", code="invalid_value") from None

    def encode(self, value: Any) -> JSONValue:
        return b64encode_audio(value)


class _ListCodec(_Codec):
    expected = "an array"

    def __init__(self, item: _Codec) -> None:
        self.item = item

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if not isinstance(value, list):
            raise _wrong_type(path, self.expected, value)
        item = self.item
        return tuple(item.decode(v, strict, f"{path}[{i}]") for i, v in enumerate(value))

    def encode(self, value: Any) -> JSONValue:
        return [self.item.encode(v) for v in value]


class _StrMapCodec(_Codec):
    expected = "an object of strings"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        obj = expect_object(value, path)
        for key, item in obj.items():
            if not isinstance(item, str):
                raise _wrong_type(join_path(path, key), "a string", item)
        return obj

    def encode(self, value: Any) -> JSONValue:
        return dict(value)


class _JSONObjectCodec(_Codec):
    expected = "an object"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        return expect_object(value, path)


class _AnyJSONCodec(_Codec):
    expected = "any JSON value"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        return value


class _ObjectCodec(_Codec):
    expected = "an object"

    def __init__(self, cls: type[WireValue]) -> None:
        self.cls = cls

    def decode(self, value: object, strict: bool, path: str) -> Any:
        return self.cls._decode_wire(value, strict, path)

    def encode(self, value: Any) -> JSONValue:
        wire: JSONObject = value.to_wire()
        return wire


class _UnionCodec(_Codec):
    """Literals, free strings, numbers and object classes, chosen by the JSON kind."""

    def __init__(self, members: tuple[Any, ...]) -> None:
        self.literals: tuple[str, ...] = ()
        self.any_str = self.has_int = self.has_float = False
        self.tagged: dict[str, type[WireValue]] = {}
        self.aliases: dict[str, type[WireValue]] = {}
        self.untagged: type[WireValue] | None = None
        self.fallback: type[WireValue] | None = None
        for member in members:
            if get_origin(member) is Literal:
                self.literals += get_args(member)
            elif member is str:
                self.any_str = True
            elif member is int:
                self.has_int = True
            elif member is float:
                self.has_float = True
            elif isinstance(member, type) and issubclass(member, WireValue):
                if member._wire_fallback:
                    self.fallback = member
                elif member._wire_tag is None:
                    if self.untagged is not None:
                        raise TypeError(f"two untagged classes in one union: {members}")
                    self.untagged = member
                else:
                    self.tagged[member._wire_tag] = member
                    self.aliases.update(dict.fromkeys(member._wire_tag_aliases, member))
            else:
                raise TypeError(f"no wire codec for {member!r}")
        parts = []
        if self.literals:
            parts.append("one of " + ", ".join(repr(x) for x in self.literals))
        if self.any_str:
            parts.append("a string")
        if self.has_int or self.has_float:
            parts.append("an integer" if not self.has_float else "a number")
        if self.tagged or self.untagged or self.fallback:
            parts.append("an object")
        self.expected = " or ".join(parts)

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, str):
            if self.any_str or value in self.literals:
                return value
            if self.literals:
                raise WireFormatError(
                    path, f"expected {self.expected}, got {value!r}", code="invalid_value"
                )
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int) and self.has_int:
            return value
        elif isinstance(value, int | float) and self.has_float:
            return _to_float(value, path, self.expected)
        elif isinstance(value, dict):
            if self.tagged or self.fallback:
                return self._decode_tagged(value, strict, path)
            if self.untagged is not None:
                return self.untagged._decode_wire(value, strict, path)
        raise _wrong_type(path, self.expected, value)

    def _decode_tagged(self, value: JSONObject, strict: bool, path: str) -> Any:
        tag_path = join_path(path, "type")
        if "type" not in value:
            raise _missing(tag_path)
        tag = value["type"]
        if not isinstance(tag, str):
            raise _wrong_type(tag_path, "a string", tag)
        cls = self.tagged.get(tag)
        if cls is None and not strict:
            cls = self.aliases.get(tag)
        if cls is None:
            cls = self.fallback
        if cls is None:
            known = ", ".join(repr(t) for t in self.tagged)
            raise WireFormatError(
                tag_path, f"unknown type {tag!r} (expected one of {known})", code="invalid_value"
            )
        return cls._decode_wire(value, strict, path)

    def encode(self, value: Any) -> JSONValue:
        if isinstance(value, WireValue):
            wire: JSONObject = value.to_wire()
            return wire
        result: JSONValue = value
        return result


_STR: Final = _StrCodec()
_INT: Final = _IntCodec()
_FLOAT: Final = _FloatCodec()
_BOOL: Final = _BoolCodec()
_BASE64: Final = _Base64Codec()
_STR_MAP: Final = _StrMapCodec()
_JSON_OBJECT: Final = _JSONObjectCodec()
_ANY_JSON: Final = _AnyJSONCodec()
_NONE_TYPE: Final = type(None)


def _union_members(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return get_args(hint)
    return (hint,)


def _codec_for(members: tuple[Any, ...]) -> _Codec:
    if set(members) == {bytes, bytearray, memoryview}:
        return _BASE64
    if len(members) == 1:
        (hint,) = members
        simple: dict[object, _Codec] = {
            str: _STR,
            int: _INT,
            float: _FLOAT,
            bool: _BOOL,
            bytes: _BASE64,
            object: _ANY_JSON,
        }
        if hint in simple:
            return simple[hint]
        origin = get_origin(hint)
        if origin is tuple:
            item, ellipsis = get_args(hint)
            assert ellipsis is Ellipsis, hint
            return _ListCodec(_codec_for(_union_members(item)))
        if origin is dict:
            _, item = get_args(hint)
            return _STR_MAP if item is str else _JSON_OBJECT
        if (
            isinstance(hint, type)
            and issubclass(hint, WireValue)
            and not hint._wire_fallback
            and not hint._wire_tag_aliases
        ):
            return _ObjectCodec(hint)
    return _UnionCodec(members)


# -- per-class specs ---------------------------------------------------------------------------


@attrs.frozen
class _FieldSpec:
    attr: str
    key: str
    codec: _Codec
    required: bool
    nullable: bool


@attrs.frozen
class _ClassSpec:
    tag: str | None
    aliases: frozenset[str]
    fields: tuple[_FieldSpec, ...]
    known_keys: frozenset[str]
    keeps_raw: bool


_SPECS: dict[type[WireValue], _ClassSpec] = {}


def _spec_for(cls: type[WireValue]) -> _ClassSpec:
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = _build_spec(cls)
    return spec


def _build_spec(cls: type[WireValue]) -> _ClassSpec:
    hints = get_type_hints(cls)
    fields = []
    keeps_raw = False
    for field in attrs.fields(cast("type[attrs.AttrsInstance]", cls)):
        if field.name == "raw":
            keeps_raw = True
            continue
        members = _union_members(hints[field.name])
        optional = _NONE_TYPE in members
        nullable = Unset in members
        rest = tuple(m for m in members if m is not _NONE_TYPE and m is not Unset)
        # Defaults must match the reading rules, or a decoded value would differ from the
        # one a caller builds by leaving the field out.
        expected_default: object = UNSET if nullable else None if optional else field.default
        if field.default is not expected_default or (nullable and not optional):
            raise TypeError(f"{cls.__name__}.{field.name}: default must be {expected_default!r}")
        fields.append(
            _FieldSpec(
                attr=field.name,
                key=field.metadata.get("wire_key", field.name),
                codec=_codec_for(rest),
                required=not optional,
                nullable=nullable,
            )
        )
    known = {f.key for f in fields} | cls._wire_ignored
    if cls._wire_tag is not None:
        known.add("type")
    return _ClassSpec(
        tag=cls._wire_tag,
        aliases=frozenset(cls._wire_tag_aliases),
        fields=tuple(fields),
        known_keys=frozenset(known),
        keeps_raw=keeps_raw,
    )


W = TypeVar("W", bound=WireValue)


def _decode_object(cls: type[W], wire: object, strict: bool, path: str) -> W:
    obj = expect_object(wire, path)
    spec = _spec_for(cls)
    if spec.tag is not None and obj.get("type") != spec.tag:
        tag_path = join_path(path, "type")
        if "type" not in obj:
            raise _missing(tag_path)
        tag = obj["type"]
        if not isinstance(tag, str):
            raise _wrong_type(tag_path, repr(spec.tag), tag)
        if strict or tag not in spec.aliases:
            raise WireFormatError(
                tag_path, f"expected {spec.tag!r}, got {tag!r}", code="invalid_value"
            )
    kwargs: dict[str, Any] = {}
    for field in spec.fields:
        key = field.key
        if key not in obj:
            if field.required:
                raise _missing(join_path(path, key))
            continue
        value = obj[key]
        if value is None:
            if field.required:
                raise _wrong_type(join_path(path, key), field.codec.expected, value)
            kwargs[field.attr] = None
            continue
        kwargs[field.attr] = field.codec.decode(value, strict, join_path(path, key))
    if strict:
        for key in obj:
            if key not in spec.known_keys:
                raise WireFormatError(
                    join_path(path, key), "unknown parameter", code="unknown_parameter"
                )
    if spec.keeps_raw:
        kwargs["raw"] = obj
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise WireFormatError(path, str(exc), code="invalid_value") from None


def _encode_object(value: WireValue) -> JSONObject:
    spec = _spec_for(type(value))
    out: JSONObject = {}
    if spec.tag is not None:
        out["type"] = spec.tag
    for field in spec.fields:
        item = getattr(value, field.attr)
        if item is None:
            if field.nullable:
                out[field.key] = None
        elif item is not UNSET:
            out[field.key] = field.codec.encode(item)
    return out


# -- event frames ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DecodeFailure:
    """Why a frame could not be read; each role turns it into its protocol-error class."""

    code: ProtocolErrorCode
    reason: str
    param: str | None
    event_type: str | None
    event_id: str | None
    raw_text: str


@attrs.frozen(kw_only=True)
class UnknownType:
    """A well-formed object whose ``type`` the registry does not know."""

    type: str
    event_id: str | None
    raw: JSONObject


def frame_text(text: str | AudioData) -> str | DecodeFailure:
    """The frame as text; binary input must be UTF-8."""
    if isinstance(text, str):
        return text
    try:
        return str(text, "utf-8")
    except UnicodeDecodeError as exc:
        return DecodeFailure(
            code="invalid_json",
            reason=f"frame is not UTF-8 ({exc.reason} at byte {exc.start})",
            param=None,
            event_type=None,
            event_id=None,
            raw_text=str(text, "utf-8", "replace"),
        )


def decode_frame(
    text: str | AudioData, registry: Mapping[str, type[W]], *, strict: bool
) -> W | UnknownType | DecodeFailure:
    """Read one frame against a registry of event classes.  Never raises on any input."""
    decoded = frame_text(text)
    if isinstance(decoded, DecodeFailure):
        return decoded
    text = decoded

    def fail(
        code: ProtocolErrorCode,
        reason: str,
        param: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> DecodeFailure:
        return DecodeFailure(
            code=code,
            reason=reason,
            param=param,
            event_type=event_type,
            event_id=event_id,
            raw_text=text,
        )

    try:
        obj = load_json(text)
    except (ValueError, RecursionError) as exc:
        return fail("invalid_json", f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return fail("invalid_event", f"expected a JSON object, got {json_kind(obj)}")
    event_id = obj.get("event_id")
    if not isinstance(event_id, str):
        event_id = None
    if "type" not in obj:
        return fail("missing_required_parameter", "event has no 'type'", "type", None, event_id)
    event_type = obj["type"]
    if not isinstance(event_type, str):
        return fail(
            "invalid_type",
            f"event 'type' must be a string, got {json_kind(event_type)}",
            "type",
            None,
            event_id,
        )
    cls = registry.get(event_type)
    if cls is None:
        return UnknownType(type=event_type, event_id=event_id, raw=obj)
    try:
        return cls._decode_wire(obj, strict, "")
    except WireFormatError as exc:
        return fail(exc.code, f"{event_type}: {exc}", exc.path or None, event_type, event_id)


def registry_of(*classes: type[W]) -> dict[str, type[W]]:
    """Map each event class's ``type`` string to the class."""
    table: dict[str, type[W]] = {}
    for cls in classes:
        tag = cls._wire_tag
        if tag is None or tag in table:
            raise TypeError(f"bad or duplicate event type on {cls.__name__}")
        table[tag] = cls
    return table
