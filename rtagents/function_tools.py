"""Function tools: what the model may call, described from a typed Python function.

Theory of operation
-------------------
:func:`function_tool` takes the OpenAI Agents SDK's keyword arguments, with the SDK's names,
defaults and meaning, so SDK tools port by changing imports.  It reads a function once, when it
is decorated: the signature (:mod:`rtagents._core.schema_signature`) and type hints become a
JSON Schema through :mod:`rtagents._core.schema` (one node tree, used again to check and convert
the model's arguments; the schema is the one the SDK would send, strict by default), and the
docstring gives
the description and each parameter's description (:mod:`rtagents._core.schema_docstring`: Google,
NumPy or Sphinx style, detected as the SDK does).  pydantic models, ``Field(...)`` defaults and
constraints work when the app uses pydantic; pydantic is never required.  A first parameter
annotated :class:`~rtagents.context.RunContextWrapper` or :class:`~rtagents.context.ToolContext`
is not shown to the model; the session passes the run context there.  Signatures that cannot be
described (``*args``, unannotated parameters, types with no JSON form) are rejected at
decoration time with a message naming the parameter.  SDK options this runtime does not have
(tool guardrails, deferred loading, output schemas...) raise a :class:`TypeError` unless left
at their defaults.

A :class:`FunctionTool` is a plain value, built by :func:`function_tool` or by hand the SDK way:
``FunctionTool(name, description, params_json_schema, on_invoke_tool)`` with
``on_invoke_tool(ctx, arguments_json)`` sync or async, then keyword-only options with the SDK's
field names — ``strict_json_schema`` (the schema is made strict when it is constructed, as in the
SDK), ``is_enabled``, ``needs_approval``, ``timeout_seconds`` (``timeout`` is an alias),
``timeout_behavior``, ``timeout_error_function`` — and ours: ``cancel_on_interrupt`` (cancel the
call when the user barges in) and ``failure_error_function``.  How a call is run, timed out and
answered is :mod:`rtagents.actors.tools`' business; a plain (not ``async``) ``on_invoke_tool`` —
every sync function given to :func:`function_tool` — is run there in a worker thread
(:attr:`FunctionTool.runs_in_thread`).

What the model reads (:func:`tool_output_text`, in :mod:`rtagents._core.tool_output`): a ``str``
as is; anything else as JSON — attrs classes, dataclasses and pydantic models
(``model_dump(mode="json")``) as objects, tuples and sets as arrays, dict keys that are not
strings by their ``str()``, NaN and the infinities as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``, any other object by its ``str()`` (so an ``Enum`` member reads ``"Unit.C"``,
bytes ``"b'...'"``); keys that read the same are numbered (``"1"``, ``"1 (2)"``). Conversion
never raises: each value is converted under its own guard, structures are followed
:data:`MAX_OUTPUT_DEPTH` (64) levels deep, a circular reference reads ``"<circular
reference>"``, a value whose ``str()`` and ``repr()`` both fail reads as a placeholder naming
its type (the whole output, when that is the result itself: "The tool returned a X, which could
not be converted to text."), an integer too long to print as its size, and lone surrogates as
U+FFFD so the link can send the text. The text is cut at :data:`MAX_OUTPUT_CHARS` (100,000)
characters, ending with a note saying so: the Realtime API states no limit of its own for a
``function_call_output``, but a realtime model's whole context (32,768 tokens for
``gpt-realtime``, some 130,000 characters) could not hold more, so more is never useful. The work is
bounded by the limit too: a structure is followed only as far as the text it makes can be read
(a list of ten million items costs what its first 100,000 characters do), and long strings and
bytes are cut before they are copied; only an object's own ``str()`` (or ``model_dump``) is left
to take what it takes."""

from __future__ import annotations

import inspect
import json
import math
import re
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import attrs

from rtagents import protocol as p
from rtagents._core.schema import ToolArgumentError, ToolSchemaError, json_schema
from rtagents._core.schema_docstring import STYLES, DocstringStyle, parse_docstring
from rtagents._core.schema_signature import read_signature
from rtagents._core.schema_strict import ensure_strict_json_schema
from rtagents._core.tool_output import MAX_OUTPUT_CHARS as MAX_OUTPUT_CHARS
from rtagents._core.tool_output import MAX_OUTPUT_DEPTH as MAX_OUTPUT_DEPTH
from rtagents._core.tool_output import ToolOutputText as ToolOutputText
from rtagents._core.tool_output import cap_output_text as cap_output_text
from rtagents._core.tool_output import convert_tool_output as convert_tool_output
from rtagents._core.tool_output import tool_output_text as tool_output_text
from rtagents.context import RunContextWrapper, ToolContext

