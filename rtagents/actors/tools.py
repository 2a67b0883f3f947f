"""The tool executor: function calls run off the audio path, each under its own timeout.

Theory of operation
-------------------
The session hands each function call to :meth:`ToolExecutor.submit_nowait`, which never blocks:
calls wait in a bounded queue (a full queue answers the call at once with an error output, so
the model is never left waiting).  ``run`` takes calls from the queue and starts each in the
executor's own nursery, so a slow tool delays nothing else; a call runs under ``trio.move_on_after``
with the tool's timeout, and whatever happens — a result, an exception, a timeout, bad JSON
arguments — becomes an output text for the model, handed to ``on_done``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from rtagents.agent import FunctionTool, tool_output_text

log = logging.getLogger("rtagents.tools")


@attrs.frozen
class ToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model sent it
    tool: FunctionTool | None


@attrs.frozen
class ToolResult:
    call: ToolCall
    output: Any  # what the tool returned (or the error text)
    text: str  # what the model is sent
    status: str  # "completed", "error", "timeout", "not_found", "bad_arguments", "rejected"


@attrs.frozen(kw_only=True)
class ToolStatistics:
    submitted: int
    running: int
    completed: int
    failed: int
    timed_out: int
    rejected: int


class ToolExecutor:
    def __init__(
        self,
        on_done: Callable[[ToolResult], Awaitable[None]],
        *,
        on_start: Callable[[ToolCall], None] | None = None,
        queue_size: int = 16,
    ) -> None:
        self.on_done = on_done
        self.on_start = on_start
        self._tx, self._rx = trio.open_memory_channel[ToolCall](queue_size)
        self._nursery: trio.Nursery | None = None
        self._counts = dict.fromkeys(
            ("submitted", "running", "completed", "failed", "timed_out", "rejected"), 0
        )

    def submit_nowait(self, call: ToolCall) -> None:
        self._counts["submitted"] += 1
        try:
            self._tx.send_nowait(call)
        except trio.WouldBlock:
            self._counts["rejected"] += 1
            text = f"Too many tool calls in progress; {call.name} was not run."
            result = ToolResult(call, text, text, "rejected")
            assert self._nursery is not None
            self._nursery.start_soon(self.on_done, result)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            async for call in self._rx:
                nursery.start_soon(self._execute, call)

    async def _execute(self, call: ToolCall) -> None:
        self._counts["running"] += 1
        try:
            result = await self._result(call)
        finally:
            self._counts["running"] -= 1
        if result.status == "completed":
            self._counts["completed"] += 1
        elif result.status == "timeout":
            self._counts["timed_out"] += 1
        else:
            self._counts["failed"] += 1
        await self.on_done(result)

    async def _result(self, call: ToolCall) -> ToolResult:
        tool = call.tool
        if tool is None:
            text = f"Tool {call.name} not found"
            return ToolResult(call, text, text, "not_found")
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            text = f"Invalid arguments for {tool.name}: {exc}"
            return ToolResult(call, text, text, "bad_arguments")
        if self.on_start is not None:
            self.on_start(call)
        timeout = tool.timeout if tool.timeout is not None else math.inf
        with trio.move_on_after(timeout):
            try:
                output = await tool.invoke(arguments)
            except Exception as exc:
                log.info("tool %s failed: %r", tool.name, exc)
                text = f"An error occurred while running the tool: {exc}"
                return ToolResult(call, text, text, "error")
            return ToolResult(call, output, tool_output_text(output), "completed")
        text = f"Tool {tool.name} timed out after {tool.timeout} seconds."
        return ToolResult(call, text, text, "timeout")

    def statistics(self) -> ToolStatistics:
        return ToolStatistics(**self._counts)
