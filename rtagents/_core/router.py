"""The server-event router, sans-IO: what each event from the model means for the session.

Theory of operation
-------------------
:meth:`ServerEventRouter.route` takes one event from the model link and returns *effects*,
values that the session carries out in order: events for the app (:class:`Emit`; first the raw
model events of :mod:`rtagents._core.model_view`), inputs for the turn machine (:class:`Feed`,
with the audio of an ``AudioReceived``), client events to send (:class:`Send`), the end of an
item's audio for playback (:class:`EndAudio`), a changed server
session (:class:`SessionChanged`: audio formats, whether server VAD cancels on speech), and the
agent side's work (:class:`CallFunction`, :class:`CheckText`, :class:`TextDone`,
:class:`AgentStarted`, :class:`AgentEnded`).  Along the way it keeps the pure state that belongs
to the event stream: the history the app sees, the response sequencer, the token usage, the
formats in force and which agent produced which response.  No trio, no clock, no I/O.
"""

from __future__ import annotations

import collections
from typing import Any, TypeAlias

import attrs

from rtagents import protocol as p
from rtagents._core import turns
from rtagents._core.history import History
from rtagents._core.link_events import LinkClosed, LinkLost, LinkRestored
from rtagents._core.model_view import model_events
from rtagents._core.sequencer import ResponseSequencer
from rtagents.context import Usage
from rtagents.events import (
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudioEnd,
    RealtimeConnectionLost,
    RealtimeDtmf,
    RealtimeError,
    RealtimeInputAudioTimeoutTriggered,
    RealtimeRawModelEvent,
    RealtimeReconnected,
    RealtimeSessionEvent,
)

CANCEL_ID = "rtagents_cancel_"  # event ids of the response.cancel events the session sends

# -- effects -----------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Emit:
    event: RealtimeSessionEvent


@attrs.frozen(slots=True)
class Feed:
    input: turns.TurnInput
    audio: bytes = attrs.field(default=b"", repr=lambda a: f"<{len(a)} bytes>")


@attrs.frozen(slots=True)
class Send:
    event: p.ClientEvent


@attrs.frozen(slots=True)
class EndAudio:
    item_id: str


@attrs.frozen(slots=True)
class SessionChanged:
    input_format: p.AudioFormat
    output_format: p.AudioFormat
    server_cancels_on_speech: bool


@attrs.frozen(slots=True)
class CallFunction:
    item: p.FunctionCallItem


@attrs.frozen(slots=True)
class CheckText:
    response_id: str
    item_id: str
    delta: str


@attrs.frozen(slots=True)
class TextDone:
    item_id: str


@attrs.frozen(slots=True)
class AgentStarted:
    agent: Any


@attrs.frozen(slots=True)
class AgentEnded:
    agent: Any
    output: str


Effect: TypeAlias = (
    Emit
    | Feed
    | Send
    | EndAudio
    | SessionChanged
    | CallFunction
    | CheckText
    | TextDone
    | AgentStarted
    | AgentEnded
)


def configured_format(settings: p.SessionConfig | None, direction: str) -> p.AudioFormat:
    """The configured input or output format (PCM 24 kHz unless the settings say otherwise)."""
    audio = settings.audio if settings else None
    side = getattr(audio, direction, None) if audio else None
    fmt = getattr(side, "format", None)
    return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()