__all__ = [
    "DocstringStyle",
    "FunctionTool",
    "ToolArgumentError",
    "ToolOutputText",
    "ToolSchemaError",
    "ToolTimeoutError",
    "convert_tool_output",
    "default_tool_error_function",
    "default_tool_timeout_error_message",
    "function_tool",
    "parse_docstring",
    "tool_output_text",
]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UNSUPPORTED_HINT = "see README: Coming from the OpenAI Agents SDK"

ApprovalPolicy = bool | Callable[[RunContextWrapper[Any], dict[str, Any], str], Any]
ErrorFunction = Callable[[RunContextWrapper[Any], Exception], Any]
IsEnabled = bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]]
TimeoutBehavior = Literal["error_as_result", "raise_exception"]
TIMEOUT_BEHAVIORS: tuple[TimeoutBehavior, ...] = ("error_as_result", "raise_exception")


class ToolTimeoutError(Exception):
    """A tool call ran longer than its ``timeout_seconds`` (the SDK's exception and message)."""

    def __init__(self, tool_name: str, timeout_seconds: float) -> None:
        self.tool_name = tool_name
        self.timeout_seconds = timeout_seconds
        super().__init__(default_tool_timeout_error_message(tool_name, timeout_seconds))


def default_tool_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """What the model reads when a tool raises: the SDK's fixed text, which does not expose the
    exception (give your own ``failure_error_function`` to say more)."""
    return "An error occurred while running the tool. Please try again."


def default_tool_timeout_error_message(tool_name: str, timeout_seconds: float) -> str:
    """What the model reads when a call times out (``timeout_behavior="error_as_result"``)."""
    return f"Tool '{tool_name}' timed out after {timeout_seconds:g} seconds."


def check_tool_name(name: str) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ToolSchemaError(
            f"invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
        )
    return name


def _refuse_unsupported(where: str, options: dict[str, Any]) -> None:
    """SDK options this runtime lacks: fine at their defaults, a clear error otherwise."""
    for option, value in options.items():
        if value is not None and value is not False and value != []:
            raise TypeError(f"{where}: {option} is not supported by rtagents ({UNSUPPORTED_HINT})")


def _check_callable(where: str, option: str, value: object, *, none: bool = False) -> None:
    if not callable(value) and not (none and value is None):
        kind = "a callable or None" if none else "a callable"
        raise TypeError(f"{where}: {option} must be {kind}, not {type(value).__name__}")


def _check_policy(where: str, option: str, value: object) -> None:
    if not isinstance(value, bool) and not callable(value):
        raise TypeError(f"{where}: {option} must be a bool or a callable, not {value!r}")


def _check_timeout(seconds: object, behavior: object, error_function: object) -> float | None:
    """The SDK's checks and messages for the timeout options."""
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(
                "FunctionTool timeout_seconds must be a positive number in seconds or None."
            )
        if not math.isfinite(seconds):
            raise ValueError("FunctionTool timeout_seconds must be a finite number.")
        if seconds <= 0:
            raise ValueError("FunctionTool timeout_seconds must be greater than 0.")
        seconds = float(seconds)
    if behavior not in TIMEOUT_BEHAVIORS:
        raise ValueError(
            "FunctionTool timeout_behavior must be one of: " + ", ".join(TIMEOUT_BEHAVIORS)
        )
    if error_function is not None and not callable(error_function):
        raise TypeError("FunctionTool timeout_error_function must be callable or None.")
    return seconds


_UNSET: Any = object()


