"""Client events: the eleven GA messages a client sends, and the server role's decoder for them.

Theory of operation
-------------------
Each client event is a frozen attrs class named after its ``type`` (``session.update`` →
:class:`SessionUpdate`).  A client builds one and sends ``event.to_json()``; ``to_wire()``
gives the dict.  Unset optional fields are left out, and only keys the official types declare
are ever written.  ``event_id`` is optional on every client event; the server copies it into
``error.event_id`` when the event fails.

The server role reads client frames with :func:`decode_client_event`.  It is strict, as
OpenAI's server is: wrong types, missing fields, bad base64, undeclared keys and unknown event
types all come back as a :class:`ClientProtocolError` *value* (never an exception), carrying the
offending ``event_id`` when the frame had one, so the server can answer with an ``error``
event (see ``ErrorEvent.for_client_error``).
"""

from __future__ import annotations

from typing import TypeAlias

import attrs
from attrs import validators as v

from ._frames import DecodeFailure, UnknownType, WireEvent, decode_frame, registry_of
from ._items import ConversationItem
from ._json import (
    AudioData,
    JSONObject,
    ProtocolErrorCode,
    audio_repr,
    b64encode_audio,
    text_preview,
)
from ._responses import ResponseParams
from ._session_config import SessionConfig

_non_negative = v.ge(0)


@attrs.frozen(kw_only=True)
class SessionUpdate(WireEvent):
    """Change the session.  Answered by ``session.updated`` (or ``error``)."""

    _wire_tag = "session.update"

    event_id: str | None = None
    session: SessionConfig
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemCreate(WireEvent):
    """Add an item: at the end by default, first with ``previous_item_id="root"``, or after
    the item with that id."""

    _wire_tag = "conversation.item.create"

    event_id: str | None = None
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemTruncate(WireEvent):
    """Cut an assistant message's audio at ``audio_end_ms`` (what the listener actually heard);
    the unheard part of its transcript goes too."""

    _wire_tag = "conversation.item.truncate"

    event_id: str | None = None
    item_id: str
    content_index: int = attrs.field(default=0, validator=_non_negative)
    audio_end_ms: int = attrs.field(validator=_non_negative)
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemDelete(WireEvent):
    _wire_tag = "conversation.item.delete"

    event_id: str | None = None
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemRetrieve(WireEvent):
    """Ask for the server's copy of an item, audio included."""

    _wire_tag = "conversation.item.retrieve"

    event_id: str | None = None
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferAppend(WireEvent):
    """Append raw audio (in the session's input format) to the input buffer.

    ``audio`` may be any contiguous buffer; it is base64-encoded when the event is encoded, so
    do not change the buffer before then.
    """

    _wire_tag = "input_audio_buffer.append"

    event_id: str | None = None
    audio: AudioData = attrs.field(repr=audio_repr, hash=False)
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


_APPEND_HEAD: str = '{"type":"input_audio_buffer.append","audio":"'


def encode_audio_append(audio: AudioData) -> str:
    """``InputAudioBufferAppend(audio=audio).to_json()``, built directly: the same text, about
    ten times cheaper (no attrs walk, no ``json.dumps``; base64 needs no JSON escaping).
    The hot path: every captured frame goes through it."""
    return f'{_APPEND_HEAD}{b64encode_audio(audio)}"}}'


@attrs.frozen(kw_only=True)
class InputAudioBufferCommit(WireEvent):
    """Turn the input buffer into a user item (not needed with VAD)."""

    _wire_tag = "input_audio_buffer.commit"

    event_id: str | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class InputAudioBufferClear(WireEvent):
    _wire_tag = "input_audio_buffer.clear"

    event_id: str | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class OutputAudioBufferClear(WireEvent):
    """WebRTC/SIP only: drop audio the server has not played yet (cancel the response first)."""

    _wire_tag = "output_audio_buffer.clear"

    event_id: str | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseCreate(WireEvent):
    """Ask the model to respond, optionally overriding the session for this response."""

    _wire_tag = "response.create"

    event_id: str | None = None
    response: ResponseParams | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ResponseCancel(WireEvent):
    """Cancel a response (by default the one running in the default conversation)."""

    _wire_tag = "response.cancel"

    event_id: str | None = None
    response_id: str | None = None
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


ClientEvent: TypeAlias = (
    SessionUpdate
    | ConversationItemCreate
    | ConversationItemTruncate
    | ConversationItemDelete
    | ConversationItemRetrieve
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | OutputAudioBufferClear
    | ResponseCreate
    | ResponseCancel
)

#: Every client event class by its ``type``.
CLIENT_EVENT_TYPES: dict[str, type[ClientEvent]] = registry_of(
    SessionUpdate,
    ConversationItemCreate,
    ConversationItemTruncate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferClear,
    OutputAudioBufferClear,
    ResponseCreate,
    ResponseCancel,
)


@attrs.frozen(kw_only=True)
class ClientProtocolError:
    """A client frame the server role cannot accept.

    ``code`` and ``param`` follow OpenAI's ``error`` event (``param`` is the dotted path of the
    bad value, ``None`` when the frame as a whole is bad); ``reason`` says what was wrong;
    ``event_type``/``event_id`` are those of the frame when it had readable ones.
    """

    code: ProtocolErrorCode
    reason: str
    param: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    raw_text: str = attrs.field(default="", repr=text_preview)


def _from_failure(failure: DecodeFailure) -> ClientProtocolError:
    return ClientProtocolError(
        code=failure.code,
        reason=failure.reason,
        param=failure.param,
        event_type=failure.event_type,
        event_id=failure.event_id,
        raw_text=failure.raw_text,
    )


def decode_client_event(text: str | AudioData) -> ClientEvent | ClientProtocolError:
    """Read one client frame (server role).  Never raises; bad input gives a
    :class:`ClientProtocolError`."""
    result = decode_frame(text, CLIENT_EVENT_TYPES, strict=True)
    if isinstance(result, DecodeFailure):
        return _from_failure(result)
    if isinstance(result, UnknownType):
        return ClientProtocolError(
            code="invalid_value",
            reason=f"unknown client event type {result.type!r}",
            param="type",
            event_type=result.type,
            event_id=result.event_id,
            raw_text=text if isinstance(text, str) else str(text, "utf-8"),
        )
    return result
