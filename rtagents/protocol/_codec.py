"""The wire codec: :class:`WireValue` and the JSON <-> attrs machinery behind every value.

Theory of operation
-------------------
A Realtime WebSocket carries one JSON object per text frame.  This module converts those objects
to frozen attrs values and back.  Each class is described once, by its attrs fields and their
type annotations, and that description drives both directions.  The JSON and base64 primitives
are in ``_json``, the event frames in ``_frames``.  Nothing here performs I/O or reads a clock.

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
* Reading raises :class:`WireFormatError` carrying the dotted path of the bad value; the frame
  reader (``_frames``) turns it into a protocol-error *value*, never raising on peer input.
* Reading is lenient by default (unknown keys are ignored, so a newer server keeps working).
  ``strict`` reading, which the server role uses on client events, also rejects keys the
  official types do not declare, as OpenAI's server does.
* The per-class descriptions are compiled on first use, so annotations may name classes defined
  later in a module.
"""

from __future__ import annotations

import math
import types
from typing import (
    Any,
    ClassVar,
    Final,
    Literal,
    Self,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

import attrs

from ._json import (
    UNSET,
    JSONObject,
    JSONValue,
    Unset,
    WireFormatError,
    b64decode_audio,
    b64encode_audio,
    expect_object,
    join_path,
    missing_field,
    wrong_type,
)

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
        raise wrong_type(path, self.expected, value)


class _IntCodec(_Codec):
    expected = "an integer"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong_type(path, self.expected, value)


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
        raise wrong_type(path, expected, value)
    raise WireFormatError(path, "number is out of range", code="invalid_value")


class _BoolCodec(_Codec):
    expected = "a boolean"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if isinstance(value, bool):
            return value
        raise wrong_type(path, self.expected, value)


class _Base64Codec(_Codec):
    expected = "a base64 string"

    def decode(self, value: object, strict: bool, path: str) -> Any:
        if not isinstance(value, str):
            raise wrong_type(path, self.expected, value)
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
            raise wrong_type(path, self.expected, value)
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
                raise wrong_type(join_path(path, key), "a string", item)
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
        raise wrong_type(path, self.expected, value)

    def _decode_tagged(self, value: JSONObject, strict: bool, path: str) -> Any:
        tag_path = join_path(path, "type")
        if "type" not in value:
            raise missing_field(tag_path)
        tag = value["type"]
        if not isinstance(tag, str):
            raise wrong_type(tag_path, "a string", tag)
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
            raise missing_field(tag_path)
        tag = obj["type"]
        if not isinstance(tag, str):
            raise wrong_type(tag_path, repr(spec.tag), tag)
        if strict or tag not in spec.aliases:
            raise WireFormatError(
                tag_path, f"expected {spec.tag!r}, got {tag!r}", code="invalid_value"
            )
    kwargs: dict[str, Any] = {}
    for field in spec.fields:
        key = field.key
        if key not in obj:
            if field.required:
                raise missing_field(join_path(path, key))
            continue
        value = obj[key]
        if value is None:
            if field.required:
                raise wrong_type(join_path(path, key), field.codec.expected, value)
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
