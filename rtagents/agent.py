"""Agents: what the model is told, what it may call, whom it may hand the conversation to.

A :class:`RealtimeAgent` is the OpenAI Agents SDK's: generic in the context type
(``RealtimeAgent[MyContext](name=...)``), with the SDK's fields in the SDK's order, so positional
use means the same thing — ``name``, ``handoff_description``, ``tools``, ``mcp_servers``,
``mcp_config``, ``instructions`` (a string, or a sync or async callable of the run context and
the agent), ``prompt``, ``handoffs``, ``output_guardrails``, ``hooks``.  All the agents of a
session share its one model connection: switching agents (a handoff, or
``session.update_agent``) changes the session's instructions and tools, nothing else.

:meth:`RealtimeAgent.resolve` computes what the session tells the model for an agent, each time
it becomes the session's agent: its instructions, :meth:`~RealtimeAgent.get_all_tools` (the
tools of its MCP servers, then its function tools whose ``is_enabled`` says yes — as in the SDK)
and its enabled handoffs.

MCP: :func:`mcp_tools` turns the tools of ``mcp_servers`` into :class:`FunctionTool` values.
The servers of :mod:`rtagents.mcp` are used through that module (tool filters, approval
policies and the SDK's exact output text apply); any other object works if it has
``async list_tools()`` (tools with ``name``, ``description``, ``inputSchema``) and
``async call_tool(name, arguments)`` (a result whose ``content`` items have ``text``).
``mcp_config`` takes the SDK's ``convert_schemas_to_strict`` and ``failure_error_function``.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic

import attrs

from rtagents import protocol as p
from rtagents.context import RunContextWrapper
from rtagents.function_tools import (
    UNSUPPORTED_HINT,
    ErrorFunction,
    FunctionTool,
    ToolArgumentError,
    ToolSchemaError,
    check_tool_name,
    default_tool_error_function,
    function_tool,
    parse_arguments,
    tool_output_text,
)
from rtagents.guardrails import OutputGuardrail
from rtagents.handoffs import Handoff, realtime_handoff
from rtagents.hooks import RealtimeAgentHooks, TContext

__all__ = [
    "FunctionTool",
    "RealtimeAgent",
    "ResolvedAgent",
    "ToolArgumentError",
    "ToolSchemaError",
    "function_tool",
    "mcp_tools",
    "tool_output_text",
]

log = logging.getLogger("rtagents.agent")

Instructions = str | Callable[[RunContextWrapper[Any], Any], str | Awaitable[str]]
MCP_CONFIG_KEYS = (
    "convert_schemas_to_strict",
    "failure_error_function",
    "include_server_in_tool_names",
)


def _check_list(kind: type | tuple[type, ...], what: str) -> Callable[[Any, Any, Any], None]:
    def check(_: Any, __: Any, value: Any) -> None:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise TypeError(f"RealtimeAgent.{what} must be a list")
        for entry in value:
            if not isinstance(entry, kind):
                raise TypeError(f"RealtimeAgent.{what} cannot hold {type(entry).__name__}")

    return check


def _check_instructions(_: Any, __: Any, value: Any) -> None:
    if value is not None and not isinstance(value, str) and not callable(value):
        raise TypeError("RealtimeAgent.instructions must be a string, a callable or None")


def _check_servers(_: Any, __: Any, value: Any) -> None:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError("RealtimeAgent.mcp_servers must be a list")
    for server in value:
        if not callable(getattr(server, "list_tools", None)) or not callable(
            getattr(server, "call_tool", None)
        ):
            raise TypeError(
                f"RealtimeAgent.mcp_servers cannot hold {type(server).__name__}: an MCP server "
                "has async list_tools() and call_tool(name, arguments)"
            )


def _check_mcp_config(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError("RealtimeAgent.mcp_config must be a dict")
    unknown = sorted(set(value) - set(MCP_CONFIG_KEYS))
    if unknown:
        raise TypeError(f"RealtimeAgent.mcp_config: unknown keys {unknown}")
    if value.get("include_server_in_tool_names"):
        raise TypeError(
            "RealtimeAgent.mcp_config: include_server_in_tool_names is not supported by rtagents "
            f"({UNSUPPORTED_HINT})"
        )
    if not isinstance(value.get("convert_schemas_to_strict", False), bool):
        raise TypeError("RealtimeAgent.mcp_config: convert_schemas_to_strict must be a bool")
    formatter = value.get("failure_error_function")
    if formatter is not None and not callable(formatter):
        raise TypeError("RealtimeAgent.mcp_config: failure_error_function must be callable or None")


@attrs.frozen
class ResolvedAgent:
    """What the session tells the model for one agent, and how it dispatches calls."""

    agent: RealtimeAgent
    instructions: str
    tools: dict[str, FunctionTool]
    handoffs: dict[str, Handoff]

    def protocol_tools(self) -> tuple[p.FunctionTool, ...]:
        return tuple(t.to_protocol() for t in self.tools.values()) + tuple(
            h.to_protocol() for h in self.handoffs.values()
        )


@attrs.define(eq=False)
class RealtimeAgent(Generic[TContext]):
    """An agent (see the module docstring).  ``handoffs`` holds agents or
    :func:`~rtagents.handoffs.realtime_handoff` values."""

    name: str
    handoff_description: str | None = None
    tools: Sequence[FunctionTool] = attrs.field(
        factory=list, validator=_check_list(FunctionTool, "tools")
    )
    mcp_servers: Sequence[Any] = attrs.field(factory=list, validator=_check_servers)
    mcp_config: Mapping[str, Any] = attrs.field(factory=dict, validator=_check_mcp_config)
    instructions: Instructions | None = attrs.field(default=None, validator=_check_instructions)
    prompt: p.Prompt | None = None
    handoffs: Sequence[RealtimeAgent[Any] | Handoff] = attrs.field(factory=list)
    output_guardrails: Sequence[OutputGuardrail] = attrs.field(
        factory=list, validator=_check_list(OutputGuardrail, "output_guardrails")
    )
    hooks: RealtimeAgentHooks[TContext] | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("RealtimeAgent.name must be a non-empty string")
        if self.handoff_description is not None and not isinstance(self.handoff_description, str):
            raise TypeError("RealtimeAgent.handoff_description must be a string or None")
        _check_list((RealtimeAgent, Handoff), "handoffs")(None, None, self.handoffs)
        names = [t.name for t in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tool names: {', '.join(duplicates)}")

    def clone(self, **changes: Any) -> RealtimeAgent[TContext]:
        """A copy with some fields replaced (lists are shared unless replaced)."""
        return attrs.evolve(self, **changes)

    def tool(self, name: str) -> FunctionTool | None:
        return next((t for t in self.tools if t.name == name), None)

    def get_handoffs(self) -> list[Handoff]:
        return [h if isinstance(h, Handoff) else realtime_handoff(h) for h in self.handoffs]

    async def get_system_prompt(self, ctx: RunContextWrapper[TContext]) -> str:
        instructions = self.instructions
        if instructions is None:
            return ""
        if isinstance(instructions, str):
            return instructions
        text = instructions(ctx, self)
        if inspect.isawaitable(text):
            text = await text
        if not isinstance(text, str):
            raise TypeError(f"instructions of agent {self.name} returned {type(text).__name__}")
        return text

    async def get_mcp_tools(self, ctx: RunContextWrapper[TContext]) -> list[FunctionTool]:
        """The tools of this agent's MCP servers, as function tools."""
        if not self.mcp_servers:
            return []
        return await mcp_tools(
            self.mcp_servers,
            ctx,
            self,
            convert_schemas_to_strict=bool(self.mcp_config.get("convert_schemas_to_strict")),
            failure_error_function=self.mcp_config.get(
                "failure_error_function", default_tool_error_function
            ),
        )

    async def get_all_tools(self, ctx: RunContextWrapper[TContext]) -> list[FunctionTool]:
        """The MCP tools, then the function tools that are enabled now (the SDK's order)."""
        enabled = [t for t in self.tools if await t.enabled(ctx, self)]
        return [*await self.get_mcp_tools(ctx), *enabled]

    async def resolve(self, ctx: RunContextWrapper[TContext]) -> ResolvedAgent:
        """Instructions, tools and enabled handoffs; raises if their names collide."""
        handoffs = {}
        for handoff in self.get_handoffs():
            if await handoff.enabled(ctx, self):
                handoffs[handoff.tool_name] = handoff
        tools: dict[str, FunctionTool] = {}
        for tool in await self.get_all_tools(ctx):
            if tool.name in tools:
                raise ValueError(f"agent {self.name}: two tools are named {tool.name!r}")
            tools[tool.name] = tool
        clash = sorted(set(tools) & set(handoffs))
        if clash:
            raise ValueError(f"agent {self.name}: tools and handoffs share names: {clash}")
        return ResolvedAgent(self, await self.get_system_prompt(ctx), tools, handoffs)


