"""Server events: the 46 GA messages a server sends, and the client role's decoder for them.

Theory of operation
-------------------
Each server event is a frozen attrs class named after its ``type``
(``response.output_audio.delta`` → :class:`ResponseOutputAudioDelta`).  The same classes serve
both roles: a client reads them with :func:`decode_server_event`; a server (our local Realtime
server, a test fake) builds them and sends ``event.to_json()``.  Every server event has a
required ``event_id`` except ``input_audio_buffer.dtmf_event_received``, whose type has none.

:func:`decode_server_event` is total and lenient.  It never raises.  A well-formed event of a
type we do not know becomes :class:`UnknownServerEvent` (to be ignored, or forwarded as is).
Anything malformed (bad JSON, not an object, no string ``type``, a wrong field type, a missing
required field, bad base64) becomes a :class:`ServerProtocolError` value naming what was wrong.
Keys the official types do not declare are ignored, so a newer server keeps working; every
decoded event also keeps the parsed object in ``raw`` (outside ``==`` and the repr), so nothing
the server sent is lost.

Audio arrives base64-encoded in ``response.output_audio.delta``; it is decoded once, while the
frame is read, and exposed as ``bytes`` in ``audio``.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from ._client_events import ClientProtocolError
from ._codec import (
    AudioData,
    DecodeFailure,
    JSONObject,
    ProtocolErrorCode,
    UnknownType,
    WireEvent,
    WireValue,
    audio_repr,
    decode_frame,
    dump_json,
    registry_of,
    text_preview,
)
from ._items import ConversationItem
from ._responses import Response, ResponsePart
from ._session_config import SessionConfig

# -- payload objects -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ErrorDetails(WireValue):
    """The ``error`` of an ``error`` event.  ``event_id`` names the client event at fault."""

    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None


@attrs.frozen(kw_only=True)
class ConversationInfo(WireValue):
    _wire_ignored = frozenset({"object"})

    id: str | None = None


@attrs.frozen(kw_only=True)
class TranscriptionError(WireValue):
    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None


@attrs.frozen(kw_only=True)
class LogProb(WireValue):
    token: str
    token_bytes: tuple[int, ...] = attrs.field(metadata={"wire_key": "bytes"})
    logprob: float


@attrs.frozen(kw_only=True)
class DetectedLanguage(WireValue):
    code: str


@attrs.frozen(kw_only=True)
class TranscriptInputTokenDetails(WireValue):
    text_tokens: int | None = None
    audio_tokens: int | None = None


@attrs.frozen(kw_only=True)
class TranscriptTokenUsage(WireValue):
    """Transcription billed by tokens."""

    _wire_tag = "tokens"

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: TranscriptInputTokenDetails | None = None


@attrs.frozen(kw_only=True)
class TranscriptDurationUsage(WireValue):
    """Transcription billed by audio duration."""

    _wire_tag = "duration"

    seconds: float


TranscriptUsage: TypeAlias = TranscriptTokenUsage | TranscriptDurationUsage


@attrs.frozen(kw_only=True)
class RateLimit(WireValue):
    name: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


# -- session and conversation --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ErrorEvent(WireEvent):
    """Something failed; often a client event (``error.event_id``).  The session goes on."""

    _wire_tag = "error"

    event_id: str
    error: ErrorDetails
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def for_client_error(cls, problem: ClientProtocolError, *, event_id: str) -> ErrorEvent:
        """The ``error`` a server sends back for a client frame it could not accept."""
        return cls(
            event_id=event_id,
            error=ErrorDetails(
                type="invalid_request_error",
                code=problem.code,
                message=problem.reason,
                param=problem.param,
                event_id=problem.event_id,
            ),
        )


@attrs.frozen(kw_only=True)
class SessionCreated(WireEvent):
    """The first event on a new connection."""

    _wire_tag = "session.created"

    event_id: str
    session: SessionConfig
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class SessionUpdated(WireEvent):
    """The answer to ``session.update``: the whole session as it now stands."""

    _wire_tag = "session.updated"

    event_id: str
    session: SessionConfig
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationCreated(WireEvent):
    _wire_tag = "conversation.created"

    event_id: str
    conversation: ConversationInfo
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemAdded(WireEvent):
    """An item entered the conversation (model output starts empty and ``in_progress``)."""

    _wire_tag = "conversation.item.added"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemDone(WireEvent):
    """An item is final (audio still left out)."""

    _wire_tag = "conversation.item.done"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemCreated(WireEvent):
    """Older name for an item entering the conversation; still in the GA union."""

    _wire_tag = "conversation.item.created"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemRetrieved(WireEvent):
    """The answer to ``conversation.item.retrieve``, audio included."""

    _wire_tag = "conversation.item.retrieved"

    event_id: str
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemTruncated(WireEvent):
    _wire_tag = "conversation.item.truncated"

    event_id: str
    item_id: str
    content_index: int
    audio_end_ms: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemDeleted(WireEvent):
    _wire_tag = "conversation.item.deleted"

    event_id: str
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioTranscriptionDelta(WireEvent):
    """Part of the transcript of the caller's audio."""

    _wire_tag = "conversation.item.input_audio_transcription.delta"

    event_id: str
    item_id: str
    content_index: int | None = None
    delta: str | None = None
    logprobs: tuple[LogProb, ...] | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioTranscriptionCompleted(WireEvent):
    """The full transcript of the caller's audio (may arrive after the response started)."""

    _wire_tag = "conversation.item.input_audio_transcription.completed"

    event_id: str
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptUsage
    logprobs: tuple[LogProb, ...] | None = None
    languages: tuple[DetectedLanguage, ...] | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioTranscriptionFailed(WireEvent):
    _wire_tag = "conversation.item.input_audio_transcription.failed"

    event_id: str
    item_id: str
    content_index: int
    error: TranscriptionError
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioTranscriptionSegment(WireEvent):
    """A diarized transcript segment (``start``/``end`` in seconds)."""

    _wire_tag = "conversation.item.input_audio_transcription.segment"

    event_id: str
    id: str
    item_id: str
    content_index: int
    text: str
    speaker: str
    start: float
    end: float
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


