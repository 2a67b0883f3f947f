"""Python type hints as JSON Schema, and the model's JSON arguments back as Python values.

Theory of operation
-------------------
``compile_type(annotation)`` turns one annotation into a small tree of nodes; each node knows its
JSON Schema (``schema()``) and how to check and convert a decoded JSON value (``convert``).  One
tree serves both directions, so what the model is told and what is accepted cannot drift apart.

Supported: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``Literal[...]``, ``enum.Enum``
subclasses, ``list[T]`` (and ``Sequence[T]``, ``tuple[T, ...]``), ``dict[str, T]``, unions and
``Optional``, ``Annotated[T, "description"]``, and dataclasses, attrs classes and ``TypedDict``s as
nested objects (converted back to instances).  Anything else — ``bytes``, sets, fixed-length
tuples, arbitrary classes, recursive types, non-``str`` dict keys — raises :class:`ToolSchemaError`
naming the parameter, when the tool is defined rather than when the model calls it.

Conversion is strict where JSON is (``true`` is not an integer, ``"3"`` is not a number) and
follows JSON Schema where Python would differ (``2.0`` is an integer).  A mismatch raises
:class:`ToolArgumentError` with the path of the offending value, e.g. ``trip.stops[2].city``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import json
import types
import typing
from typing import Any

import attrs

from rtagents.protocol._json import json_kind

_PRIMITIVES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_JSON_SCALARS = (str, int, float, bool, type(None))


class ToolSchemaError(TypeError):
    """A tool's signature cannot be described to the model."""


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool's schema."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


_kind = json_kind  # the JSON name of a value's kind, for error messages


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Node:
    description: str | None = None

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def convert(self, value: object, path: str) -> Any:
        raise NotImplementedError

    def with_description(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema = {**schema, "description": self.description}
        return schema


class AnyNode(Node):
    def schema(self) -> dict[str, Any]:
        return self.with_description({})

    def convert(self, value: object, path: str) -> Any:
        return value


class Primitive(Node):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def schema(self) -> dict[str, Any]:
        return self.with_description({"type": self.kind})

    def convert(self, value: object, path: str) -> Any:
        kind = _kind(value)
        if kind == self.kind:
            return value
        if self.kind == "number" and kind == "integer":
            return float(value)  # type: ignore[arg-type]
        if self.kind == "integer" and kind == "number" and float(value).is_integer():  # type: ignore[arg-type]
            return int(value)  # type: ignore[call-overload]
        raise ToolArgumentError(path, f"expected {self.kind}, got {kind} {_short(value)}")


class NullNode(Node):
    def schema(self) -> dict[str, Any]:
        return self.with_description({"type": "null"})

    def convert(self, value: object, path: str) -> Any:
        if value is not None:
            raise ToolArgumentError(path, f"expected null, got {_kind(value)}")
        return None


class EnumNode(Node):
    def __init__(self, values: list[Any], enum_type: type[enum.Enum] | None = None) -> None:
        self.values = values
        self.enum_type = enum_type

    def schema(self) -> dict[str, Any]:
        kinds = sorted({_kind(v) for v in self.values})
        schema: dict[str, Any] = {"enum": list(self.values)}
        if len(kinds) == 1:
            schema = {"type": kinds[0], **schema}
        return self.with_description(schema)

    def convert(self, value: object, path: str) -> Any:
        numeric = ("integer", "number")
        for allowed in self.values:
            same_kind = _kind(allowed) == _kind(value) or (
                _kind(allowed) in numeric and _kind(value) in numeric  # JSON: 2.0 == 2
            )
            if same_kind and allowed == value:
                return self.enum_type(allowed) if self.enum_type is not None else allowed
        choices = ", ".join(repr(v) for v in self.values)
        raise ToolArgumentError(path, f"{_short(value)} is not one of {choices}")


class ArrayNode(Node):
    def __init__(self, item: Node | None, as_tuple: bool = False) -> None:
        self.item = item
        self.as_tuple = as_tuple

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array"}
        if self.item is not None:
            schema["items"] = self.item.schema()
        return self.with_description(schema)

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, list):
            raise ToolArgumentError(path, f"expected array, got {_kind(value)}")
        item = self.item
        out = [item.convert(v, _join(path, i)) for i, v in enumerate(value)] if item else value
        return tuple(out) if self.as_tuple else list(out)


class MapNode(Node):
    def __init__(self, value: Node | None) -> None:
        self.value = value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if self.value is not None:
            schema["additionalProperties"] = self.value.schema()
        return self.with_description(schema)

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise ToolArgumentError(path, f"expected object, got {_kind(value)}")
        node = self.value
        if node is None:
            return dict(value)
        return {k: node.convert(v, _join(path, k)) for k, v in value.items()}


@attrs.frozen
class Field:
    name: str
    node: Node
    required: bool
    default: Any = None


class ObjectNode(Node):
    """A fixed set of named fields; ``build`` makes the Python value from converted fields."""

    def __init__(
        self, fields: list[Field], build: typing.Callable[[dict[str, Any]], Any] | None = None
    ) -> None:
        self.fields = fields
        self.build = build

    def schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for f in self.fields:
            prop = f.node.schema()
            default = f.default.value if isinstance(f.default, enum.Enum) else f.default
            if not f.required and _is_json(default):
                prop = {**prop, "default": json.loads(json.dumps(default))}  # tuples as lists
            properties[f.name] = prop
        return self.with_description(
            {
                "type": "object",
                "properties": properties,
                "required": [f.name for f in self.fields if f.required],
                "additionalProperties": False,
            }
        )

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise ToolArgumentError(path, f"expected object, got {_kind(value)}")
        known = {f.name for f in self.fields}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ToolArgumentError(path, f"unexpected argument {', '.join(map(repr, unknown))}")
        out: dict[str, Any] = {}
        for f in self.fields:
            if f.name in value:
                out[f.name] = f.node.convert(value[f.name], _join(path, f.name))
            elif f.required:
                raise ToolArgumentError(_join(path, f.name), "missing required argument")
        return self.build(out) if self.build is not None else out