class ServerEventRouter:
    """See the module docstring."""

    def __init__(
        self,
        *,
        usage: Usage,
        raw_events: bool = True,
        settings: p.SessionConfig | None = None,
        history: History | None = None,
    ) -> None:
        self.history = history if history is not None else History()
        self.sequencer = ResponseSequencer()
        self.usage = usage
        self.raw_events = raw_events
        self.input_format = configured_format(settings, "input")
        self.output_format = configured_format(settings, "output")
        self.last_response_id: str | None = None
        self._response_agents: collections.OrderedDict[str, Any] = collections.OrderedDict()
        # Responses the session gave up on (a turn timeout, a lost link): a late response.done
        # of one changes nothing.  Bounded: the oldest are forgotten.
        self._given_up: collections.deque[str] = collections.deque(maxlen=64)
        self.response_owed = False  # see _on_link_lost
        self._cancels = 0

    # -- what the session asks -----------------------------------------------------------------

    def cancel_event(self, response_id: str) -> p.ResponseCancel:
        """The ``response.cancel`` for a barge-in (with an id of ours, see ``_on_error``)."""
        self._cancels += 1
        return p.ResponseCancel(event_id=f"{CANCEL_ID}{self._cancels}", response_id=response_id)

    def give_up(self, response_id: str | None, agent: Any) -> list[Effect]:
        """The session stops waiting for `response_id` (it went silent, or the link is gone):
        the app gets its ``agent_end`` (status ``failed``) and the next response may be
        created.  A late ``response.done`` for it is then ignored."""
        out: list[Effect] = []
        if response_id is not None and response_id in self._response_agents:
            producer = self._response_agents.pop(response_id)
            self._given_up.append(response_id)
            out.append(Emit(RealtimeAgentEndEvent(producer, response_id, "failed")))
            out.append(AgentEnded(producer, ""))
        create = self.sequencer.give_up()
        if create is not None:
            out.append(Send(create))
        return out

    def owed_create(self, *, replay_pending: bool) -> p.ResponseCreate | None:
        """After a resume: the ``response.create`` the new connection owes (a response was
        running or asked for when the link was lost), unless replayed user audio will bring
        one."""
        if not self.response_owed or replay_pending:
            return None
        self.response_owed = False
        return self.sequencer.request()

    def route(self, event: Any, agent: Any) -> list[Effect]:
        """The effects of one event from the link; ``agent`` is the session's current agent."""
        handler = _HANDLERS.get(type(event))
        effects: list[Effect] = (
            [Emit(RealtimeRawModelEvent(m, event)) for m in model_events(event)]
            if self.raw_events
            else []
        )
        if handler is not None:
            handler(self, event, agent, effects)
        return effects

    # -- handlers ----------------------------------------------------------------------------

    def _on_audio_delta(self, event: Any, agent: Any, out: list[Effect]) -> None:
        data = bytes(event.audio)
        ms = self.output_format.duration_ms(len(data))
        received = turns.AudioReceived(event.response_id, event.item_id, event.content_index, ms)
        out.append(Feed(received, data))

    def _on_audio_done(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(EndAudio(event.item_id))
        out.append(Emit(RealtimeAudioEnd(event.item_id, event.content_index)))

    def _on_speech_started(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(Feed(turns.UserSpeechStarted("server")))

    def _on_speech_stopped(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(Feed(turns.UserSpeechStopped("server")))

    def _on_response_created(self, event: Any, agent: Any, out: list[Effect]) -> None:
        rid = event.response.id or ""
        self.sequencer.on_created()
        self.last_response_id = event.response.id
        out.append(Feed(turns.ResponseStarted(rid)))
        self._response_agents[rid] = agent
        while len(self._response_agents) > 64:  # responses that never reported done
            self._response_agents.popitem(last=False)
        out.append(Emit(RealtimeAgentStartEvent(agent, event.response.id)))
        out.append(AgentStarted(agent))

    def _on_response_done(self, event: Any, agent: Any, out: list[Effect]) -> None:
        response = event.response
        rid = response.id or ""
        self.usage.add(response.usage)
        out.append(Feed(turns.ResponseFinished(rid, response.status or "completed")))
        if rid in self._given_up:  # ended already for the app; it is merely late
            self._given_up.remove(rid)
            return
        # The agent that produced the response (a handoff in it switched the session).
        producer = self._response_agents.pop(rid, agent)
        if response.status == "failed":  # say why: a failed response is otherwise silent
            details = response.status_details
            error = details.error if details is not None else None
            message = (error.message if error is not None else None) or "no reason given"
            failed = {"type": "response_failed", "response_id": rid, "message": message}
            out.append(Emit(RealtimeError(failed)))
        out.append(Emit(RealtimeAgentEndEvent(producer, rid, response.status)))
        out.append(AgentEnded(producer, self.history.response_text(response.output)))
        create = self.sequencer.on_done()
        if create is not None:
            out.append(Send(create))

    def _on_session(self, event: Any, agent: Any, out: list[Effect]) -> None:
        session: p.SessionConfig = event.session
        audio = session.audio
        detection = audio.input.turn_detection if audio and audio.input else None
        cancels = bool(
            detection not in (None, p.UNSET) and getattr(detection, "interrupt_response", False)
        )
        if audio and audio.output and audio.output.format:
            self.output_format = audio.output.format
        if audio and audio.input and audio.input.format:
            self.input_format = audio.input.format
        out.append(SessionChanged(self.input_format, self.output_format, cancels))

    def _on_item(self, event: Any, agent: Any, out: list[Effect]) -> None:
        previous = getattr(event, "previous_item_id", None)
        out.extend(Emit(e) for e in self.history.upsert(event.item, previous))

    def _on_output_item(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.extend(Emit(e) for e in self.history.upsert(event.item, None))
        if isinstance(event, p.ResponseOutputItemDone) and isinstance(
            event.item, p.FunctionCallItem
        ):
            out.append(CallFunction(event.item))

    def _on_text_delta(self, event: Any, agent: Any, out: list[Effect]) -> None:
        audio = isinstance(event, p.ResponseOutputAudioTranscriptDelta)
        out.extend(
            Emit(e) for e in self.history.append_text(event.item_id, event.delta, audio=audio)
        )
        out.append(CheckText(event.response_id, event.item_id, event.delta))

    def _on_text_done(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(TextDone(event.item_id))

    def _on_truncated(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.extend(Emit(e) for e in self.history.mark_truncated(event.item_id, event.audio_end_ms))
        # The server cut the transcript too: fetch the item to show what was heard.
        out.append(Send(p.ConversationItemRetrieve(item_id=event.item_id)))

    def _on_deleted(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.extend(Emit(e) for e in self.history.delete(event.item_id))

    def _on_transcript(self, event: Any, agent: Any, out: list[Effect]) -> None:
        transcript = self.history.set_user_transcript(event.item_id, event.transcript)
        out.extend(Emit(e) for e in transcript)

    def _on_timeout(self, event: Any, agent: Any, out: list[Effect]) -> None:
        timeout = RealtimeInputAudioTimeoutTriggered(
            event.item_id, event.audio_start_ms, event.audio_end_ms
        )
        out.append(Emit(timeout))

    def _on_dtmf(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(Emit(RealtimeDtmf(event.event)))

    def _on_error(self, event: Any, agent: Any, out: list[Effect]) -> None:
        error = event.error
        ours = (error.event_id or "").startswith(CANCEL_ID)
        if error.code == "response_cancel_not_active" and ours:
            return  # we cancelled a response the server had already ended: harmless
        create = self.sequencer.on_error(error.event_id)
        out.append(Emit(RealtimeError(error)))
        if create is not None:
            out.append(Send(create))

    def _on_protocol_error(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(Emit(RealtimeError({"type": "protocol_error", "message": str(event)})))

    def _on_link_closed(self, event: Any, agent: Any, out: list[Effect]) -> None:
        running = self.sequencer.active and self.last_response_id in self._response_agents
        abnormal = event.by == "error" or (event.by != "local" and event.code not in (1000, None))
        if abnormal or (running and event.by != "local"):
            during = " during a response" if running else ""
            message = f"the model link closed{during} ({event.by}, {event.code}): {event.reason}"
            out.append(Emit(RealtimeError({"type": "link_closed", "message": message})))
        if running and self.last_response_id is not None:
            out.append(Feed(turns.ResponseFinished(self.last_response_id, "failed")))
            out.extend(self.give_up(self.last_response_id, agent))

    def _on_link_lost(self, event: Any, agent: Any, out: list[Effect]) -> None:
        out.append(Emit(RealtimeConnectionLost(event.code, event.reason)))
        seq = self.sequencer
        running = seq.active and self.last_response_id in self._response_agents
        # A response was running or asked for: the new connection owes one (the session asks
        # for it after the resume unless replayed audio will bring one).
        self.response_owed = running or seq.in_flight is not None or seq.pending
        if running and self.last_response_id is not None:
            out.append(Feed(turns.ResponseFinished(self.last_response_id, "failed")))
        out.extend(self.give_up(self.last_response_id if running else None, agent))

    def _on_link_restored(self, event: Any, agent: Any, out: list[Effect]) -> None:
        # A new connection: nothing of the old one can arrive late (and its ids may repeat).
        self._given_up.clear()
        restored = RealtimeReconnected(
            event.attempts,
            event.outage_s,
            event.restored_items,
            event.not_restored,
            event.audio_replayed,
            event.audio_dropped,
        )
        out.append(Emit(restored))


_Handler: TypeAlias = Any  # (router, event, agent, effects) -> None
R = ServerEventRouter
_HANDLERS: dict[type, _Handler] = {
    p.ResponseOutputAudioDelta: R._on_audio_delta,
    p.ResponseOutputAudioDone: R._on_audio_done,
    p.InputAudioBufferSpeechStarted: R._on_speech_started,
    p.InputAudioBufferSpeechStopped: R._on_speech_stopped,
    p.ResponseCreated: R._on_response_created,
    p.ResponseDone: R._on_response_done,
    p.SessionCreated: R._on_session,
    p.SessionUpdated: R._on_session,
    p.ConversationItemAdded: R._on_item,
    p.ConversationItemDone: R._on_item,
    p.ConversationItemCreated: R._on_item,
    p.ConversationItemRetrieved: R._on_item,
    p.ResponseOutputItemAdded: R._on_output_item,
    p.ResponseOutputItemDone: R._on_output_item,
    p.ResponseOutputAudioTranscriptDelta: R._on_text_delta,
    p.ResponseOutputTextDelta: R._on_text_delta,
    p.ResponseOutputAudioTranscriptDone: R._on_text_done,
    p.ResponseOutputTextDone: R._on_text_done,
    p.ConversationItemTruncated: R._on_truncated,
    p.ConversationItemDeleted: R._on_deleted,
    p.InputAudioTranscriptionCompleted: R._on_transcript,
    p.InputAudioBufferTimeoutTriggered: R._on_timeout,
    p.InputAudioBufferDtmfEventReceived: R._on_dtmf,
    p.ErrorEvent: R._on_error,
    p.ServerProtocolError: R._on_protocol_error,
    LinkClosed: R._on_link_closed,
    LinkLost: R._on_link_lost,
    LinkRestored: R._on_link_restored,
}