# -- input audio buffer --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InputAudioBufferCommitted(WireEvent):
    _wire_tag = "input_audio_buffer.committed"

    event_id: str
    previous_item_id: str | None = None
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferCleared(WireEvent):
    _wire_tag = "input_audio_buffer.cleared"

    event_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferSpeechStarted(WireEvent):
    """VAD heard speech.  ``audio_start_ms`` counts from the first audio appended in the
    session and includes the prefix padding."""

    _wire_tag = "input_audio_buffer.speech_started"

    event_id: str
    item_id: str
    audio_start_ms: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferSpeechStopped(WireEvent):
    _wire_tag = "input_audio_buffer.speech_stopped"

    event_id: str
    item_id: str
    audio_end_ms: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferTimeoutTriggered(WireEvent):
    """Server VAD's ``idle_timeout_ms`` expired; the silence was committed."""

    _wire_tag = "input_audio_buffer.timeout_triggered"

    event_id: str
    item_id: str
    audio_start_ms: int
    audio_end_ms: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferDtmfEventReceived(WireEvent):
    """SIP only: a key press.  The one server event without an ``event_id``."""

    _wire_tag = "input_audio_buffer.dtmf_event_received"

    event: str
    #: Unix time in seconds.
    received_at: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def event_id(self) -> None:
        return None


@attrs.frozen(kw_only=True)
class OutputAudioBufferStarted(WireEvent):
    """WebRTC/SIP only."""

    _wire_tag = "output_audio_buffer.started"

    event_id: str
    response_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class OutputAudioBufferStopped(WireEvent):
    """WebRTC/SIP only."""

    _wire_tag = "output_audio_buffer.stopped"

    event_id: str
    response_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class OutputAudioBufferCleared(WireEvent):
    """WebRTC/SIP only."""

    _wire_tag = "output_audio_buffer.cleared"

    event_id: str
    response_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RateLimitsUpdated(WireEvent):
    _wire_tag = "rate_limits.updated"

    event_id: str
    rate_limits: tuple[RateLimit, ...]
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


# -- responses -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResponseCreated(WireEvent):
    _wire_tag = "response.created"

    event_id: str
    response: Response
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseDone(WireEvent):
    """A response ended (completed, cancelled, failed or incomplete); carries the usage."""

    _wire_tag = "response.done"

    event_id: str
    response: Response
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputItemAdded(WireEvent):
    _wire_tag = "response.output_item.added"

    event_id: str
    response_id: str
    output_index: int
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputItemDone(WireEvent):
    _wire_tag = "response.output_item.done"

    event_id: str
    response_id: str
    output_index: int
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseContentPartAdded(WireEvent):
    _wire_tag = "response.content_part.added"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ResponsePart
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseContentPartDone(WireEvent):
    _wire_tag = "response.content_part.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ResponsePart
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputTextDelta(WireEvent):
    _wire_tag = "response.output_text.delta"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputTextDone(WireEvent):
    _wire_tag = "response.output_text.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    text: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputAudioDelta(WireEvent):
    """A chunk of model audio in the session's output format (wire key ``delta``)."""

    _wire_tag = "response.output_audio.delta"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    audio: AudioData = attrs.field(repr=audio_repr, hash=False, metadata={"wire_key": "delta"})
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputAudioDone(WireEvent):
    _wire_tag = "response.output_audio.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputAudioTranscriptDelta(WireEvent):
    _wire_tag = "response.output_audio_transcript.delta"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseOutputAudioTranscriptDone(WireEvent):
    _wire_tag = "response.output_audio_transcript.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    transcript: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseFunctionCallArgumentsDelta(WireEvent):
    _wire_tag = "response.function_call_arguments.delta"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseFunctionCallArgumentsDone(WireEvent):
    """The model finished a function call: run ``name`` with ``arguments`` (JSON text)."""

    _wire_tag = "response.function_call_arguments.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


