"""The tool executor: function calls run off the audio path, each under its tool's timeout.

Theory of operation
-------------------
The session hands each function call to :meth:`ToolExecutor.submit_nowait`, which never blocks
and starts at most one task: an accepted call starts its own task in the executor's nursery at
once, so a slow tool delays nothing else.  A call goes through, in its task:

1. the approval gate (``approve(call)``, given by the session: it returns ``None`` to go on or
   the rejection text; it may wait for the app's decision as long as it takes);
2. ``on_start``, then the tool under ``trio.move_on_after(tool.timeout_seconds)`` (no limit
   when it is ``None``, the default: the executor adds no timeout of its own);
3. whatever happens — a result, an exception, a timeout, bad arguments, a cancellation because
   the user barged in (tools with ``cancel_on_interrupt``) — becomes a :class:`ToolResult` with
   an output text for the model, handed to ``on_done``: every call is answered there, once.

Failures follow the tool's options, with the OpenAI Agents SDK's meaning: an exception is
answered with ``failure_error_function(ctx, error)`` (status ``error``; with ``None``, a plain
"Tool x failed: ErrorType" for the session to report).  A timeout, with ``timeout_behavior=
"error_as_result"``, is answered with ``timeout_error_function(ctx, ToolTimeoutError)`` or the
SDK's ``"Tool 'x' timed out after N seconds."`` (status ``timeout``: a result, not an error);
with ``"raise_exception"`` it is a failure (status ``error``, ``error`` a
:class:`~rtagents.function_tools.ToolTimeoutError`) that the session reports as one.

With ``one_at_a_time`` (the SDK's ``async_tool_calls=False``) approved calls take turns, in
arrival order, each still in its own task off the event path.

Overflow policy: at most ``max_calls`` calls are *in flight* (accepted and not yet answered:
waiting for approval, running, or being answered), so at most ``max_calls`` call tasks exist.
A call submitted beyond that is not run and no task is started for it: it waits in the
executor's overflow list, and the executor's own loop (:meth:`ToolExecutor.run`, one task for
the executor's life) answers each, in order, as a ``rejected`` :class:`ToolResult` through the
same ``on_done`` — so the model always gets an output item saying the call was not run and is
never left waiting.  Rejections are counted (``rejected``) and the overflow list's length is in
the statistics (``overflow_waiting``).  That list is the one thing not capped by a number: a
call can only leave it by being answered, and answering waits for the model link to take the
output item, so capping it would mean leaving a call unanswered.  It holds only calls the model
made (which the session's history holds anyway) and drains as fast as the link takes items.
"""

from __future__ import annotations

import collections
import inspect
import itertools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from rtagents.context import ToolContext
from rtagents.function_tools import (
    FunctionTool,
    ToolArgumentError,
    ToolTimeoutError,
    tool_output_text,
)

log = logging.getLogger("rtagents.tools")

#: Every status a :class:`ToolResult` can have.
STATUSES = (
    "completed",  # the tool returned
    "error",  # the tool raised (``error`` holds the exception)
    "timeout",  # timed out, answered as a result (timeout_behavior="error_as_result")
    "bad_arguments",  # the model's arguments did not fit the schema
    "not_found",  # no such tool
    "not_approved",  # the app rejected the call
    "cancelled",  # the user barged in and the tool is cancel_on_interrupt
    "rejected",  # max_calls calls were already in flight: not run
)


@attrs.frozen
class ToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model sent it
    tool: FunctionTool | None
    context: ToolContext[Any] | None = attrs.field(default=None, repr=False)


@attrs.frozen
class ToolResult:
    call: ToolCall
    output: Any  # what the tool returned (or the error text)
    text: str  # what the model is sent
    status: str  # one of STATUSES
    error: BaseException | None = None


@attrs.frozen(kw_only=True)
class ToolStatistics:
    submitted: int
    running: int
    completed: int
    failed: int
    timed_out: int
    rejected: int  # calls over the max_calls cap, answered without running
    cancelled: int
    awaiting_approval: int
    in_flight: int  # accepted calls not yet answered (at most max_calls)
    overflow_waiting: int  # rejected calls waiting for their answer


