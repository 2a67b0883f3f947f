"""Model events: what the model link's stream means, in the OpenAI Agents SDK's vocabulary.

Every event the session receives from its model comes to the app first as a ``raw_model_event``
whose ``data`` is one of these (the SDK's ``RealtimeModelEvent`` union): first
:class:`RealtimeModelRawServerEvent` for the server's message itself, then the meaning the SDK
gives it — :class:`RealtimeModelAudioEvent` for an audio delta, :class:`RealtimeModelTurnEndedEvent`
for ``response.done``, and so on.  ``RealtimeRawModelEvent.wire`` holds the decoded GA event
(:mod:`rtagents.protocol`), for apps that want the protocol itself.  Listeners added with
``session.model.add_listener`` receive the same values.  Frozen, slotted values; no I/O.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from rtagents.context import Usage
from rtagents.items import RealtimeItem

RealtimeConnectionStatus: TypeAlias = Literal["connecting", "connected", "disconnected"]


def _audio_repr(data: bytes) -> str:
    return f"<{len(data)} bytes>"


@attrs.frozen
class RealtimeModelErrorEvent:
    error: Any
    type: Literal["error"] = "error"


@attrs.frozen
class RealtimeModelToolCallEvent:
    name: str
    call_id: str
    arguments: str
    id: str | None = None
    previous_item_id: str | None = None
    type: Literal["function_call"] = "function_call"


@attrs.frozen
class RealtimeModelAudioEvent:
    data: bytes = attrs.field(repr=_audio_repr)
    response_id: str
    item_id: str
    content_index: int
    type: Literal["audio"] = "audio"


@attrs.frozen
class RealtimeModelAudioInterruptedEvent:
    item_id: str
    content_index: int
    type: Literal["audio_interrupted"] = "audio_interrupted"


@attrs.frozen
class RealtimeModelAudioDoneEvent:
    item_id: str
    content_index: int
    type: Literal["audio_done"] = "audio_done"


@attrs.frozen
class RealtimeModelInputAudioTranscriptionCompletedEvent:
    item_id: str
    transcript: str
    type: Literal["input_audio_transcription_completed"] = "input_audio_transcription_completed"


@attrs.frozen
class RealtimeModelInputAudioTimeoutTriggeredEvent:
    item_id: str
    audio_start_ms: int
    audio_end_ms: int
    type: Literal["input_audio_timeout_triggered"] = "input_audio_timeout_triggered"


@attrs.frozen
class RealtimeModelTranscriptDeltaEvent:
    item_id: str
    delta: str
    response_id: str
    type: Literal["transcript_delta"] = "transcript_delta"


@attrs.frozen
class RealtimeModelOutputTextDeltaEvent:
    item_id: str
    delta: str
    response_id: str
    type: Literal["output_text_delta"] = "output_text_delta"


@attrs.frozen
class RealtimeModelItemUpdatedEvent:
    item: RealtimeItem
    type: Literal["item_updated"] = "item_updated"


@attrs.frozen
class RealtimeModelItemDeletedEvent:
    item_id: str
    type: Literal["item_deleted"] = "item_deleted"


@attrs.frozen
class RealtimeModelConnectionStatusEvent:
    status: RealtimeConnectionStatus
    type: Literal["connection_status"] = "connection_status"


@attrs.frozen
class RealtimeModelEndOfStreamEvent:
    type: Literal["end_of_stream"] = "end_of_stream"


@attrs.frozen
class RealtimeModelTurnStartedEvent:
    type: Literal["turn_started"] = "turn_started"
    response_id: str | None = None


@attrs.frozen
class RealtimeModelCachedTokensDetails:
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None


@attrs.frozen
class RealtimeModelInputTokensDetails:
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: RealtimeModelCachedTokensDetails | None = None


@attrs.frozen
class RealtimeModelOutputTokensDetails:
    text_tokens: int | None = None
    audio_tokens: int | None = None


@attrs.frozen
class RealtimeModelUsageEvent:
    """One response's usage (``usage`` counts that response alone; the session's running
    total is ``session.usage`` / ``context.usage``)."""

    usage: Usage
    input_tokens_details: RealtimeModelInputTokensDetails | None = None
    output_tokens_details: RealtimeModelOutputTokensDetails | None = None
    type: Literal["usage"] = "usage"


@attrs.frozen
class RealtimeModelTurnEndedEvent:
    type: Literal["turn_ended"] = "turn_ended"
    response_id: str | None = None


@attrs.frozen
class RealtimeModelOtherEvent:
    data: Any
    type: Literal["other"] = "other"


@attrs.frozen
class RealtimeModelExceptionEvent:
    exception: Exception
    context: str | None = None
    type: Literal["exception"] = "exception"


@attrs.frozen
class RealtimeModelRawServerEvent:
    """The server's message.  ``data`` is its JSON object (built when first read: most apps
    never look); ``wire`` the decoded GA event."""

    wire: Any = attrs.field(repr=False)
    type: Literal["raw_server_event"] = "raw_server_event"

    @property
    def data(self) -> Any:
        to_wire = getattr(self.wire, "to_wire", None)
        if to_wire is not None:
            return to_wire()
        return {"type": getattr(self.wire, "type", None)}


RealtimeModelEvent: TypeAlias = (
    RealtimeModelErrorEvent
    | RealtimeModelToolCallEvent
    | RealtimeModelAudioEvent
    | RealtimeModelAudioInterruptedEvent
    | RealtimeModelAudioDoneEvent
    | RealtimeModelInputAudioTimeoutTriggeredEvent
    | RealtimeModelInputAudioTranscriptionCompletedEvent
    | RealtimeModelTranscriptDeltaEvent
    | RealtimeModelOutputTextDeltaEvent
    | RealtimeModelItemUpdatedEvent
    | RealtimeModelItemDeletedEvent
    | RealtimeModelConnectionStatusEvent
    | RealtimeModelEndOfStreamEvent
    | RealtimeModelTurnStartedEvent
    | RealtimeModelUsageEvent
    | RealtimeModelTurnEndedEvent
    | RealtimeModelOtherEvent
    | RealtimeModelExceptionEvent
    | RealtimeModelRawServerEvent
)
