"""Responses: what we ask for (:class:`ResponseParams`) and what the server reports
(:class:`Response`, with :class:`ResponseUsage`).

Theory of operation
-------------------
``response.create`` may carry a ``response`` object that overrides the session for one
response: instructions, modalities, tools, an ``audio.output`` format and voice, ``metadata``,
``conversation: "none"`` for a response kept outside the default conversation, and ``input``
to give it its own context.  :class:`ResponseParams` is that object.

``response.created`` and ``response.done`` carry a :class:`Response`: its id, status
(``completed``, ``cancelled``, ``failed``, ``incomplete``, ``in_progress``), why it ended
(:class:`ResponseStatusDetails`; ``reason="turn_detected"`` means a barge-in cancelled it), the
output items, and on ``response.done`` the token :class:`ResponseUsage`.  Status strings are kept
as ``str`` rather than literals so that a value newer than our types still reads.

:class:`ResponsePart` is the ``part`` of ``response.content_part.added``/``done``.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from ._audio_formats import AudioFormat
from ._codec import WireValue
from ._items import ConversationItem
from ._json import AudioData, audio_repr
from ._session_config import (
    MaxOutputTokens,
    Modality,
    Prompt,
    Reasoning,
    Tool,
    ToolChoice,
    Voice,
    check_max_output_tokens,
)

#: Metadata attached to a response: up to 16 string pairs.
Metadata: TypeAlias = dict[str, str]


@attrs.frozen(kw_only=True)
class ResponseAudioOutput(WireValue):
    """``response.audio.output``: the format and voice of one response."""

    format: AudioFormat | None = None
    voice: Voice | None = None


@attrs.frozen(kw_only=True)
class ResponseAudio(WireValue):
    output: ResponseAudioOutput | None = None


@attrs.frozen(kw_only=True)
class ResponseParams(WireValue):
    """The optional ``response`` of ``response.create``; every field overrides the session
    for this one response."""

    instructions: str | None = None
    output_modalities: tuple[Modality, ...] | None = None
    max_output_tokens: MaxOutputTokens | None = attrs.field(
        default=None, validator=check_max_output_tokens
    )
    tools: tuple[Tool, ...] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    prompt: Prompt | None = None
    metadata: Metadata | None = attrs.field(default=None, hash=False)
    audio: ResponseAudio | None = None
    #: ``"auto"`` (the default conversation) or ``"none"`` (outside any conversation).
    conversation: str | None = None
    #: The context for this response instead of the conversation; ``()`` means none at all.
    input: tuple[ConversationItem, ...] | None = None


# -- what the server reports -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResponseStatusError(WireValue):
    type: str | None = None
    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class ResponseStatusDetails(WireValue):
    """Why a response ended: ``type`` repeats the status; ``reason`` is ``turn_detected``,
    ``client_cancelled``, ``max_output_tokens`` or ``content_filter``."""

    type: str | None = None
    reason: str | None = None
    error: ResponseStatusError | None = None


@attrs.frozen(kw_only=True)
class CachedTokenDetails(WireValue):
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None


@attrs.frozen(kw_only=True)
class InputTokenDetails(WireValue):
    """Input tokens by kind; cached tokens are counted inside the totals too."""

    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: CachedTokenDetails | None = None


@attrs.frozen(kw_only=True)
class OutputTokenDetails(WireValue):
    text_tokens: int | None = None
    audio_tokens: int | None = None


@attrs.frozen(kw_only=True)
class ResponseUsage(WireValue):
    """Token usage of one response (on ``response.done``)."""

    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: InputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


@attrs.frozen(kw_only=True)
class Response(WireValue):
    """A response as the server reports it."""

    _wire_ignored = frozenset({"object"})

    id: str | None = None
    status: str | None = None
    status_details: ResponseStatusDetails | None = None
    output: tuple[ConversationItem, ...] | None = None
    output_modalities: tuple[Modality, ...] | None = None
    max_output_tokens: MaxOutputTokens | None = None
    conversation_id: str | None = None
    audio: ResponseAudio | None = None
    metadata: Metadata | None = attrs.field(default=None, hash=False)
    usage: ResponseUsage | None = None


@attrs.frozen(kw_only=True)
class ResponsePart(WireValue):
    """A content part as ``response.content_part.*`` report it: ``type`` is ``"text"`` or
    ``"audio"``; audio bytes are normally left out."""

    type: str | None = None
    text: str | None = None
    audio: AudioData | None = attrs.field(default=None, repr=audio_repr)
    transcript: str | None = None
