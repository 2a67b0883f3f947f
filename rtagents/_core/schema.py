"""Python type hints as JSON Schema, and the model's JSON arguments back as Python values.

Theory of operation
-------------------
``compile_type(annotation, where)`` (in :mod:`rtagents._core.schema_compile`, with the rules
per kind of annotation) turns one annotation into a small tree of nodes; each node knows its JSON
Schema (rendered through a :class:`SchemaContext`, which collects named types) and how to check
and convert a decoded JSON value (``convert``).  One tree serves both directions,
so what the model is told and what is accepted cannot drift apart.  :func:`json_schema` renders
a whole schema: the root inline, named types (records, enums, pydantic models) under ``$defs``
and referenced, and with ``strict=True`` made strict by
:func:`~rtagents._core.schema_strict.ensure_strict_json_schema`.

The schemas are the ones pydantic writes — and so the ones the OpenAI Agents SDK's
``function_tool`` sends — for the same annotations: field titles from names, ``anyOf`` with
``null`` last for optional types, ``const`` for a one-value ``Literal``, class docstrings as
descriptions.  pydantic itself is not needed, except for pydantic types.

Supported: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``Literal[...]``, ``enum.Enum``
subclasses, ``list[T]`` (and ``Sequence[T]``, ``tuple[T, ...]``), ``dict[str, T]``, unions and
``Optional``, ``Annotated[T, "description"]``, dataclasses, attrs classes and ``TypedDict``s as
nested objects (converted back to instances), and — when the app uses pydantic — ``BaseModel``
subclasses and pydantic ``Field``/constraint metadata (:mod:`rtagents._core.schema_pydantic`).
Anything else — ``bytes``, sets, fixed-length tuples, arbitrary classes, recursive types,
non-``str`` dict keys — raises :class:`ToolSchemaError` naming the parameter, when the tool is
defined rather than when the model calls it.

Conversion is strict where JSON is (``true`` is not an integer, ``"3"`` is not a number) and
follows JSON Schema where Python would differ (``2.0`` is an integer).  A mismatch raises
:class:`ToolArgumentError` with the path of the offending value, e.g. ``trip.stops[2].city``.
Objects compiled with ``strict=True`` refuse keys they do not declare (their schema says
``additionalProperties: false``); with ``strict=False`` they ignore them, as pydantic does.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing
from typing import Any

import attrs

from rtagents._core.schema_errors import ToolArgumentError as ToolArgumentError
from rtagents._core.schema_errors import ToolSchemaError as ToolSchemaError
from rtagents._core.schema_errors import (
    argument_error,
    is_validation_error,
    join_path,
)
from rtagents._core.schema_strict import ensure_strict_json_schema
from rtagents.protocol._json import json_kind

_PRIMITIVES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_JSON_SCALARS = (str, int, float, bool, type(None))
_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class _NoDefault(enum.Enum):
    NO_DEFAULT = "NO_DEFAULT"


NO_DEFAULT = _NoDefault.NO_DEFAULT  #: a field with no default value (or a default factory)


_kind = json_kind  # the JSON name of a value's kind, for error messages


def title_of(name: str) -> str:
    """pydantic's default title for a field name: ``order_id`` -> ``Order Id``."""
    return name.title().replace("_", " ").strip()


class SchemaContext:
    """The ``$defs`` of one schema being rendered: each named type once, under a unique name."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self._names: dict[object, str] = {}

    def ref(
        self, key: object, name: str, render: typing.Callable[[SchemaContext], dict[str, Any]]
    ) -> dict[str, Any]:
        taken = self._names.get(key)
        if taken is None:
            if name in self.defs:  # another type of that name: share it if it is the same
                rendered = render(self)
                taken = name if self.defs[name] == rendered else self._free(key, name)
                self.defs[taken] = rendered
                self._names[key] = taken
            else:
                self._names[key] = taken = name
                self.defs[name] = render(self)
        return {"$ref": f"#/$defs/{taken}"}

    def _free(self, key: object, name: str) -> str:
        qualified = f"{getattr(key, '__module__', '')}__{getattr(key, '__qualname__', name)}"
        candidate = qualified.replace(".", "__").replace("<", "").replace(">", "")
        base, n = candidate, 1
        while candidate in self.defs:
            n += 1
            candidate = f"{base}_{n}"
        return candidate

    def adopt(self, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
        """Merge definitions rendered elsewhere (by pydantic), renaming any that clash."""
        renames: dict[str, str] = {}
        for name, definition in defs.items():
            if name in self.defs and self.defs[name] != definition:
                new, n = name, 1
                while new in self.defs or new in defs:
                    n += 1
                    new = f"{name}_{n}"
                renames[name] = new
        for name, definition in defs.items():
            self.defs.setdefault(renames.get(name, name), _renamed(definition, renames))
        return _renamed(schema, renames)  # type: ignore[no-any-return]


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    """A deep copy of a schema, its ``$defs`` references renamed."""
    if isinstance(value, dict):
        out = {k: _renamed(v, renames) for k, v in value.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            out["$ref"] = f"#/$defs/{renames.get(name, name)}"
        return out
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return value


class Node:
    description: str | None = None  # from Annotated: said where the type is used
    title: str | None = None  # a Field(title=...) for the field of this type
    titled: bool = True  # a field of this type gets a title from its name (pydantic's rule)

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        raise NotImplementedError

    def convert(self, value: object, path: str) -> Any:
        raise NotImplementedError

    def use(self, ctx: SchemaContext) -> dict[str, Any]:
        schema = self.render(ctx)
        return {**schema, "description": self.description} if self.description else schema

    def schema(self) -> dict[str, Any]:
        """This type's strict schema on its own (``$defs`` included)."""
        return json_schema(self)


