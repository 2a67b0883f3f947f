"""Tool calls: dispatch to the executor, the approval gate, and outcomes turned into answers.

Theory of operation
-------------------
:meth:`ToolRunner.submit` hands a function call of the current agent to the
:class:`~rtagents.actors.tools.ToolExecutor` (which caps the calls in flight, runs each under its
own timeout and answers the overflow ``rejected``: see its module docstring) with a
:class:`~rtagents.context.ToolContext` naming that agent, so the call is run and reported against
the agent it was made to even if a handoff happens meanwhile.

Approval: before a tool runs, the executor asks :meth:`ToolRunner.approve`.  A sticky decision
(``always=True`` earlier for that tool name) answers at once; a tool that needs no approval goes
on; otherwise ``tool_approval_required`` is emitted and the call waits until :meth:`decide` sets
its event (as long as it takes — the call holds one executor slot meanwhile).

Every outcome comes back as a :class:`~rtagents.actors.tools.ToolResult` to :meth:`done`, the one
place a call is answered: an ``error`` event for failures, the output item for the model (its
text rewritten by the run's ``tool_error_formatter`` where that applies, and cut at the
executor's ``max_output_chars``), the history update, a response request (for every outcome but
a cancelled call, whose user's turn comes next — a missing tool too, unlike the SDK, so the
model says something rather than going silent), ``tool_end`` and the ``on_tool_end`` hooks,
an ``error`` event for each of the result's ``problems`` (its kind as the event's type: see
:mod:`rtagents.actors.tools`), and finally the turn machine is told the call is finished.

Failures (an ``error`` event ``tool_<status>``): a tool that raised (``tool_error``; also a
timeout of a ``timeout_behavior="raise_exception"`` tool), a call over the executor's cap
(``tool_rejected``), bad arguments, a missing tool (``tool_not_found``, with the SDK's message
``"Tool x not found"``).  A timeout of an ``"error_as_result"`` tool is a result, as in the SDK:
the model reads the timeout message, and ``tool_end`` carries it, with no ``error`` event.
``tool_error_formatter`` rewrites the text the session made up — not one a tool's own
``failure_error_function`` or ``timeout_error_function`` wrote — with the SDK's kinds
``tool_exception``, ``tool_not_found``, ``approval_rejected`` and ours ``timeout``,
``bad_arguments``, ``cancelled``; if it raises or returns something that is neither a ``str``
nor ``None``, the default text is used and an ``error`` event ``tool_error_formatter_failed``
says so.

Answering never raises: each step after the output item is sent (events, history, tool end,
hooks) is guarded, a step that fails is logged and reported as an ``error`` event
(``tool_answer_failed``), and the turn machine is told the call finished whatever happened.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import attrs
import trio

from rtagents._agency.hooks import HookRunner, ToolEnded, ToolStarted
from rtagents._agency.port import SessionPort, answer_call
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.actors.tools import (
    ToolCall,
    ToolExecutor,
    ToolProblem,
    ToolResult,
    describe_error,
)
from rtagents.agent import RealtimeAgent, ResolvedAgent
from rtagents.config import ToolErrorFormatter, ToolErrorFormatterArgs
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.events import (
    RealtimeError,
    RealtimeSessionEvent,
    RealtimeToolApprovalRequired,
    RealtimeToolEnd,
    RealtimeToolStart,
)
from rtagents.function_tools import ToolTimeoutError, cap_output_text

log = logging.getLogger("rtagents.session")

DEFAULT_REJECTION = "Tool execution was not approved."
# What tool_error_formatter is told: the SDK's kind names where it has them.
_KINDS = {"error": "tool_exception", "not_found": "tool_not_found"}


@attrs.define
class _Approval:
    call: ToolCall
    decided: trio.Event = attrs.field(factory=trio.Event)
    approved: bool = False
    message: str | None = None


class ToolRunner:
    def __init__(
        self,
        port: SessionPort,
        history: History,
        context: RunContextWrapper[Any],
        hooks: HookRunner,
        current_agent: Callable[[], RealtimeAgent],
        formatter: ToolErrorFormatter | None,
        *,
        one_at_a_time: bool = False,
    ) -> None:
        self.port = port
        self.history = history
        self.context = context
        self.hooks = hooks
        self.current_agent = current_agent
        self.formatter = formatter
        self.executor = ToolExecutor(
            self.done, on_start=self.started, approve=self.approve, one_at_a_time=one_at_a_time
        )
        self._approvals: dict[str, _Approval] = {}
        self._sticky: dict[str, bool] = {}  # tool name -> always approve (True) / reject (False)

    def submit(self, resolved: ResolvedAgent, call_id: str, name: str, arguments: str) -> None:
        tool = resolved.tools.get(name)
        ctx = ToolContext.for_call(self.context, name, call_id, arguments, resolved.agent)
        self.executor.submit_nowait(ToolCall(call_id, name, arguments, tool, ctx))

    def _agent_of(self, call: ToolCall) -> RealtimeAgent:
        agent: RealtimeAgent = call.context.agent if call.context else self.current_agent()
        return agent

    # -- approvals ---------------------------------------------------------------------------

    async def approve(self, call: ToolCall) -> str | None:
        tool = call.tool
        assert tool is not None
        sticky = self._sticky.get(tool.name)
        if sticky is True:
            return None
        if sticky is False:
            return await self._rejection_text(call, None)
        if not await tool.requires_approval(self.context, call.arguments, call.call_id):
            return None
        approval = self._approvals[call.call_id] = _Approval(call)
        agent = call.context.agent if call.context else None
        self.port.push(RealtimeToolApprovalRequired(agent, tool, call.call_id, call.arguments))
        self.executor.awaiting_approval(call.call_id)
        try:
            await approval.decided.wait()
        finally:
            self._approvals.pop(call.call_id, None)
        return None if approval.approved else await self._rejection_text(call, approval.message)

    def decide(self, call_id: str, *, approve: bool, always: bool, message: str | None) -> bool:
        approval = self._approvals.get(call_id)
        if approval is None or approval.decided.is_set():
            return False
        if always and approval.call.tool is not None:
            self._sticky[approval.call.tool.name] = approve
        approval.approved = approve
        approval.message = message
        approval.decided.set()
        return True

    def pending_approvals(self) -> tuple[str, ...]:
        return tuple(self._approvals)

    async def _rejection_text(self, call: ToolCall, message: str | None) -> str:
        if message is not None:
            return message
        return await self._format("approval_rejected", call, DEFAULT_REJECTION, None)

    async def _format(
        self,
        kind: str,
        call: ToolCall,
        default: str,
        error: BaseException | None,
        problems: list[ToolProblem] | None = None,
    ) -> str:
        """The run's tool_error_formatter's text, or `default` (if it returns ``None``, or raises
        or returns something else than a str: reported in `problems`, or at once without)."""
        if self.formatter is None:
            return default
        failure: str | None = None
        text: Any  # typed str | None, but it is the app's code
        try:
            text = self.formatter(
                ToolErrorFormatterArgs(kind, call.name, call.call_id, default, error, self.context)
            )
            if inspect.isawaitable(text):
                text = await text
        except Exception as exc:
            log.exception("tool_error_formatter failed")
            text, failure = None, f"raised {describe_error(exc)}"
        if text is not None and not isinstance(text, str):
            failure = f"returned a {type(text).__name__}, not a str or None"
            text = None
        if failure is not None:
            message = f"The tool_error_formatter for tool {call.name} {failure}"[:500]
            problem = ToolProblem("tool_error_formatter_failed", message)
            if problems is not None:
                problems.append(problem)
            else:
                self._push_problem(call, problem)
        return default if text is None else text

    # -- outcomes ----------------------------------------------------------------------------

    @staticmethod
    def _made_up(result: ToolResult) -> bool:
        """Whether the session wrote the text (the run's formatter may rewrite it), rather
        than the tool's own ``failure_error_function`` / ``timeout_error_function``."""
        tool = result.call.tool
        if result.status in ("bad_arguments", "cancelled", "not_found"):
            return True
        if result.status == "timeout":
            return tool is None or tool.timeout_error_function is None
        if result.status == "error":
            timed_out = isinstance(result.error, ToolTimeoutError)
            return timed_out or tool is None or tool.failure_error_function is None
        return False

    def started(self, call: ToolCall) -> None:
        assert call.tool is not None  # only a found tool starts
        agent = self._agent_of(call)
        self.port.push(RealtimeToolStart(agent, call.tool, call.call_id, call.arguments))
        self.hooks.queue(ToolStarted(agent, call.tool))

    def _push(self, event: RealtimeSessionEvent) -> bool:
        try:
            self.port.push(event)
        except Exception:
            log.exception("could not emit %s", type(event).__name__)
            return False
        return True

    def _push_problem(self, call: ToolCall, problem: ToolProblem) -> None:
        error = {
            "type": problem.kind,
            "message": problem.message,
            "call_id": call.call_id,
            "tool": call.name,
        }
        self._push(RealtimeError(error))

    async def done(self, result: ToolResult) -> None:
        """Answer the call (see the module docstring); never raises but for cancellation."""
        call = result.call
        status = result.status
        text = result.text
        problems = list(result.problems)
        try:
            if self._made_up(result):
                kind = _KINDS.get(status, status)
                text = await self._format(kind, call, text, result.error, problems)
            text, cut = cap_output_text(text, self.executor.max_output_chars)
            if cut and not any(p.kind == "tool_output_cut" for p in problems):
                chars = self.executor.max_output_chars
                message = f"The output for tool {call.name} was cut to {chars:,} characters."
                problems.append(ToolProblem("tool_output_cut", message))
            if status in ("error", "rejected", "bad_arguments", "not_found"):
                error = {
                    "type": f"tool_{status}",
                    "message": text,
                    "call_id": call.call_id,
                    "tool": call.name,
                }
                self._push(RealtimeError(error))
            try:
                await answer_call(
                    self.port, self.history, call.call_id, text, respond=status != "cancelled"
                )
            except Exception as exc:
                log.exception("answering tool call %s failed", call.call_id)
                message = f"Answering the call to tool {call.name} failed: {describe_error(exc)}"
                problems.append(ToolProblem("tool_answer_failed", message))
            if call.tool is not None and status != "not_found":
                agent = self._agent_of(call)
                output = result.output if status == "completed" else text
                end = RealtimeToolEnd(agent, call.tool, call.call_id, call.arguments, output)
                if not self._push(end):
                    message = f"The tool_end event of tool {call.name} could not be emitted."
                    problems.append(ToolProblem("tool_answer_failed", message))
                try:
                    self.hooks.queue(ToolEnded(agent, call.tool, text))
                except Exception as exc:
                    log.exception("queueing the on_tool_end hooks failed")
                    message = f"Queueing the on_tool_end hooks failed: {describe_error(exc)}"
                    problems.append(ToolProblem("tool_answer_failed", message))
            for problem in problems:
                self._push_problem(call, problem)
        finally:
            self.port.feed(turns.ToolCallFinished(call.call_id))
