"""Hook dispatch: typed hook occasions, called in order from one task.

Theory of operation
-------------------
Each occasion a hook is called for is a value — :class:`AgentStarted`, :class:`AgentEnded`,
:class:`HandoffDone`, :class:`ToolStarted`, :class:`ToolEnded` — that knows which method of
:class:`~rtagents.hooks.RealtimeRunHooks` and of the concerned agent's
:class:`~rtagents.hooks.RealtimeAgentHooks` to call, with which arguments: plain method calls
that mypy checks.  For a handoff the agent concerned is the one handed to; it gets
``on_handoff(ctx, to_agent, from_agent)``.

:meth:`HookRunner.queue` never blocks and starts no task: it appends the occasion to a bounded
queue that one task (:meth:`HookRunner.run`) empties in order, calling the run hook first, then
the agent's.  If a hook raises, the rest of that occasion is skipped; the failure is counted,
logged and reported as an ``error`` event, and the next occasion goes on.

Overflow policy: a hook must never slow audio, so when ``size`` occasions are already waiting
the *oldest* waiting one is dropped (the newest describe the session as it is now), counted in
``dropped`` and logged as a warning.  The occasion being called is not waiting: it is never
dropped.
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import attrs
import trio

from rtagents._agency.port import SessionPort
from rtagents.agent import RealtimeAgent
from rtagents.context import RunContextWrapper
from rtagents.events import RealtimeError
from rtagents.function_tools import FunctionTool
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks

log = logging.getLogger("rtagents.session")

Context = RunContextWrapper[Any]


@attrs.frozen
class AgentStarted:
    """A response of `agent` started."""

    agent: RealtimeAgent

    @property
    def agent_hooks(self) -> RealtimeAgentHooks | None:
        return self.agent.hooks

    async def call_run_hook(self, hooks: RealtimeRunHooks, ctx: Context) -> None:
        await hooks.on_agent_start(ctx, self.agent)

    async def call_agent_hook(self, hooks: RealtimeAgentHooks, ctx: Context) -> None:
        await hooks.on_start(ctx, self.agent)


@attrs.frozen
class AgentEnded:
    """A response of `agent` ended, having said `output`."""

    agent: RealtimeAgent
    output: str

    @property
    def agent_hooks(self) -> RealtimeAgentHooks | None:
        return self.agent.hooks

    async def call_run_hook(self, hooks: RealtimeRunHooks, ctx: Context) -> None:
        await hooks.on_agent_end(ctx, self.agent, self.output)

    async def call_agent_hook(self, hooks: RealtimeAgentHooks, ctx: Context) -> None:
        await hooks.on_end(ctx, self.agent, self.output)


@attrs.frozen
class HandoffDone:
    """`from_agent` handed the conversation to `to_agent` (whose hooks are told)."""

    from_agent: RealtimeAgent
    to_agent: RealtimeAgent

    @property
    def agent_hooks(self) -> RealtimeAgentHooks | None:
        return self.to_agent.hooks

    async def call_run_hook(self, hooks: RealtimeRunHooks, ctx: Context) -> None:
        await hooks.on_handoff(ctx, self.from_agent, self.to_agent)

    async def call_agent_hook(self, hooks: RealtimeAgentHooks, ctx: Context) -> None:
        await hooks.on_handoff(ctx, self.to_agent, self.from_agent)


@attrs.frozen
class ToolStarted:
    """`agent`'s `tool` is about to run (it was approved)."""

    agent: RealtimeAgent
    tool: FunctionTool

    @property
    def agent_hooks(self) -> RealtimeAgentHooks | None:
        return self.agent.hooks

    async def call_run_hook(self, hooks: RealtimeRunHooks, ctx: Context) -> None:
        await hooks.on_tool_start(ctx, self.agent, self.tool)

    async def call_agent_hook(self, hooks: RealtimeAgentHooks, ctx: Context) -> None:
        await hooks.on_tool_start(ctx, self.agent, self.tool)


@attrs.frozen
class ToolEnded:
    """A call of `agent`'s `tool` was answered with `result` (what the model reads)."""

    agent: RealtimeAgent
    tool: FunctionTool
    result: str

    @property
    def agent_hooks(self) -> RealtimeAgentHooks | None:
        return self.agent.hooks

    async def call_run_hook(self, hooks: RealtimeRunHooks, ctx: Context) -> None:
        await hooks.on_tool_end(ctx, self.agent, self.tool, self.result)

    async def call_agent_hook(self, hooks: RealtimeAgentHooks, ctx: Context) -> None:
        await hooks.on_tool_end(ctx, self.agent, self.tool, self.result)


HookOccasion = AgentStarted | AgentEnded | HandoffDone | ToolStarted | ToolEnded


class HookRunner:
    """Queues hook occasions and calls them from :meth:`run` (see the module docstring)."""

    def __init__(
        self,
        port: SessionPort,
        context: Context,
        hooks: RealtimeRunHooks | None,
        *,
        size: int = 256,
    ) -> None:
        if size < 1:
            raise ValueError(f"the hook queue needs a size of at least 1, not {size}")
        self.port = port
        self.context = context
        self.hooks = hooks
        self.size = size
        # Bounded by `size`; full: the oldest waiting occasion is dropped and counted (`queue`).
        self._waiting: collections.deque[HookOccasion] = collections.deque()
        self._lot = trio.lowlevel.ParkingLot()
        self.called = 0
        self.failed = 0
        self.dropped = 0

    def queue(self, occasion: HookOccasion) -> None:
        """Have `occasion`'s hooks called after those queued before; never blocks."""
        if self.hooks is None and occasion.agent_hooks is None:
            return
        if len(self._waiting) >= self.size:
            oldest = self._waiting.popleft()
            self.dropped += 1
            log.warning(
                "%d hook calls are waiting: dropped the oldest (%s); %d dropped so far",
                self.size,
                type(oldest).__name__,
                self.dropped,
            )
        self._waiting.append(occasion)
        self._lot.unpark()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def dispatch(self, occasion: HookOccasion) -> None:
        """The run hook, then the agent's (raises what they raise)."""
        if self.hooks is not None:
            await occasion.call_run_hook(self.hooks, self.context)
        agent_hooks = occasion.agent_hooks
        if agent_hooks is not None:
            await occasion.call_agent_hook(agent_hooks, self.context)

    async def run(self) -> None:
        while True:
            if not self._waiting:
                await self._lot.park()
                continue
            await trio.lowlevel.checkpoint()  # one occasion per scheduling turn, like a channel
            if not self._waiting:
                continue
            occasion = self._waiting.popleft()
            try:
                await self.dispatch(occasion)
                self.called += 1
            except Exception as exc:
                self.failed += 1
                log.exception("a hook failed")
                self.port.push(RealtimeError({"type": "hook_failed", "message": str(exc)}))
