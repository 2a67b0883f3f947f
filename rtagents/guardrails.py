"""Output guardrails: checks on what the agent says, run while it is still saying it.

Theory of operation
-------------------
An :class:`OutputGuardrail` wraps ``check(ctx, agent, text) -> GuardrailFunctionOutput`` (sync or
async).  The session feeds every transcript (or text) delta of the assistant into a
:class:`GuardrailDebouncer`, a pure per-item accumulator: it answers "check now, with this text"
each time an item's text crosses another multiple of ``debounce_text_length`` characters, and once
more when the item's text is complete (so a short answer is checked too, and a long one is
checked at its end, not only at the last threshold it crossed — which is where the OpenAI Agents
SDK leaves gaps).  Checks run as tasks, never on the audio path.  When one trips, the session
interrupts that response like a barge-in: playback stops, the response is cancelled, the item is
truncated at the audio actually heard, a ``guardrail_tripped`` event carries the results, and the
model is told which guardrail stopped it so it can answer again.  At most one trip per response.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, overload

import attrs

from rtagents.context import RunContextWrapper


@attrs.frozen
class GuardrailFunctionOutput:
    """What a guardrail function returns: ``tripwire_triggered`` stops the response."""

    output_info: Any = None
    tripwire_triggered: bool = False


@attrs.frozen
class OutputGuardrail:
    guardrail_function: Callable[[RunContextWrapper[Any], Any, str], Any] = attrs.field(repr=False)
    name: str | None = None

    def get_name(self) -> str:
        return self.name or str(getattr(self.guardrail_function, "__name__", "guardrail"))

    async def run(
        self, ctx: RunContextWrapper[Any], agent: Any, agent_output: str
    ) -> OutputGuardrailResult:
        output = self.guardrail_function(ctx, agent, agent_output)
        if inspect.isawaitable(output):
            output = await output
        if not isinstance(output, GuardrailFunctionOutput):
            raise TypeError(
                f"guardrail {self.get_name()} returned {type(output).__name__}, "
                "not GuardrailFunctionOutput"
            )
        return OutputGuardrailResult(self, agent, agent_output, output)


@attrs.frozen
class OutputGuardrailResult:
    guardrail: OutputGuardrail
    agent: Any
    agent_output: str
    output: GuardrailFunctionOutput

    @property
    def tripwire_triggered(self) -> bool:
        return self.output.tripwire_triggered


@overload
def output_guardrail(func: Callable[..., Any], /) -> OutputGuardrail: ...


@overload
def output_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], OutputGuardrail]: ...


def output_guardrail(
    func: Callable[..., Any] | None = None, *, name: str | None = None
) -> OutputGuardrail | Callable[[Callable[..., Any]], OutputGuardrail]:
    """Decorator: an :class:`OutputGuardrail` from ``f(ctx, agent, text)``."""

    def build(f: Callable[..., Any]) -> OutputGuardrail:
        return OutputGuardrail(f, name)

    return build(func) if func is not None else build


@attrs.frozen
class GuardrailsSettings:
    debounce_text_length: int = attrs.field(default=100, validator=attrs.validators.ge(1))


@attrs.define
class _ItemText:
    response_id: str
    text: str = ""
    checked_upto: int = 0  # length of the text at the last check


@attrs.define
class GuardrailDebouncer:
    """Pure bookkeeping of which text to check when (see the module docstring)."""

    debounce_text_length: int = 100
    max_items: int = 64
    _items: dict[str, _ItemText] = attrs.field(factory=dict)

    def add(self, response_id: str, item_id: str, delta: str) -> str | None:
        """Text arrived; returns the whole text so far when a check is due."""
        entry = self._items.get(item_id)
        if entry is None:
            if len(self._items) >= self.max_items:
                self._items.pop(next(iter(self._items)))
            entry = self._items[item_id] = _ItemText(response_id)
        entry.text += delta
        step = self.debounce_text_length
        if len(entry.text) // step > entry.checked_upto // step:
            entry.checked_upto = len(entry.text)
            return entry.text
        return None

    def finish(self, item_id: str) -> tuple[str, str] | None:
        """The item's text is complete: ``(response_id, text)`` if it has unchecked text."""
        entry = self._items.pop(item_id, None)
        if entry is None or len(entry.text) == entry.checked_upto or not entry.text.strip():
            return None
        return entry.response_id, entry.text

    def forget_response(self, response_id: str) -> None:
        for item_id in [k for k, v in self._items.items() if v.response_id == response_id]:
            del self._items[item_id]
