"""The local server's model output: one response at a time, as the GA events announce it.

Theory of operation
-------------------
The adapter runs the responder; :class:`ResponseBuilder` turns what it produced into events,
in the exact GA order, and keeps the conversation up to date:

* :meth:`~ResponseBuilder.begin` makes the :class:`ActiveResponse` and announces
  ``response.created``;
* the first text or audio opens an assistant message (``response.output_item.added`` →
  ``conversation.item.added`` → ``response.content_part.added``); then each piece is a delta:
  an audio transcript delta and audio deltas in audio mode (audio encoded to the session's
  output format: PCM16 at 24 kHz as is, G.711 resampled to 8 kHz), text deltas in text mode;
* a function call closes the open message and is announced complete at once (added →
  arguments delta → arguments done → done);
* :meth:`~ResponseBuilder.finish` closes the message (``..._done`` events, then
  ``response.content_part.done`` → ``response.output_item.done`` → ``conversation.item.done``;
  a message cut short ends ``incomplete``) and ends with ``response.done``, its status details
  and a rough token usage.

Output joins the default conversation unless the response asked for ``conversation: "none"``.

**The length of a response** is bounded: its output tokens, counted as its usage counts them
(one per 50 ms of audio, one per 4 characters of text), may not pass the response's (else the
session's) ``max_output_tokens``, and never :data:`MAX_OUTPUT_TOKENS` (4096, the API's own
maximum for that setting: about 3.4 minutes of audio).  :meth:`~ResponseBuilder.limit_reached`
tells the adapter to stop the responder; the response then ends ``incomplete`` with the reason
``max_output_tokens``.  ``response.done`` carries only this response's output, and its usage's
input estimate comes from the conversation's running size (nothing is re-serialized).
Sans-IO: the config is passed in, nothing is read from a clock.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

from rtagents import native
from rtagents import protocol as p

from ._common import IdSource, StartResponse
from ._config import output_format, output_modalities
from ._conversation import Conversation, StoredItem

ResponseStatus = Literal["completed", "cancelled", "incomplete", "failed"]

#: The most output tokens one response may produce, whatever ``max_output_tokens`` says.
MAX_OUTPUT_TOKENS: Final = 4096


def token_limit(params: p.ResponseParams | None, config: p.SessionConfig) -> int:
    """A response's output token limit: its own ``max_output_tokens``, else the session's,
    at most :data:`MAX_OUTPUT_TOKENS` (``"inf"`` means that much)."""
    chosen = params.max_output_tokens if params is not None else None
    if chosen is None:
        chosen = config.max_output_tokens
    return chosen if isinstance(chosen, int) else MAX_OUTPUT_TOKENS


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
    max_output_tokens: int = MAX_OUTPUT_TOKENS

    @property
    def output_tokens(self) -> int:
        """Output so far, in (estimated) tokens: as ``response.done``'s usage counts them."""
        return self.output_audio_ms // 50 + self.output_chars // 4


