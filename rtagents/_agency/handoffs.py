"""Handoffs: the model called a handoff; give the conversation to the new agent.

Theory of operation
-------------------
A handoff call runs as its own task (one per call the model made; the agency starts it), so the
reader never waits on the app's ``on_handoff``.  In that task: the handoff resolves the new agent
(:meth:`~rtagents.handoffs.Handoff.invoke`), the session switches to it with one
``session.update``, ``handoff`` is emitted and the ``on_handoff`` hooks are queued, the
handoff's ``input_filter`` (if any) decides which history items the new agent keeps (the others
are deleted on the server), and the call is answered with the transfer message, so the new agent
speaks next.  If resolving or switching fails, the old agent stays: ``handoff_failed`` is emitted
and the call is answered with the reason.  Either way the turn machine is told the call is
finished.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from rtagents import protocol as p
from rtagents._agency.hooks import HandoffDone, HookRunner
from rtagents._agency.port import SessionPort, answer_call
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.agent import RealtimeAgent
from rtagents.context import RunContextWrapper
from rtagents.events import RealtimeError, RealtimeHandoffEvent
from rtagents.handoffs import Handoff

log = logging.getLogger("rtagents.session")


class HandoffRunner:
    def __init__(
        self,
        port: SessionPort,
        history: History,
        context: RunContextWrapper[Any],
        hooks: HookRunner,
        current_agent: Callable[[], RealtimeAgent],
        switch_to: Callable[[RealtimeAgent], Awaitable[None]],
    ) -> None:
        self.port = port
        self.history = history
        self.context = context
        self.hooks = hooks
        self.current_agent = current_agent
        self.switch_to = switch_to
        self.nursery: trio.Nursery | None = None  # set by the agency once it runs

    def start(self, handoff: Handoff, call_id: str, arguments: str) -> None:
        assert self.nursery is not None
        self.nursery.start_soon(self._run, handoff, call_id, arguments)

    async def _run(self, handoff: Handoff, call_id: str, arguments: str) -> None:
        try:
            old = self.current_agent()
            try:
                new = await handoff.invoke(self.context, arguments)
                if not isinstance(new, RealtimeAgent):
                    raise TypeError(
                        f"handoff {handoff.tool_name} returned {type(new).__name__}, not an agent"
                    )
                await self.switch_to(new)
            except Exception as exc:
                log.info("handoff %s failed: %r", handoff.tool_name, exc)
                message = f"Handoff to {handoff.agent_name} failed: {exc}"
                self.port.push(RealtimeError({"type": "handoff_failed", "message": message}))
                await answer_call(self.port, self.history, call_id, message)
                return
            self.port.push(RealtimeHandoffEvent(old, new))
            self.hooks.queue(HandoffDone(old, new))
            if handoff.input_filter is not None:
                await self._filter_history(handoff)
            await answer_call(self.port, self.history, call_id, Handoff.transfer_message(new))
        finally:
            self.port.feed(turns.ToolCallFinished(call_id))

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
