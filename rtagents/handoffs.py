"""Handoffs: a tool the model calls to give the conversation to another agent.

A :class:`Handoff` is shown to the model as a function tool (``transfer_to_<agent>`` by default).
When the model calls it, the session runs ``on_invoke_handoff`` (which calls the app's
``on_handoff`` and returns the new agent), switches the live session to that agent with one
``session.update`` (instructions, tools and handoffs; audio formats, voice and turn detection
are kept, so a phone call keeps its μ-law), emits ``handoff``, optionally drops items from the
server-side conversation (``input_filter``), and answers the call so the new agent speaks next —
on the same connection, with no gap in the audio.

This module does not import :mod:`rtagents.agent` (which imports it): what a handoff needs of
the agent it hands to — a name, a description, and being an agent the session can resolve — is
the :class:`HandoffAgent` protocol, which :class:`~rtagents.agent.RealtimeAgent` satisfies.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from rtagents import protocol as p
from rtagents._core.schema import ObjectNode, ToolSchemaError
from rtagents._core.schema_compile import compile_type
from rtagents.context import RunContextWrapper
from rtagents.function_tools import check_tool_name, parse_arguments
from rtagents.items import RealtimeItem

IsEnabled = bool | Callable[[RunContextWrapper[Any], Any], Any]
InputFilter = Callable[[tuple[RealtimeItem, ...]], Sequence[RealtimeItem]]


@runtime_checkable
class HandoffAgent(Protocol):
    """What a handoff needs of an agent (:class:`~rtagents.agent.RealtimeAgent` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def handoff_description(self) -> str | None: ...

    def resolve(self, ctx: RunContextWrapper[Any]) -> Awaitable[Any]: ...


_EMPTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "required": [],
    "additionalProperties": False,
}


@attrs.frozen
class Handoff:
    tool_name: str = attrs.field(validator=lambda _, __, v: check_tool_name(v))
    tool_description: str
    input_json_schema: dict[str, Any]
    on_invoke_handoff: Callable[[RunContextWrapper[Any], str], Any] = attrs.field(repr=False)
    agent_name: str
    is_enabled: IsEnabled = True
    input_filter: InputFilter | None = attrs.field(default=None, repr=False)

    def to_protocol(self) -> p.FunctionTool:
        return p.FunctionTool(
            name=self.tool_name,
            description=self.tool_description,
            parameters=self.input_json_schema,
        )

    async def enabled(self, ctx: RunContextWrapper[Any], agent: Any) -> bool:
        if isinstance(self.is_enabled, bool):
            return self.is_enabled
        decision = self.is_enabled(ctx, agent)
        if inspect.isawaitable(decision):
            decision = await decision
        return bool(decision)

    async def invoke(self, ctx: RunContextWrapper[Any], arguments: str) -> HandoffAgent:
        agent = self.on_invoke_handoff(ctx, arguments)
        if inspect.isawaitable(agent):
            agent = await agent
        if not isinstance(agent, HandoffAgent):
            raise TypeError(
                f"handoff {self.tool_name} returned {type(agent).__name__}, not an agent"
            )
        return agent

    @staticmethod
    def transfer_message(agent: HandoffAgent) -> str:
        return json.dumps({"assistant": agent.name})


def default_tool_name(agent_name: str) -> str:
    snake = re.sub(r"[^0-9a-zA-Z]+", "_", agent_name).strip("_").lower()
    return f"transfer_to_{snake or 'agent'}"[:64]


def _arity(func: Callable[..., Any]) -> int:
    params = inspect.signature(func).parameters.values()
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in params
    )


def realtime_handoff(
    agent: HandoffAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[..., Any] | None = None,
    input_type: Any = None,
    is_enabled: IsEnabled = True,
    input_filter: InputFilter | None = None,
) -> Handoff:
    """A handoff to `agent`.  With ``input_type``, the model fills that type's fields and
    ``on_handoff(ctx, input)`` receives them converted; without, ``on_handoff(ctx)``.
    ``input_filter(history) -> kept items`` drops the other items from the conversation the
    new agent sees (they are deleted on the server)."""
    if not isinstance(agent, HandoffAgent):
        raise TypeError(f"realtime_handoff needs a RealtimeAgent, not {type(agent).__name__}")
    name = tool_name_override or default_tool_name(agent.name)
    node: ObjectNode | None = None
    if input_type is not None:
        compiled = compile_type(input_type, f"input_type of handoff {name}")
        if not isinstance(compiled, ObjectNode):
            raise ToolSchemaError(
                f"input_type of handoff {name} must be a dataclass, attrs class or TypedDict"
            )
        node = compiled
        if on_handoff is None or _arity(on_handoff) != 2:
            raise TypeError(f"handoff {name}: with input_type, on_handoff must take (ctx, input)")
    elif on_handoff is not None and _arity(on_handoff) != 1:
        raise TypeError(f"handoff {name}: without input_type, on_handoff must take (ctx)")
    description = tool_description_override or " ".join(
        x
        for x in (
            f"Handoff to the {agent.name} agent to handle the request.",
            agent.handoff_description or "",
        )
        if x
    )

    async def on_invoke_handoff(ctx: RunContextWrapper[Any], arguments: str) -> HandoffAgent:
        if node is not None:
            value = node.convert(parse_arguments(arguments), "")
            result = on_handoff(ctx, value)  # type: ignore[misc]
        elif on_handoff is not None:
            result = on_handoff(ctx)
        else:
            result = None
        if inspect.isawaitable(result):
            await result
        return agent

    return Handoff(
        tool_name=name,
        tool_description=description,
        input_json_schema=node.schema() if node is not None else dict(_EMPTY_SCHEMA),
        on_invoke_handoff=on_invoke_handoff,
        agent_name=agent.name,
        is_enabled=is_enabled,
        input_filter=input_filter,
    )
