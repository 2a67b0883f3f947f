"""What the page is told about a session: session events as page messages.  Pure: no trio, no
sockets, no clock.

Theory of operation
-------------------
One :class:`PageView` per connection turns each :mod:`rtagents.events` event into the messages
of :mod:`rtagents.web.protocol` (or none), remembering only what it needs to say each thing
once:

* agent audio — an :class:`~rtagents.web.protocol.AudioStart` when the (item, content part)
  changes, then the PCM16 bytes as a binary frame (:class:`AgentAudio`); after an interrupt the
  next chunk is announced again;
* the transcript — ``history_added`` / ``history_updated`` carry the whole item (transcripts
  grow delta by delta); a :class:`~rtagents.web.protocol.Transcript` goes out for a user or
  agent message whose text, completeness or truncation changed since it was last sent.  Only
  the last :data:`REMEMBERED` items of a history are looked at (and remembered), so a long
  session costs bounded memory and time per event;
* tool calls, approvals, agent start/end, handoffs, the link's health and errors map one to
  one;
* the turn state is not an event: :meth:`PageView.state` says whether it changed since it was
  last sent (the adapter asks after each event, each page message and on a timer).

Raw model events, ``audio_end`` and the rest are the page's business only through these.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import attrs

from rtagents import items as it
from rtagents.web import protocol as wp

#: How many of the newest history items the view looks at and remembers (an older one that
#: changes is not sent again).
REMEMBERED = 512


@attrs.frozen
class AgentAudio:
    """A binary frame to the page: agent PCM16 at 24 kHz (of the last ``AudioStart``'s item)."""

    pcm: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


Outgoing = wp.ServerMessage | AgentAudio


def _name(obj: Any) -> str:
    return str(getattr(obj, "name", None) or obj or "")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def transcript_of(item: it.RealtimeItem) -> wp.Transcript | None:
    """The transcript entry of a history item (None for tool calls, system messages, and
    messages with nothing to show yet)."""
    if isinstance(item, it.UserMessageItem):
        pieces: list[str] = []
        for part in item.content:
            if isinstance(part, it.InputText):
                pieces.append(part.text or "")
            elif isinstance(part, it.InputAudio):
                pieces.append(part.transcript or "")
            elif isinstance(part, it.InputImage):
                pieces.append("[image]")
        text = " ".join(p for p in (s.strip() for s in pieces) if p)
        role = "user"
        truncated = None
    elif isinstance(item, it.AssistantMessageItem):
        text = "".join(
            (part.transcript if isinstance(part, it.AssistantAudio) else part.text) or ""
            for part in item.content
        ).strip()
        role = "agent"
        truncated = item.truncated_at_ms
    else:
        return None
    if not text:
        return None
    final = item.status in ("completed", "incomplete")
    return wp.Transcript(item.item_id, role, text, final, truncated)


@attrs.define
class PageView:
    """Session events → page messages, for one connection."""

    _audio: tuple[str, int] | None = None
    _sent: OrderedDict[str, wp.Transcript] = attrs.field(factory=OrderedDict)
    _state: str | None = None

    def on_event(self, event: Any) -> list[Outgoing]:
        """The messages for one session event (often none)."""
        kind = getattr(event, "type", None)
        if kind == "audio":
            return self._on_audio(event)
        if kind == "audio_interrupted":
            self._audio = None
            return [wp.AudioInterrupted(event.item_id, event.content_index)]
        if kind == "history_added":
            return self._transcripts([event.item])
        if kind == "history_updated":
            return self._transcripts(event.history)
        if kind == "tool_start":
            return [wp.ToolStart(event.call_id, _name(event.tool), _text(event.arguments))]
        if kind == "tool_end":
            return [
                wp.ToolEnd(
                    event.call_id, _name(event.tool), _text(event.arguments), _text(event.output)
                )
            ]
        if kind == "tool_approval_required":
            return [wp.ApprovalRequired(event.call_id, _name(event.tool), _text(event.arguments))]
        if kind == "agent_start":
            return [wp.AgentStart(_name(event.agent))]
        if kind == "agent_end":
            return [wp.AgentEnd(_name(event.agent))]
        if kind == "handoff":
            return [wp.Handoff(_name(event.from_agent), _name(event.to_agent))]
        if kind == "connection_lost":
            return [wp.Status("lost", f"the model link was lost ({event.reason}); reconnecting")]
        if kind == "reconnected":
            return [wp.Status("reconnected", f"reconnected after {event.outage_s:.1f} s")]
        if kind == "guardrail_tripped":
            return [wp.Error("guardrail_tripped", _text(event.message))]
        if kind == "error":
            error = event.error
            return [wp.Error(_text(error.type), _text(error.message) or _text(error.type))]
        return []

    def state(self, state: str) -> list[Outgoing]:
        """A :class:`~rtagents.web.protocol.State` if `state` is not what the page was last
        told."""
        if state == self._state:
            return []
        self._state = state
        return [wp.State(state)]

    def _on_audio(self, event: Any) -> list[Outgoing]:
        key = (event.item_id, event.content_index)
        out: list[Outgoing] = []
        if key != self._audio:
            self._audio = key
            out.append(wp.AudioStart(*key))
        if event.data:
            out.append(AgentAudio(bytes(event.data)))
        return out

    def _transcripts(self, history: Any) -> list[Outgoing]:
        out: list[Outgoing] = []
        for item in list(history)[-REMEMBERED:]:
            entry = transcript_of(item)
            if entry is None or self._sent.get(entry.item_id) == entry:
                continue
            self._sent[entry.item_id] = entry
            self._sent.move_to_end(entry.item_id)
            while len(self._sent) > REMEMBERED:
                self._sent.popitem(last=False)
            out.append(entry)
        return out
