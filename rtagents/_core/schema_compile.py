"""How each kind of annotation becomes a node of :mod:`rtagents._core.schema`.

Theory of operation
-------------------
:func:`compile_annotation` (and :func:`compile_type`) looks at
an annotation's form — ``Annotated``, ``Literal``, unions, containers, then classes — and builds
the node for it, recursing into arguments and fields; records (dataclasses, attrs classes,
``TypedDict``s) become named :class:`~rtagents._core.schema.ObjectNode` s that build the
instance back.  What pydantic must handle itself (its models, its ``Field`` constraints) becomes
a :class:`~rtagents._core.schema_pydantic.PydanticNode`, only when pydantic is already imported.
An annotation with no JSON form is a :class:`~rtagents._core.schema.ToolSchemaError` naming
where it was met.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import types
import typing
from typing import Any

import attrs

from rtagents._core import schema_pydantic as pyd
from rtagents._core.schema import (
    _JSON_SCALARS,
    _PRIMITIVES,
    NO_DEFAULT,
    AnyNode,
    ArrayNode,
    EnumNode,
    Field,
    MapNode,
    Node,
    NullNode,
    ObjectNode,
    Primitive,
    ToolSchemaError,
    UnionNode,
    class_doc,
)


def compile_annotation(
    annotation: object, where: str, _stack: tuple[object, ...] = (), *, strict: bool = True
) -> Node:
    """The node for `annotation` (see :func:`compile_type`)."""

    def inner(argument: object) -> Node:
        return compile_annotation(argument, where, _stack, strict=strict)

    if annotation is Any or annotation is object:
        return AnyNode()
    if annotation is None or annotation is type(None):
        return NullNode()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        extras = args[1:]
        fields = [m for m in extras if pyd.is_field_info(m)]
        simple = all(_simple_field(f) for f in fields)
        pydantic_only = [m for m in extras if pyd.pydantic_metadata(m) and m not in fields]
        delegate = not simple or bool(pydantic_only)  # pydantic must enforce something
        node = pyd.PydanticNode(annotation, where) if delegate else inner(args[0])
        notes = [a for a in extras if isinstance(a, str)]
        described = [f.description for f in fields if f.description]
        if notes or described:
            node.description = notes[0] if notes else described[-1]
        titles = [f.title for f in fields if f.title]
        if titles and not delegate:
            node.title = titles[-1]
        return node
    if origin is typing.Literal:
        values = [a.value if isinstance(a, enum.Enum) else a for a in args]
        bad = [a for a in values if not isinstance(a, _JSON_SCALARS)]
        if bad:
            raise ToolSchemaError(f"{where}: Literal values must be JSON scalars, not {bad[0]!r}")
        return EnumNode(values, members=list(args))
    if origin in (typing.Union, types.UnionType):
        options = [inner(a) for a in args]
        return options[0] if len(options) == 1 else UnionNode(options)
    if annotation in _PRIMITIVES:
        return Primitive(_PRIMITIVES[annotation])
    if annotation is list:
        return ArrayNode(None)
    if annotation is dict:
        return MapNode(None)
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence):
        return ArrayNode(inner(args[0]) if args else None)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ArrayNode(inner(args[0]), as_tuple=True)
        raise ToolSchemaError(
            f"{where}: fixed-length tuples are not supported; use list[T] or a dataclass"
        )
    if origin in (dict, collections.abc.Mapping):
        if args and args[0] is not str:
            raise ToolSchemaError(f"{where}: dict keys must be str (JSON object keys)")
        return MapNode(inner(args[1]) if args else None)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            values = [m.value for m in annotation]
            if not values or any(not isinstance(v, str | int) for v in values):
                raise ToolSchemaError(
                    f"{where}: enum {annotation.__name__} must have str or int values"
                )
            return EnumNode(values, annotation)
        if pyd.is_pydantic_type(annotation):
            return pyd.PydanticNode(annotation, where)
        if annotation in _stack:
            raise ToolSchemaError(f"{where}: recursive type {annotation.__name__}")
        if dataclasses.is_dataclass(annotation) or attrs.has(annotation):
            return _record(annotation, where, (*_stack, annotation), strict)
        if _is_typed_dict(annotation):
            return _typed_dict(annotation, where, (*_stack, annotation), strict)
    name = getattr(annotation, "__name__", None) or repr(annotation)
    raise ToolSchemaError(
        f"{where}: type {name} cannot be sent as JSON; use str, int, float, bool, "
        "Literal, an Enum, list, dict[str, T], a dataclass, an attrs class or a pydantic model"
    )


def _is_typed_dict(cls: type) -> bool:
    # typing_extensions' TypedDict (which pydantic wants before 3.12) is not typing's.
    return typing.is_typeddict(cls) or (
        issubclass(cls, dict) and hasattr(cls, "__required_keys__") and hasattr(cls, "__total__")
    )


def _simple_field(info: Any) -> bool:
    """A pydantic ``Field`` that only describes (no constraint pydantic must enforce)."""
    return not info.metadata and all(
        getattr(info, attr, None) is None
        for attr in ("json_schema_extra", "examples", "discriminator", "deprecated")
    )


def _record(cls: type, where: str, stack: tuple[object, ...], strict: bool) -> ObjectNode:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: list[Field] = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            default = f.default if f.default is not dataclasses.MISSING else NO_DEFAULT
            node = compile_annotation(
                hints[f.name], f"{where} (field {cls.__name__}.{f.name})", stack, strict=strict
            )
            fields.append(Field(f.name, node, not has_default, default))
    else:
        for a in attrs.fields(cls):
            if not a.init:
                continue
            has_default = a.default is not attrs.NOTHING
            plain = has_default and not isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
            annotation = hints.get(a.name, a.type)
            if annotation is None:
                raise ToolSchemaError(f"{where}: field {cls.__name__}.{a.name} has no type")
            node = compile_annotation(
                annotation, f"{where} (field {cls.__name__}.{a.name})", stack, strict=strict
            )
            name = a.alias or a.name
            fields.append(Field(name, node, not has_default, a.default if plain else NO_DEFAULT))
    return ObjectNode(
        fields,
        lambda values: cls(**values),
        name=cls.__name__,
        doc=class_doc(cls),
        key=cls,
        forbid_extra=strict,
    )


def _typed_dict(cls: type, where: str, stack: tuple[object, ...], strict: bool) -> ObjectNode:
    hints = typing.get_type_hints(cls, include_extras=True)
    required = getattr(cls, "__required_keys__", frozenset(hints))
    fields = [
        Field(
            name,
            compile_annotation(t, f"{where} (key {cls.__name__}.{name})", stack, strict=strict),
            name in required,
        )
        for name, t in hints.items()
    ]
    return ObjectNode(fields, name=cls.__name__, doc=class_doc(cls), key=cls, forbid_extra=strict)


def compile_type(
    annotation: object, where: str, _stack: tuple[object, ...] = (), *, strict: bool = True
) -> Node:
    """The node for `annotation`; `where` names it in errors (e.g. "parameter 'city' of f").
    With ``strict``, the objects in it refuse undeclared keys (see :mod:`rtagents._core.schema`)."""
    return compile_annotation(annotation, where, _stack, strict=strict)
