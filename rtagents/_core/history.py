"""The session's local history, sans-IO: every method returns the events that announce it.

Rules (those of the OpenAI Agents SDK, plus live transcripts): a new item is inserted after its
``previous_item_id`` when that is known, else appended (``history_added``); an update of a known
item is merged (transcripts and text the update lacks are kept, see :func:`items.merge`) and
announced with the whole history (``history_updated``) only if it changed; transcript and text
deltas update the assistant item as they arrive; an input transcription fills the user item's
audio part; a tool call gets its output when the session sends it; a truncated answer is marked
with where it was cut, and announced once the server's copy, cut there, has been retrieved.
"""

from __future__ import annotations

import attrs

from rtagents import items as it
from rtagents import protocol as p
from rtagents.events import RealtimeHistoryAdded, RealtimeHistoryUpdated

HistoryEvent = RealtimeHistoryAdded | RealtimeHistoryUpdated


class History:
    def __init__(self) -> None:
        self.items: list[it.RealtimeItem] = []
        # Items marked truncated whose cut transcript has not arrived yet (see mark_truncated).
        self._cut: set[str] = set()

    def _updated(self) -> list[HistoryEvent]:
        return [RealtimeHistoryUpdated(tuple(self.items))]

    def index(self, item_id: str) -> int | None:
        return next((i for i, x in enumerate(self.items) if x.item_id == item_id), None)

    def upsert(self, item: p.ConversationItem, previous_item_id: str | None) -> list[HistoryEvent]:
        new = it.from_protocol(item, previous_item_id)
        if new is None or not new.item_id:
            return []
        index = self.index(new.item_id)
        if index is None:
            after = self.index(previous_item_id) if previous_item_id else None
            if after is None:
                self.items.append(new)
            else:
                self.items.insert(after + 1, new)
            return [RealtimeHistoryAdded(new)]
        merged = it.merge(self.items[index], new)
        announce = new.item_id in self._cut
        self._cut.discard(new.item_id)
        if merged == self.items[index] and not announce:
            return []
        self.items[index] = merged
        return self._updated()

    def append_text(self, item_id: str, delta: str, *, audio: bool) -> list[HistoryEvent]:
        index = self.index(item_id)
        if index is None:
            return []
        item = self.items[index]
        if not isinstance(item, it.AssistantMessageItem):
            return []
        content = list(item.content)
        kind = it.AssistantAudio if audio else it.AssistantText
        for i, part in enumerate(content):
            if isinstance(part, it.AssistantAudio) and audio:
                content[i] = it.AssistantAudio((part.transcript or "") + delta)
                break
            if isinstance(part, it.AssistantText) and not audio:
                content[i] = it.AssistantText((part.text or "") + delta)
                break
        else:
            content.append(kind(delta))
        self.items[index] = attrs.evolve(item, content=tuple(content))
        return self._updated()  # live transcripts: every delta is visible

    def set_user_transcript(self, item_id: str, transcript: str) -> list[HistoryEvent]:
        index = self.index(item_id)
        if index is None:
            item: it.RealtimeItem = it.UserMessageItem(item_id, (it.InputText(transcript),))
            self.items.append(item)
            return [RealtimeHistoryAdded(item)]
        old = self.items[index]
        if not isinstance(old, it.UserMessageItem):
            return []
        if not any(isinstance(c, it.InputAudio) for c in old.content):
            parts = (*old.content, it.InputAudio(transcript))
        else:
            parts = tuple(
                it.InputAudio(transcript) if isinstance(c, it.InputAudio) else c
                for c in old.content
            )
        self.items[index] = attrs.evolve(old, content=parts, status="completed")
        return self._updated()

    def set_tool_output(self, call_id: str, output: str) -> list[HistoryEvent]:
        for index, item in enumerate(self.items):
            if isinstance(item, it.RealtimeToolCallItem) and item.call_id == call_id:
                self.items[index] = attrs.evolve(item, output=output, status="completed")
                return self._updated()
        return []

    def mark_truncated(self, item_id: str, audio_end_ms: int) -> list[HistoryEvent]:
        index = self.index(item_id)
        item = self.items[index] if index is not None else None
        if not isinstance(item, it.AssistantMessageItem):
            return []
        self.items[index] = attrs.evolve(  # type: ignore[index]
            item, truncated_at_ms=audio_end_ms, status="incomplete"
        )
        # Announced when the item comes back with the transcript cut where it was heard (the
        # session retrieves it), so the app never sees a "truncated" item with its full text.
        self._cut.add(item_id)
        return []

    def delete(self, item_id: str) -> list[HistoryEvent]:
        if self.index(item_id) is None:
            return []
        self.items = [i for i in self.items if i.item_id != item_id]
        return self._updated()

    def response_text(self, output: tuple[p.ConversationItem, ...] | None) -> str:
        """What a response said: its messages' text and transcripts, from history when the
        server's summary lacks them."""
        pieces: list[str] = []
        for out in output or ():
            item_id = getattr(out, "id", None)
            index = self.index(item_id) if item_id else None
            item = self.items[index] if index is not None else it.from_protocol(out)
            if isinstance(item, it.AssistantMessageItem):
                for part in item.content:
                    text = part.transcript if isinstance(part, it.AssistantAudio) else part.text
                    if text:
                        pieces.append(text)
        return " ".join(pieces)
