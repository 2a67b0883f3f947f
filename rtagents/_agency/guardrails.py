"""Output guardrails: debounced checks of what the agent says, off the audio path.

Theory of operation
-------------------
Every text or transcript delta of the assistant goes to a
:class:`~rtagents.guardrails.GuardrailDebouncer`, which says when a check is due and with which
text (each ``debounce_text_length`` characters, and at the item's end).  A due check runs as a
task, at most one per item: a check asked for while one runs is remembered (only the newest
text) and run once after it.  The guardrails checked are the current agent's and the run's (each
once).  When one trips — at most once per response — the response is interrupted through the
port (like a barge-in), ``guardrail_tripped`` is emitted and, if that response is still the
latest, the model is told which guardrail stopped it and asked to answer again.  A guardrail that
raises is reported as an ``error`` event and counts as not tripped.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from typing import Any

import trio

from rtagents import protocol as p
from rtagents._agency.port import SessionPort
from rtagents.agent import RealtimeAgent
from rtagents.context import RunContextWrapper
from rtagents.events import RealtimeError, RealtimeGuardrailTripped
from rtagents.guardrails import (
    GuardrailDebouncer,
    GuardrailsSettings,
    OutputGuardrail,
    OutputGuardrailResult,
)

log = logging.getLogger("rtagents.session")


class GuardrailRunner:
    def __init__(
        self,
        port: SessionPort,
        context: RunContextWrapper[Any],
        current_agent: Callable[[], RealtimeAgent | None],
        run_guardrails: Sequence[OutputGuardrail],
        settings: GuardrailsSettings,
    ) -> None:
        self.port = port
        self.context = context
        self.current_agent = current_agent
        self.run_guardrails = tuple(run_guardrails)
        self.nursery: trio.Nursery | None = None  # set by the agency once it runs
        self._debouncer = GuardrailDebouncer(settings.debounce_text_length)
        self._checking: dict[str, str | None] = {}  # item id -> newer text to check, if any
        self._tripped: collections.deque[str] = collections.deque(maxlen=64)
        self.checks = 0
        self.trips = 0

    def _guardrails(self, agent: RealtimeAgent) -> list[OutputGuardrail]:
        seen: dict[int, OutputGuardrail] = {}
        for guardrail in (*agent.output_guardrails, *self.run_guardrails):
            seen.setdefault(id(guardrail), guardrail)
        return list(seen.values())

    def on_output_text(self, response_id: str, item_id: str, delta: str) -> None:
        agent = self.current_agent()
        if agent is None or not (agent.output_guardrails or self.run_guardrails):
            return
        text = self._debouncer.add(response_id, item_id, delta)
        if text is not None:
            self._check(response_id, item_id, text, agent)

    def on_output_done(self, item_id: str) -> None:
        finished = self._debouncer.finish(item_id)
        if finished is not None:
            agent = self.current_agent()
            assert agent is not None  # the debouncer only has text once an agent runs
            self._check(finished[0], item_id, finished[1], agent)

    def _check(self, response_id: str, item_id: str, text: str, agent: RealtimeAgent) -> None:
        if response_id in self._tripped:
            return
        if item_id in self._checking:
            self._checking[item_id] = text  # run once more, with the newest text, after this one
            return
        self._checking[item_id] = None
        assert self.nursery is not None
        self.nursery.start_soon(self._check_task, response_id, item_id, text, agent)

    async def _check_task(
        self, response_id: str, item_id: str, text: str, agent: RealtimeAgent
    ) -> None:
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

    async def _run_guardrails(self, response_id: str, text: str, agent: RealtimeAgent) -> None:
        self.checks += 1
        results: list[OutputGuardrailResult] = []
        for guardrail in self._guardrails(self.current_agent() or agent):
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
        self.trips += 1
        self._debouncer.forget_response(response_id)
        self.port.push(RealtimeGuardrailTripped(results, text))
        self.port.interrupt_response(response_id)
        if self.port.is_latest_response(response_id):
            # The SDK's words and role (a user message), so a port's prompts still fit.
            names = ", ".join(r.guardrail.get_name() for r in tripped)
            note = p.MessageItem.user_text(f"guardrail triggered: {names}")
            await self.port.send(p.ConversationItemCreate(item=note))
            await self.port.request_response()