class UnionNode(Node):
    def __init__(self, options: list[Node]) -> None:
        self.options = options

    def schema(self) -> dict[str, Any]:
        return self.with_description({"anyOf": [o.schema() for o in self.options]})

    def convert(self, value: object, path: str) -> Any:
        errors = []
        for option in self.options:
            try:
                return option.convert(value, path)
            except ToolArgumentError as exc:
                errors.append(str(exc.args[0]).removeprefix(f"{path}: "))
        raise ToolArgumentError(path, "matches no allowed type (" + "; ".join(errors) + ")")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_json(value: object) -> bool:
    if isinstance(value, _JSON_SCALARS):
        return not (isinstance(value, float) and value != value)
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def compile_type(annotation: object, where: str, _stack: tuple[object, ...] = ()) -> Node:
    """The node for `annotation`; `where` names it in errors (e.g. "parameter 'city' of f")."""
    if annotation is Any or annotation is object:
        return AnyNode()
    if annotation is None or annotation is type(None):
        return NullNode()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        node = compile_type(args[0], where, _stack)
        notes = [a for a in args[1:] if isinstance(a, str)]
        if notes:
            node.description = " ".join(notes)
        return node
    if origin is typing.Literal:
        bad = [a for a in args if not isinstance(a, _JSON_SCALARS)]
        if bad:
            raise ToolSchemaError(f"{where}: Literal values must be JSON scalars, not {bad[0]!r}")
        return EnumNode(list(args))
    if origin in (typing.Union, types.UnionType):
        options = [compile_type(a, where, _stack) for a in args]
        return options[0] if len(options) == 1 else UnionNode(options)
    if annotation in _PRIMITIVES:
        return Primitive(_PRIMITIVES[annotation])
    if annotation is list:
        return ArrayNode(None)
    if annotation is dict:
        return MapNode(None)
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence):
        return ArrayNode(compile_type(args[0], where, _stack) if args else None)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ArrayNode(compile_type(args[0], where, _stack), as_tuple=True)
        raise ToolSchemaError(
            f"{where}: fixed-length tuples are not supported; use list[T] or a dataclass"
        )
    if origin in (dict, collections.abc.Mapping):
        if args and args[0] is not str:
            raise ToolSchemaError(f"{where}: dict keys must be str (JSON object keys)")
        return MapNode(compile_type(args[1], where, _stack) if args else None)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            values = [m.value for m in annotation]
            if not values or any(not isinstance(v, str | int) for v in values):
                raise ToolSchemaError(
                    f"{where}: enum {annotation.__name__} must have str or int values"
                )
            return EnumNode(values, annotation)
        if annotation in _stack:
            raise ToolSchemaError(f"{where}: recursive type {annotation.__name__}")
        if dataclasses.is_dataclass(annotation) or attrs.has(annotation):
            return _record(annotation, where, (*_stack, annotation))
        if typing.is_typeddict(annotation):
            return _typed_dict(annotation, where, (*_stack, annotation))
    name = getattr(annotation, "__name__", None) or repr(annotation)
    raise ToolSchemaError(
        f"{where}: type {name} cannot be sent as JSON; use str, int, float, bool, "
        "Literal, an Enum, list, dict[str, T], a dataclass or an attrs class"
    )


def _record(cls: type, where: str, stack: tuple[object, ...]) -> ObjectNode:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: list[Field] = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            default = f.default if f.default is not dataclasses.MISSING else None
            node = compile_type(hints[f.name], f"{where} (field {cls.__name__}.{f.name})", stack)
            fields.append(Field(f.name, node, not has_default, default))
    else:
        for a in attrs.fields(cls):
            if not a.init:
                continue
            has_default = a.default is not attrs.NOTHING
            default = None if isinstance(a.default, attrs.Factory) or not has_default else a.default  # type: ignore[arg-type]
            annotation = hints.get(a.name, a.type)
            if annotation is None:
                raise ToolSchemaError(f"{where}: field {cls.__name__}.{a.name} has no type")
            node = compile_type(annotation, f"{where} (field {cls.__name__}.{a.name})", stack)
            fields.append(Field(a.alias or a.name, node, not has_default, default))
    node = ObjectNode(fields, lambda values: cls(**values))
    node.description = _first_paragraph(cls.__doc__) if _own_doc(cls) else None
    return node


def _typed_dict(cls: type, where: str, stack: tuple[object, ...]) -> ObjectNode:
    hints = typing.get_type_hints(cls, include_extras=True)
    required = getattr(cls, "__required_keys__", frozenset(hints))
    fields = [
        Field(
            name, compile_type(t, f"{where} (key {cls.__name__}.{name})", stack), name in required
        )
        for name, t in hints.items()
    ]
    return ObjectNode(fields)


def _own_doc(cls: type) -> bool:
    # dataclasses invent a docstring from the signature: that is not a description.
    doc = cls.__doc__ or ""
    return bool(doc) and not doc.startswith(f"{cls.__name__}(")


def _first_paragraph(doc: str | None) -> str | None:
    if not doc:
        return None
    import inspect

    text = inspect.cleandoc(doc).split("\n\n")[0].strip()
    return " ".join(text.split()) or None
