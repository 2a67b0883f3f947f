"""Function tools: what the model may call, described from a typed Python function.

Theory of operation
-------------------
:func:`function_tool` reads a function once, when it is decorated: the signature and type hints
become a JSON Schema through :mod:`rtagents._core.schema` (one node tree, used again to check and
convert the model's arguments), and the docstring gives the description (its first paragraph)
and each parameter's description (Google ``Args:``, Sphinx ``:param x:`` or NumPy
``Parameters`` sections).  A first parameter annotated :class:`~rtagents.context.RunContextWrapper`
or :class:`~rtagents.context.ToolContext` is not shown to the model; the session passes the run
context there.  Signatures that cannot be described (``*args``, unannotated parameters, types
with no JSON form) are rejected at decoration time with a message naming the parameter.

A :class:`FunctionTool` is a plain value: ``name``, ``description``, ``params_json_schema`` and
``on_invoke_tool(ctx, arguments_json) -> Awaitable[Any]``, plus run options — ``timeout``,
``needs_approval`` (a bool, or a callable deciding per call), ``cancel_on_interrupt`` (cancel the
call when the user barges in) and ``failure_error_function`` (what the model reads when the tool
raises).  Tools made by hand just supply ``on_invoke_tool``.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from typing import Any

import attrs

from rtagents import protocol as p
from rtagents._core.schema import (
    Field,
    ObjectNode,
    ToolArgumentError,
    ToolSchemaError,
    compile_type,
)
from rtagents.context import RunContextWrapper, ToolContext

__all__ = [
    "FunctionTool",
    "ToolArgumentError",
    "ToolSchemaError",
    "default_tool_error_function",
    "function_tool",
    "tool_output_text",
]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

ApprovalPolicy = bool | Callable[[RunContextWrapper[Any], dict[str, Any], str], Any]
ErrorFunction = Callable[[RunContextWrapper[Any], Exception], Any]


def default_tool_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """What the model reads when a tool raises (it can then apologise or retry)."""
    return f"An error occurred while running the tool. Please try again. Error: {error}"


def check_tool_name(name: str) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ToolSchemaError(
            f"invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
        )
    return name


@attrs.frozen
class FunctionTool:
    """A tool the model can call.  ``on_invoke_tool(ctx, arguments_json)`` may be sync or async;
    its result is sent to the model as text (``str`` as is, anything else as JSON)."""

    name: str = attrs.field(validator=lambda _, __, v: check_tool_name(v))
    description: str
    params_json_schema: dict[str, Any]
    on_invoke_tool: Callable[[ToolContext[Any], str], Any] = attrs.field(repr=False)
    timeout: float | None = 30.0
    needs_approval: ApprovalPolicy = False
    cancel_on_interrupt: bool = False
    failure_error_function: ErrorFunction | None = attrs.field(
        default=default_tool_error_function, repr=False
    )

    def to_protocol(self) -> p.FunctionTool:
        return p.FunctionTool(
            name=self.name, description=self.description, parameters=self.params_json_schema
        )

    async def invoke(self, ctx: ToolContext[Any], arguments: str) -> Any:
        """Run the tool.  :class:`ToolArgumentError` means the model sent bad arguments."""
        result = self.on_invoke_tool(ctx, arguments)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def requires_approval(
        self, ctx: RunContextWrapper[Any], arguments: str, call_id: str
    ) -> bool:
        policy = self.needs_approval
        if isinstance(policy, bool):
            return policy
        try:
            parsed = json.loads(arguments or "{}")
        except ValueError:
            return True  # cannot tell what it would do: ask
        decision = policy(ctx, parsed, call_id)
        if inspect.isawaitable(decision):
            decision = await decision
        return bool(decision)


def parse_arguments(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError as exc:
        raise ToolArgumentError("", f"arguments are not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise ToolArgumentError("", "arguments must be a JSON object")
    return parsed


def _is_context(annotation: object) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, RunContextWrapper)


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params)\s*:?\s*$")
_SPHINX = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:(.*(?:\n[ \t]+.*)*)", re.M)
_GOOGLE_PARAM = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_PARAM = re.compile(r"^(\w+)\s*(?::.*)?$")


def _is_rule(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) == {"-"}


def _section_params(body: list[str], numpy: bool) -> dict[str, str]:
    params: dict[str, str] = {}
    lines = [line for line in body if line.strip()]
    if not lines:
        return params
    base = min(len(line) - len(line.lstrip()) for line in lines)
    current: str | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent == base:
            match = (_NUMPY_PARAM if numpy else _GOOGLE_PARAM).match(text)
            current = match.group(1) if match else None
            if match:
                params[current] = "" if numpy else match.group(2).strip()  # type: ignore[index]
        elif current is not None:
            params[current] = (params[current] + " " + text).strip()
    return params


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description (first paragraph) and the parameter descriptions of a docstring, in
    Google (``Args:``), Sphinx (``:param x:``) or NumPy (``Parameters`` / ``----------``) style."""
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    lines = text.splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line) or line.startswith(":"):
            break
        first.append(line.strip())
    params = {m.group(1): " ".join(m.group(2).split()) for m in _SPHINX.finditer(text)}
    for index, line in enumerate(lines):
        if not _SECTION.match(line):
            continue
        numpy = index + 1 < len(lines) and _is_rule(lines[index + 1])
        start = index + (2 if numpy else 1)
        end = start
        while end < len(lines):
            current = lines[end]
            if numpy and end + 1 < len(lines) and _is_rule(lines[end + 1]):
                break  # the next NumPy section's title
            if not numpy and current.strip() and not current[0].isspace():
                break  # Google sections are indented
            end += 1
        params.update(_section_params(lines[start:end], numpy))
    return " ".join(first), {k: v for k, v in params.items() if v}


