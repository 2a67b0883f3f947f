"""The local server's conversation store: the ordered items and the client's item events.

Theory of operation
-------------------
:class:`Conversation` is the list of :class:`StoredItem`, in conversation order.  A stored item
is the protocol item as the server would report it, plus what the protocol item does not carry:
the user's audio (PCM16 at the input rate, for speech recognition) and how much assistant audio
was sent (for truncation).

Items enter from three places: the client (``conversation.item.create``, here), a committed
input buffer (``_input``) and model output (``_response_builder``); every entry is announced by
:meth:`Conversation.announce` (``conversation.item.added`` then ``conversation.item.done``, with
the id of the item before it).  The client's ``conversation.item.delete``/``retrieve``/
``truncate`` are carried out here; a request the store cannot honour (an unknown or duplicate
id, a truncation past the audio sent) raises :class:`~._common.ClientError`.  Truncating an
assistant message keeps the share of its transcript that matches the share of audio heard.
"""

from __future__ import annotations

from typing import Any

import attrs

from rtagents import protocol as p

from ._common import ClientError, IdSource


@attrs.define
class StoredItem:
    item: p.ConversationItem
    audio_ms: int = 0  # assistant audio sent (after any truncation)
    audio: bytes = b""  # user audio as PCM16 at the input rate


def _not_found(item_id: str) -> ClientError:
    return ClientError(f"item {item_id} not found", code="item_not_found", param="item_id")


@attrs.define
class Conversation:
    """The items of one session; see the module docstring."""

    ids: IdSource
    items: list[StoredItem] = attrs.field(factory=list)

    def find(self, item_id: str) -> int | None:
        for index, stored in enumerate(self.items):
            if stored.item.id == item_id:
                return index
        return None

    def _index(self, item_id: str) -> int:
        index = self.find(item_id)
        if index is None:
            raise _not_found(item_id)
        return index

    def last_id(self) -> str | None:
        """The id of the last item (the ``previous_item_id`` of one appended now)."""
        return self.items[-1].item.id if self.items else None

    def previous_of(self, item_id: str) -> str | None:
        index = self.find(item_id)
        if index is None or index == 0:
            return None
        return self.items[index - 1].item.id

    def announce(self, item: p.ConversationItem, previous: str | None) -> list[p.WireEvent]:
        """``conversation.item.added`` and ``.done`` for an item that entered complete."""
        return [
            p.ConversationItemAdded(
                event_id=self.ids.event(), previous_item_id=previous, item=item
            ),
            p.ConversationItemDone(event_id=self.ids.event(), previous_item_id=previous, item=item),
        ]

    # -- client events --------------------------------------------------------------------

    def create(self, event: p.ConversationItemCreate) -> list[p.WireEvent]:
        item: Any = event.item  # every item kind has `id`; all but "other" have `status`
        if getattr(item, "id", None) is None:
            item = attrs.evolve(item, id=self.ids.new("item"))
        if getattr(item, "status", "completed") is None:
            item = attrs.evolve(item, status="completed")
        if self.find(item.id) is not None:
            raise ClientError(
                f"item {item.id} already exists", code="item_already_exists", param="item.id"
            )
        position = len(self.items)
        if event.previous_item_id == "root":
            position = 0
        elif event.previous_item_id is not None:
            found = self.find(event.previous_item_id)
            if found is None:
                raise ClientError(
                    f"previous item {event.previous_item_id} not found",
                    code="item_not_found",
                    param="previous_item_id",
                )
            position = found + 1
        previous = self.items[position - 1].item.id if position > 0 else None
        self.items.insert(position, StoredItem(item=item))
        return self.announce(item, previous)

    def delete(self, event: p.ConversationItemDelete) -> list[p.WireEvent]:
        del self.items[self._index(event.item_id)]
        return [p.ConversationItemDeleted(event_id=self.ids.event(), item_id=event.item_id)]

    def retrieve(self, event: p.ConversationItemRetrieve) -> list[p.WireEvent]:
        stored = self.items[self._index(event.item_id)]
        return [p.ConversationItemRetrieved(event_id=self.ids.event(), item=stored.item)]

    def truncate(self, event: p.ConversationItemTruncate) -> list[p.WireEvent]:
        stored = self.items[self._index(event.item_id)]
        item = stored.item
        if not isinstance(item, p.MessageItem) or item.role != "assistant":
            raise ClientError(
                "only assistant messages can be truncated", code="invalid_value", param="item_id"
            )
        if event.audio_end_ms < 0 or event.audio_end_ms > stored.audio_ms:
            raise ClientError(
                f"audio_end_ms {event.audio_end_ms} exceeds the item's "
                f"{stored.audio_ms} ms of audio",
                code="invalid_value",
                param="audio_end_ms",
            )
        content = list(item.content)
        if event.content_index < len(content):
            part = content[event.content_index]
            if isinstance(part, p.OutputAudioContent):
                heard = part.transcript or ""
                keep = (
                    round(len(heard) * event.audio_end_ms / stored.audio_ms)
                    if stored.audio_ms
                    else 0
                )
                content[event.content_index] = attrs.evolve(part, transcript=heard[:keep])
        stored.item = attrs.evolve(item, content=tuple(content))
        stored.audio_ms = event.audio_end_ms
        return [
            p.ConversationItemTruncated(
                event_id=self.ids.event(),
                item_id=event.item_id,
                content_index=event.content_index,
                audio_end_ms=event.audio_end_ms,
            )
        ]

    # -- transcripts and reading ----------------------------------------------------------

    def set_transcript(self, item_id: str, transcript: str) -> bool:
        """Fill the transcript of a user audio item; False when the item is gone."""
        index = self.find(item_id)
        if index is None:
            return False
        stored = self.items[index]
        item = stored.item
        if isinstance(item, p.MessageItem):
            content = tuple(
                attrs.evolve(part, transcript=transcript)
                if isinstance(part, p.InputAudioContent)
                else part
                for part in item.content
            )
            stored.item = attrs.evolve(item, content=content)
        return True

    def snapshot(self) -> tuple[p.ConversationItem, ...]:
        return tuple(s.item for s in self.items)

    def user_audio(self, item_id: str) -> bytes:
        """PCM16 at the input rate of a committed user audio item (for speech recognition)."""
        index = self.find(item_id)
        return self.items[index].audio if index is not None else b""
