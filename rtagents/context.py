"""The run context: the app's own object, plus what the session accounts for the run.

Every callable the app gives the session — dynamic instructions, tools that ask for it,
guardrails, hooks, handoff callbacks — receives the same :class:`RunContextWrapper` (tools get
a :class:`ToolContext`, which adds the call's identity).  ``usage`` sums the token usage of
every ``response.done`` of the session.  Names follow the OpenAI Agents SDK.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

from rtagents import protocol as p

TContext = TypeVar("TContext")


@attrs.define
class Usage:
    """Token usage summed over responses (``requests`` counts the responses that reported)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_image_tokens: int = 0
    cached_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0

    def add(self, usage: p.ResponseUsage | None) -> None:
        """Add one response's usage (``response.done``'s ``response.usage``)."""
        if usage is None:
            return
        self.requests += 1
        self.input_tokens += usage.input_tokens or 0
        self.output_tokens += usage.output_tokens or 0
        self.total_tokens += usage.total_tokens or 0
        details = usage.input_token_details
        if details is not None:
            self.input_text_tokens += details.text_tokens or 0
            self.input_audio_tokens += details.audio_tokens or 0
            self.input_image_tokens += details.image_tokens or 0
            self.cached_tokens += details.cached_tokens or 0
        out = usage.output_token_details
        if out is not None:
            self.output_text_tokens += out.text_tokens or 0
            self.output_audio_tokens += out.audio_tokens or 0


@attrs.define
class RunContextWrapper(Generic[TContext]):
    """The app's context object (``context``) and the session's accounting (``usage``)."""

    context: TContext
    usage: Usage = attrs.field(factory=Usage)


@attrs.define
class ToolContext(RunContextWrapper[TContext]):
    """The run context as a tool sees it: which call this is."""

    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""
    agent: Any = None

    @classmethod
    def for_call(
        cls,
        wrapper: RunContextWrapper[TContext],
        name: str,
        call_id: str,
        arguments: str,
        agent: Any,
    ) -> ToolContext[TContext]:
        # The usage object is shared: what a tool sees is the session's running total.
        return cls(wrapper.context, wrapper.usage, name, call_id, arguments, agent)
