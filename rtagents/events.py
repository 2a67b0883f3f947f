"""What a :class:`~rtagents.session.RealtimeSession` tells its consumer.

The names, fields and ``type`` strings are those of the OpenAI Agents SDK's realtime session
events, so code written against it reads the same; every event has ``info``
(:class:`RealtimeEventInfo`, the run context), filled in when the session queues it.  Every
event is a frozen, slotted attrs class.  Audio is ``bytes`` in the session's output format;
reprs never show audio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

import attrs

from rtagents.context import RunContextWrapper
from rtagents.items import RealtimeItem


@attrs.frozen
class RealtimeEventInfo:
    """What every event carries besides its own fields: the session's run context."""

    context: RunContextWrapper[Any]


#: ``info`` is set by the session's event queue when the event is queued (one object per
#: session); events made outside a session have ``None``.
_NO_INFO: Any = None


def _items(items: Iterable[RealtimeItem]) -> list[RealtimeItem]:
    return list(items)


def _results(results: Iterable[Any]) -> list[Any]:
    return list(results)


def _audio_repr(data: bytes) -> str:
    return f"<{len(data)} bytes>"


@attrs.frozen
class RealtimeAgentStartEvent:
    """A response started (``response.created``)."""

    agent: Any
    response_id: str | None = None
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["agent_start"] = "agent_start"


@attrs.frozen
class RealtimeAgentEndEvent:
    """The running response ended (``response.done``)."""

    agent: Any
    response_id: str | None = None
    status: str | None = None
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["agent_end"] = "agent_end"


@attrs.frozen
class RealtimeAudio:
    """A chunk of agent audio (the model's delta, decoded)."""

    data: bytes = attrs.field(repr=_audio_repr)
    item_id: str
    content_index: int
    response_id: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["audio"] = "audio"

    @property
    def audio(self) -> RealtimeAudio:
        """The SDK nests the chunk as ``event.audio.data``; this keeps that spelling working."""
        return self


@attrs.frozen
class RealtimeAudioEnd:
    item_id: str
    content_index: int
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["audio_end"] = "audio_end"


@attrs.frozen
class RealtimeAudioInterrupted:
    """Agent audio was cut off (barge-in or ``interrupt()``); local playback is already flushed."""

    item_id: str
    content_index: int
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["audio_interrupted"] = "audio_interrupted"


@attrs.frozen
class RealtimeToolStart:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["tool_start"] = "tool_start"


@attrs.frozen
class RealtimeToolEnd:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    output: Any
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["tool_end"] = "tool_end"


@attrs.frozen
class RealtimeToolApprovalRequired:
    agent: Any
    tool: Any
    call_id: str
    arguments: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["tool_approval_required"] = "tool_approval_required"


@attrs.frozen
class RealtimeHandoffEvent:
    from_agent: Any
    to_agent: Any
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["handoff"] = "handoff"


@attrs.frozen
class RealtimeHistoryAdded:
    item: RealtimeItem
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["history_added"] = "history_added"


@attrs.frozen
class RealtimeHistoryUpdated:
    """The whole history (a new list each time)."""

    history: list[RealtimeItem] = attrs.field(converter=_items)
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["history_updated"] = "history_updated"


@attrs.frozen
class RealtimeGuardrailTripped:
    guardrail_results: list[Any] = attrs.field(converter=_results)
    message: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["guardrail_tripped"] = "guardrail_tripped"


@attrs.frozen
class RealtimeInputAudioTimeoutTriggered:
    item_id: str
    audio_start_ms: int
    audio_end_ms: int
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["input_audio_timeout_triggered"] = "input_audio_timeout_triggered"


@attrs.frozen
class RealtimeError:
    """An error the session survived: a server ``error`` event, a protocol error, a tool failure,
    a response that ended ``failed`` (``type: "response_failed"``, with the server's reason).

    ``error`` is the server's error object (``rtagents.protocol.ErrorDetails``) or a short dict
    with ``type`` and ``message``."""

    error: Any
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["error"] = "error"


@attrs.frozen
class RealtimeRawModelEvent:
    """Every model event, before what it means for the session: ``data`` is the SDK's model
    event (:mod:`rtagents.model_events`), ``wire`` the GA protocol event (or link event) it
    came from."""

    data: Any
    wire: Any = attrs.field(default=None, repr=False, eq=False)
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
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