class ToolExecutor:
    """Runs function calls (see the module docstring for the overflow policy)."""

    def __init__(
        self,
        on_done: Callable[[ToolResult], Awaitable[None]],
        *,
        on_start: Callable[[ToolCall], None] | None = None,
        approve: Callable[[ToolCall], Awaitable[str | None]] | None = None,
        max_calls: int = 32,
        one_at_a_time: bool = False,
    ) -> None:
        if max_calls < 1:
            raise ValueError(f"a ToolExecutor needs max_calls of at least 1, not {max_calls}")
        self.on_done = on_done
        self.on_start = on_start
        self.approve = approve
        self.max_calls = max_calls
        # async_tool_calls=False: calls run one at a time, in the order they were submitted
        # (a call waiting for approval lets later ones pass), still off the event path.
        self.one_at_a_time = one_at_a_time
        # call id -> "waiting" | "approval" | "ready" | "running", in submission order
        self._line: dict[str, str] = {}
        self._line_moved = trio.lowlevel.ParkingLot()
        self._nursery: trio.Nursery | None = None
        # Accepted before `run` started (at most max_calls, as they are in flight).
        self._unstarted: list[ToolCall] = []
        # Calls over the cap: no task each; `run` answers them in order, "rejected".
        self._overflow: collections.deque[ToolCall] = collections.deque()
        self._overflow_lot = trio.lowlevel.ParkingLot()
        self._running: dict[str, tuple[trio.CancelScope, FunctionTool]] = {}
        self._counts = dict.fromkeys(
            (
                "submitted",
                "running",
                "completed",
                "failed",
                "timed_out",
                "rejected",
                "cancelled",
                "awaiting_approval",
                "in_flight",
            ),
            0,
        )

    def submit_nowait(self, call: ToolCall) -> None:
        """Run `call` in its own task, or, with ``max_calls`` calls in flight, have it answered
        ``rejected``.  Never blocks; starts at most one task (none for a rejected call)."""
        self._counts["submitted"] += 1
        if self._counts["in_flight"] >= self.max_calls:
            self._counts["rejected"] += 1
            self._overflow.append(call)
            self._overflow_lot.unpark()
            return
        self._counts["in_flight"] += 1
        if self.one_at_a_time:
            self._line[call.call_id] = "waiting"  # its place in line (see _approved_call)
        if self._nursery is None:
            self._unstarted.append(call)
        else:
            self._nursery.start_soon(self._execute, call)

    def awaiting_approval(self, call_id: str) -> None:
        """The approval gate of `call_id` waits for the app: later calls may pass it."""
        if call_id in self._line:
            self._line[call_id] = "approval"
            self._line_moved.unpark_all()

    def cancel_interruptible(self) -> int:
        """The user barged in: cancel the running calls whose tools opted in.  Returns how
        many were cancelled."""
        cancelled = 0
        for scope, tool in self._running.values():
            if tool.cancel_on_interrupt and not scope.cancel_called:
                scope.cancel()
                cancelled += 1
        return cancelled

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host the call tasks, and answer the calls over the cap (this task does that)."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for call in self._unstarted:
                nursery.start_soon(self._execute, call)
            self._unstarted.clear()
            task_status.started()
            while True:
                if not self._overflow:
                    await self._overflow_lot.park()
                    continue
                call = self._overflow[0]  # stays counted as waiting until answered
                text = f"Too many tool calls in progress; {call.name} was not run."
                try:
                    await self._answer(ToolResult(call, text, text, "rejected"))
                finally:
                    self._overflow.popleft()

    async def _execute(self, call: ToolCall) -> None:
        try:
            self._counts["running"] += 1
            try:
                result = await self._result(call)
            finally:
                self._counts["running"] -= 1
                if self._line.pop(call.call_id, None) is not None:
                    self._line_moved.unpark_all()
            key = {"completed": "completed", "timeout": "timed_out", "cancelled": "cancelled"}
            timed_out = isinstance(result.error, ToolTimeoutError)
            self._counts["timed_out" if timed_out else key.get(result.status, "failed")] += 1
            await self._answer(result)
        finally:
            self._counts["in_flight"] -= 1

    async def _answer(self, result: ToolResult) -> None:
        """The one way a call is answered, run or rejected."""
        await self.on_done(result)

    async def _result(self, call: ToolCall) -> ToolResult:
        tool = call.tool
        if tool is None:
            text = f"Tool {call.name} not found"
            return ToolResult(call, text, text, "not_found")
        with trio.CancelScope() as scope:
            self._running[call.call_id] = (scope, tool)
            try:
                return await self._approved_call(call, tool)
            finally:
                del self._running[call.call_id]
        text = f"The call to {tool.name} was cancelled because the user interrupted."
        return ToolResult(call, text, text, "cancelled")

    async def _approved_call(self, call: ToolCall, tool: FunctionTool) -> ToolResult:
        if self.approve is not None:
            self._counts["awaiting_approval"] += 1
            try:
                rejection = await self.approve(call)
            finally:
                self._counts["awaiting_approval"] -= 1
            if rejection is not None:
                return ToolResult(call, rejection, rejection, "not_approved")
        if not self.one_at_a_time:
            return await self._invoke(call, tool)
        line = self._line
        line[call.call_id] = "ready"
        # Our turn: no call runs, and every call before us waits for the app's approval
        # (those are passed; one whose task has not got this far yet is not).
        while "running" in line.values() or any(
            state != "approval"
            for _, state in itertools.takewhile(lambda e: e[0] != call.call_id, line.items())
        ):
            await self._line_moved.park()
        line[call.call_id] = "running"
        return await self._invoke(call, tool)

    async def _invoke(self, call: ToolCall, tool: FunctionTool) -> ToolResult:
        if self.on_start is not None:
            self.on_start(call)
        timeout = tool.timeout_seconds
        with trio.move_on_after(timeout if timeout is not None else math.inf):
            try:
                output = await tool.invoke(call.context, call.arguments)  # type: ignore[arg-type]
            except ToolArgumentError as exc:
                text = f"Invalid arguments for {tool.name}: {exc}"
                return ToolResult(call, text, text, "bad_arguments", exc)
            except Exception as exc:
                log.info("tool %s failed: %r", tool.name, exc)
                return await self._failure(call, tool, exc)
            return ToolResult(call, output, tool_output_text(output), "completed")
        return await self._timed_out(call, tool, ToolTimeoutError(tool.name, timeout))  # type: ignore[arg-type]

    async def _timed_out(
        self, call: ToolCall, tool: FunctionTool, error: ToolTimeoutError
    ) -> ToolResult:
        if tool.timeout_behavior == "raise_exception":
            text = f"Tool {tool.name} failed: {error}"
            return ToolResult(call, text, text, "error", error)
        text = str(error)
        formatter = tool.timeout_error_function
        if formatter is not None:
            try:
                formatted = formatter(call.context, error)  # type: ignore[arg-type]
                if inspect.isawaitable(formatted):
                    formatted = await formatted
                text = str(formatted)
            except Exception:
                log.exception("the timeout_error_function of tool %s failed", tool.name)
        return ToolResult(call, text, text, "timeout", error)

    async def _failure(self, call: ToolCall, tool: FunctionTool, exc: Exception) -> ToolResult:
        text = f"Tool {tool.name} failed: {type(exc).__name__}"
        formatter = tool.failure_error_function
        if formatter is not None:
            try:
                formatted = formatter(call.context, exc)  # type: ignore[arg-type]
                if inspect.isawaitable(formatted):
                    formatted = await formatted
                text = str(formatted)
            except Exception:
                log.exception("the error formatter of tool %s failed", tool.name)
        return ToolResult(call, text, text, "error", exc)

    def statistics(self) -> ToolStatistics:
        return ToolStatistics(**self._counts, overflow_waiting=len(self._overflow))
