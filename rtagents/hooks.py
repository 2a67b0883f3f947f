"""Lifecycle hooks: subclass and override what you need (every method is a no-op).

Run hooks (``RealtimeRunConfig(hooks=...)``) see every agent; agent hooks
(``RealtimeAgent(hooks=...)``) see their own agent.  The session calls them from one task, in the
order the events happened (the run hook first, then the agent's), so a slow hook delays other
hooks but never audio or the model link; an exception in a hook is logged and reported as an
``error`` event.  At most 256 hook calls wait: beyond that the oldest waiting one is dropped,
logged and counted (``hooks_dropped``).  ``on_agent_start`` / ``on_start`` run when a response of
the agent starts, ``on_agent_end`` / ``on_end`` when it ends (with the text or transcript it
produced).  The OpenAI Agents SDK declares these and never calls them; here they are called.
"""

from __future__ import annotations

from typing import Any

from rtagents.context import RunContextWrapper


class RealtimeRunHooks:
    async def on_agent_start(self, context: RunContextWrapper[Any], agent: Any) -> None:
        pass

    async def on_agent_end(self, context: RunContextWrapper[Any], agent: Any, output: str) -> None:
        pass

    async def on_handoff(
        self, context: RunContextWrapper[Any], from_agent: Any, to_agent: Any
    ) -> None:
        pass

    async def on_tool_start(self, context: RunContextWrapper[Any], agent: Any, tool: Any) -> None:
        pass

    async def on_tool_end(
        self, context: RunContextWrapper[Any], agent: Any, tool: Any, result: str
    ) -> None:
        pass


class RealtimeAgentHooks:
    async def on_start(self, context: RunContextWrapper[Any], agent: Any) -> None:
        pass

    async def on_end(self, context: RunContextWrapper[Any], agent: Any, output: str) -> None:
        pass

    async def on_handoff(self, context: RunContextWrapper[Any], agent: Any, source: Any) -> None:
        """``agent`` is being handed the conversation by ``source``."""

    async def on_tool_start(self, context: RunContextWrapper[Any], agent: Any, tool: Any) -> None:
        pass

    async def on_tool_end(
        self, context: RunContextWrapper[Any], agent: Any, tool: Any, result: str
    ) -> None:
        pass
