"""The caller's side of the local server: the input audio buffer, turn detection, the idle
timeout and the transcription feed.

Theory of operation
-------------------
:class:`AudioInput` keeps the input audio buffer as PCM16 at the input rate (G.711 is decoded
on append) and counts every sample appended since the session started: all its times
(``audio_start_ms``, ``audio_end_ms``, the idle timeout) are positions in that audio, never a
clock, so the same audio always gives the same events whatever its chunking.

* **Turn detection.**  With server VAD (and semantic VAD without a turn model, which runs as
  server VAD with the defaults), each append feeds the :class:`~._vad.SpeechVad` (its frame
  classifier — energy or Silero — is the server's :class:`~._turns.TurnDetectors`' choice).
  Speech starting announces
  ``speech_started`` and, when ``interrupt_response`` allows, asks to stop the running response
  (barge-in); speech stopping announces ``speech_stopped``, commits the buffer up to the frame
  on which the VAD decided (later audio belongs to what comes next) and, when
  ``create_response`` allows and nothing is running, asks to start a response.  With semantic
  VAD and a turn model, speech stopping is only a *candidate* end (after a short pause): it
  queues a :class:`~._turns.TurnQuery` for the adapter and the turn ends — ``speech_stopped``,
  commit, response — when :meth:`AudioInput.turn_verdict` says the model judged it finished, or
  when the pause reaches the eagerness' longest wait; speech resuming first voids it (see
  ``_turns``).  Without turn detection the client commits and clears the buffer itself.
* **Commit.**  The committed audio becomes a completed user message (its transcript still
  unknown) appended to the :class:`~._conversation.Conversation`, announced by
  ``input_audio_buffer.committed`` then ``conversation.item.added``/``done``.
* **Idle timeout.**  With server VAD's ``idle_timeout_ms``, the end of a response arms a timer
  at the position where the client will have finished playing it; when that much more audio
  arrives without speech, ``input_audio_buffer.timeout_triggered`` commits the silence and a
  response starts.
* **Transcription feed.**  With ``stream_user_audio`` (the server has a transcriber), the
  speech of the item being spoken is queued as :class:`UserAudio` pieces from the moment speech
  starts (prefix padding included), ending with ``commit`` (or ``discard`` when cleared);
  :meth:`AudioInput.take_user_audio` hands them to the session's outcome.  The transcriber's
  results come back through the ``transcription_*`` methods, which fill the item's transcript
  and build the transcription events when the client asked for them.

**Bounds.**  One ``input_audio_buffer.append`` carries at most :data:`MAX_APPEND_BYTES` of
audio (the API's own limit, 15 MiB; more is refused with ``invalid_value``), and the buffer holds
at most :data:`MAX_BUFFER_BYTES` of PCM16 (15 MiB: about 5.5 minutes at 24 kHz, 16 minutes at
8 kHz), the longest a single turn may be.  With server VAD, silence never fills it: while nobody
speaks, the oldest audio beyond the bound is dropped (it could only ever have been committed by
an explicit commit or the idle timeout, which then get the newest 15 MiB).  Otherwise (no turn
detection, or one utterance longer than that) an append that would overflow the buffer is
refused with ``input_audio_buffer_too_large``, and the buffer keeps what it had: commit or clear
it.  (G.711 samples decode to twice their size, so a G.711 append holds at most 7.5 MiB.)

Bad client input raises :class:`~._common.ClientError`.  Sans-IO: no clock, no trio.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

from rtagents import protocol as p

from ._common import Action, ClientError, IdSource, StartResponse, StopResponse
from ._config import DEFAULT_SERVER_VAD, input_format, turn_detection
from ._conversation import Conversation, StoredItem
from ._turns import TURN_WINDOW_MS, TurnDetectors, TurnQuery, eagerness
from ._vad import SpeechStarted, SpeechVad

#: The most audio one ``input_audio_buffer.append`` may carry (as sent, before decoding G.711).
MAX_APPEND_BYTES: Final = 15 * 2**20
#: The most PCM16 the input audio buffer holds (see the module docstring).
MAX_BUFFER_BYTES: Final = 15 * 2**20


@attrs.frozen
class UserAudio:
    """A piece of the caller's audio for the transcriber: PCM16 at ``rate``.

    ``kind`` is ``"audio"`` (more of the item's speech), ``"commit"`` (the rest of the item, which
    is now in the conversation) or ``"discard"`` (the speech was cleared, never committed).
    """

    item_id: str
    pcm: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    rate: int
    kind: Literal["audio", "commit", "discard"] = "audio"


@attrs.define
class AudioInput:
    """The input side of one session; see the module docstring."""

    ids: IdSource
    conversation: Conversation
    format: p.AudioFormat
    detection: p.ServerVad | p.SemanticVad | None
    #: Whether the speech is queued as :class:`UserAudio` for a transcriber.
    stream_user_audio: bool = False
    detectors: TurnDetectors = attrs.field(factory=TurnDetectors)
    _buffer: bytearray = attrs.field(init=False, factory=bytearray)  # PCM16 at the input rate
    _buffer_start: int = attrs.field(init=False, default=0)  # its first sample's position
    _total_samples: int = attrs.field(init=False, default=0)  # input samples since the start
    _vad: SpeechVad | None = attrs.field(init=False, default=None)
    _speech_item: str | None = attrs.field(init=False, default=None)
    # Server VAD's idle timeout: the input audio position at which the last response's audio
    # will have finished playing (None: not armed).
    _idle_since_ms: int | None = attrs.field(init=False, default=None)
    # The speech item whose audio is being streamed, and how much of the buffer it has had.
    _streaming_item: str | None = attrs.field(init=False, default=None)
    _streamed: int = attrs.field(init=False, default=0)
    _pending: list[UserAudio] = attrs.field(init=False, factory=list)
    # semantic_vad with a turn model: the candidate end waiting for a verdict (its number, the
    # end of the speech before the pause, the audio position where the turn ends anyway).
    _candidate: tuple[int, int, int] | None = attrs.field(init=False, default=None)
    _candidates: int = attrs.field(init=False, default=0)
    _queries: list[TurnQuery] = attrs.field(init=False, factory=list)

    @classmethod
    def for_config(
        cls,
        config: p.SessionConfig,
        ids: IdSource,
        conversation: Conversation,
        *,
        stream_user_audio: bool,
        detectors: TurnDetectors | None = None,
    ) -> AudioInput:
        return cls(
            ids,
            conversation,
            input_format(config),
            turn_detection(config),
            stream_user_audio=stream_user_audio,
            detectors=detectors or TurnDetectors(),
        )

    def __attrs_post_init__(self) -> None:
        self._reset_vad()

    @property
    def rate(self) -> int:
        return self.format.sample_rate

    def audio_ms(self) -> int:
        """Input audio appended since the session started, in ms."""
        return self._total_samples * 1000 // self.rate

    @property
    def _buffer_start_ms(self) -> int:
        return self._buffer_start * 1000 // self.rate

    @property
    def _judged(self) -> bool:
        """semantic_vad with a turn model: pauses are candidates for the model to judge."""
        return isinstance(self.detection, p.SemanticVad) and self.detectors.turn_model

    def _reset_vad(self) -> None:
        detection = self.detection
        self._candidate = None
        if isinstance(detection, p.ServerVad | p.SemanticVad):
            vad = detection if isinstance(detection, p.ServerVad) else DEFAULT_SERVER_VAD
            threshold = vad.threshold if vad.threshold is not None else 0.5
            silence = vad.silence_duration_ms if vad.silence_duration_ms is not None else 500
            self._vad = SpeechVad(
                self.rate,
                self.detectors.frames(self.rate, threshold),
                prefix_padding_ms=vad.prefix_padding_ms
                if vad.prefix_padding_ms is not None
                else 300,
                silence_duration_ms=self.detectors.candidate_pause_ms if self._judged else silence,
                floor_ms=self._buffer_start_ms,
                start_ms=self.audio_ms(),  # keeps the VAD's clock in step with the session's
            )
        else:
            self._vad = None

    def reconfigure(self, config: p.SessionConfig, *, audio_changed: bool) -> None:
        """Take the session's new config (``session.update``).  A change of the audio settings
        abandons the speech being streamed; a new input format empties the buffer."""
        old_format = self.format
        elapsed_ms = self.audio_ms()
        if audio_changed:
            self._stream_speech("discard")
        self.format = input_format(config)
        self.detection = turn_detection(config)
        if self.format != old_format:
            self._buffer.clear()
            self._total_samples = elapsed_ms * self.rate // 1000
            self._buffer_start = self._total_samples
        self._reset_vad()

    # -- the transcription feed -------------------------------------------------------------

    def take_user_audio(self) -> list[UserAudio]:
        """The :class:`UserAudio` pieces queued since the last call."""
        pieces, self._pending = self._pending, []
        return pieces

    def take_turn_queries(self) -> list[TurnQuery]:
        """The :class:`TurnQuery` s queued since the last call (only the newest still counts)."""
        queries, self._queries = self._queries, []
        return queries

    # -- semantic_vad's verdicts ------------------------------------------------------------

    def _propose_end(self, audio_end_ms: int) -> None:
        """A pause: a candidate end of the turn, for the turn model to judge."""
        self._candidates += 1
        wait = eagerness(getattr(self.detection, "eagerness", None)).max_wait_ms
        self._candidate = (self._candidates, audio_end_ms, audio_end_ms + wait)
        window = 2 * (TURN_WINDOW_MS * self.rate // 1000)
        audio = bytes(self._buffer[-window:])
        self._queries.append(TurnQuery(self._candidates, audio, self.rate))

    def turn_verdict(
        self, seq: int, probability: float, *, running: str | None
    ) -> tuple[list[p.WireEvent], Action | None]:
        """The turn model's answer to query `seq`: the turn ends now if it is still the
        candidate and `probability` reaches the eagerness' threshold."""
        candidate = self._candidate
        if candidate is None or candidate[0] != seq:
            return [], None  # speech resumed (or the turn ended) meanwhile
        if probability < eagerness(getattr(self.detection, "eagerness", None)).threshold:
            return [], None  # not finished: wait for more speech, or the longest wait
        return self._end_turn(running)

    def _end_turn(self, running: str | None) -> tuple[list[p.WireEvent], Action | None]:
        """End the judged turn: ``speech_stopped`` at the candidate, commit all the audio."""
        assert self._candidate is not None
        _, audio_end_ms, _ = self._candidate
        self._candidate = None
        item_id = self._speech_item or self.ids.new("item")
        self._speech_item = None
        events: list[p.WireEvent] = [
            p.InputAudioBufferSpeechStopped(
                event_id=self.ids.event(), item_id=item_id, audio_end_ms=audio_end_ms
            )
        ]
        events.extend(self._commit(item_id))
        action: Action | None = None
        create = getattr(self.detection, "create_response", None) is not False
        if create and running is None:
            action = StartResponse(self.ids.new("resp"), None)
        return events, action

    def _stream_speech(
        self, kind: Literal["audio", "commit", "discard"] = "audio", *, upto: int | None = None
    ) -> None:
        """Queue the buffer's speech (up to byte `upto`) not yet given to the transcriber."""
        item = self._streaming_item
        if item is None or not self.stream_user_audio:
            return
        end = len(self._buffer) if upto is None else upto
        piece = bytes(self._buffer[self._streamed : end]) if kind != "discard" else b""
        self._streamed = max(self._streamed, end)
        if piece or kind != "audio":
            self._pending.append(UserAudio(item, piece, self.rate, kind))
        if kind != "audio":
            self._streaming_item = None
            self._streamed = 0

    # -- client events ----------------------------------------------------------------------

    def append(
        self, data: bytes, *, running: str | None
    ) -> tuple[list[p.WireEvent], Action | None]:
        """``input_audio_buffer.append`` of `data` (in the input format) while the response
        `running` (None: none) runs: the events, and the action turn detection asks for."""
        if len(data) > MAX_APPEND_BYTES:
            raise ClientError(
                f"an input_audio_buffer.append carries at most {MAX_APPEND_BYTES} bytes of "
                f"audio, not {len(data)}",
                code="invalid_value",
                param="audio",
            )
        pcm = self.format.to_pcm16(data)
        if len(pcm) % 2:
            raise ClientError(
                "PCM16 audio must have an even number of bytes", code="invalid_value", param="audio"
            )
        self._make_room(len(pcm))
        self._buffer += pcm
        self._total_samples += len(pcm) // 2
        if self._vad is None:
            return [], None
        events: list[p.WireEvent] = []
        action: Action | None = None
        for decision in self._vad.feed(pcm):
            if isinstance(decision, SpeechStarted) and self._candidate is not None:
                self._candidate = None  # the pause was inside the turn: it goes on
                continue
            if isinstance(decision, SpeechStarted):
                self._speech_item = self.ids.new("item")
                self._idle_since_ms = None
                events.append(
                    p.InputAudioBufferSpeechStarted(
                        event_id=self.ids.event(),
                        item_id=self._speech_item,
                        audio_start_ms=decision.audio_start_ms,
                    )
                )
                interrupt = getattr(self.detection, "interrupt_response", None) is not False
                if interrupt and running is not None:
                    action = StopResponse(running)
                if self.stream_user_audio:
                    start = 2 * (decision.audio_start_ms * self.rate // 1000 - self._buffer_start)
                    self._streaming_item = self._speech_item
                    self._streamed = min(max(0, start), len(self._buffer))
            elif self._judged:
                self._propose_end(decision.audio_end_ms)
            else:
                item_id = self._speech_item or self.ids.new("item")
                events.append(
                    p.InputAudioBufferSpeechStopped(
                        event_id=self.ids.event(),
                        item_id=item_id,
                        audio_end_ms=decision.audio_end_ms,
                    )
                )
                events.extend(self._commit(item_id, upto=decision.decided_ms * self.rate // 1000))
                self._speech_item = None
                create = getattr(self.detection, "create_response", None) is not False
                if create and running is None:
                    action = StartResponse(self.ids.new("resp"), None)
        if self._candidate is not None and self.audio_ms() >= self._candidate[2]:
            ended, end_action = self._end_turn(running)  # the longest wait is over
            events.extend(ended)
            action = action or end_action
        if action is None and self._idle_timed_out(running):
            events.extend(self._idle_timeout())
            action = StartResponse(self.ids.new("resp"), None)
        self._stream_speech()
        return events, action

    def _make_room(self, size: int) -> None:
        """Keep the buffer within MAX_BUFFER_BYTES once `size` more bytes arrive: drop the
        oldest silence while server VAD hears nobody, else refuse (see the module docstring)."""
        excess = len(self._buffer) + size - MAX_BUFFER_BYTES
        if excess <= 0:
            return
        vad = self._vad
        if (
            vad is None
            or vad.speaking
            or self._speech_item is not None
            or excess > len(self._buffer)
        ):
            raise ClientError(
                f"the input audio buffer holds at most {MAX_BUFFER_BYTES} bytes of PCM16 "
                f"({MAX_BUFFER_BYTES * 500 // self.rate} ms); commit or clear it",
                code="input_audio_buffer_too_large",
                param="audio",
            )
        del self._buffer[:excess]  # (a bytearray deletes from its front in O(1))
        self._buffer_start += excess // 2
        vad.floor_ms = self._buffer_start_ms

    def release(self) -> None:
        """The connection is gone: free the buffer and the transcriber's pending audio."""
        self._buffer = bytearray()
        self._pending.clear()
        self._streaming_item = None

    def commit(self) -> list[p.WireEvent]:
        """``input_audio_buffer.commit``."""
        if not self._buffer:
            raise ClientError(
                "the input audio buffer is empty", code="input_audio_buffer_commit_empty"
            )
        item_id = self._speech_item or self.ids.new("item")
        self._speech_item = None
        self._candidate = None
        if self._vad is not None:
            self._vad.reset_speech()
        return self._commit(item_id)

    def clear(self) -> list[p.WireEvent]:
        """``input_audio_buffer.clear``."""
        self._stream_speech("discard")
        self._buffer.clear()
        self._buffer_start = self._total_samples
        self._speech_item = None
        self._candidate = None
        if self._vad is not None:
            self._vad.reset_speech()
            self._vad.floor_ms = self._buffer_start_ms
        return [p.InputAudioBufferCleared(event_id=self.ids.event())]

    def _commit(self, item_id: str, upto: int | None = None) -> list[p.WireEvent]:
        """Move the buffer (up to sample `upto`, the VAD's decision: audio after it belongs to
        what comes next) into a user item."""
        cut = len(self._buffer)
        if upto is not None:
            cut = min(cut, max(0, 2 * (upto - self._buffer_start)))
        if self.stream_user_audio:
            if self._streaming_item != item_id:
                self._stream_speech("discard")
                self._streaming_item, self._streamed = item_id, 0
            self._stream_speech("commit", upto=cut)
        audio = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        self._buffer_start += cut // 2
        if self._vad is not None:
            self._vad.floor_ms = self._buffer_start_ms
        item = p.MessageItem(
            id=item_id,
            role="user",
            status="completed",
            content=(p.InputAudioContent(transcript=None),),
        )
        previous = self.conversation.last_id()
        self.conversation.append(StoredItem(item=item, audio=audio))
        return [
            p.InputAudioBufferCommitted(
                event_id=self.ids.event(), previous_item_id=previous, item_id=item_id
            ),
            *self.conversation.announce(item, previous),
        ]

    # -- the idle timeout -------------------------------------------------------------------

    def response_started(self) -> None:
        self._idle_since_ms = None

    def response_finished(self, playback_end_ms: int) -> None:
        """A response ended; its audio plays until `playback_end_ms` (input audio time)."""
        detection = self.detection
        if isinstance(detection, p.ServerVad) and detection.idle_timeout_ms:
            # The client plays audio as it arrives, in step with the audio it sends us, so its
            # playback ends at the later of "now" and "start + the audio we sent".
            self._idle_since_ms = max(self.audio_ms(), playback_end_ms)

    def _idle_timed_out(self, running: str | None) -> bool:
        detection = self.detection
        return (
            self._idle_since_ms is not None
            and isinstance(detection, p.ServerVad)
            and bool(detection.idle_timeout_ms)
            and running is None
            and self._vad is not None
            and not self._vad.speaking
            and self.audio_ms() - self._idle_since_ms >= (detection.idle_timeout_ms or 0)
        )

    def _idle_timeout(self) -> list[p.WireEvent]:
        """No speech for idle_timeout_ms after the last response: commit the silence."""
        assert self._idle_since_ms is not None
        item_id = self.ids.new("item")
        event = p.InputAudioBufferTimeoutTriggered(
            event_id=self.ids.event(),
            item_id=item_id,
            audio_start_ms=self._idle_since_ms,
            audio_end_ms=self.audio_ms(),
        )
        self._idle_since_ms = None
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset_speech()
        return [event, *self._commit(item_id)]

    # -- the transcriber's results ----------------------------------------------------------

    def transcription_delta(self, item_id: str, delta: str, *, announce: bool) -> list[p.WireEvent]:
        """More recognized words of a user item (announced only when `announce`)."""
        if not delta or not announce or self.conversation.find(item_id) is None:
            return []
        return [
            p.InputAudioTranscriptionDelta(
                event_id=self.ids.event(), item_id=item_id, content_index=0, delta=delta
            )
        ]

    def transcription_completed(
        self, item_id: str, transcript: str, *, audio_seconds: float, announce: bool
    ) -> list[p.WireEvent]:
        """The item's final transcript: stored in the conversation (the responder reads it),
        announced when `announce`.  An item deleted meanwhile is ignored."""
        if not self.conversation.set_transcript(item_id, transcript) or not announce:
            return []
        return [
            p.InputAudioTranscriptionCompleted(
                event_id=self.ids.event(),
                item_id=item_id,
                content_index=0,
                transcript=transcript,
                usage=p.TranscriptDurationUsage(seconds=round(audio_seconds, 3)),
            )
        ]

    def transcription_failed(
        self, item_id: str, message: str, *, announce: bool
    ) -> list[p.WireEvent]:
        if not announce or self.conversation.find(item_id) is None:
            return []
        return [
            p.InputAudioTranscriptionFailed(
                event_id=self.ids.event(),
                item_id=item_id,
                content_index=0,
                error=p.TranscriptionError(
                    type="transcription_error", code="recognizer_failed", message=message
                ),
            )
        ]
