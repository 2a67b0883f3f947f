"""The SDK's reading of a model event, sans-IO: one GA server event (or link event) in, the
OpenAI Agents SDK's model events (:mod:`rtagents.model_events`) out, in the SDK's order.

The session shows them to the app as ``raw_model_event`` s (and to ``session.model``'s
listeners): :func:`model_events` returns, for a server event, first
``RealtimeModelRawServerEvent`` (the message itself), then what the SDK makes of it — an audio
delta is a ``RealtimeModelAudioEvent``, ``response.done`` a usage and a ``turn_ended`` event, a
finished function call a ``function_call`` event, and so on.  Link events become connection
status changes; a clean close by the server also ends the stream (``end_of_stream``), an
abnormal one is an ``exception``.  Used only when the session shows raw events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtagents import items as it
from rtagents import model_events as me
from rtagents import protocol as p
from rtagents._core.link_events import LinkClosed, LinkConnected, LinkLost, LinkRestored
from rtagents.context import Usage


class ModelLinkClosedError(Exception):
    """The model link closed abnormally (the ``exception`` of an ``exception`` model event)."""


def _usage(usage: p.ResponseUsage) -> me.RealtimeModelUsageEvent:
    total = Usage()
    total.add(usage)
    inp, out = usage.input_token_details, usage.output_token_details
    cached = inp.cached_tokens_details if inp is not None else None
    return me.RealtimeModelUsageEvent(
        total,
        me.RealtimeModelInputTokensDetails(
            inp.text_tokens,
            inp.audio_tokens,
            inp.image_tokens,
            inp.cached_tokens,
            me.RealtimeModelCachedTokensDetails(
                cached.text_tokens, cached.audio_tokens, cached.image_tokens
            )
            if cached is not None
            else None,
        )
        if inp is not None
        else None,
        me.RealtimeModelOutputTokensDetails(out.text_tokens, out.audio_tokens)
        if out is not None
        else None,
    )


def _item(item: p.ConversationItem, previous: str | None) -> list[Any]:
    converted = it.from_protocol(item, previous)
    return [] if converted is None else [me.RealtimeModelItemUpdatedEvent(converted)]


def _output_item(event: Any) -> list[Any]:
    item = event.item
    if isinstance(item, p.FunctionCallItem):
        if not isinstance(event, p.ResponseOutputItemDone):
            return []
        call = me.RealtimeModelToolCallEvent(item.name, item.call_id or "", item.arguments, item.id)
        return [*_item(item, None), call]
    return _item(item, None)


def _response_done(event: p.ResponseDone) -> list[Any]:
    usage = event.response.usage
    ended = me.RealtimeModelTurnEndedEvent(response_id=event.response.id)
    return [_usage(usage), ended] if usage is not None else [ended]


def _closed(event: LinkClosed) -> list[Any]:
    out: list[Any] = [me.RealtimeModelConnectionStatusEvent("disconnected")]
    if event.by == "local":
        return out
    if event.code == 1000 and event.by == "peer":
        out.append(me.RealtimeModelEndOfStreamEvent())
    else:
        error = ModelLinkClosedError(f"closed by {event.by} ({event.code}): {event.reason}")
        out.append(me.RealtimeModelExceptionEvent(error, "the model link closed"))
    return out


_MAP: dict[type, Callable[[Any], list[Any]]] = {
    p.ResponseOutputAudioDelta: lambda e: [
        me.RealtimeModelAudioEvent(bytes(e.audio), e.response_id, e.item_id, e.content_index)
    ],
    p.ResponseOutputAudioDone: lambda e: [
        me.RealtimeModelAudioDoneEvent(e.item_id, e.content_index)
    ],
    p.ResponseOutputAudioTranscriptDelta: lambda e: [
        me.RealtimeModelTranscriptDeltaEvent(e.item_id, e.delta, e.response_id)
    ],
    p.ResponseOutputTextDelta: lambda e: [
        me.RealtimeModelOutputTextDeltaEvent(e.item_id, e.delta, e.response_id)
    ],
    p.ResponseCreated: lambda e: [me.RealtimeModelTurnStartedEvent(response_id=e.response.id)],
    p.ResponseDone: _response_done,
    p.ConversationItemAdded: lambda e: _item(e.item, e.previous_item_id),
    p.ConversationItemCreated: lambda e: _item(e.item, e.previous_item_id),
    p.ConversationItemRetrieved: lambda e: _item(e.item, None),
    p.ResponseOutputItemAdded: _output_item,
    p.ResponseOutputItemDone: _output_item,
    p.ConversationItemDeleted: lambda e: [me.RealtimeModelItemDeletedEvent(e.item_id)],
    p.InputAudioTranscriptionCompleted: lambda e: [
        me.RealtimeModelInputAudioTranscriptionCompletedEvent(e.item_id, e.transcript)
    ],
    p.InputAudioBufferTimeoutTriggered: lambda e: [
        me.RealtimeModelInputAudioTimeoutTriggeredEvent(e.item_id, e.audio_start_ms, e.audio_end_ms)
    ],
    p.ErrorEvent: lambda e: [me.RealtimeModelErrorEvent(e.error)],
    p.ServerProtocolError: lambda e: [
        me.RealtimeModelErrorEvent({"type": "protocol_error", "message": str(e)})
    ],
    LinkConnected: lambda e: [me.RealtimeModelConnectionStatusEvent("connected")],
    LinkClosed: _closed,
    LinkLost: lambda e: [me.RealtimeModelConnectionStatusEvent("disconnected")],
    LinkRestored: lambda e: [me.RealtimeModelConnectionStatusEvent("connected")],
}
_NOT_SERVER = (p.ServerProtocolError, LinkConnected, LinkClosed, LinkLost, LinkRestored)


def model_events(event: Any) -> list[Any]:
    """The SDK's model events for one event of the link (see the module docstring)."""
    mapped = _MAP.get(type(event))
    out = [] if isinstance(event, _NOT_SERVER) else [me.RealtimeModelRawServerEvent(event)]
    if mapped is not None:
        out.extend(mapped(event))
    return out