@attrs.frozen(init=False)
class FunctionTool:
    """A tool the model can call (see the module docstring).  ``on_invoke_tool(ctx,
    arguments_json)`` may be sync or async; its result is sent to the model as text (``str`` as
    is, anything else as JSON).  Positional arguments stop after ``on_invoke_tool``, so SDK code
    passing more positionally fails loudly instead of meaning something else."""

    name: str
    description: str
    params_json_schema: dict[str, Any]
    on_invoke_tool: Callable[[ToolContext[Any], str], Any] = attrs.field(repr=False)
    strict_json_schema: bool = True
    is_enabled: IsEnabled = True
    needs_approval: ApprovalPolicy = False
    timeout_seconds: float | None = None
    timeout_behavior: TimeoutBehavior = "error_as_result"
    timeout_error_function: ErrorFunction | None = attrs.field(default=None, repr=False)
    cancel_on_interrupt: bool = False
    failure_error_function: ErrorFunction | None = attrs.field(
        default=default_tool_error_function, repr=False
    )

    def __init__(
        self,
        name: str,
        description: str,
        params_json_schema: dict[str, Any],
        on_invoke_tool: Callable[[ToolContext[Any], str], Any],
        *,
        strict_json_schema: bool = True,
        is_enabled: IsEnabled = True,
        needs_approval: ApprovalPolicy = False,
        timeout_seconds: float | None = None,
        timeout_behavior: TimeoutBehavior = "error_as_result",
        timeout_error_function: ErrorFunction | None = None,
        cancel_on_interrupt: bool = False,
        failure_error_function: ErrorFunction | None = default_tool_error_function,
        timeout: float | None = _UNSET,
        tool_input_guardrails: Sequence[Any] | None = None,
        tool_output_guardrails: Sequence[Any] | None = None,
        defer_loading: bool = False,
        custom_data_extractor: Callable[..., Any] | None = None,
        allowed_callers: Sequence[str] | None = None,
        output_json_schema: dict[str, Any] | None = None,
    ) -> None:
        where = "FunctionTool"
        _refuse_unsupported(
            where,
            {
                "tool_input_guardrails": tool_input_guardrails,
                "tool_output_guardrails": tool_output_guardrails,
                "defer_loading": defer_loading,
                "custom_data_extractor": custom_data_extractor,
                "allowed_callers": allowed_callers,
                "output_json_schema": output_json_schema,
            },
        )
        if timeout is not _UNSET:
            if timeout_seconds is not None and timeout_seconds != timeout:
                raise TypeError("FunctionTool: give timeout_seconds or its alias timeout, not both")
            timeout_seconds = timeout
        check_tool_name(name)
        if not isinstance(description, str):
            raise TypeError(f"{where}.description must be a str, not {type(description).__name__}")
        if not isinstance(params_json_schema, dict):
            raise TypeError(f"{where}.params_json_schema must be a dict (a JSON schema)")
        _check_callable(where, "on_invoke_tool", on_invoke_tool)
        for option, flag in (
            ("strict_json_schema", strict_json_schema),
            ("cancel_on_interrupt", cancel_on_interrupt),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{where}.{option} must be a bool, not {flag!r}")
        _check_policy(where, "is_enabled", is_enabled)
        _check_policy(where, "needs_approval", needs_approval)
        _check_callable(where, "failure_error_function", failure_error_function, none=True)
        seconds = _check_timeout(timeout_seconds, timeout_behavior, timeout_error_function)
        if strict_json_schema:
            params_json_schema = ensure_strict_json_schema(params_json_schema)
        self.__attrs_init__(
            name,
            description,
            params_json_schema,
            on_invoke_tool,
            strict_json_schema,
            is_enabled,
            needs_approval,
            seconds,
            timeout_behavior,
            timeout_error_function,
            cancel_on_interrupt,
            failure_error_function,
        )

    @property
    def timeout(self) -> float | None:
        """``timeout_seconds``, by the name ``function_tool`` takes it."""
        return self.timeout_seconds

    def to_protocol(self) -> p.FunctionTool:
        return p.FunctionTool(
            name=self.name, description=self.description, parameters=self.params_json_schema
        )

    async def enabled(self, ctx: RunContextWrapper[Any], agent: Any) -> bool:
        """Whether the model is shown this tool, for this agent now (``is_enabled``)."""
        if isinstance(self.is_enabled, bool):
            return self.is_enabled
        decision = self.is_enabled(ctx, agent)
        if inspect.isawaitable(decision):
            decision = await decision
        return bool(decision)

    @property
    def runs_in_thread(self) -> bool:
        """Whether the session runs ``on_invoke_tool`` in a worker thread: it does when that is
        a plain (not ``async``) callable — a sync function given to :func:`function_tool`, or a
        sync ``on_invoke_tool`` given by hand — so that a blocking tool cannot stall the event
        loop and its timeout holds (see :mod:`rtagents.actors.tools`).  Whatever it returns is
        awaited on the event loop if it is awaitable."""
        return not _is_async_callable(self.on_invoke_tool)

    async def invoke(self, ctx: ToolContext[Any], arguments: str) -> Any:
        """Run the tool here, on the calling thread (the session's executor runs a tool that
        :attr:`runs_in_thread` in a worker thread instead).  :class:`ToolArgumentError` means
        the model sent bad arguments."""
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


def _is_async_callable(func: object) -> bool:
    """Whether calling `func` starts a coroutine: an ``async def`` function (also through
    :func:`functools.partial`) or an object with an ``async def __call__``."""
    if inspect.iscoroutinefunction(func):
        return True
    return callable(func) and inspect.iscoroutinefunction(type(func).__call__)


def _is_context(annotation: object) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, RunContextWrapper)


