"""Server events: the union of the 46 GA messages a server sends, and the client role's decoder.

Theory of operation
-------------------
Each server event is a frozen attrs class named after its ``type``
(``response.output_audio.delta`` → :class:`ResponseOutputAudioDelta`), declared by family in
``_session_events``, ``_conversation_events``, ``_input_events`` and ``_response_events`` (their
nested values in ``_event_values``).  The same classes serve both roles: a client reads them
with :func:`decode_server_event`; a server (our local Realtime server, a test fake) builds them
and sends ``event.to_json()``.  Every server event has a required ``event_id`` except
``input_audio_buffer.dtmf_event_received``, whose type has none.

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

from ._conversation_events import (
    ConversationCreated,
    ConversationItemAdded,
    ConversationItemCreated,
    ConversationItemDeleted,
    ConversationItemDone,
    ConversationItemRetrieved,
    ConversationItemTruncated,
)
from ._frames import DecodeFailure, UnknownType, decode_frame, registry_of
from ._input_events import (
    InputAudioBufferCleared,
    InputAudioBufferCommitted,
    InputAudioBufferDtmfEventReceived,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionFailed,
    InputAudioTranscriptionSegment,
)
from ._json import AudioData, JSONObject, ProtocolErrorCode, dump_json, text_preview
from ._response_events import (
    McpListToolsCompleted,
    McpListToolsFailed,
    McpListToolsInProgress,
    OutputAudioBufferCleared,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseMcpCallArgumentsDelta,
    ResponseMcpCallArgumentsDone,
    ResponseMcpCallCompleted,
    ResponseMcpCallFailed,
    ResponseMcpCallInProgress,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
)
from ._session_events import (
    ErrorEvent,
    RateLimitsUpdated,
    SessionCreated,
    SessionUpdated,
)

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