def _build(
    func: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    timeout: float | None,
    needs_approval: ApprovalPolicy,
    cancel_on_interrupt: bool,
    failure_error_function: ErrorFunction | None,
) -> FunctionTool:
    tool_name = check_tool_name(name if name is not None else func.__name__)
    where_fn = f"tool {tool_name}"
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolSchemaError(f"{where_fn}: cannot resolve type hints ({exc})") from exc
    doc_description, doc_params = parse_docstring(inspect.getdoc(func))
    signature = inspect.signature(func)
    fields: list[Field] = []
    positional_only: list[str] = []
    takes_context = False
    for index, param in enumerate(signature.parameters.values()):
        where = f"parameter {param.name!r} of {where_fn}"
        annotation = hints.get(param.name, inspect.Parameter.empty)
        if _is_context(annotation):
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
        node = compile_type(annotation, where)
        if param.name in doc_params and not node.description:
            node.description = doc_params[param.name]
        required = param.default is inspect.Parameter.empty
        fields.append(Field(param.name, node, required, None if required else param.default))
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only.append(param.name)
    signature_node = ObjectNode(fields)
    schema = signature_node.schema()
    defaults = {f.name: f.default for f in fields if not f.required}

    def on_invoke_tool(ctx: ToolContext[Any], arguments: str) -> Any:
        values = signature_node.convert(parse_arguments(arguments), "")
        args: list[Any] = [ctx] if takes_context else []
        for key in positional_only:
            args.append(values.pop(key, defaults.get(key)))
        return func(*args, **values)

    return FunctionTool(
        name=tool_name,
        description=description if description is not None else doc_description,
        params_json_schema=schema,
        on_invoke_tool=on_invoke_tool,
        timeout=timeout,
        needs_approval=needs_approval,
        cancel_on_interrupt=cancel_on_interrupt,
        failure_error_function=failure_error_function,
    )


@typing.overload
def function_tool(func: Callable[..., Any], /) -> FunctionTool: ...


@typing.overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 30.0,
    needs_approval: ApprovalPolicy = False,
    cancel_on_interrupt: bool = False,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 30.0,
    needs_approval: ApprovalPolicy = False,
    cancel_on_interrupt: bool = False,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Decorator: a :class:`FunctionTool` from a sync or async function with annotated
    parameters.  ``failure_error_function=None`` lets the tool's exception reach the session
    (it becomes an ``error`` event, and the model is told the tool failed)."""

    def build(f: Callable[..., Any]) -> FunctionTool:
        return _build(
            f,
            name=name,
            description=description,
            timeout=timeout,
            needs_approval=needs_approval,
            cancel_on_interrupt=cancel_on_interrupt,
            failure_error_function=failure_error_function,
        )

    return build(func) if func is not None else build


def tool_output_text(result: Any) -> str:
    """How a tool's result is shown to the model."""
    if isinstance(result, str):
        return result
    if attrs.has(type(result)):
        result = attrs.asdict(result)
    else:
        import dataclasses

        if dataclasses.is_dataclass(result) and not isinstance(result, type):
            result = dataclasses.asdict(result)
    try:
        return json.dumps(result, default=str)
    except (TypeError, ValueError):
        return str(result)
