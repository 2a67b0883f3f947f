"""What a :class:`~rtagents.session.RealtimeSession` tells its consumer.

The names, fields and ``type`` strings are those of the OpenAI Agents SDK's realtime session
events, so code written against it reads the same; every event has ``info``
(:class:`RealtimeEventInfo`, the run context), filled in when the session queues it.  Every
event is a frozen, slotted attrs class.  Audio is ``bytes`` in the session's output format;
reprs never show audio.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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


_ERROR_FIELDS = ("type", "message", "code", "param", "event_id")


@attrs.frozen
class ErrorInfo(Mapping[str, Any]):
    """What went wrong, one type for every error: the server's (``type``, ``message``,
    ``code``, ``param``, ``event_id`` as the ``error`` event has them) and the session's own
    (``type`` such as ``tool_error``, ``turn_timeout``, ``link_closed``; more in ``details``).
    Read it by attribute (``error.message``) or as a mapping (``error["type"]``,
    ``error.get("tool")``)."""

    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None
    details: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def coerce(cls, error: object) -> ErrorInfo:
        """From the server's error object, a dict with ``type`` and ``message``, or anything
        else (its text becomes the message)."""
        if isinstance(error, ErrorInfo):
            return error
        if isinstance(error, Mapping):
            known = {k: error.get(k) for k in _ERROR_FIELDS}
            details = {k: v for k, v in error.items() if k not in _ERROR_FIELDS}
            return cls(
                str(known["type"] or "error"),
                str(known["message"] or ""),
                known["code"],
                known["param"],
                known["event_id"],
                details,
            )
        if hasattr(error, "type") and hasattr(error, "message"):
            fields = {k: getattr(error, k, None) for k in _ERROR_FIELDS}
            return cls.coerce(fields)
        return cls("error", str(error))

    def _as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in _ERROR_FIELDS if getattr(self, k) is not None}
        return {**data, **self.details}

    def __getitem__(self, key: str) -> Any:
        return self._as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._as_dict())

    def __len__(self) -> int:
        return len(self._as_dict())


def _error_info(error: object) -> ErrorInfo:
    return ErrorInfo.coerce(error)


@attrs.frozen
class RealtimeError:
    """An error the session survived: a server ``error`` event, a protocol error, a tool failure,
    a response that ended ``failed`` (``type: "response_failed"``, with the server's reason), a
    turn that timed out, a link that closed.  ``error`` is always an :class:`ErrorInfo`
    (whatever the session was given is converted)."""

    error: ErrorInfo = attrs.field(converter=_error_info)
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["error"] = "error"


@attrs.frozen
class RealtimeConnectionLost:
    """The model link was lost (not closed by the app); the session is reconnecting.  Agent
    audio already received goes on playing; a response that was running is ended."""

    code: int | None
    reason: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["connection_lost"] = "connection_lost"


@attrs.frozen
class RealtimeReconnected:
    """The session is connected again and has resumed: its configuration and conversation were
    re-created (``not_restored`` says what could not be, and why) and the user's audio since
    the last answer was sent again (``audio_dropped``: appends that did not fit the buffer)."""

    attempts: int
    outage_s: float
    restored_items: int
    not_restored: tuple[str, ...]
    audio_replayed: int
    audio_dropped: int
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["reconnected"] = "reconnected"


@attrs.frozen
class RealtimeDtmf:
    """The caller pressed a key on the phone (``digit``: 0-9, ``*``, ``#``, A-D): from a
    Twilio call's ``dtmf`` message (``rtagents serve twilio``) or a SIP call's
    ``input_audio_buffer.dtmf_event_received`` (``rtagents serve sip``).  Not in the OpenAI
    Agents SDK."""

    digit: str
    info: RealtimeEventInfo = attrs.field(default=_NO_INFO, kw_only=True, eq=False, repr=False)
    type: Literal["dtmf"] = "dtmf"


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
    | RealtimeConnectionLost
    | RealtimeReconnected
    | RealtimeDtmf
)

#: Events a stalled consumer may lose first (they are superseded by later ones or are bulk).
DROPPABLE_TYPES = frozenset({"audio", "raw_model_event", "history_updated"})