class AnyNode(Node):
    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        return {}

    def convert(self, value: object, path: str) -> Any:
        return value


class Primitive(Node):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        return {"type": self.kind}

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
    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        return {"type": "null"}

    def convert(self, value: object, path: str) -> Any:
        if value is not None:
            raise ToolArgumentError(path, f"expected null, got {_kind(value)}")
        return None


class EnumNode(Node):
    """A ``Literal`` (its values, or enum members) or an ``Enum`` (named, in ``$defs``)."""

    def __init__(
        self,
        values: list[Any],
        enum_type: type[enum.Enum] | None = None,
        members: list[Any] | None = None,
    ) -> None:
        self.values = values
        self.enum_type = enum_type
        self.members = members if members is not None else list(values)
        self.titled = enum_type is None

    def _body(self, ctx: SchemaContext) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if self.enum_type is not None:
            schema["title"] = self.enum_type.__name__
            doc = class_doc(self.enum_type)
            if doc and doc != "An enumeration.":
                schema["description"] = doc
        if len(self.values) == 1 and self.enum_type is None:
            schema["const"] = self.values[0]
        else:
            schema["enum"] = list(self.values)
        kinds = {type(v) for v in self.values}
        if len(kinds) == 1 and (kinds <= set(_TYPE_NAMES) or kinds == {type(None)}):
            schema["type"] = _TYPE_NAMES.get(kinds.pop(), "null")
        return schema

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        if self.enum_type is None:
            return self._body(ctx)
        return ctx.ref(self.enum_type, self.enum_type.__name__, self._body)

    def convert(self, value: object, path: str) -> Any:
        numeric = ("integer", "number")
        for allowed, member in zip(self.values, self.members, strict=True):
            same_kind = _kind(allowed) == _kind(value) or (
                _kind(allowed) in numeric and _kind(value) in numeric  # JSON: 2.0 == 2
            )
            if same_kind and allowed == value:
                return self.enum_type(allowed) if self.enum_type is not None else member
        choices = ", ".join(repr(v) for v in self.values)
        raise ToolArgumentError(path, f"{_short(value)} is not one of {choices}")


class ArrayNode(Node):
    def __init__(self, item: Node | None, as_tuple: bool = False) -> None:
        self.item = item
        self.as_tuple = as_tuple

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        return {"items": self.item.use(ctx) if self.item else {}, "type": "array"}

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, list):
            raise ToolArgumentError(path, f"expected array, got {_kind(value)}")
        item = self.item
        out = [item.convert(v, join_path(path, i)) for i, v in enumerate(value)] if item else value
        return tuple(out) if self.as_tuple else list(out)


class MapNode(Node):
    def __init__(self, value: Node | None) -> None:
        self.value = value

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        value = self.value
        anything = value is None or (type(value) is AnyNode and not value.description)
        return {"additionalProperties": True if anything else value.use(ctx), "type": "object"}  # type: ignore[union-attr]

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise ToolArgumentError(path, f"expected object, got {_kind(value)}")
        node = self.value
        if node is None:
            return dict(value)
        return {k: node.convert(v, join_path(path, k)) for k, v in value.items()}


@attrs.frozen
class Field:
    name: str
    node: Node
    required: bool
    default: Any = NO_DEFAULT
    description: str | None = None  # wins over the node's own (a docstring over Annotated)


