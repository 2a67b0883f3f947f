"""One Realtime session as the server sees it, sans-IO.

Theory of operation
-------------------
``ServerSession`` owns everything a connection's conversation is: the effective session config,
the input audio buffer and its VAD, the ordered conversation items, and the response in
progress.  It never does I/O and never reads a clock:

* ``opened()`` gives the first events (``session.created``);
* ``receive(text)`` takes one client frame and returns an :class:`Outcome`: server events to
  send, in order, plus at most one :class:`StartResponse` or :class:`CancelResponse` *action* for
  the adapter, which runs response generation as a task;
* with ``stream_user_audio`` set (the server has a transcriber), an outcome also carries the
  caller's audio as :class:`UserAudio` pieces — streamed from the moment speech starts (prefix
  padding included), so recognition runs while the user speaks — and ends each item with a
  ``commit`` (or a ``discard`` when the buffer is cleared); the adapter reports the recognized
  words back through ``transcription_delta`` / ``transcription_completed`` /
  ``transcription_failed``, which fill the item's transcript and announce it when the session
  asked for input transcription;
* while a response runs, the adapter reports what the responder produced through
  ``response_text`` / ``response_audio`` / ``response_function_call`` and ends it with
  ``finish_response(status)``; each returns the events that announce it, in the exact GA order
  (output_item.added → conversation.item.added → content_part.added → deltas → …done).

Bad client input never raises: it becomes an ``error`` event naming the client ``event_id``.
Audio times are computed from sample counts (see _vad.py), so tests are deterministic.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any, Literal, cast

import attrs

from rtagents import native
from rtagents import protocol as p

from ._vad import EnergyVad, SpeechStarted

ResponseStatus = Literal["completed", "cancelled", "incomplete", "failed"]

DEFAULT_SERVER_VAD = p.ServerVad(
    threshold=0.5,
    prefix_padding_ms=300,
    silence_duration_ms=500,
    create_response=True,
    interrupt_response=True,
)
DEFAULT_SESSION = p.SessionConfig(
    model="rtagents-local",
    instructions="",
    output_modalities=("audio",),
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcm(),
            transcription=None,
            noise_reduction=None,
            turn_detection=DEFAULT_SERVER_VAD,
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcm(), voice="marin", speed=1.0),
    ),
    tools=(),
    tool_choice="auto",
    max_output_tokens="inf",
)


@attrs.frozen
class StartResponse:
    response_id: str
    params: p.ResponseParams | None


@attrs.frozen
class CancelResponse:
    response_id: str


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


@attrs.frozen
class Outcome:
    events: list[p.WireEvent]
    action: StartResponse | CancelResponse | None = None
    user_audio: list[UserAudio] = attrs.field(factory=list)


def _merge(old: object, new: object) -> object:
    """Field-wise update of attrs config values: what `new` leaves unset keeps `old`'s value.

    A field that can be UNSET tells "absent" (UNSET: keep) from an explicit ``null`` (None:
    turn it off, e.g. ``turn_detection: null``); a field whose default is None cannot, so
    None keeps the old value there.
    """
    if new is None or new is p.UNSET:
        return old
    if attrs.has(type(new)) and type(new) is type(old) and not isinstance(new, p.AudioFormat):
        changes: dict[str, object] = {}
        for f in attrs.fields(cast(Any, type(new))):
            if f.name == "raw":
                continue
            value = getattr(new, f.name)
            if value is None and f.default is p.UNSET:
                changes[f.name] = None
            else:
                changes[f.name] = _merge(getattr(old, f.name), value)
        return attrs.evolve(old, **changes)  # type: ignore[misc]
    return new


@attrs.define
class StoredItem:
    item: p.ConversationItem
    audio_ms: int = 0  # assistant audio sent (after any truncation)
    audio: bytes = b""  # user audio as PCM16 at the input rate


@attrs.define
class ActiveResponse:
    id: str
    params: p.ResponseParams | None
    in_conversation: bool
    output: list[p.ConversationItem] = attrs.field(factory=list)
    message: StoredItem | None = None  # the assistant message being produced
    text: str = ""
    encoder: native.Resampler | None = None
    output_chars: int = 0
    output_audio_ms: int = 0
    started_at_ms: int = 0  # input audio position when the response began


@attrs.define
class ServerSession:
    """The state of one connection.  See the module docstring."""

    config: p.SessionConfig = DEFAULT_SESSION
    #: Whether outcomes carry the caller's audio (:class:`UserAudio`) for a transcriber.
    stream_user_audio: bool = False
    items: list[StoredItem] = attrs.field(factory=list)
    active: ActiveResponse | None = None
    _counter: Callable[[], int] = attrs.field(factory=lambda: itertools.count(1).__next__)
    _buffer: bytearray = attrs.field(factory=bytearray)  # PCM16 at the input rate
    _buffer_start: int = 0  # the sample (since the session started) the buffer begins at
    _total_ms_samples: int = 0  # input samples appended since the session started
    _vad: EnergyVad | None = None
    _speech_item: str | None = None
    _cancelling: bool = False
    # Server VAD's idle timeout: the input audio position at which the last response's audio
    # will have finished playing (None: not armed).
    _idle_since_ms: int | None = None
    # The speech item whose audio is being streamed, and how much of the buffer it has had.
    _streaming_item: str | None = None
    _streamed: int = 0
    _user_audio: list[UserAudio] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self._reset_vad()

    # -- ids and config ---------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{self._counter():06d}"

    def _event_id(self) -> str:
        return self._id("event")

    @property
    def input_format(self) -> p.AudioFormat:
        audio = self.config.audio
        fmt = audio.input.format if audio and audio.input else None
        return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()

    @property
    def output_format(self) -> p.AudioFormat:
        audio = self.config.audio
        fmt = audio.output.format if audio and audio.output else None
        return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()

    @property
    def turn_detection(self) -> p.ServerVad | p.SemanticVad | None:
        audio = self.config.audio
        detection = audio.input.turn_detection if audio and audio.input else None
        return None if detection is p.UNSET else detection

    def _reset_vad(self) -> None:
        detection = self.turn_detection
        rate = self.input_format.sample_rate
        if isinstance(detection, p.ServerVad | p.SemanticVad):
            vad = detection if isinstance(detection, p.ServerVad) else DEFAULT_SERVER_VAD
            self._vad = EnergyVad(
                rate=rate,
                threshold=vad.threshold if vad.threshold is not None else 0.5,
                prefix_padding_ms=vad.prefix_padding_ms
                if vad.prefix_padding_ms is not None
                else 300,
                silence_duration_ms=vad.silence_duration_ms
                if vad.silence_duration_ms is not None
                else 500,
                floor_ms=self._buffer_start_ms,
                start_ms=self._audio_ms(),  # keeps the VAD's clock in step with the session's
            )
        else:
            self._vad = None

    def _audio_ms(self) -> int:
        return self._total_ms_samples * 1000 // self.input_format.sample_rate

    @property
    def _buffer_start_ms(self) -> int:
        return self._buffer_start * 1000 // self.input_format.sample_rate

    def _error(
        self, message: str, *, code: str, event_id: str | None, param: str | None = None
    ) -> p.ErrorEvent:
        return p.ErrorEvent(
            event_id=self._event_id(),
            error=p.ErrorDetails(
                type="invalid_request_error",
                code=code,
                message=message,
                param=param,
                event_id=event_id,
            ),
        )

    def _reject(
        self, message: str, *, code: str, event_id: str | None, param: str | None = None
    ) -> Outcome:
        return Outcome([self._error(message, code=code, event_id=event_id, param=param)])

    def _not_found(self, item_id: str, event_id: str | None, param: str = "item_id") -> Outcome:
        return self._reject(
            f"item {item_id} not found", code="item_not_found", event_id=event_id, param=param
        )

    # -- client events ----------------------------------------------------------------------

    def opened(self) -> list[p.WireEvent]:
        return [p.SessionCreated(event_id=self._event_id(), session=self.config)]

    def receive(self, text: str | bytes) -> Outcome:
        event = p.decode_client_event(text)
        if isinstance(event, p.ClientProtocolError):
            return Outcome([p.ErrorEvent.for_client_error(event, event_id=self._event_id())])
        handler = getattr(self, "_on_" + event.type.replace(".", "_"), None)
        if handler is None:  # pragma: no cover - every GA client event has a handler
            return self._reject(
                f"unsupported event {event.type}",
                code="invalid_event",
                event_id=event.event_id,
            )
        outcome: Outcome = handler(event)
        if self._user_audio:
            pieces, self._user_audio = self._user_audio, []
            outcome = attrs.evolve(outcome, user_audio=pieces)
        return outcome

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
            self._user_audio.append(UserAudio(item, piece, self.input_format.sample_rate, kind))
        if kind != "audio":
            self._streaming_item = None
            self._streamed = 0

    def _on_session_update(self, event: p.SessionUpdate) -> Outcome:
        merged = _merge(self.config, event.session)
        assert isinstance(merged, p.SessionConfig)
        old_format = self.input_format
        elapsed_ms = self._audio_ms()
        if merged.audio != self.config.audio:
            self._stream_speech("discard")
        self.config = merged
        if self.input_format != old_format:
            self._buffer.clear()
            self._total_ms_samples = elapsed_ms * self.input_format.sample_rate // 1000
            self._buffer_start = self._total_ms_samples
        self._reset_vad()
        return Outcome([p.SessionUpdated(event_id=self._event_id(), session=self.config)])

    def _on_input_audio_buffer_append(self, event: p.InputAudioBufferAppend) -> Outcome:
        data = bytes(event.audio)
        pcm = self.input_format.to_pcm16(data)
        if len(pcm) % 2:
            return self._reject(
                "PCM16 audio must have an even number of bytes",
                code="invalid_value",
                event_id=event.event_id,
                param="audio",
            )
        self._buffer += pcm
        self._total_ms_samples += len(pcm) // 2
        if self._vad is None:
            return Outcome([])
        events: list[p.WireEvent] = []
        action: StartResponse | CancelResponse | None = None
        for decision in self._vad.feed(pcm):
            if isinstance(decision, SpeechStarted):
                self._speech_item = self._id("item")
                self._idle_since_ms = None
                events.append(
                    p.InputAudioBufferSpeechStarted(
                        event_id=self._event_id(),
                        item_id=self._speech_item,
                        audio_start_ms=decision.audio_start_ms,
                    )
                )
                detection = self.turn_detection
                interrupt = getattr(detection, "interrupt_response", None) is not False
                if interrupt and self.active is not None:
                    action = CancelResponse(self.active.id)
                if self.stream_user_audio:
                    rate = self.input_format.sample_rate
                    start = 2 * (decision.audio_start_ms * rate // 1000 - self._buffer_start)
                    self._streaming_item = self._speech_item
                    self._streamed = min(max(0, start), len(self._buffer))
            else:
                item_id = self._speech_item or self._id("item")
                events.append(
                    p.InputAudioBufferSpeechStopped(
                        event_id=self._event_id(),
                        item_id=item_id,
                        audio_end_ms=decision.audio_end_ms,
                    )
                )
                rate = self.input_format.sample_rate
                events.extend(self._commit(item_id, upto=decision.decided_ms * rate // 1000))
                self._speech_item = None
                detection = self.turn_detection
                if getattr(detection, "create_response", None) is not False and self.active is None:
                    action = StartResponse(self._id("resp"), None)
        if action is None and self._idle_timed_out():
            events.extend(self._idle_timeout())
            action = StartResponse(self._id("resp"), None)
        self._stream_speech()
        return Outcome(events, action)

    def _idle_timed_out(self) -> bool:
        detection = self.turn_detection
        return (
            self._idle_since_ms is not None
            and isinstance(detection, p.ServerVad)
            and bool(detection.idle_timeout_ms)
            and self.active is None
            and self._vad is not None
            and not self._vad.speaking
            and self._audio_ms() - self._idle_since_ms >= (detection.idle_timeout_ms or 0)
        )

    def _idle_timeout(self) -> list[p.WireEvent]:
        """No speech for idle_timeout_ms after the last response: commit the silence."""
        assert self._idle_since_ms is not None
        item_id = self._id("item")
        event = p.InputAudioBufferTimeoutTriggered(
            event_id=self._event_id(),
            item_id=item_id,
            audio_start_ms=self._idle_since_ms,
            audio_end_ms=self._audio_ms(),
        )
        self._idle_since_ms = None
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset_speech()
        return [event, *self._commit(item_id)]

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
        previous = self.items[-1].item.id if self.items else None
        item = p.MessageItem(
            id=item_id,
            role="user",
            status="completed",
            content=(p.InputAudio(transcript=None),),
        )
        self.items.append(StoredItem(item=item, audio=audio))
        return [
            p.InputAudioBufferCommitted(
                event_id=self._event_id(), previous_item_id=previous, item_id=item_id
            ),
            p.ConversationItemAdded(
                event_id=self._event_id(), previous_item_id=previous, item=item
            ),
            p.ConversationItemDone(event_id=self._event_id(), previous_item_id=previous, item=item),
        ]

    def _on_input_audio_buffer_commit(self, event: p.InputAudioBufferCommit) -> Outcome:
        if not self._buffer:
            return self._reject(
                "the input audio buffer is empty",
                code="input_audio_buffer_commit_empty",
                event_id=event.event_id,
            )
        item_id = self._speech_item or self._id("item")
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset_speech()
        return Outcome(self._commit(item_id))

    def _on_input_audio_buffer_clear(self, event: p.InputAudioBufferClear) -> Outcome:
        self._stream_speech("discard")
        self._buffer.clear()
        self._buffer_start = self._total_ms_samples
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset_speech()
            self._vad.floor_ms = self._buffer_start_ms
        return Outcome([p.InputAudioBufferCleared(event_id=self._event_id())])

    def _on_output_audio_buffer_clear(self, event: p.OutputAudioBufferClear) -> Outcome:
        return self._reject(
            "output_audio_buffer.clear is only for WebRTC and SIP sessions",
            code="invalid_event",
            event_id=event.event_id,
        )

    def _find(self, item_id: str) -> int | None:
        for index, stored in enumerate(self.items):
            if stored.item.id == item_id:
                return index
        return None

    def _on_conversation_item_create(self, event: p.ConversationItemCreate) -> Outcome:
        item: Any = event.item  # every item kind has `id`; all but "other" have `status`
        if getattr(item, "id", None) is None:
            item = attrs.evolve(item, id=self._id("item"))
        if getattr(item, "status", "completed") is None:
            item = attrs.evolve(item, status="completed")
        if self._find(item.id) is not None:
            return self._reject(
                f"item {item.id} already exists",
                code="item_already_exists",
                event_id=event.event_id,
                param="item.id",
            )
        position = len(self.items)
        if event.previous_item_id == "root":
            position = 0
        elif event.previous_item_id is not None:
            found = self._find(event.previous_item_id)
            if found is None:
                return self._reject(
                    f"previous item {event.previous_item_id} not found",
                    code="item_not_found",
                    event_id=event.event_id,
                    param="previous_item_id",
                )
            position = found + 1
        previous = self.items[position - 1].item.id if position > 0 else None
        self.items.insert(position, StoredItem(item=item))
        return Outcome(
            [
                p.ConversationItemAdded(
                    event_id=self._event_id(), previous_item_id=previous, item=item
                ),
                p.ConversationItemDone(
                    event_id=self._event_id(), previous_item_id=previous, item=item
                ),
            ]
        )

    def _on_conversation_item_delete(self, event: p.ConversationItemDelete) -> Outcome:
        index = self._find(event.item_id)
        if index is None:
            return self._not_found(event.item_id, event.event_id)
        del self.items[index]
        return Outcome(
            [p.ConversationItemDeleted(event_id=self._event_id(), item_id=event.item_id)]
        )

    def _on_conversation_item_retrieve(self, event: p.ConversationItemRetrieve) -> Outcome:
        index = self._find(event.item_id)
        if index is None:
            return self._not_found(event.item_id, event.event_id)
        return Outcome(
            [p.ConversationItemRetrieved(event_id=self._event_id(), item=self.items[index].item)]
        )

    def _on_conversation_item_truncate(self, event: p.ConversationItemTruncate) -> Outcome:
        index = self._find(event.item_id)
        if index is None:
            return self._not_found(event.item_id, event.event_id)
        stored = self.items[index]
        item = stored.item
        if not isinstance(item, p.MessageItem) or item.role != "assistant":
            return self._reject(
                "only assistant messages can be truncated",
                code="invalid_value",
                event_id=event.event_id,
                param="item_id",
            )
        if event.audio_end_ms < 0 or event.audio_end_ms > stored.audio_ms:
            return self._reject(
                f"audio_end_ms {event.audio_end_ms} exceeds the item's "
                f"{stored.audio_ms} ms of audio",
                code="invalid_value",
                event_id=event.event_id,
                param="audio_end_ms",
            )
        content = list(item.content)
        if event.content_index < len(content) and isinstance(
            content[event.content_index], p.OutputAudio
        ):
            part = content[event.content_index]
            assert isinstance(part, p.OutputAudio)
            heard = part.transcript or ""
            keep = (
                round(len(heard) * event.audio_end_ms / stored.audio_ms) if stored.audio_ms else 0
            )
            content[event.content_index] = attrs.evolve(part, transcript=heard[:keep])
        stored.item = attrs.evolve(item, content=tuple(content))
        stored.audio_ms = event.audio_end_ms
        return Outcome(
            [
                p.ConversationItemTruncated(
                    event_id=self._event_id(),
                    item_id=event.item_id,
                    content_index=event.content_index,
                    audio_end_ms=event.audio_end_ms,
                )
            ]
        )

    def _on_response_create(self, event: p.ResponseCreate) -> Outcome:
        if self.active is not None:
            return self._reject(
                "Conversation already has an active response in progress: " + self.active.id,
                code="conversation_already_has_active_response",
                event_id=event.event_id,
            )
        return Outcome([], StartResponse(self._id("resp"), event.response))

    def _on_response_cancel(self, event: p.ResponseCancel) -> Outcome:
        active = self.active
        if active is None or (event.response_id is not None and event.response_id != active.id):
            return self._reject(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                event_id=event.event_id,
            )
        return Outcome([], CancelResponse(active.id))

    # -- responses (driven by the adapter) --------------------------------------------------

    def output_modalities(self, params: p.ResponseParams | None) -> tuple[str, ...]:
        chosen = params.output_modalities if params and params.output_modalities else None
        return tuple(chosen or self.config.output_modalities or ("audio",))

    def begin_response(self, start: StartResponse) -> list[p.WireEvent]:
        params = start.params
        in_conversation = not (params is not None and params.conversation == "none")
        self.active = ActiveResponse(
            id=start.response_id,
            params=params,
            in_conversation=in_conversation,
            started_at_ms=self._audio_ms(),
        )
        self._idle_since_ms = None
        return [
            p.ResponseCreated(
                event_id=self._event_id(), response=self._response_object("in_progress")
            )
        ]

    def _response_object(
        self, status: str, details: p.ResponseStatusDetails | None = None
    ) -> p.Response:
        active = self.active
        assert active is not None
        usage = None
        if status != "in_progress":
            text_in = sum(len(json.dumps(s.item.to_wire())) for s in self.items) // 4
            audio_out = active.output_audio_ms // 50
            text_out = active.output_chars // 4
            usage = p.Usage(
                total_tokens=text_in + audio_out + text_out,
                input_tokens=text_in,
                output_tokens=audio_out + text_out,
            )
        return p.Response(
            id=active.id,
            status=status,
            status_details=details,
            output=tuple(active.output),
            output_modalities=self.output_modalities(active.params),  # type: ignore[arg-type]
            conversation_id="conv_local" if active.in_conversation else None,
            usage=usage,
        )

    def _open_message(self) -> list[p.WireEvent]:
        active = self.active
        assert active is not None
        if active.message is not None:
            return []
        audio = "audio" in self.output_modalities(active.params)
        item = p.MessageItem(
            id=self._id("item"), role="assistant", status="in_progress", content=()
        )
        stored = StoredItem(item=item)
        active.message = stored
        active.text = ""
        if audio and self.output_format.type != "audio/pcm":
            active.encoder = native.Resampler(24000, 8000)
        output_index = len(active.output)
        active.output.append(item)
        previous = self.items[-1].item.id if self.items else None
        if active.in_conversation:
            self.items.append(stored)
        part = (
            p.ResponsePart(type="audio", transcript="")
            if audio
            else p.ResponsePart(type="text", text="")
        )
        return [
            p.ResponseOutputItemAdded(
                event_id=self._event_id(),
                response_id=active.id,
                output_index=output_index,
                item=item,
            ),
            p.ConversationItemAdded(
                event_id=self._event_id(), previous_item_id=previous, item=item
            ),
            p.ResponseContentPartAdded(
                event_id=self._event_id(),
                response_id=active.id,
                item_id=item.id or "",
                output_index=output_index,
                content_index=0,
                part=part,
            ),
        ]

    def _ids(self) -> tuple[str, str, int]:
        active = self.active
        assert active is not None
        assert active.message is not None
        return active.id, active.message.item.id or "", len(active.output) - 1

    def response_text(self, text: str) -> list[p.WireEvent]:
        """The responder said `text` (a transcript chunk in audio mode)."""
        events = self._open_message()
        active = self.active
        assert active is not None
        active.text += text
        active.output_chars += len(text)
        rid, item_id, index = self._ids()
        if "audio" in self.output_modalities(active.params):
            events.append(
                p.ResponseOutputAudioTranscriptDelta(
                    event_id=self._event_id(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=text,
                )
            )
        else:
            events.append(
                p.ResponseOutputTextDelta(
                    event_id=self._event_id(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=text,
                )
            )
        return events

    def response_audio(self, pcm24k: bytes) -> list[p.WireEvent]:
        """The responder produced PCM16 audio at 24 kHz (dropped in text-only responses)."""
        events = self._open_message()
        active = self.active
        assert active is not None
        assert active.message is not None
        if "audio" not in self.output_modalities(active.params):
            return events
        data = self._encode_output(pcm24k, active)
        if data:
            events.append(self._audio_delta(data))
        return events

    def _encode_output(self, pcm24k: bytes, active: ActiveResponse) -> bytes:
        if active.encoder is None:
            return pcm24k
        if self.output_format.type == "audio/pcma":
            return native.alaw_encode(active.encoder.process(pcm24k))
        return active.encoder.process_to_ulaw(pcm24k)

    def _audio_delta(self, data: bytes) -> p.WireEvent:
        active = self.active
        assert active is not None
        assert active.message is not None
        ms = len(data) // 48 if active.encoder is None else len(data) // 8
        active.message.audio_ms += ms
        active.output_audio_ms += ms
        rid, item_id, index = self._ids()
        return p.ResponseOutputAudioDelta(
            event_id=self._event_id(),
            response_id=rid,
            item_id=item_id,
            output_index=index,
            content_index=0,
            audio=data,
        )

    def _close_message(self) -> list[p.WireEvent]:
        active = self.active
        assert active is not None
        stored = active.message
        if stored is None:
            return []
        events: list[p.WireEvent] = []
        rid, item_id, index = self._ids()
        audio = "audio" in self.output_modalities(active.params)
        if audio:
            if active.encoder is not None:
                data = self.output_format.from_pcm16(active.encoder.flush())
                if data:
                    events.append(self._audio_delta(data))
            events.append(
                p.ResponseOutputAudioDone(
                    event_id=self._event_id(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                )
            )
            events.append(
                p.ResponseOutputAudioTranscriptDone(
                    event_id=self._event_id(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    transcript=active.text,
                )
            )
            content: tuple[p.ContentPart, ...] = (p.OutputAudio(transcript=active.text),)
            part = p.ResponsePart(type="audio", transcript=active.text)
        else:
            events.append(
                p.ResponseOutputTextDone(
                    event_id=self._event_id(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=active.text,
                )
            )
            content = (p.OutputText(text=active.text),)
            part = p.ResponsePart(type="text", text=active.text)
        status: p.ItemStatus = "completed" if not self._cancelling else "incomplete"
        assert isinstance(stored.item, p.MessageItem)
        item = attrs.evolve(stored.item, content=content, status=status)
        stored.item = item
        active.output[index] = item
        events.append(
            p.ResponseContentPartDone(
                event_id=self._event_id(),
                response_id=rid,
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=part,
            )
        )
        events.append(
            p.ResponseOutputItemDone(
                event_id=self._event_id(), response_id=rid, output_index=index, item=item
            )
        )
        previous = self._previous_of(item_id)
        events.append(
            p.ConversationItemDone(event_id=self._event_id(), previous_item_id=previous, item=item)
        )
        active.message = None
        active.encoder = None
        return events

    def _previous_of(self, item_id: str) -> str | None:
        index = self._find(item_id)
        if index is None or index == 0:
            return None
        return self.items[index - 1].item.id

    def response_function_call(self, name: str, arguments: str) -> list[p.WireEvent]:
        """The responder calls tool `name` with JSON `arguments`."""
        events = self._close_message()
        active = self.active
        assert active is not None
        call_id = self._id("call")
        item = p.FunctionCallItem(
            id=self._id("item"), call_id=call_id, name=name, arguments="", status="in_progress"
        )
        index = len(active.output)
        active.output.append(item)
        previous = self.items[-1].item.id if self.items else None
        stored = StoredItem(item=item)
        if active.in_conversation:
            self.items.append(stored)
        item_id = item.id or ""
        done = attrs.evolve(item, arguments=arguments, status="completed")
        stored.item = done
        active.output[index] = done
        active.output_chars += len(arguments)
        events += [
            p.ResponseOutputItemAdded(
                event_id=self._event_id(), response_id=active.id, output_index=index, item=item
            ),
            p.ConversationItemAdded(
                event_id=self._event_id(), previous_item_id=previous, item=item
            ),
            p.ResponseFunctionCallArgumentsDelta(
                event_id=self._event_id(),
                response_id=active.id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                delta=arguments,
            ),
            p.ResponseFunctionCallArgumentsDone(
                event_id=self._event_id(),
                response_id=active.id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                name=name,
                arguments=arguments,
            ),
            p.ResponseOutputItemDone(
                event_id=self._event_id(), response_id=active.id, output_index=index, item=done
            ),
            p.ConversationItemDone(event_id=self._event_id(), previous_item_id=previous, item=done),
        ]
        return events

    def finish_response(
        self, status: ResponseStatus, reason: str | None = None
    ) -> list[p.WireEvent]:
        """End the active response: close its message and send ``response.done``."""
        if self.active is None:
            return []
        self._cancelling = status != "completed"
        try:
            events = self._close_message()
        finally:
            self._cancelling = False
        details = None
        if status == "cancelled":
            details = p.ResponseStatusDetails(type="cancelled", reason=reason or "client_cancelled")
        elif status == "incomplete":
            details = p.ResponseStatusDetails(
                type="incomplete", reason=reason or "max_output_tokens"
            )
        elif status == "failed":
            details = p.ResponseStatusDetails(
                type="failed",
                error=p.ResponseStatusError(
                    type="server_error", code="responder_failed", message=reason
                ),
            )
        events.append(
            p.ResponseDone(
                event_id=self._event_id(), response=self._response_object(status, details)
            )
        )
        detection = self.turn_detection
        if isinstance(detection, p.ServerVad) and detection.idle_timeout_ms:
            # The client plays audio as it arrives, in step with the audio it sends us, so its
            # playback ends at the later of "now" and "start + the audio we sent".
            active = self.active
            self._idle_since_ms = max(
                self._audio_ms(), active.started_at_ms + active.output_audio_ms
            )
        self.active = None
        return events

    # -- from the transcriber ---------------------------------------------------------------

    @property
    def transcription_enabled(self) -> bool:
        """Whether the client asked for input transcription events."""
        audio = self.config.audio
        transcription = audio.input.transcription if audio and audio.input else None
        return isinstance(transcription, p.Transcription)

    def transcription_delta(self, item_id: str, delta: str) -> list[p.WireEvent]:
        """More recognized words of a user item (announced only when transcription is on)."""
        if not delta or not self.transcription_enabled or self._find(item_id) is None:
            return []
        return [
            p.InputAudioTranscriptionDelta(
                event_id=self._event_id(), item_id=item_id, content_index=0, delta=delta
            )
        ]

    def transcription_completed(
        self, item_id: str, transcript: str, *, audio_seconds: float
    ) -> list[p.WireEvent]:
        """The item's final transcript: stored in the conversation (the responder reads it),
        announced when transcription is on.  An item deleted meanwhile is ignored."""
        index = self._find(item_id)
        if index is None:
            return []
        stored = self.items[index]
        item = stored.item
        if isinstance(item, p.MessageItem):
            content = tuple(
                attrs.evolve(part, transcript=transcript)
                if isinstance(part, p.InputAudio)
                else part
                for part in item.content
            )
            stored.item = attrs.evolve(item, content=content)
        if not self.transcription_enabled:
            return []
        return [
            p.InputAudioTranscriptionCompleted(
                event_id=self._event_id(),
                item_id=item_id,
                content_index=0,
                transcript=transcript,
                usage=p.TranscriptDurationUsage(seconds=round(audio_seconds, 3)),
            )
        ]

    def transcription_failed(self, item_id: str, message: str) -> list[p.WireEvent]:
        if not self.transcription_enabled or self._find(item_id) is None:
            return []
        return [
            p.InputAudioTranscriptionFailed(
                event_id=self._event_id(),
                item_id=item_id,
                content_index=0,
                error=p.TranscriptionError(
                    type="transcription_error", code="recognizer_failed", message=message
                ),
            )
        ]

    # -- for the responder ------------------------------------------------------------------

    def conversation(self) -> tuple[p.ConversationItem, ...]:
        return tuple(s.item for s in self.items)

    def user_audio(self, item_id: str) -> bytes:
        """PCM16 at the input rate of a committed user audio item (for speech recognition)."""
        index = self._find(item_id)
        return self.items[index].audio if index is not None else b""
