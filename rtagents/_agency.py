"""The agent side of a session: tools, approvals, handoffs, output guardrails, hooks.

Theory of operation
-------------------
:class:`Agency` is the part of a :class:`~rtagents.session.RealtimeSession` that runs what the
agent declares, while the session proper moves audio and events.  It reaches the session only
through a narrow port (:class:`SessionPort`: push an event, send to the model, ask for a
response, interrupt a response, feed the turn machine), so none of this can block the audio
path:

* a function call is dispatched against the agent *as it was when the call arrived*; a tool call
  goes to the :class:`~rtagents.actors.tools.ToolExecutor` (approval gate, timeout, cancellation
  on barge-in), a handoff runs as its own task;
* the approval gate waits on an event that ``approve_tool_call`` / ``reject_tool_call`` set;
  ``always=True`` decisions are remembered per tool name;
* a handoff resolves the new agent, switches the session (one ``session.update``), emits
  ``handoff``, applies the handoff's ``input_filter`` (deleting items server-side) and answers
  the call, so the new agent speaks next;
* guardrail checks are debounced (:class:`~rtagents.guardrails.GuardrailDebouncer`), at most one
  task per item (a check asked for while one runs is run once, with the newest text, after it);
* hooks are called from one task that takes them from a bounded channel, in order.
"""

from __future__ import annotations

import collections
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import attrs
import trio

from rtagents import protocol as p
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.actors.tools import ToolCall, ToolExecutor, ToolResult
from rtagents.agent import RealtimeAgent, ResolvedAgent
from rtagents.config import ToolErrorFormatter, ToolErrorFormatterArgs
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.events import (
    RealtimeError,
    RealtimeGuardrailTripped,
    RealtimeHandoffEvent,
    RealtimeSessionEvent,
    RealtimeToolApprovalRequired,
    RealtimeToolEnd,
    RealtimeToolStart,
)
from rtagents.guardrails import GuardrailDebouncer, GuardrailsSettings, OutputGuardrail
from rtagents.handoffs import Handoff
from rtagents.hooks import RealtimeRunHooks

log = logging.getLogger("rtagents.session")

DEFAULT_REJECTION = "Tool execution was not approved."


