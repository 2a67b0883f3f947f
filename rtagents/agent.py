"""Agents: what the model is told, what it may call, whom it may hand the conversation to.

A :class:`RealtimeAgent` is a name, instructions (a string, or a sync or async callable of the run
context and the agent), function tools, handoffs, output guardrails, an optional stored prompt
and hooks.  All the agents of a session share its one model connection: switching agents
(a handoff, or ``session.update_agent``) changes the session's instructions and tools, nothing
else.  :meth:`RealtimeAgent.resolve` computes what the session tells the model for an agent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from rtagents import protocol as p
from rtagents.context import RunContextWrapper
from rtagents.function_tools import (
    FunctionTool,
    ToolArgumentError,
    ToolSchemaError,
    function_tool,
    tool_output_text,
)
from rtagents.guardrails import OutputGuardrail
from rtagents.handoffs import Handoff, realtime_handoff
from rtagents.hooks import RealtimeAgentHooks

__all__ = [
    "FunctionTool",
    "RealtimeAgent",
    "ResolvedAgent",
    "ToolArgumentError",
    "ToolSchemaError",
    "function_tool",
    "tool_output_text",
]

Instructions = str | Callable[[RunContextWrapper[Any], "RealtimeAgent"], str | Awaitable[str]]


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
class RealtimeAgent:
    """An agent (see the module docstring).  ``handoffs`` holds agents or
    :func:`~rtagents.handoffs.realtime_handoff` values."""

    name: str
    instructions: Instructions | None = attrs.field(default=None, validator=_check_instructions)
    tools: Sequence[FunctionTool] = attrs.field(
        factory=list, validator=_check_list(FunctionTool, "tools")
    )
    handoffs: Sequence[RealtimeAgent | Handoff] = attrs.field(factory=list)
    output_guardrails: Sequence[OutputGuardrail] = attrs.field(
        factory=list, validator=_check_list(OutputGuardrail, "output_guardrails")
    )
    prompt: p.Prompt | None = None
    hooks: RealtimeAgentHooks | None = None
    handoff_description: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("RealtimeAgent.name must be a non-empty string")
        _check_list((RealtimeAgent, Handoff), "handoffs")(None, None, self.handoffs)
        names = [t.name for t in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tool names: {', '.join(duplicates)}")

    def clone(self, **changes: Any) -> RealtimeAgent:
        """A copy with some fields replaced (lists are shared unless replaced)."""
        return attrs.evolve(self, **changes)

    def tool(self, name: str) -> FunctionTool | None:
        return next((t for t in self.tools if t.name == name), None)

    def get_handoffs(self) -> list[Handoff]:
        return [h if isinstance(h, Handoff) else realtime_handoff(h) for h in self.handoffs]

    async def get_system_prompt(self, ctx: RunContextWrapper[Any]) -> str:
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

    async def resolve(self, ctx: RunContextWrapper[Any]) -> ResolvedAgent:
        """Instructions, tools and enabled handoffs; raises if their names collide."""
        handoffs = {}
        for handoff in self.get_handoffs():
            if await handoff.enabled(ctx, self):
                handoffs[handoff.tool_name] = handoff
        tools = {t.name: t for t in self.tools}
        clash = sorted(set(tools) & set(handoffs))
        if clash:
            raise ValueError(f"agent {self.name}: tools and handoffs share names: {clash}")
        return ResolvedAgent(self, await self.get_system_prompt(ctx), tools, handoffs)