def _build(
    func: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    docstring_style: DocstringStyle | None,
    use_docstring_info: bool,
    strict: bool,
    options: dict[str, Any],
) -> FunctionTool:
    if not callable(func):
        raise TypeError(f"function_tool needs a function, not {type(func).__name__}")
    tool_name = check_tool_name(name or func.__name__)
    where_fn = f"tool {tool_name}"
    doc_description, doc_params = "", dict[str, str]()
    if use_docstring_info:
        doc_description, doc_params = parse_docstring(inspect.getdoc(func), docstring_style)
    sig = read_signature(func, where_fn, doc_params, strict=strict, is_context=_is_context)
    defaults = {f.name: f.default for f in sig.node.fields if not f.required}

    def call(ctx: ToolContext[Any], arguments: str) -> Any:
        values = sig.node.convert(parse_arguments(arguments), "")
        for key, make in sig.fill.items():
            if key not in values:
                values[key] = make()
        args: list[Any] = [ctx] if sig.takes_context else []
        for key in sig.positional_only:
            args.append(values.pop(key, defaults.get(key)))
        return func(*args, **values)

    # An async function gets an async on_invoke_tool (run on the event loop); a sync one a
    # plain one, which the executor runs in a worker thread (FunctionTool.runs_in_thread).
    on_invoke_tool: Callable[[ToolContext[Any], str], Any] = call
    if _is_async_callable(func):

        async def on_invoke_async(ctx: ToolContext[Any], arguments: str) -> Any:
            return await call(ctx, arguments)

        on_invoke_tool = on_invoke_async

    return FunctionTool(
        tool_name,
        description or doc_description,
        json_schema(sig.node, title=f"{tool_name}_args", strict=strict),
        on_invoke_tool,
        strict_json_schema=strict,
        **options,
    )


@typing.overload
def function_tool(
    func: Callable[..., Any],
    /,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: DocstringStyle | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: IsEnabled = True,
    needs_approval: ApprovalPolicy = False,
    tool_input_guardrails: Sequence[Any] | None = None,
    tool_output_guardrails: Sequence[Any] | None = None,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: ErrorFunction | None = None,
    defer_loading: bool = False,
    custom_data_extractor: Callable[..., Any] | None = None,
    allowed_callers: Sequence[str] | None = None,
    output_type: Any | None = None,
    output_json_schema: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    cancel_on_interrupt: bool = False,
) -> FunctionTool: ...