class SessionPort(Protocol):
    def push(self, event: RealtimeSessionEvent) -> None: ...
    async def send(self, event: p.ClientEvent) -> None: ...
    async def request_response(self) -> None: ...
    def feed(self, event: turns.TurnInput) -> None: ...
    def interrupt_response(self, response_id: str) -> None: ...
    def session_config(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig: ...
    def is_latest_response(self, response_id: str) -> bool: ...


@attrs.define
class _Approval:
    call: ToolCall
    decided: trio.Event = attrs.field(factory=trio.Event)
    approved: bool = False
    message: str | None = None


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
    ) -> None:
        self.port = port
        self.history = history
        self.context = context
        self.hooks = hooks
        self.run_guardrails = tuple(output_guardrails)
        self.formatter = tool_error_formatter
        self.resolved: ResolvedAgent | None = None
        self.tools = ToolExecutor(
            self._tool_done, on_start=self._tool_started, approve=self._approve
        )
        self._nursery: trio.Nursery | None = None
        self._calls_seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._approvals: dict[str, _Approval] = {}
        self._sticky: dict[str, bool] = {}  # tool name -> always approve (True) / reject (False)
        self._debouncer = GuardrailDebouncer(guardrails_settings.debounce_text_length)
        self._checking: dict[str, str | None] = {}  # item id -> newer text to check, if any
        self._tripped: collections.deque[str] = collections.deque(maxlen=64)
        self._hook_tx, self._hook_rx = trio.open_memory_channel[Callable[[], Awaitable[None]]](
            hook_queue_size
        )
        self.hooks_called = 0
        self.hooks_failed = 0
        self.guardrail_checks = 0
        self.guardrail_trips = 0

    @property
    def agent(self) -> RealtimeAgent:
        assert self.resolved is not None
        return self.resolved.agent

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.tools.run)
            nursery.start_soon(self._hook_runner)
            task_status.started()

    # -- agents ------------------------------------------------------------------------------

    async def switch_to(self, agent: RealtimeAgent, *, initial: bool = False) -> None:
        """Resolve `agent` and tell the model (raises, keeping the old agent, if it is invalid)."""
        resolved = await agent.resolve(self.context)
        config = self.port.session_config(resolved, initial=initial)
        self.resolved = resolved
        await self.port.send(p.SessionUpdate(session=config))

    # -- function calls ----------------------------------------------------------------------

    def on_function_call(self, item: p.FunctionCallItem) -> None:
        call_id = item.call_id or ""
        if call_id in self._calls_seen:
            return  # the same call delivered twice: run it once
        self._calls_seen[call_id] = None
        if len(self._calls_seen) > 1024:
            self._calls_seen.popitem(last=False)
        resolved = self.resolved
        assert resolved is not None
        assert self._nursery is not None
        self.port.feed(turns.ToolCallStarted(call_id))
        handoff = resolved.handoffs.get(item.name)
        if handoff is not None:
            self._nursery.start_soon(self._handoff, handoff, call_id, item.arguments)
            return
        tool = resolved.tools.get(item.name)
        ctx = ToolContext.for_call(self.context, item.name, call_id, item.arguments, resolved.agent)
        self.tools.submit_nowait(ToolCall(call_id, item.name, item.arguments, tool, ctx))

    def on_user_speech(self) -> None:
        cancelled = self.tools.cancel_interruptible()
        if cancelled:
            log.debug("barge-in cancelled %d tool call(s)", cancelled)

    async def _approve(self, call: ToolCall) -> str | None:
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
        self, kind: str, call: ToolCall, default: str, error: BaseException | None
    ) -> str:
        if self.formatter is None:
            return default
        try:
            text = self.formatter(
                ToolErrorFormatterArgs(kind, call.name, call.call_id, default, error, self.context)
            )
            if inspect.isawaitable(text):
                text = await text
        except Exception:
            log.exception("tool_error_formatter failed")
            return default
        return default if text is None else str(text)

    def _tool_started(self, call: ToolCall) -> None:
        agent = call.context.agent if call.context else self.agent
        self.port.push(RealtimeToolStart(agent, call.tool, call.call_id, call.arguments))
        self._hook("on_tool_start", agent, call.tool)

    async def _tool_done(self, result: ToolResult) -> None:
        call = result.call
        status = result.status
        text = result.text
        try:
            if status in ("timeout", "bad_arguments", "cancelled") or (
                status == "error"
                and call.tool is not None
                and call.tool.failure_error_function is None
            ):
                text = await self._format(status, call, text, result.error)
            if status == "not_found":
                self.port.push(
                    RealtimeError(
                        {"type": "tool_not_found", "message": text, "call_id": call.call_id}
                    )
                )
            elif status in ("error", "rejected", "timeout", "bad_arguments"):
                self.port.push(
                    RealtimeError(
                        {
                            "type": f"tool_{status}",
                            "message": text,
                            "call_id": call.call_id,
                            "tool": call.name,
                        }
                    )
                )
            item = p.FunctionCallOutputItem(call_id=call.call_id, output=text)
            await self.port.send(p.ConversationItemCreate(item=item))
            for event in self.history.set_tool_output(call.call_id, text):
                self.port.push(event)
            if status not in ("not_found", "cancelled"):
                await self.port.request_response()
            if call.tool is not None and status != "not_found":
                agent = call.context.agent if call.context else self.agent
                output = result.output if status == "completed" else text
                self.port.push(
                    RealtimeToolEnd(agent, call.tool, call.call_id, call.arguments, output)
                )
                self._hook("on_tool_end", agent, call.tool, text)
        finally:
            self.port.feed(turns.ToolCallFinished(call.call_id))

    # -- handoffs ----------------------------------------------------------------------------

    async def _handoff(self, handoff: Handoff, call_id: str, arguments: str) -> None:
        try:
            old = self.agent
            try:
                new = await handoff.invoke(self.context, arguments)
                await self.switch_to(new)
            except Exception as exc:
                log.info("handoff %s failed: %r", handoff.tool_name, exc)
                message = f"Handoff to {handoff.agent_name} failed: {exc}"
                self.port.push(RealtimeError({"type": "handoff_failed", "message": message}))
                await self._answer(call_id, message)
                return
            self.port.push(RealtimeHandoffEvent(old, new))
            self._hook("on_handoff", old, new)
            if handoff.input_filter is not None:
                await self._filter_history(handoff)
            await self._answer(call_id, Handoff.transfer_message(new))
        finally:
            self.port.feed(turns.ToolCallFinished(call_id))

    async def _answer(self, call_id: str, output: str) -> None:
        item = p.FunctionCallOutputItem(call_id=call_id, output=output)
        await self.port.send(p.ConversationItemCreate(item=item))
        for event in self.history.set_tool_output(call_id, output):
            self.port.push(event)
        await self.port.request_response()

    async def _filter_history(self, handoff: Handoff) -> None:
        assert handoff.input_filter is not None
        items = tuple(self.history.items)
        try:
            kept = {i.item_id for i in handoff.input_filter(items)}
        except Exception as exc:
            log.exception("input_filter of handoff %s failed", handoff.tool_name)
            self.port.push(RealtimeError({"type": "handoff_filter_failed", "message": str(exc)}))
            return
        for item in items:
            if item.item_id not in kept:
                await self.port.send(p.ConversationItemDelete(item_id=item.item_id))

    # -- output guardrails -------------------------------------------------------------------

    def _guardrails(self) -> list[OutputGuardrail]:
        seen: dict[int, OutputGuardrail] = {}
        for guardrail in (*self.agent.output_guardrails, *self.run_guardrails):
            seen.setdefault(id(guardrail), guardrail)
        return list(seen.values())

    def on_output_text(self, response_id: str, item_id: str, delta: str) -> None:
        if self.resolved is None or not (self.agent.output_guardrails or self.run_guardrails):
            return
        text = self._debouncer.add(response_id, item_id, delta)
        if text is not None:
            self._check(response_id, item_id, text)

    def on_output_done(self, item_id: str) -> None:
        finished = self._debouncer.finish(item_id)
        if finished is not None:
            self._check(finished[0], item_id, finished[1])

    def _check(self, response_id: str, item_id: str, text: str) -> None:
        if response_id in self._tripped:
            return
        if item_id in self._checking:
            self._checking[item_id] = text  # run once more, with the newest text, after this one
            return
        self._checking[item_id] = None
        assert self._nursery is not None
        self._nursery.start_soon(self._check_task, response_id, item_id, text, self.agent)

    async def _check_task(self, response_id: str, item_id: str, text: str, agent: Any) -> None:
        try:
            while True:
                await self._run_guardrails(response_id, text, agent)
                newer = self._checking.get(item_id)
                if newer is None or response_id in self._tripped:
                    return
                self._checking[item_id] = None
                text = newer
        finally:
            self._checking.pop(item_id, None)

    async def _run_guardrails(self, response_id: str, text: str, agent: Any) -> None:
        self.guardrail_checks += 1
        results = []
        for guardrail in self._guardrails():
            try:
                results.append(await guardrail.run(self.context, agent, text))
            except Exception as exc:
                log.exception("guardrail %s failed", guardrail.get_name())
                self.port.push(
                    RealtimeError(
                        {"type": "guardrail_failed", "message": f"{guardrail.get_name()}: {exc}"}
                    )
                )
        tripped = [r for r in results if r.tripwire_triggered]
        if not tripped or response_id in self._tripped:
            return
        self._tripped.append(response_id)
        self.guardrail_trips += 1
        self._debouncer.forget_response(response_id)
        self.port.push(RealtimeGuardrailTripped(tuple(results), text))
        self.port.interrupt_response(response_id)
        if self.port.is_latest_response(response_id):
            names = ", ".join(r.guardrail.get_name() for r in tripped)
            note = (
                f"guardrail triggered: {names}. Your previous answer was stopped there; "
                "answer again without that content."
            )
            await self.port.send(p.ConversationItemCreate(item=p.MessageItem.system_text(note)))
            await self.port.request_response()

    # -- hooks -------------------------------------------------------------------------------

    def on_agent_start(self, agent: RealtimeAgent) -> None:
        self._hook("on_agent_start", agent)

    def on_agent_end(self, agent: RealtimeAgent, output: str) -> None:
        self._hook("on_agent_end", agent, output)

    def _hook(self, name: str, agent: Any, *args: Any) -> None:
        """Queue run hook `name` and the matching hook of the agent concerned (for a handoff,
        the agent handed to, told its source)."""
        ctx = self.context
        calls: list[tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]] = []
        if self.hooks is not None:
            calls.append((getattr(self.hooks, name), (ctx, agent, *args)))
        if name == "on_handoff":
            to_agent = args[0]
            if to_agent.hooks is not None:
                calls.append((to_agent.hooks.on_handoff, (ctx, to_agent, agent)))
        elif getattr(agent, "hooks", None) is not None:
            method = getattr(agent.hooks, name.replace("on_agent_", "on_"))
            calls.append((method, (ctx, agent, *args)))
        if not calls:
            return

        async def call() -> None:
            for method, arguments in calls:
                await method(*arguments)

        self._queue_hook(call)

    def _queue_hook(self, call: Callable[[], Awaitable[None]]) -> None:
        try:
            self._hook_tx.send_nowait(call)
        except trio.WouldBlock:
            # Never lose a hook; only this one may run out of order.
            assert self._nursery is not None
            self._nursery.start_soon(self._hook_tx.send, call)

    async def _hook_runner(self) -> None:
        async for call in self._hook_rx:
            try:
                await call()
                self.hooks_called += 1
            except Exception as exc:
                self.hooks_failed += 1
                log.exception("a hook failed")
                self.port.push(RealtimeError({"type": "hook_failed", "message": str(exc)}))
