"""A function's signature read as a tool's parameters.

Theory of operation
-------------------
:func:`read_signature` reads a function once: each parameter's annotation becomes a node
(:func:`~rtagents._core.schema_compile.compile_type`) and a field of the parameters object, with its
default (shown to the model) and its description (the docstring's, given by the caller, over the
annotation's).  A context parameter (first, spotted by the caller's `is_context`) is not shown
to the model.  A pydantic ``Field(...)`` — as the default, or inside ``Annotated`` — is folded
into the annotation (its description and constraints) and gives the default or default factory,
which :class:`Signature` ``fill`` supplies when the model leaves the argument out, since the
function's own default is then the ``Field`` object.  ``*args``, ``**kwargs`` and unannotated
parameters are :class:`~rtagents._core.schema.ToolSchemaError` s naming the parameter.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from rtagents._core.schema import NO_DEFAULT, Field, ObjectNode, ToolSchemaError
from rtagents._core.schema_compile import compile_type
from rtagents._core.schema_pydantic import is_field_info


def _field_info(annotation: object, default: object) -> tuple[object, object, Any]:
    """A pydantic ``Field(...)`` (as the default, or in ``Annotated``) folded in: the annotation
    it describes, the default (``Parameter.empty`` if none) and a default factory."""
    empty = inspect.Parameter.empty
    if is_field_info(default):
        annotation, default = typing.Annotated[annotation, default], empty
    infos: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        infos = [m for m in typing.get_args(annotation) if is_field_info(m)]
    factory = None
    for info in infos if default is empty else ():
        if info.default_factory is not None:
            factory = info.default_factory
        elif not info.is_required():
            default = info.default
    return annotation, default, factory


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


@attrs.frozen
class Signature:
    """What one function asks of the model (``node``, the parameters object), and how to call
    it with what came back: the context first if it ``takes_context``, the ``positional_only``
    parameters by position, and ``fill`` supplying defaults the function itself does not hold
    (from a pydantic ``Field``)."""

    node: ObjectNode
    takes_context: bool
    positional_only: list[str]
    fill: dict[str, Callable[[], Any]]  # defaults the function itself does not hold


def read_signature(
    func: Callable[..., Any],
    where_fn: str,
    doc_params: dict[str, str],
    *,
    strict: bool,
    is_context: Callable[[object], bool],
) -> Signature:
    """Read `func`'s parameters (`where_fn` names it in errors; `doc_params` are the docstring's
    descriptions, which win over ``Annotated`` ones; `is_context` spots the context annotation)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolSchemaError(f"{where_fn}: cannot resolve type hints ({exc})") from exc
    fields: list[Field] = []
    positional_only: list[str] = []
    fill: dict[str, Callable[[], Any]] = {}
    takes_context = False
    for index, param in enumerate(inspect.signature(func).parameters.values()):
        where = f"parameter {param.name!r} of {where_fn}"
        annotation = hints.get(param.name, inspect.Parameter.empty)
        if is_context(annotation):
            if index != 0:
                raise ToolSchemaError(f"{where}: the context parameter must come first")
            takes_context = True
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ToolSchemaError(f"{where}: *args and **kwargs cannot be described to the model")
        if annotation is inspect.Parameter.empty:
            raise ToolSchemaError(
                f"{where} has no type annotation (annotate it; typing.Any accepts any JSON value)"
            )
        annotation, default, factory = _field_info(annotation, param.default)
        node = compile_type(annotation, where, strict=strict)
        required = default is inspect.Parameter.empty and factory is None
        if default is not param.default and default is not inspect.Parameter.empty:
            fill[param.name] = _constant(default)
        elif factory is not None:
            fill[param.name] = factory
        shown = NO_DEFAULT if default is inspect.Parameter.empty else default
        fields.append(Field(param.name, node, required, shown, doc_params.get(param.name)))
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only.append(param.name)
    return Signature(ObjectNode(fields, forbid_extra=strict), takes_context, positional_only, fill)
