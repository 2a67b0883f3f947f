"""The tool executor: function calls run off the audio path, each under its tool's timeout.

Theory of operation
-------------------
The session hands each function call to :meth:`ToolExecutor.submit_nowait`, which never blocks
and starts at most one task: an accepted call starts its own task in the executor's nursery at
once, so a slow tool delays nothing else.  A call goes through, in its task:

1. the approval gate (``approve(call)``, given by the session: it returns ``None`` to go on or
   the rejection text; it may wait for the app's decision as long as it takes);
2. ``on_start``, then the tool under its ``timeout_seconds`` (no limit when it is ``None``, the
   default: the executor adds no timeout of its own);
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

Nothing a tool does ends the executor: every path of a call is guarded, and whatever goes wrong
that the answer alone does not say is listed in the result's ``problems`` (a
:class:`ToolProblem`: a kind, which the session uses as its ``error`` event's type, and a
message) — ``on_start`` raising (``tool_start_failed``: the tool runs anyway), a tool raising
while it is being timed out or cancelled (``tool_cleanup_failed``: answered as timed out or
cancelled), an error function raising (``tool_error_function_failed``: the default text is
used) or returning something else than a ``str`` (``tool_error_function_non_str``: converted as
a result is), a needs-approval check raising (``tool_approval_failed``: the tool does not run),
an output that could not be converted as it was (``tool_output_unconvertible``) or was cut
(``tool_output_cut``), an abandoned worker thread (``tool_thread_abandoned``), and, as a last
resort, anything else (``tool_internal_error``: answered as an error).  ``on_done`` raising is
logged and counted (``callback_errors``, with ``on_start``'s), never retried: the answer may
have gone out.  Only cancellation of the executor itself (and ``KeyboardInterrupt``-like
exceptions) leave a call unanswered.

Outputs: a result is converted to text by
:func:`~rtagents.function_tools.convert_tool_output` (JSON where possible, never raising) and
every text the executor makes is at most ``max_output_chars`` characters (default
:data:`~rtagents.function_tools.MAX_OUTPUT_CHARS`, 100,000), cut with a note saying so
(counted in ``outputs_cut``).

Threads policy: a tool whose ``on_invoke_tool`` is a plain function (every sync function given
to ``function_tool``: :attr:`~rtagents.function_tools.FunctionTool.runs_in_thread`) runs in a
worker thread (``trio.to_thread.run_sync(..., abandon_on_cancel=True)``), so it cannot stall the
event loop, with its context (the :class:`~rtagents.context.ToolContext`) passed to that thread;
what it returns is awaited on the event loop if it is awaitable.  A thread cannot be killed: at
the timeout (or a barge-in, for ``cancel_on_interrupt`` tools, or the session's end) the call is
answered as usual and the thread is *abandoned* — it runs on to its end, its result dropped —
counted in ``threads_abandoned`` and reported.  Each executor (one per session) has its own
:class:`trio.CapacityLimiter` of ``max_threads`` threads (default :data:`MAX_TOOL_THREADS`, 8),
not trio's shared default one (which DNS lookups and file I/O also use): a call over it waits
for a thread, its timeout running (it may time out without starting, and is then not
abandoned).  An abandoned thread keeps its place until it really ends, so a tool that hangs can
at worst hold these 8 threads; ``threads_busy`` and ``threads_waiting`` show it.  Under trio's
``MockClock`` with autojump (tests), virtual time stands still while a call waits for a tool
thread — a tool thread takes no virtual time — since the clock would otherwise jump ahead while
the thread works, and time the call out (so a tool thread must not wait on the event loop's
virtual time there: ``trio.from_thread.run(trio.sleep, ...)`` would wait for ever).

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

from rtagents.audio.threads import virtual_time_stands_still
from rtagents.context import ToolContext
from rtagents.function_tools import (
    MAX_OUTPUT_CHARS,
    FunctionTool,
    ToolArgumentError,
    ToolTimeoutError,
    cap_output_text,
    convert_tool_output,
)

log = logging.getLogger("rtagents.tools")

#: Worker threads one executor runs sync tools in at once (see the module docstring).
MAX_TOOL_THREADS = 8

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
class ToolProblem:
    """Something that went wrong on the way to a call's answer (see the module docstring)."""

    kind: str  # the session's error event type: tool_start_failed, tool_output_cut...
    message: str