# -- MCP tools (duck-typed servers) ------------------------------------------------------------


async def mcp_tools(
    servers: Sequence[Any],
    ctx: RunContextWrapper[Any] | None = None,
    agent: Any = None,
    *,
    convert_schemas_to_strict: bool = False,
    failure_error_function: ErrorFunction | None = default_tool_error_function,
) -> list[FunctionTool]:
    """The tools of `servers`, in order, as function tools calling ``server.call_tool``.

    Schemas are kept as the server gives them (``properties`` added if missing, as the Realtime
    API wants one); with ``convert_schemas_to_strict`` they are made strict where that works, as
    in the SDK.  Two servers offering one tool name is a :class:`ValueError`."""
    tools: list[FunctionTool] = []
    for server in servers:
        ours = sys.modules.get("rtagents._mcp.server")  # loaded if `server` is one of ours
        if ours is not None and isinstance(server, ours.MCPServer):
            from rtagents._mcp.tools import mcp_function_tools

            specs = await mcp_function_tools([server], ctx, agent)
            listed = [
                (s.name, s.description, s.input_schema, s.call, s.needs_approval) for s in specs
            ]
        else:
            listed = [_duck_tool(server, t) for t in await server.list_tools()]
        for name, description, schema, call, needs_approval in listed:
            check_tool_name(name)
            if any(t.name == name for t in tools):
                raise ValueError(f"duplicate tool names across MCP servers: {name!r}")
            tools.append(
                _mcp_function_tool(
                    name,
                    description,
                    schema,
                    call,
                    needs_approval,
                    strict=convert_schemas_to_strict,
                    failure_error_function=failure_error_function,
                )
            )
    return tools


