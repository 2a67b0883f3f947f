"""Value objects carried inside server events: error details, transcription results, rate limits.

These are the nested (non-event) objects of the server events: :class:`ErrorDetails` (the
``error`` of an ``error`` event), :class:`ConversationInfo`, the pieces of an input audio
transcription (:class:`TranscriptionError`, :class:`LogProb`, :class:`DetectedLanguage` and the
two billing shapes of :data:`TranscriptUsage`, told apart by their ``type``) and one
:class:`RateLimit` of ``rate_limits.updated``.  Like every wire value they are frozen and read
leniently (undeclared keys are ignored).
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from ._codec import WireValue


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