# -- MCP -----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResponseMcpCallArgumentsDelta(WireEvent):
    _wire_tag = "response.mcp_call_arguments.delta"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseMcpCallArgumentsDone(WireEvent):
    _wire_tag = "response.mcp_call_arguments.done"

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    arguments: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseMcpCallInProgress(WireEvent):
    _wire_tag = "response.mcp_call.in_progress"

    event_id: str
    item_id: str
    output_index: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseMcpCallCompleted(WireEvent):
    _wire_tag = "response.mcp_call.completed"

    event_id: str
    item_id: str
    output_index: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseMcpCallFailed(WireEvent):
    _wire_tag = "response.mcp_call.failed"

    event_id: str
    item_id: str
    output_index: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class McpListToolsInProgress(WireEvent):
    _wire_tag = "mcp_list_tools.in_progress"

    event_id: str
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class McpListToolsCompleted(WireEvent):
    _wire_tag = "mcp_list_tools.completed"

    event_id: str
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class McpListToolsFailed(WireEvent):
    _wire_tag = "mcp_list_tools.failed"

    event_id: str
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


# -- the union and the decoder -------------------------------------------------------------------

ServerEvent: TypeAlias = (
    ErrorEvent
    | SessionCreated
    | SessionUpdated
    | ConversationCreated
    | ConversationItemAdded
    | ConversationItemDone
    | ConversationItemCreated
    | ConversationItemRetrieved
    | ConversationItemTruncated
    | ConversationItemDeleted
    | InputAudioTranscriptionDelta
    | InputAudioTranscriptionCompleted
    | InputAudioTranscriptionFailed
    | InputAudioTranscriptionSegment
    | InputAudioBufferCommitted
    | InputAudioBufferCleared
    | InputAudioBufferSpeechStarted
    | InputAudioBufferSpeechStopped
    | InputAudioBufferTimeoutTriggered
    | InputAudioBufferDtmfEventReceived
    | OutputAudioBufferStarted
    | OutputAudioBufferStopped
    | OutputAudioBufferCleared
    | RateLimitsUpdated
    | ResponseCreated
    | ResponseDone
    | ResponseOutputItemAdded
    | ResponseOutputItemDone
    | ResponseContentPartAdded
    | ResponseContentPartDone
    | ResponseOutputTextDelta
    | ResponseOutputTextDone
    | ResponseOutputAudioDelta
    | ResponseOutputAudioDone
    | ResponseOutputAudioTranscriptDelta
    | ResponseOutputAudioTranscriptDone
    | ResponseFunctionCallArgumentsDelta
    | ResponseFunctionCallArgumentsDone
    | ResponseMcpCallArgumentsDelta
    | ResponseMcpCallArgumentsDone
    | ResponseMcpCallInProgress
    | ResponseMcpCallCompleted
    | ResponseMcpCallFailed
    | McpListToolsInProgress
    | McpListToolsCompleted
    | McpListToolsFailed
)

#: Every server event class by its ``type``.
SERVER_EVENT_TYPES: dict[str, type[ServerEvent]] = registry_of(
    ErrorEvent,
    SessionCreated,
    SessionUpdated,
    ConversationCreated,
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemCreated,
    ConversationItemRetrieved,
    ConversationItemTruncated,
    ConversationItemDeleted,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionFailed,
    InputAudioTranscriptionSegment,
    InputAudioBufferCommitted,
    InputAudioBufferCleared,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
    InputAudioBufferDtmfEventReceived,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    OutputAudioBufferCleared,
    RateLimitsUpdated,
    ResponseCreated,
    ResponseDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseMcpCallArgumentsDelta,
    ResponseMcpCallArgumentsDone,
    ResponseMcpCallInProgress,
    ResponseMcpCallCompleted,
    ResponseMcpCallFailed,
    McpListToolsInProgress,
    McpListToolsCompleted,
    McpListToolsFailed,
)


@attrs.frozen(kw_only=True)
class UnknownServerEvent:
    """A well-formed server event of a type we do not know.  Ignore it, or forward ``raw``."""

    type: str
    event_id: str | None = None
    raw: JSONObject = attrs.field(repr=False, hash=False)

    def to_wire(self) -> JSONObject:
        return dict(self.raw)

    def to_json(self) -> str:
        return dump_json(self.raw)


@attrs.frozen(kw_only=True)
class ServerProtocolError:
    """A server frame that breaks the protocol.

    ``code`` says what kind of fault it is; ``param`` is the dotted path of the bad value
    (``None`` when the frame as a whole is bad); ``reason`` says what was wrong;
    ``event_type``/``event_id`` are those of the frame when it had readable ones.
    """

    code: ProtocolErrorCode
    reason: str
    param: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    raw_text: str = attrs.field(default="", repr=text_preview)


def decode_server_event(
    text: str | AudioData,
) -> ServerEvent | UnknownServerEvent | ServerProtocolError:
    """Read one server frame (client role).  Never raises."""
    result = decode_frame(text, SERVER_EVENT_TYPES, strict=False)
    if isinstance(result, DecodeFailure):
        return ServerProtocolError(
            code=result.code,
            reason=result.reason,
            param=result.param,
            event_type=result.event_type,
            event_id=result.event_id,
            raw_text=result.raw_text,
        )
    if isinstance(result, UnknownType):
        return UnknownServerEvent(type=result.type, event_id=result.event_id, raw=result.raw)
    return result