@attrs.frozen
class ToolResult:
    call: ToolCall
    output: Any  # what the tool returned (or the error text)
    text: str  # what the model is sent
    status: str  # one of STATUSES
    error: BaseException | None = None
    problems: tuple[ToolProblem, ...] = ()


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
    threads_busy: int  # tool threads running now (abandoned ones included) — max_threads at most
    threads_waiting: int  # calls waiting for a tool thread
    threads_abandoned: int  # tool threads left running at a timeout or cancellation
    outputs_cut: int  # texts cut at max_output_chars
    callback_errors: int  # on_start or on_done raised


class _Thread:
    """Whether a call's worker thread got to run the tool (set from that thread)."""

    started = False


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of `exc`, bounded, even if its ``str()`` raises."""
    try:
        return f"{type(exc).__name__}: {exc}"[:300]
    except Exception:
        return type(exc).__name__


class ToolExecutor:
    """Runs function calls (see the module docstring for the overflow and threads policies)."""

    def __init__(
        self,
        on_done: Callable[[ToolResult], Awaitable[None]],
        *,
        on_start: Callable[[ToolCall], None] | None = None,
        approve: Callable[[ToolCall], Awaitable[str | None]] | None = None,
        max_calls: int = 32,
        one_at_a_time: bool = False,
        max_threads: int = MAX_TOOL_THREADS,
        max_output_chars: int = MAX_OUTPUT_CHARS,
    ) -> None:
        if max_calls < 1:
            raise ValueError(f"a ToolExecutor needs max_calls of at least 1, not {max_calls}")
        if max_threads < 1:
            raise ValueError(f"a ToolExecutor needs max_threads of at least 1, not {max_threads}")
        if max_output_chars < 100:
            raise ValueError(f"max_output_chars must be at least 100, not {max_output_chars}")
        self.on_done = on_done
        self.on_start = on_start
        self.approve = approve
        self.max_calls = max_calls
        self.max_output_chars = max_output_chars
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
        self._threads = trio.CapacityLimiter(max_threads)
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
                "threads_abandoned",
                "outputs_cut",
                "callback_errors",
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
        problems: list[ToolProblem] = []  # filled on the way, whatever the result
        try:
            self._counts["running"] += 1
            try:
                result = await self._result(call, problems)
            except Exception as exc:  # a last resort: every known path is guarded below
                log.exception("tool call %s (%s) failed unexpectedly", call.call_id, call.name)
                text = f"Tool {call.name} failed: {type(exc).__name__}"
                message = f"Running tool {call.name} failed unexpectedly: {describe_error(exc)}"
                problems.append(ToolProblem("tool_internal_error", message))
                result = ToolResult(call, text, text, "error", exc)
            finally:
                self._counts["running"] -= 1
                if self._line.pop(call.call_id, None) is not None:
                    self._line_moved.unpark_all()
            if problems:
                result = attrs.evolve(result, problems=(*problems, *result.problems))
            key = {"completed": "completed", "timeout": "timed_out", "cancelled": "cancelled"}
            timed_out = isinstance(result.error, ToolTimeoutError)
            self._counts["timed_out" if timed_out else key.get(result.status, "failed")] += 1
            await self._answer(result)
        finally:
            self._counts["in_flight"] -= 1

    async def _answer(self, result: ToolResult) -> None:
        """The one way a call is answered, run or rejected (``on_done`` raising is logged and
        counted: it is not called again, as the answer may have gone out)."""
        try:
            await self.on_done(result)
        except Exception:
            self._counts["callback_errors"] += 1
            log.exception("answering tool call %s failed", result.call.call_id)

    async def _result(self, call: ToolCall, problems: list[ToolProblem]) -> ToolResult:
        tool = call.tool
        if tool is None:
            text = f"Tool {call.name} not found"
            return ToolResult(call, text, text, "not_found")
        with trio.CancelScope() as scope:
            self._running[call.call_id] = (scope, tool)
            try:
                return await self._approved_call(call, tool, problems)
            finally:
                del self._running[call.call_id]
        return self._cancelled(call, tool)

    @staticmethod
    def _cancelled(call: ToolCall, tool: FunctionTool) -> ToolResult:
        text = f"The call to {tool.name} was cancelled because the user interrupted."
        return ToolResult(call, text, text, "cancelled")

    async def _approved_call(
        self, call: ToolCall, tool: FunctionTool, problems: list[ToolProblem]
    ) -> ToolResult:
        if self.approve is not None:
            self._counts["awaiting_approval"] += 1
            try:
                rejection = await self.approve(call)
            except Exception as exc:  # e.g. the tool's needs_approval callable raised
                log.exception("the approval check of tool %s failed", tool.name)
                message = f"Checking whether tool {tool.name} needs approval failed: "
                problems.append(ToolProblem("tool_approval_failed", message + describe_error(exc)))
                text = f"Tool {tool.name} failed: {type(exc).__name__}"
                return ToolResult(call, text, text, "error", exc)
            finally:
                self._counts["awaiting_approval"] -= 1
            if rejection is not None:
                text = self._cap(str(rejection), tool, problems)
                return ToolResult(call, rejection, text, "not_approved")
        if not self.one_at_a_time:
            return await self._invoke(call, tool, problems)
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
        return await self._invoke(call, tool, problems)

    async def _invoke(
        self, call: ToolCall, tool: FunctionTool, problems: list[ToolProblem]
    ) -> ToolResult:
        if self.on_start is not None:
            try:
                self.on_start(call)
            except Exception as exc:
                self._counts["callback_errors"] += 1
                log.exception("on_start of tool call %s failed", call.call_id)
                message = (
                    f"Starting tool {tool.name} failed ({describe_error(exc)}); it ran anyway."
                )
                problems.append(ToolProblem("tool_start_failed", message))
        timeout = tool.timeout_seconds
        deadline = trio.current_time() + timeout if timeout is not None else math.inf
        returned = False
        output: Any = None
        error: Exception | None = None
        try:
            with trio.CancelScope(deadline=deadline) as limit:
                output = await self._call_tool(call, tool, problems)
                returned = True
        except ToolArgumentError as exc:
            text = f"Invalid arguments for {tool.name}: {exc}"
            return ToolResult(call, text, text, "bad_arguments", exc)
        except Exception as exc:  # also an ExceptionGroup raised on the way out of the scope
            error = exc
        except BaseExceptionGroup as group:  # cancelled from outside, and errors of its own
            cancelled, rest = group.split(trio.Cancelled)
            if cancelled is None or not isinstance(rest, ExceptionGroup):
                raise
            message = f"Tool {tool.name} raised {describe_error(rest)} while being cancelled."
            problems.append(ToolProblem("tool_cleanup_failed", message))
            raise cancelled from None
        interrupted = self._running[call.call_id][0].cancel_called
        if error is not None and (limit.cancel_called or interrupted):
            # Raised while being timed out or cancelled (a cleanup that failed): the call is
            # answered as timed out or cancelled, and the failure reported.
            log.info("tool %s raised while being stopped: %r", tool.name, error)
            why = "cancelled" if interrupted else f"timed out after {timeout:g} seconds"
            message = f"Tool {tool.name} raised {describe_error(error)} while being {why}."
            problems.append(ToolProblem("tool_cleanup_failed", message))
            if interrupted:
                return self._cancelled(call, tool)
        elif error is not None:
            log.info("tool %s failed: %r", tool.name, error)
            return await self._failure(call, tool, error, problems)
        if returned:
            converted = convert_tool_output(output, limit=self.max_output_chars)
            for problem in converted.problems:
                message = f"The output of tool {tool.name} could not all be converted: {problem}."
                problems.append(ToolProblem("tool_output_unconvertible", message))
            if converted.cut:
                self._note_cut(tool, problems)
            return ToolResult(call, output, converted.text, "completed")
        return await self._timed_out(call, tool, ToolTimeoutError(tool.name, timeout), problems)  # type: ignore[arg-type]

    async def _call_tool(
        self, call: ToolCall, tool: FunctionTool, problems: list[ToolProblem]
    ) -> Any:
        """The tool's output: on the event loop, or from a worker thread (see the module
        docstring's threads policy)."""
        if not tool.runs_in_thread:
            return await tool.invoke(call.context, call.arguments)  # type: ignore[arg-type]
        thread = _Thread()

        def work() -> tuple[Any]:
            thread.started = True
            # Boxed: trio refuses a coroutine as a thread's result (it is awaited below).
            return (tool.on_invoke_tool(call.context, call.arguments),)  # type: ignore[arg-type]

        try:
            with virtual_time_stands_still():
                (output,) = await trio.to_thread.run_sync(
                    work,
                    thread_name=f"rtagents tool {tool.name}",
                    abandon_on_cancel=True,
                    limiter=self._threads,
                )
        except trio.Cancelled:
            if thread.started:
                self._counts["threads_abandoned"] += 1
                message = (
                    f"Tool {tool.name} was stopped, but its worker thread cannot be: it was "
                    "abandoned and may still be running."
                )
                problems.append(ToolProblem("tool_thread_abandoned", message))
            raise
        if inspect.isawaitable(output):
            output = await output
        return output

    def _cap(self, text: str, tool: FunctionTool, problems: list[ToolProblem]) -> str:
        capped, cut = cap_output_text(text, self.max_output_chars)
        if cut:
            self._note_cut(tool, problems)
        return capped

    def _note_cut(self, tool: FunctionTool, problems: list[ToolProblem]) -> None:
        self._counts["outputs_cut"] += 1
        message = f"The output of tool {tool.name} was cut to {self.max_output_chars:,} characters."
        problems.append(ToolProblem("tool_output_cut", message))

    async def _formatted(
        self,
        function: Callable[..., Any],
        what: str,
        call: ToolCall,
        tool: FunctionTool,
        error: Exception,
        default: str,
        problems: list[ToolProblem],
    ) -> str:
        """What the tool's `function` (its failure_error_function or timeout_error_function)
        says of `error`; `default` if it raises."""
        try:
            formatted = function(call.context, error)
            if inspect.isawaitable(formatted):
                formatted = await formatted
        except Exception as exc:
            log.exception("the %s of tool %s failed", what, tool.name)
            message = f"The {what} of tool {tool.name} raised {describe_error(exc)}."
            problems.append(ToolProblem("tool_error_function_failed", message))
            return default
        if isinstance(formatted, str):
            return self._cap(formatted, tool, problems)
        converted = convert_tool_output(formatted, limit=self.max_output_chars)
        kind = type(formatted).__name__
        message = f"The {what} of tool {tool.name} returned a {kind}, not a str."
        problems.append(ToolProblem("tool_error_function_non_str", message))
        if not converted.converted:
            return default
        if converted.cut:
            self._note_cut(tool, problems)
        return converted.text

    async def _timed_out(
        self,
        call: ToolCall,
        tool: FunctionTool,
        error: ToolTimeoutError,
        problems: list[ToolProblem],
    ) -> ToolResult:
        if tool.timeout_behavior == "raise_exception":
            text = f"Tool {tool.name} failed: {error}"
            return ToolResult(call, text, text, "error", error)
        text = str(error)
        function = tool.timeout_error_function
        if function is not None:
            what = "timeout_error_function"
            text = await self._formatted(function, what, call, tool, error, text, problems)
        return ToolResult(call, text, text, "timeout", error)

    async def _failure(
        self, call: ToolCall, tool: FunctionTool, exc: Exception, problems: list[ToolProblem]
    ) -> ToolResult:
        text = f"Tool {tool.name} failed: {type(exc).__name__}"
        function = tool.failure_error_function
        if function is not None:
            what = "failure_error_function"
            text = await self._formatted(function, what, call, tool, exc, text, problems)
        return ToolResult(call, text, text, "error", exc)

    def statistics(self) -> ToolStatistics:
        threads = self._threads.statistics()
        return ToolStatistics(
            **self._counts,
            overflow_waiting=len(self._overflow),
            threads_busy=threads.borrowed_tokens,
            threads_waiting=threads.tasks_waiting,
        )