class ObjectNode(Node):
    """A fixed set of named fields; ``build`` makes the Python value from converted fields.
    With a ``name`` it is a named type (a ``$defs`` entry); ``key`` identifies it there."""

    def __init__(
        self,
        fields: list[Field],
        build: typing.Callable[[dict[str, Any]], Any] | None = None,
        *,
        name: str | None = None,
        doc: str | None = None,
        key: object = None,
        forbid_extra: bool = True,
    ) -> None:
        self.fields = fields
        self.build = build
        self.name = name
        self.doc = doc
        self.key = key if key is not None else name
        self.forbid_extra = forbid_extra
        self.titled = name is None

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        if self.name is None:
            return self.body(ctx)
        return ctx.ref(self.key, self.name, self.body)

    def body(self, ctx: SchemaContext, title: str | None = None) -> dict[str, Any]:
        """The object's schema inline (as a definition, or as the root of a schema)."""
        properties: dict[str, Any] = {}
        for f in self.fields:
            prop = f.node.use(ctx)
            if f.description:
                prop["description"] = f.description
            if f.node.title or f.node.titled:
                prop["title"] = f.node.title or title_of(f.name)
            default = jsonable(f.default)
            if default is not NO_DEFAULT:
                prop["default"] = default
            properties[f.name] = prop
        schema: dict[str, Any] = {"description": self.doc} if self.doc else {}
        schema["properties"] = properties
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if title or self.name:
            schema["title"] = title or self.name
        schema["type"] = "object"
        return schema

    def convert(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise ToolArgumentError(path, f"expected object, got {_kind(value)}")
        if self.forbid_extra:
            unknown = sorted(set(value) - {f.name for f in self.fields})
            if unknown:
                raise ToolArgumentError(
                    path, f"unexpected argument {', '.join(map(repr, unknown))}"
                )
        out: dict[str, Any] = {}
        for f in self.fields:
            if f.name in value:
                out[f.name] = f.node.convert(value[f.name], join_path(path, f.name))
            elif f.required:
                raise ToolArgumentError(join_path(path, f.name), "missing required argument")
        if self.build is None:
            return out
        try:
            return self.build(out)
        except ValueError as exc:  # a pydantic dataclass, a __post_init__ check...
            if is_validation_error(exc):
                raise argument_error(exc, path) from None
            raise ToolArgumentError(path, str(exc)) from None


class UnionNode(Node):
    def __init__(self, options: list[Node]) -> None:
        self.options = options
        others = [o for o in options if not isinstance(o, NullNode)]
        self.titled = others[0].titled if len(others) == 1 < len(options) else True

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        ordered = sorted(self.options, key=lambda o: isinstance(o, NullNode))  # null last
        return {"anyOf": [o.use(ctx) for o in ordered]}

    def convert(self, value: object, path: str) -> Any:
        errors = []
        for option in self.options:
            try:
                return option.convert(value, path)
            except ToolArgumentError as exc:
                errors.append(str(exc.args[0]).removeprefix(f"{path}: "))
        raise ToolArgumentError(path, "matches no allowed type (" + "; ".join(errors) + ")")


def json_schema(node: Node, *, title: str | None = None, strict: bool = True) -> dict[str, Any]:
    """The whole schema of `node`: inline at the root, with ``$defs``; strict if asked."""
    ctx = SchemaContext()
    body = node.body(ctx, title) if isinstance(node, ObjectNode) else node.use(ctx)
    schema = {"$defs": ctx.defs, **body} if ctx.defs else body
    if strict:
        schema = ensure_strict_json_schema(schema)
    return schema


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def jsonable(value: object) -> Any:
    """A default value as JSON (as pydantic shows it), or ``NO_DEFAULT`` if it has no JSON form."""
    if isinstance(value, enum.Enum) and value is not NO_DEFAULT:
        value = value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif attrs.has(type(value)):
        value = attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
    elif callable(getattr(value, "model_dump", None)) and not isinstance(value, type):
        value = value.model_dump(mode="json")  # type: ignore[attr-defined]
    if isinstance(value, float) and value != value:
        return NO_DEFAULT
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, list | tuple):
        items = [jsonable(v) for v in value]
        return NO_DEFAULT if NO_DEFAULT in items else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        entries = {k: jsonable(v) for k, v in value.items()}
        return NO_DEFAULT if NO_DEFAULT in entries.values() else entries
    return NO_DEFAULT


def class_doc(cls: type) -> str | None:
    """A class's own docstring, cleaned (a dataclass's generated signature is not one)."""
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    return inspect.cleandoc(doc)