@attrs.define
class ResponseBuilder:
    """The response in progress of one session; see the module docstring."""

    ids: IdSource
    conversation: Conversation
    active: ActiveResponse | None = None

    def begin(
        self, start: StartResponse, config: p.SessionConfig, *, started_at_ms: int
    ) -> list[p.WireEvent]:
        params = start.params
        in_conversation = not (params is not None and params.conversation == "none")
        self.active = ActiveResponse(
            id=start.response_id,
            params=params,
            in_conversation=in_conversation,
            started_at_ms=started_at_ms,
            max_output_tokens=min(token_limit(params, config), MAX_OUTPUT_TOKENS),
        )
        return [
            p.ResponseCreated(
                event_id=self.ids.event(), response=self._response_object("in_progress", config)
            )
        ]

    def _response_object(
        self, status: str, config: p.SessionConfig, details: p.ResponseStatusDetails | None = None
    ) -> p.Response:
        active = self.active
        assert active is not None
        usage = None
        if status != "in_progress":
            text_in = self.conversation.chars // 4
            usage = p.ResponseUsage(
                total_tokens=text_in + active.output_tokens,
                input_tokens=text_in,
                output_tokens=active.output_tokens,
            )
        return p.Response(
            id=active.id,
            status=status,
            status_details=details,
            output=tuple(active.output),
            output_modalities=output_modalities(config, active.params),  # type: ignore[arg-type]
            conversation_id="conv_local" if active.in_conversation else None,
            usage=usage,
        )

    def _open_message(self, config: p.SessionConfig) -> list[p.WireEvent]:
        active = self.active
        assert active is not None
        if active.message is not None:
            return []
        audio = "audio" in output_modalities(config, active.params)
        item = p.MessageItem(
            id=self.ids.new("item"), role="assistant", status="in_progress", content=()
        )
        stored = StoredItem(item=item)
        active.message = stored
        active.text = ""
        if audio and output_format(config).type != "audio/pcm":
            active.encoder = native.Resampler(24000, 8000)
        output_index = len(active.output)
        active.output.append(item)
        previous = self.conversation.last_id()
        if active.in_conversation:
            self.conversation.append(stored)
        part = (
            p.ResponsePart(type="audio", transcript="")
            if audio
            else p.ResponsePart(type="text", text="")
        )
        return [
            p.ResponseOutputItemAdded(
                event_id=self.ids.event(),
                response_id=active.id,
                output_index=output_index,
                item=item,
            ),
            p.ConversationItemAdded(
                event_id=self.ids.event(), previous_item_id=previous, item=item
            ),
            p.ResponseContentPartAdded(
                event_id=self.ids.event(),
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

    def text(self, text: str, config: p.SessionConfig) -> list[p.WireEvent]:
        """The responder said `text` (a transcript chunk in audio mode)."""
        events = self._open_message(config)
        active = self.active
        assert active is not None
        active.text += text
        active.output_chars += len(text)
        rid, item_id, index = self._ids()
        if "audio" in output_modalities(config, active.params):
            events.append(
                p.ResponseOutputAudioTranscriptDelta(
                    event_id=self.ids.event(),
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
                    event_id=self.ids.event(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=text,
                )
            )
        return events

    def audio(self, pcm24k: bytes, config: p.SessionConfig) -> list[p.WireEvent]:
        """The responder produced PCM16 audio at 24 kHz (dropped in text-only responses)."""
        events = self._open_message(config)
        active = self.active
        assert active is not None
        assert active.message is not None
        if "audio" not in output_modalities(config, active.params):
            return events
        data = self._encode_output(pcm24k, active, config)
        if data:
            events.append(self._audio_delta(data))
        return events

    def _encode_output(
        self, pcm24k: bytes, active: ActiveResponse, config: p.SessionConfig
    ) -> bytes:
        if active.encoder is None:
            return pcm24k
        if output_format(config).type == "audio/pcma":
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
            event_id=self.ids.event(),
            response_id=rid,
            item_id=item_id,
            output_index=index,
            content_index=0,
            audio=data,
        )

    def _close_message(self, config: p.SessionConfig, *, cut_short: bool) -> list[p.WireEvent]:
        active = self.active
        assert active is not None
        stored = active.message
        if stored is None:
            return []
        events: list[p.WireEvent] = []
        rid, item_id, index = self._ids()
        audio = "audio" in output_modalities(config, active.params)
        if audio:
            if active.encoder is not None:
                data = output_format(config).from_pcm16(active.encoder.flush())
                if data:
                    events.append(self._audio_delta(data))
            events.append(
                p.ResponseOutputAudioDone(
                    event_id=self.ids.event(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                )
            )
            events.append(
                p.ResponseOutputAudioTranscriptDone(
                    event_id=self.ids.event(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    transcript=active.text,
                )
            )
            content: tuple[p.ContentPart, ...] = (p.OutputAudioContent(transcript=active.text),)
            part = p.ResponsePart(type="audio", transcript=active.text)
        else:
            events.append(
                p.ResponseOutputTextDone(
                    event_id=self.ids.event(),
                    response_id=rid,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=active.text,
                )
            )
            content = (p.OutputTextContent(text=active.text),)
            part = p.ResponsePart(type="text", text=active.text)
        status: p.ItemStatus = "incomplete" if cut_short else "completed"
        assert isinstance(stored.item, p.MessageItem)
        item = attrs.evolve(stored.item, content=content, status=status)
        self.conversation.replace(stored, item)
        active.output[index] = item
        events.append(
            p.ResponseContentPartDone(
                event_id=self.ids.event(),
                response_id=rid,
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=part,
            )
        )
        events.append(
            p.ResponseOutputItemDone(
                event_id=self.ids.event(), response_id=rid, output_index=index, item=item
            )
        )
        previous = self.conversation.previous_of(item_id)
        events.append(
            p.ConversationItemDone(event_id=self.ids.event(), previous_item_id=previous, item=item)
        )
        active.message = None
        active.encoder = None
        return events

    def function_call(
        self, name: str, arguments: str, config: p.SessionConfig
    ) -> list[p.WireEvent]:
        """The responder calls tool `name` with JSON `arguments`."""
        events = self._close_message(config, cut_short=False)
        active = self.active
        assert active is not None
        call_id = self.ids.new("call")
        item = p.FunctionCallItem(
            id=self.ids.new("item"), call_id=call_id, name=name, arguments="", status="in_progress"
        )
        index = len(active.output)
        active.output.append(item)
        previous = self.conversation.last_id()
        stored = StoredItem(item=item)
        if active.in_conversation:
            self.conversation.append(stored)
        item_id = item.id or ""
        done = attrs.evolve(item, arguments=arguments, status="completed")
        self.conversation.replace(stored, done)
        active.output[index] = done
        active.output_chars += len(arguments)
        events += [
            p.ResponseOutputItemAdded(
                event_id=self.ids.event(), response_id=active.id, output_index=index, item=item
            ),
            p.ConversationItemAdded(
                event_id=self.ids.event(), previous_item_id=previous, item=item
            ),
            p.ResponseFunctionCallArgumentsDelta(
                event_id=self.ids.event(),
                response_id=active.id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                delta=arguments,
            ),
            p.ResponseFunctionCallArgumentsDone(
                event_id=self.ids.event(),
                response_id=active.id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                name=name,
                arguments=arguments,
            ),
            p.ResponseOutputItemDone(
                event_id=self.ids.event(), response_id=active.id, output_index=index, item=done
            ),
            p.ConversationItemDone(event_id=self.ids.event(), previous_item_id=previous, item=done),
        ]
        return events

    def limit_reached(self) -> bool:
        """Whether the active response has produced all the output it may."""
        active = self.active
        return active is not None and active.output_tokens >= active.max_output_tokens

    def finish(
        self, status: ResponseStatus, reason: str | None, config: p.SessionConfig
    ) -> list[p.WireEvent]:
        """End the active response: close its message and send ``response.done``."""
        if self.active is None:
            return []
        events = self._close_message(config, cut_short=status != "completed")
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
                event_id=self.ids.event(), response=self._response_object(status, config, details)
            )
        )
        self.active = None
        return events
