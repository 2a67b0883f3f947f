"""One Realtime session as the server sees it, sans-IO: :class:`ServerSession`, the coordinator.

Theory of operation
-------------------
``ServerSession`` owns everything a connection's conversation is, split by job into parts that
share one id source (``_common``): the effective session config (``_config``), the caller's
input audio with its turn detection, idle timeout and transcription feed (``_input``), the
ordered conversation items (``_conversation``) and the response in progress
(``_response_builder``).  The session itself only routes.  It never does I/O and never reads a
clock:

* ``opened()`` gives the first events (``session.created``);
* ``receive(text)`` decodes one client frame and dispatches it through :data:`_HANDLERS`, a
  table from client event class to handler, to the part that carries it out; it returns an
  :class:`Outcome`: server events to send, in order, plus at most one
  :class:`~._common.StartResponse` or :class:`~._common.StopResponse` *action* for the adapter,
  which runs response generation as a task;
* with ``stream_user_audio`` set (the server has a transcriber), an outcome also carries the
  caller's audio as :class:`~._input.UserAudio` pieces (see ``_input``); the adapter reports
  the recognized words back through ``transcription_delta`` / ``transcription_completed`` /
  ``transcription_failed``;
* with a turn model (``detectors.turn_model``), a ``semantic_vad`` outcome may carry
  :class:`~._turns.TurnQuery` s; the adapter answers the newest with ``turn_verdict(seq, p)``,
  whose outcome may end the turn (and start a response);
* while a response runs, the adapter reports what the responder produced through
  ``response_text`` / ``response_audio`` / ``response_function_call`` and ends it with
  ``finish_response(status)``; each returns the events that announce it, in the exact GA order
  (see ``_response_builder``); ``response_limit_reached()`` says when the response has produced
  all the output it may;
* ``release()``, when the connection is gone, frees what only a live connection needs (the
  input audio buffer); the conversation stays readable.

Every per-session bound lives in the part it bounds: one append and the input buffer
(``_input``), the conversation's size and user audio (``_conversation``), a response's length
(``_response_builder``).  The adapter bounds the connection itself (see ``_limits``).

Bad client input never raises: a part refuses it with :class:`~._common.ClientError` and the
session answers with an ``error`` event naming the client ``event_id``.  Audio times are
computed from sample counts (see _vad.py), so tests are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import attrs

from rtagents import protocol as p

from ._common import Action, ClientError, IdSource, StartResponse, StopResponse, error_event
from ._config import (
    DEFAULT_SESSION,
    input_format,
    merge_session,
    output_format,
    output_modalities,
    transcription_enabled,
    turn_detection,
)
from ._conversation import Conversation, StoredItem
from ._input import AudioInput, UserAudio
from ._response_builder import ActiveResponse, ResponseBuilder, ResponseStatus
from ._turns import TurnDetectors, TurnQuery


@attrs.frozen
class Outcome:
    events: list[p.WireEvent]
    action: Action | None = None
    user_audio: list[UserAudio] = attrs.field(factory=list)
    turn_queries: list[TurnQuery] = attrs.field(factory=list)


class ServerSession:
    """The state of one connection.  See the module docstring."""

    def __init__(
        self,
        config: p.SessionConfig = DEFAULT_SESSION,
        stream_user_audio: bool = False,
        detectors: TurnDetectors | None = None,
    ) -> None:
        self._config = config
        self._ids = IdSource()
        self._conversation = Conversation(self._ids)
        self._input = AudioInput.for_config(
            config,
            self._ids,
            self._conversation,
            stream_user_audio=stream_user_audio,
            detectors=detectors,
        )
        self._responses = ResponseBuilder(self._ids, self._conversation)

    # -- state --------------------------------------------------------------------------------

    @property
    def config(self) -> p.SessionConfig:
        """The effective session config (changed by ``session.update``)."""
        return self._config

    @property
    def stream_user_audio(self) -> bool:
        """Whether outcomes carry the caller's audio (:class:`UserAudio`) for a transcriber."""
        return self._input.stream_user_audio

    @property
    def items(self) -> list[StoredItem]:
        """The conversation, in order."""
        return self._conversation.items

    @property
    def active(self) -> ActiveResponse | None:
        """The response in progress."""
        return self._responses.active

    @property
    def input_format(self) -> p.AudioFormat:
        return input_format(self._config)

    @property
    def output_format(self) -> p.AudioFormat:
        return output_format(self._config)

    @property
    def turn_detection(self) -> p.ServerVad | p.SemanticVad | None:
        return turn_detection(self._config)

    @property
    def transcription_enabled(self) -> bool:
        """Whether the client asked for input transcription events."""
        return transcription_enabled(self._config)

    def output_modalities(self, params: p.ResponseParams | None) -> tuple[str, ...]:
        return output_modalities(self._config, params)

    # -- client events --------------------------------------------------------------------------

    def opened(self) -> list[p.WireEvent]:
        return [p.SessionCreated(event_id=self._ids.event(), session=self._config)]

    def receive(self, text: str | bytes) -> Outcome:
        event = p.decode_client_event(text)
        if isinstance(event, p.ClientProtocolError):
            return Outcome([p.ErrorEvent.for_client_error(event, event_id=self._ids.event())])
        handler = _HANDLERS.get(type(event))
        try:
            if handler is None:  # pragma: no cover - every GA client event has a handler
                raise ClientError(f"unsupported event {event.type}", code="invalid_event")
            outcome = handler(self, event)
        except ClientError as problem:
            outcome = Outcome([error_event(self._ids, problem, event_id=event.event_id)])
        return self._with_pending(outcome)

    def _with_pending(self, outcome: Outcome) -> Outcome:
        pieces = self._input.take_user_audio()
        if pieces:
            outcome = attrs.evolve(outcome, user_audio=pieces)
        queries = self._input.take_turn_queries()
        if queries:
            outcome = attrs.evolve(outcome, turn_queries=queries)
        return outcome

    def turn_verdict(self, seq: int, probability: float) -> Outcome:
        """The turn model's answer to :class:`~._turns.TurnQuery` `seq`: the events (and the
        response to start) if it ends the user's turn, else nothing."""
        events, action = self._input.turn_verdict(seq, probability, running=self._running())
        return self._with_pending(Outcome(events, action))

    def error(
        self, message: str, *, code: str, kind: str = "server_error", event_id: str | None = None
    ) -> list[p.WireEvent]:
        """An ``error`` event of the server's own (a failed responder, a budget exceeded),
        naming the client event `event_id` when there is one."""
        details = p.ErrorDetails(type=kind, code=code, message=message, event_id=event_id)
        return [p.ErrorEvent(event_id=self._ids.event(), error=details)]

    def _running(self) -> str | None:
        active = self._responses.active
        return active.id if active is not None else None

    def _on_session_update(self, event: p.SessionUpdate) -> Outcome:
        merged = merge_session(self._config, event.session)
        self._input.reconfigure(merged, audio_changed=merged.audio != self._config.audio)
        self._config = merged
        return Outcome([p.SessionUpdated(event_id=self._ids.event(), session=merged)])

    def _on_input_audio_buffer_append(self, event: p.InputAudioBufferAppend) -> Outcome:
        events, action = self._input.append(bytes(event.audio), running=self._running())
        return Outcome(events, action)

    def _on_input_audio_buffer_commit(self, event: p.InputAudioBufferCommit) -> Outcome:
        return Outcome(self._input.commit())

    def _on_input_audio_buffer_clear(self, event: p.InputAudioBufferClear) -> Outcome:
        return Outcome(self._input.clear())

    def _on_output_audio_buffer_clear(self, event: p.OutputAudioBufferClear) -> Outcome:
        raise ClientError(
            "output_audio_buffer.clear is only for WebRTC and SIP sessions", code="invalid_event"
        )

    def _on_conversation_item_create(self, event: p.ConversationItemCreate) -> Outcome:
        return Outcome(self._conversation.create(event))

    def _on_conversation_item_delete(self, event: p.ConversationItemDelete) -> Outcome:
        return Outcome(self._conversation.delete(event))

    def _on_conversation_item_retrieve(self, event: p.ConversationItemRetrieve) -> Outcome:
        return Outcome(self._conversation.retrieve(event))

    def _on_conversation_item_truncate(self, event: p.ConversationItemTruncate) -> Outcome:
        return Outcome(self._conversation.truncate(event))

    def _on_response_create(self, event: p.ResponseCreate) -> Outcome:
        running = self._running()
        if running is not None:
            raise ClientError(
                "Conversation already has an active response in progress: " + running,
                code="conversation_already_has_active_response",
            )
        return Outcome([], StartResponse(self._ids.new("resp"), event.response))

    def _on_response_cancel(self, event: p.ResponseCancel) -> Outcome:
        running = self._running()
        if running is None or (event.response_id is not None and event.response_id != running):
            raise ClientError(
                "Cancellation failed: no active response found", code="response_cancel_not_active"
            )
        return Outcome([], StopResponse(running))

    # -- responses (driven by the adapter) ------------------------------------------------------

    def begin_response(self, start: StartResponse) -> list[p.WireEvent]:
        started_at_ms = self._input.audio_ms()
        self._input.response_started()
        return self._responses.begin(start, self._config, started_at_ms=started_at_ms)

    def response_text(self, text: str) -> list[p.WireEvent]:
        """The responder said `text` (a transcript chunk in audio mode)."""
        return self._responses.text(text, self._config)

    def response_audio(self, pcm24k: bytes) -> list[p.WireEvent]:
        """The responder produced PCM16 audio at 24 kHz (dropped in text-only responses)."""
        return self._responses.audio(pcm24k, self._config)

    def response_function_call(self, name: str, arguments: str) -> list[p.WireEvent]:
        """The responder calls tool `name` with JSON `arguments`."""
        return self._responses.function_call(name, arguments, self._config)

    def response_limit_reached(self) -> bool:
        """Whether the active response has produced all the output it may (its
        ``max_output_tokens``, at most ``MAX_OUTPUT_TOKENS``): end it ``incomplete``."""
        return self._responses.limit_reached()

    def finish_response(
        self, status: ResponseStatus, reason: str | None = None
    ) -> list[p.WireEvent]:
        """End the active response: close its message and send ``response.done``."""
        active = self._responses.active
        if active is None:
            return []
        events = self._responses.finish(status, reason, self._config)
        self._input.response_finished(active.started_at_ms + active.output_audio_ms)
        return events

    def release(self) -> None:
        """The connection is gone: free the input audio buffer (the conversation stays)."""
        self._input.release()

    # -- from the transcriber -----------------------------------------------------------------

    def transcription_delta(self, item_id: str, delta: str) -> list[p.WireEvent]:
        """More recognized words of a user item (announced only when transcription is on)."""
        return self._input.transcription_delta(item_id, delta, announce=self.transcription_enabled)

    def transcription_completed(
        self, item_id: str, transcript: str, *, audio_seconds: float
    ) -> list[p.WireEvent]:
        """The item's final transcript: stored in the conversation (the responder reads it),
        announced when transcription is on.  An item deleted meanwhile is ignored."""
        return self._input.transcription_completed(
            item_id, transcript, audio_seconds=audio_seconds, announce=self.transcription_enabled
        )

    def transcription_failed(self, item_id: str, message: str) -> list[p.WireEvent]:
        return self._input.transcription_failed(
            item_id, message, announce=self.transcription_enabled
        )

    # -- for the responder ----------------------------------------------------------------------

    def conversation(self) -> tuple[p.ConversationItem, ...]:
        return self._conversation.snapshot()

    def user_audio(self, item_id: str) -> bytes:
        """PCM16 at the input rate of a committed user audio item (for speech recognition)."""
        return self._conversation.user_audio(item_id)


_Handler: TypeAlias = Callable[[ServerSession, Any], Outcome]

#: The handler of each client event class (``receive`` dispatches through it).
_HANDLERS: Final[Mapping[type[p.ClientEvent], _Handler]] = {
    p.SessionUpdate: ServerSession._on_session_update,
    p.InputAudioBufferAppend: ServerSession._on_input_audio_buffer_append,
    p.InputAudioBufferCommit: ServerSession._on_input_audio_buffer_commit,
    p.InputAudioBufferClear: ServerSession._on_input_audio_buffer_clear,
    p.OutputAudioBufferClear: ServerSession._on_output_audio_buffer_clear,
    p.ConversationItemCreate: ServerSession._on_conversation_item_create,
    p.ConversationItemDelete: ServerSession._on_conversation_item_delete,
    p.ConversationItemRetrieve: ServerSession._on_conversation_item_retrieve,
    p.ConversationItemTruncate: ServerSession._on_conversation_item_truncate,
    p.ResponseCreate: ServerSession._on_response_create,
    p.ResponseCancel: ServerSession._on_response_cancel,
}
