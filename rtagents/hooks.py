"""Lifecycle hooks: subclass and override what you need (every method is a no-op).

Run hooks (``RealtimeRunConfig(hooks=...)``) see every agent; agent hooks
(``RealtimeAgent(hooks=...)``) see their own agent (typed ``Any`` here, so that this module
needs no agent: overrides may annotate it as ``RealtimeAgent[MyContext]``). Both are generic in
the context type, like the OpenAI Agents SDK's (``RealtimeRunHooks[MyContext]``), and have the
SDK's method names and signatures. The session calls them from one task, in the order the events
happened (the run hook first, then the agent's), so a slow hook delays other hooks but never
audio or the model link; an exception in a hook is logged and reported as an ``error`` event. At
most 256 hook calls wait: beyond that the oldest waiting one is dropped, logged and counted
(``hooks_dropped``). ``on_agent_start`` / ``on_start`` run when a response of the agent starts,
``on_agent_end`` / ``on_end`` when it ends (with the text or transcript it produced: a ``str``),
``on_tool_end`` with the text the model reads (typed ``Any``, so overrides may say ``str`` or
the SDK's ``object``). The SDK declares these for realtime agents and never calls them; here
they are called — except ``on_llm_start`` / ``on_llm_end``, which exist for SDK code that
overrides them: a realtime session has no request/response pair of the Chat/Responses kind to
report, so they are never called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic

from rtagents.context import RunContextWrapper

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from rtagents.function_tools import FunctionTool

    # Unparameterized uses (``RealtimeRunHooks``) mean ``RealtimeRunHooks[Any]``.
    TContext = TypeVar("TContext", default=Any)
else:
    from typing import TypeVar

    TContext = TypeVar("TContext")

__all__ = ["RealtimeAgentHooks", "RealtimeRunHooks", "TContext"]


class RealtimeRunHooks(Generic[TContext]):
    """Callbacks for every agent of a session (the SDK's ``RealtimeRunHooks``)."""

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        system_prompt: str | None,
        input_items: list[Any],
    ) -> None:
        """Never called (see the module docstring)."""

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Any, response: Any
    ) -> None:
        """Never called (see the module docstring)."""

    async def on_agent_start(self, context: RunContextWrapper[TContext], agent: Any) -> None:
        """A response of `agent` started."""

    async def on_agent_end(
        self, context: RunContextWrapper[TContext], agent: Any, output: Any
    ) -> None:
        """A response of `agent` ended, having said `output` (a ``str``)."""

    async def on_handoff(
        self,
        context: RunContextWrapper[TContext],
        from_agent: Any,
        to_agent: Any,
    ) -> None:
        """`from_agent` handed the conversation to `to_agent`."""

    async def on_tool_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        tool: FunctionTool,
    ) -> None:
        """`agent`'s `tool` is about to run (it was approved)."""

    async def on_tool_end(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        tool: FunctionTool,
        result: Any,
    ) -> None:
        """A call of `tool` was answered with `result` (the ``str`` the model reads)."""


class RealtimeAgentHooks(Generic[TContext]):
    """Callbacks for one agent (the SDK's ``RealtimeAgentHooks``)."""

    async def on_start(self, context: RunContextWrapper[TContext], agent: Any) -> None:
        """A response of this agent started."""

    async def on_end(self, context: RunContextWrapper[TContext], agent: Any, output: Any) -> None:
        """A response of this agent ended, having said `output` (a ``str``)."""

    async def on_handoff(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        source: Any,
    ) -> None:
        """``agent`` is being handed the conversation by ``source``."""

    async def on_tool_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        tool: FunctionTool,
    ) -> None:
        """This agent's `tool` is about to run (it was approved)."""

    async def on_tool_end(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        tool: FunctionTool,
        result: Any,
    ) -> None:
        """A call of `tool` was answered with `result` (the ``str`` the model reads)."""

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Any,
        system_prompt: str | None,
        input_items: list[Any],
    ) -> None:
        """Never called (see the module docstring)."""

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Any, response: Any
    ) -> None:
        """Never called (see the module docstring)."""
