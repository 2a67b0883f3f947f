"""Server events about model output: ``response.*``, ``output_audio_buffer.*`` and MCP progress.

A response is bracketed by :class:`ResponseCreated` and :class:`ResponseDone` (which carries the
status, why it ended and the usage).  In between, each output item is announced
(``response.output_item.added``/``done``), each content part of a message
(``response.content_part.*``) and its text, audio (``bytes``; base64 only on the wire) or audio
transcript as deltas then a final ``done``; function calls stream their JSON arguments.  The
``output_audio_buffer.*`` events are WebRTC/SIP only; the MCP events report remote tool calls
and tool listing.
"""

from __future__ import annotations

import attrs

from ._frames import WireEvent
from ._items import ConversationItem
from ._json import AudioData, JSONObject, audio_repr
from ._responses import Response, ResponsePart

# -- output audio buffer -------------------------------------------------------------------------


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
