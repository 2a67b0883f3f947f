"""What a :class:`~rtagents.session.RealtimeSession` tells its consumer.

The names and ``type`` strings are those of the OpenAI Agents SDK's realtime session events, so
code written against it reads the same.  Every event is a frozen, slotted attrs class.  Audio is
``bytes`` in the session's output format; reprs never show audio.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from rtagents.items import RealtimeItem


def _audio_repr(data: bytes) -> str:
    return f"<{len(data)} bytes>"


@attrs.frozen
class RealtimeAgentStartEvent:
    """A response started (``response.created``)."""

    agent: Any
    response_id: str | None = None
    type: Literal["agent_start"] = "agent_start"


@attrs.frozen
class RealtimeAgentEndEvent:
    """The running response ended (``response.done``)."""

    agent: Any
    response_id: str | None = None
    status: str | None = None
    type: Literal["agent_end"] = "agent_end"


@attrs.frozen
class RealtimeAudio:
    """A chunk of agent audio (the model's delta, decoded)."""

    data: bytes = attrs.field(repr=_audio_repr)
    item_id: str
    content_index: int
    response_id: str
    type: Literal["audio"] = "audio"

    @property
    def audio(self) -> RealtimeAudio:
        """The SDK nests the chunk as ``event.audio.data``; this keeps that spelling working."""
        return self


@attrs.frozen
class RealtimeAudioEnd:
    item_id: str
    content_index: int
    type: Literal["audio_end"] = "audio_end"


@attrs.frozen
class RealtimeAudioInterrupted:
    """Agent audio was cut off (barge-in or ``interrupt()``); local playback is already flushed."""

    item_id: str
    content_index: int
    type: Literal["audio_interrupted"] = "audio_interrupted"


@attrs.frozen
class RealtimeToolStart:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    type: Literal["tool_start"] = "tool_start"


@attrs.frozen
class RealtimeToolEnd:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    output: Any
    type: Literal["tool_end"] = "tool_end"


@attrs.frozen
class RealtimeToolApprovalRequired:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    type: Literal["tool_approval_required"] = "tool_approval_required"


@attrs.frozen
class RealtimeHandoffEvent:
    from_agent: Any
    to_agent: Any
    type: Literal["handoff"] = "handoff"


@attrs.frozen
class RealtimeHistoryAdded:
    item: RealtimeItem
    type: Literal["history_added"] = "history_added"


@attrs.frozen
class RealtimeHistoryUpdated:
    history: tuple[RealtimeItem, ...]
    type: Literal["history_updated"] = "history_updated"


@attrs.frozen
class RealtimeGuardrailTripped:
    guardrail_results: tuple[Any, ...]
    message: str
    type: Literal["guardrail_tripped"] = "guardrail_tripped"


@attrs.frozen
class RealtimeInputAudioTimeoutTriggered:
    item_id: str
    audio_start_ms: int
    audio_end_ms: int
    type: Literal["input_audio_timeout_triggered"] = "input_audio_timeout_triggered"


@attrs.frozen
class RealtimeError:
    """An error the session survived: a server ``error`` event, a protocol error, a tool failure,
    a response that ended ``failed`` (``type: "response_failed"``, with the server's reason).

    ``error`` is the server's error object (``rtagents.protocol.ErrorDetails``) or a short dict
    with ``type`` and ``message``."""

    error: Any
    type: Literal["error"] = "error"


@attrs.frozen
class RealtimeRawModelEvent:
    """Every event from the model link, first, as decoded (a protocol event or link event)."""

    data: Any
    type: Literal["raw_model_event"] = "raw_model_event"


RealtimeSessionEvent: TypeAlias = (
    RealtimeAgentStartEvent
    | RealtimeAgentEndEvent
    | RealtimeAudio
    | RealtimeAudioEnd
    | RealtimeAudioInterrupted
    | RealtimeToolStart
    | RealtimeToolEnd
    | RealtimeToolApprovalRequired
    | RealtimeHandoffEvent
    | RealtimeHistoryAdded
    | RealtimeHistoryUpdated
    | RealtimeGuardrailTripped
    | RealtimeInputAudioTimeoutTriggered
    | RealtimeError
    | RealtimeRawModelEvent
)

#: Events a stalled consumer may lose first (they are superseded by later ones or are bulk).
DROPPABLE_TYPES = frozenset({"audio", "raw_model_event", "history_updated"})
