"""Server events about the caller's audio: ``input_audio_buffer.*`` and the input audio
transcription events (``conversation.item.input_audio_transcription.*``).

The buffer events report what happened to the input audio buffer: committed into a user item,
cleared, speech started/stopped (server VAD; times in ms of audio since the session began),
the idle timeout, and a SIP key press (:class:`InputAudioBufferDtmfEventReceived`, the one
server event without an ``event_id``).  The transcription events report the transcript of a
committed user item as it grows (delta), when final (completed, with its usage), when
recognition failed, and diarized segments.
"""

from __future__ import annotations

import attrs

from ._event_values import DetectedLanguage, LogProb, TranscriptionError, TranscriptUsage
from ._frames import WireEvent
from ._json import JSONObject

# -- transcription -------------------------------------------------------------------------------


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
