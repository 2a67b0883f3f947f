"""Pydantic types in tool signatures: described and validated by pydantic itself.

Theory of operation
-------------------
pydantic is optional.  This module never imports it on its own: a pydantic type can only appear
in an annotation once the app has imported pydantic, so :func:`is_pydantic_type` and
:func:`pydantic_metadata` look for it in ``sys.modules`` and answer ``False`` when it is not
there.  Only then are the nodes below built, and they import what they need lazily.

A :class:`PydanticNode` stands for an annotation pydantic handles whole: a ``BaseModel`` (or a
pydantic dataclass) — also nested, in lists, optional — or an ``Annotated`` type carrying
pydantic constraints (``Field(ge=1)``, ``annotated_types.MaxLen(3)``...).  Its schema is the
one pydantic gives that annotation as a field of a model, exactly as the OpenAI Agents SDK's
``function_tool`` gets it (the named types go to ``$defs``); its conversion is pydantic's
validation (in pydantic's usual lax mode, as in the SDK).  A validation error becomes a
:class:`~rtagents._core.schema.ToolArgumentError` naming each offending path, so the model reads
what was wrong instead of the call crashing.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rtagents._core.schema import ObjectNode, SchemaContext
from rtagents._core.schema_errors import (
    ToolSchemaError,
    argument_error,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_FIELD = "v"  # the wrapper model's one field (its default title is "V")


def is_pydantic_type(annotation: object) -> bool:
    """A class pydantic validates itself: a ``BaseModel`` or a pydantic dataclass."""
    if "pydantic" not in sys.modules or not isinstance(annotation, type):
        return False
    from pydantic import BaseModel

    return issubclass(annotation, BaseModel) or hasattr(annotation, "__pydantic_validator__")


def pydantic_metadata(metadata: object) -> bool:
    """Whether an ``Annotated`` extra means something to pydantic (a ``Field``, a constraint)."""
    module = type(metadata).__module__ or ""
    return module.split(".")[0] in ("pydantic", "annotated_types", "pydantic_core")


def is_field_info(value: object) -> bool:
    if "pydantic" not in sys.modules:
        return False
    from pydantic.fields import FieldInfo

    return isinstance(value, FieldInfo)


class PydanticNode(ObjectNode):
    """An annotation pydantic describes and validates (see the module docstring).  It is an
    :class:`ObjectNode` so that a model may stand wherever a record may."""

    def __init__(self, annotation: Any, where: str = "") -> None:
        super().__init__([])
        self.annotation = annotation
        self._adapter: TypeAdapter[Any] | None = None
        try:
            self._field, self._defs = self._describe()
        except Exception as exc:  # a type pydantic has no schema for
            name = getattr(annotation, "__name__", None) or repr(annotation)
            raise ToolSchemaError(f"{where}: pydantic cannot describe {name}: {exc}") from exc
        self.titled = self._field.get("title") == _FIELD.title()
        if self.titled:
            del self._field["title"]

    def _describe(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from pydantic import create_model

        wrapper = create_model("RtagentsField", **{_FIELD: (self.annotation, ...)})  # type: ignore[call-overload]
        full = wrapper.model_json_schema()
        field = full["properties"][_FIELD]
        field.pop("description", None)  # descriptions are placed where the field is used
        return field, full.get("$defs", {})

    @property
    def adapter(self) -> TypeAdapter[Any]:
        if self._adapter is None:
            from pydantic import TypeAdapter

            self._adapter = TypeAdapter(self.annotation)
        return self._adapter

    def render(self, ctx: SchemaContext) -> dict[str, Any]:
        return ctx.adopt(self._field, self._defs)

    def body(self, ctx: SchemaContext, title: str | None = None) -> dict[str, Any]:
        # As the root of a schema (a handoff's input): the model itself, as pydantic gives it.
        root = dict(self.adapter.json_schema())
        schema = ctx.adopt(root, root.pop("$defs", {}))
        return {**schema, "title": title} if title else schema

    def convert(self, value: object, path: str) -> Any:
        from pydantic import ValidationError

        try:
            return self.adapter.validate_python(value)
        except ValidationError as exc:
            raise argument_error(exc, path) from None