def _duck_tool(server: Any, tool: Any) -> tuple[str, str, dict[str, Any], Any, bool]:
    name = tool.name
    schema = getattr(tool, "inputSchema", None) or getattr(tool, "input_schema", None) or {}
    schema = copy.deepcopy(dict(schema))
    schema.setdefault("properties", {})

    async def call(arguments: dict[str, Any]) -> str:
        return mcp_result_text(await server.call_tool(name, arguments))

    return name, getattr(tool, "description", None) or "", schema, call, False


def _mcp_function_tool(
    name: str,
    description: str,
    schema: dict[str, Any],
    call: Callable[[dict[str, Any]], Awaitable[str]],
    needs_approval: Any,
    *,
    strict: bool,
    failure_error_function: ErrorFunction | None,
) -> FunctionTool:
    async def invoke(ctx: Any, arguments: str) -> str:
        return await call(parse_arguments(arguments))

    options: dict[str, Any] = {
        "needs_approval": needs_approval,
        "failure_error_function": failure_error_function,
    }
    if strict:
        try:
            return FunctionTool(name, description, schema, invoke, **options)
        except ToolSchemaError as exc:
            log.info("MCP tool %s: schema kept non-strict (%s)", name, exc)
    return FunctionTool(name, description, schema, invoke, strict_json_schema=False, **options)


def mcp_result_text(result: Any) -> str:
    """What the model reads for a ``call_tool`` result: what the SDK's realtime session sends —
    each content item as ``{"type": "text", "text": ...}``, one item as that object, several as
    a list, in JSON.  An error result (``isError``) is read the same way: its text says why."""
    items = []
    for item in getattr(result, "content", None) or ():
        text = getattr(item, "text", None)
        if not isinstance(text, str):
            dump = getattr(item, "model_dump_json", None)
            text = dump() if callable(dump) else str(item)
        items.append({"type": "text", "text": text})
    return json.dumps(items[0] if len(items) == 1 else items, ensure_ascii=False)