@typing.overload
def function_tool(
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: DocstringStyle | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: IsEnabled = True,
    needs_approval: ApprovalPolicy = False,
    tool_input_guardrails: Sequence[Any] | None = None,
    tool_output_guardrails: Sequence[Any] | None = None,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: ErrorFunction | None = None,
    defer_loading: bool = False,
    custom_data_extractor: Callable[..., Any] | None = None,
    allowed_callers: Sequence[str] | None = None,
    output_type: Any | None = None,
    output_json_schema: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    cancel_on_interrupt: bool = False,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: DocstringStyle | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: IsEnabled = True,
    needs_approval: ApprovalPolicy = False,
    tool_input_guardrails: Sequence[Any] | None = None,
    tool_output_guardrails: Sequence[Any] | None = None,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: ErrorFunction | None = None,
    defer_loading: bool = False,
    custom_data_extractor: Callable[..., Any] | None = None,
    allowed_callers: Sequence[str] | None = None,
    output_type: Any | None = None,
    output_json_schema: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    cancel_on_interrupt: bool = False,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Decorator: a :class:`FunctionTool` from a sync or async function with annotated
    parameters, with the OpenAI Agents SDK's options (see its documentation).  An async function
    runs on the event loop; a sync one in a worker thread, as in the SDK (``asyncio.to_thread``
    there): it may block, but it gets its context (a first ``RunContextWrapper`` /
    ``ToolContext`` parameter) in that thread, so what it touches there must be thread-safe, and
    it reaches the event loop only through :func:`trio.from_thread.run` / ``run_sync``.

    * ``name_override`` / ``description_override`` (``name`` / ``description`` are ours, kept);
      ``docstring_style`` (``"google"``, ``"numpy"``, ``"sphinx"``; ``None`` detects it);
      ``use_docstring_info=False`` takes neither description nor parameter descriptions from the
      docstring; ``strict_mode`` (default ``True``: every object closed and every property
      listed as required, optional ones keeping their default when left out).
    * ``is_enabled``: a bool or ``(ctx, agent) -> bool`` (or awaitable); a disabled tool is not
      shown to the model (decided whenever the session resolves the agent).
    * ``needs_approval``: a bool or ``(ctx, arguments, call_id) -> bool`` (or awaitable).
    * ``failure_error_function(ctx, error) -> str``: what the model reads when the tool raises
      (the SDK's default says an error occurred, without details).  ``None``: the exception
      reaches the session — an ``error`` event — and the model is told the tool failed.
    * ``timeout`` (seconds): ``None`` by default, as in the SDK — no limit.  There is no hidden
      safety net: a call that never returns holds one of the executor's ``max_calls`` slots (it
      never blocks audio or other calls; ``cancel_on_interrupt`` or a timeout bound it).  Sync
      functions can be timed out too (the SDK refuses that; here they run in a worker thread,
      which is abandoned at the timeout: see :mod:`rtagents.actors.tools`).
      ``timeout_behavior="error_as_result"`` (default): the model reads
      ``timeout_error_function(ctx, ToolTimeoutError)`` or the SDK's ``"Tool 'x' timed out
      after N seconds."``; ``"raise_exception"``: the call fails as an error, reported as an
      ``error`` event, and the model is told the tool failed.
    * ``cancel_on_interrupt`` (ours): cancel a running call when the user barges in.

    ``tool_input_guardrails``, ``tool_output_guardrails``, ``defer_loading``,
    ``custom_data_extractor``, ``allowed_callers``, ``output_type`` and ``output_json_schema``
    raise a :class:`TypeError` unless left at their defaults."""
    where = "function_tool"
    _refuse_unsupported(
        where,
        {
            "tool_input_guardrails": tool_input_guardrails,
            "tool_output_guardrails": tool_output_guardrails,
            "defer_loading": defer_loading,
            "custom_data_extractor": custom_data_extractor,
            "allowed_callers": allowed_callers,
            "output_type": output_type,
            "output_json_schema": output_json_schema,
        },
    )
    for option, given, alias in (
        ("name_override", name_override, name),
        ("description_override", description_override, description),
    ):
        if given is not None and not isinstance(given, str):
            raise TypeError(f"{where}: {option} must be a str or None, not {given!r}")
        if given is not None and alias is not None and given != alias:
            raise TypeError(f"{where}: give {option} or {option.split('_')[0]}, not both")
    if docstring_style is not None and docstring_style not in STYLES:
        raise ValueError(
            f"{where}: docstring_style must be 'google', 'numpy', 'sphinx' or None, "
            f"not {docstring_style!r}"
        )
    for option, flag in (
        ("use_docstring_info", use_docstring_info),
        ("strict_mode", strict_mode),
        ("cancel_on_interrupt", cancel_on_interrupt),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{where}: {option} must be a bool, not {flag!r}")
    _check_timeout(timeout, timeout_behavior, timeout_error_function)
    options: dict[str, Any] = {
        "is_enabled": is_enabled,
        "needs_approval": needs_approval,
        "timeout_seconds": timeout,
        "timeout_behavior": timeout_behavior,
        "timeout_error_function": timeout_error_function,
        "cancel_on_interrupt": cancel_on_interrupt,
        "failure_error_function": failure_error_function,
    }
    _check_policy(where, "is_enabled", is_enabled)
    _check_policy(where, "needs_approval", needs_approval)
    _check_callable(where, "failure_error_function", failure_error_function, none=True)
    if name is not None:
        check_tool_name(name)

    def build(f: Callable[..., Any]) -> FunctionTool:
        return _build(
            f,
            name=name if name is not None else name_override,
            description=description if description is not None else description_override,
            docstring_style=docstring_style,
            use_docstring_info=use_docstring_info,
            strict=strict_mode,
            options=options,
        )

    return build(func) if func is not None else build
