"""Agents and function tools: what the model is told, and what it may call.

A :class:`RealtimeAgent` is a name, instructions and tools.  A :class:`FunctionTool` is a JSON
schema the model sees plus a coroutine the tool executor runs; :func:`function_tool` builds one
from a typed Python function (its docstring's first paragraph becomes the description).
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from rtagents import protocol as p

_JSON_TYPES: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


@attrs.frozen
class FunctionTool:
    """``on_invoke(arguments: dict) -> Any`` (sync or async); its result is sent to the model
    as text (``str`` as is, anything else as JSON)."""

    name: str
    description: str
    params_json_schema: dict[str, Any]
    on_invoke: Callable[[dict[str, Any]], Any] = attrs.field(repr=False)
    timeout: float | None = 30.0

    def to_protocol(self) -> p.FunctionTool:
        return p.FunctionTool(
            name=self.name, description=self.description, parameters=self.params_json_schema
        )

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        result = self.on_invoke(arguments)
        if inspect.isawaitable(result):
            result = await result
        return result


def _schema_for(annotation: object) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _schema_for(options[0]) if len(options) == 1 else {}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(annotation))}
    kind = _JSON_TYPES.get(origin or annotation)
    return {"type": kind} if kind else {}


@typing.overload
def function_tool(func: Callable[..., Any], /) -> FunctionTool: ...


@typing.overload
def function_tool(
    *, name: str | None = None, timeout: float | None = 30.0
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None, *, name: str | None = None, timeout: float | None = 30.0
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Decorator: a :class:`FunctionTool` from a function with annotated parameters."""

    def build(f: Callable[..., Any]) -> FunctionTool:
        hints = typing.get_type_hints(f)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in inspect.signature(f).parameters.values():
            properties[param.name] = _schema_for(hints.get(param.name, str))
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
        schema = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        doc = inspect.getdoc(f) or ""
        description = doc.split("\n\n")[0].replace("\n", " ")

        def on_invoke(arguments: dict[str, Any]) -> Any | Awaitable[Any]:
            return f(**arguments)

        return FunctionTool(
            f.__name__ if name is None else name, description, schema, on_invoke, timeout
        )

    return build(func) if func is not None else build


def tool_output_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result)
    except (TypeError, ValueError):
        return str(result)


@attrs.define
class RealtimeAgent:
    """An agent: what the model is told (``instructions``) and may call (``tools``)."""

    name: str
    instructions: str | None = None
    tools: Sequence[FunctionTool] = attrs.field(factory=list)
    handoff_description: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("RealtimeAgent.name must be a non-empty string")
        names = [t.name for t in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tool names: {', '.join(duplicates)}")

    def tool(self, name: str) -> FunctionTool | None:
        return next((t for t in self.tools if t.name == name), None)
