"""The agent side of a session: tools, approvals, handoffs, output guardrails, hooks.

Theory of operation
-------------------
:class:`Agency` is the part of a :class:`~rtagents.session.RealtimeSession` that runs what the
agent declares, while the session proper moves audio and events.  It reaches the session only
through a narrow port (:class:`SessionPort`: push an event, send to the model, ask for a
response, interrupt a response, feed the turn machine), so none of this can block the audio
path.  It is a facade over four parts, one module each:

* :mod:`.tools` — a function call of the current agent goes to the
  :class:`~rtagents.actors.tools.ToolExecutor` (approval gate, timeout, cancellation on
  barge-in, a cap on calls in flight); every outcome becomes the call's output item and events;
* :mod:`.handoffs` — a handoff call runs as its own task: resolve, switch, ``handoff`` event,
  ``input_filter``, answer;
* :mod:`.guardrails` — debounced output guardrail checks, at most one task per item;
* :mod:`.hooks` — hook occasions as typed values, called in order from one task, from a bounded
  queue that drops the oldest waiting occasion when full.

The facade owns what they share: the current agent (``resolved``, switched by
:meth:`Agency.switch_to`), the nursery they start tasks in (opened by :meth:`Agency.run`), and
the routing of a function call — delivered twice, it runs once; a handoff's name goes to the
handoffs, anything else to the tools.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from typing import Any

import trio

from rtagents import protocol as p
from rtagents._agency.guardrails import GuardrailRunner
from rtagents._agency.handoffs import HandoffRunner
from rtagents._agency.hooks import AgentEnded, AgentStarted, HookRunner
from rtagents._agency.port import SessionPort
from rtagents._agency.tools import DEFAULT_REJECTION, ToolRunner
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.agent import RealtimeAgent, ResolvedAgent
from rtagents.config import ToolErrorFormatter
from rtagents.context import RunContextWrapper
from rtagents.guardrails import GuardrailsSettings, OutputGuardrail
from rtagents.hooks import RealtimeRunHooks

__all__ = ["DEFAULT_REJECTION", "Agency", "SessionPort"]

log = logging.getLogger("rtagents.session")

_CALLS_REMEMBERED = 1024  # call ids kept to run a call delivered twice only once


class Agency:
    def __init__(
        self,
        port: SessionPort,
        history: History,
        context: RunContextWrapper[Any],
        *,
        hooks: RealtimeRunHooks | None,
        output_guardrails: Sequence[OutputGuardrail],
        guardrails_settings: GuardrailsSettings,
        tool_error_formatter: ToolErrorFormatter | None,
        hook_queue_size: int = 256,
        async_tool_calls: bool = True,
    ) -> None:
        self.port = port
        self.context = context
        self.resolved: ResolvedAgent | None = None
        self._hooks = HookRunner(port, context, hooks, size=hook_queue_size)
        self._tools = ToolRunner(
            port,
            history,
            context,
            self._hooks,
            lambda: self.agent,
            tool_error_formatter,
            one_at_a_time=not async_tool_calls,
        )
        self._handoffs = HandoffRunner(
            port, history, context, self._hooks, lambda: self.agent, self.switch_to
        )
        self._guardrails = GuardrailRunner(
            port,
            context,
            lambda: self.resolved.agent if self.resolved is not None else None,
            output_guardrails,
            guardrails_settings,
        )
        self.tools = self._tools.executor
        self._nursery: trio.Nursery | None = None
        self._calls_seen: collections.OrderedDict[str, None] = collections.OrderedDict()

    @property
    def agent(self) -> RealtimeAgent:
        assert self.resolved is not None
        return self.resolved.agent

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = self._handoffs.nursery = self._guardrails.nursery = nursery
            await nursery.start(self.tools.run)
            nursery.start_soon(self._hooks.run)
            task_status.started()

    # -- agents ------------------------------------------------------------------------------

    async def switch_to(self, agent: RealtimeAgent, *, initial: bool = False) -> None:
        """Resolve `agent` and tell the model (raises, keeping the old agent, if it is invalid)."""
        resolved = await agent.resolve(self.context)
        config = self.port.session_config(resolved, initial=initial)
        self.resolved = resolved
        await self.port.send(p.SessionUpdate(session=config))

    def on_agent_start(self, agent: RealtimeAgent) -> None:
        self._hooks.queue(AgentStarted(agent))

    def on_agent_end(self, agent: RealtimeAgent, output: str) -> None:
        self._hooks.queue(AgentEnded(agent, output))

    # -- function calls ----------------------------------------------------------------------

    def on_function_call(self, item: p.FunctionCallItem) -> None:
        call_id = item.call_id or ""
        if call_id in self._calls_seen:
            return  # the same call delivered twice: run it once
        self._calls_seen[call_id] = None
        if len(self._calls_seen) > _CALLS_REMEMBERED:
            self._calls_seen.popitem(last=False)
        resolved = self.resolved
        assert resolved is not None
        assert self._nursery is not None
        self.port.feed(turns.ToolCallStarted(call_id))
        handoff = resolved.handoffs.get(item.name)
        if handoff is not None:
            self._handoffs.start(handoff, call_id, item.arguments)
        else:
            self._tools.submit(resolved, call_id, item.name, item.arguments)

    def cancel_interruptible_tools(self) -> None:
        """The turn table's ``CancelInterruptibleTools``: the user barged in."""
        cancelled = self.tools.cancel_interruptible()
        if cancelled:
            log.debug("barge-in cancelled %d tool call(s)", cancelled)

    def decide(self, call_id: str, *, approve: bool, always: bool, message: str | None) -> bool:
        return self._tools.decide(call_id, approve=approve, always=always, message=message)

    def pending_approvals(self) -> tuple[str, ...]:
        return self._tools.pending_approvals()

    # -- output guardrails -------------------------------------------------------------------

    def on_output_text(self, response_id: str, item_id: str, delta: str) -> None:
        self._guardrails.on_output_text(response_id, item_id, delta)

    def on_output_done(self, item_id: str) -> None:
        self._guardrails.on_output_done(item_id)

    # -- counters ----------------------------------------------------------------------------

    @property
    def hooks_called(self) -> int:
        return self._hooks.called

    @property
    def hooks_failed(self) -> int:
        return self._hooks.failed

    @property
    def hooks_dropped(self) -> int:
        """Hook occasions dropped because the hook queue was full (the oldest waiting)."""
        return self._hooks.dropped

    @property
    def guardrail_checks(self) -> int:
        return self._guardrails.checks

    @property
    def guardrail_trips(self) -> int:
        return self._guardrails.trips
