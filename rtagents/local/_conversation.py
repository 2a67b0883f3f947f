"""The local server's conversation store: the ordered items and the client's item events.

Theory of operation
-------------------
:class:`Conversation` holds :class:`StoredItem` values in conversation order.  A stored item is
the protocol item as the server would report it, plus what the protocol item does not carry:
the user's audio (PCM16 at the input rate, for speech recognition) and how much assistant audio
was sent (for truncation).

Every operation on one item costs the same however long the conversation is: items are linked
to their neighbours and indexed by id (finding, inserting after an item, deleting, the previous
item's id), and the store keeps running totals instead of walking the items: the size of the
items as JSON (the usage's input estimate, see ``_response_builder``) and the user audio held.
Only :attr:`Conversation.items` and :meth:`Conversation.snapshot` walk the whole conversation.

Items enter from three places: the client (``conversation.item.create``, here), a committed
input buffer (``_input``) and model output (``_response_builder``), always through
:meth:`~Conversation.append` or :meth:`~Conversation.create`; an item's new version goes through
:meth:`~Conversation.replace`.  Every entry is announced by :meth:`Conversation.announce`
(``conversation.item.added`` then ``conversation.item.done``, with the id of the item before it).
The client's ``conversation.item.delete``/``retrieve``/``truncate`` are carried out here; a
request the store cannot honour (an unknown or duplicate id, a truncation past the audio sent)
raises :class:`~._common.ClientError`.  Truncating an assistant message keeps the share of its
transcript that matches the share of audio heard.

Bounds: a client's items may hold at most :data:`MAX_CONVERSATION_CHARS` of JSON in all (a
create beyond it is refused with ``conversation_too_large``; the server's own items always
enter), and the conversation keeps at most :data:`MAX_USER_AUDIO_BYTES` of user audio: past
it, the oldest items' audio is forgotten (the items and their transcripts stay).
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Final

import attrs

from rtagents import protocol as p

from ._common import ClientError, IdSource

#: The JSON size (characters) of all the items in one conversation beyond which the client's
#: ``conversation.item.create`` is refused: 16 Mi characters, about 4 M tokens, far beyond any
#: model's context.
MAX_CONVERSATION_CHARS: Final = 16 * 2**20
#: The user audio (PCM16 bytes) a conversation keeps for recognizers: 32 MiB, about 11 minutes
#: at 24 kHz.  The oldest items' audio is forgotten first.
MAX_USER_AUDIO_BYTES: Final = 32 * 2**20


def wire_chars(item: p.ConversationItem) -> int:
    """The size of an item as JSON (what the usage's input estimate counts)."""
    return len(json.dumps(item.to_wire()))


@attrs.define(eq=False)
class StoredItem:
    item: p.ConversationItem
    audio_ms: int = 0  # assistant audio sent (after any truncation)
    audio: bytes = b""  # user audio as PCM16 at the input rate
    # Owned by the Conversation holding the item: its neighbours and its counted JSON size.
    _prev: StoredItem | None = attrs.field(init=False, default=None, repr=False)
    _next: StoredItem | None = attrs.field(init=False, default=None, repr=False)
    _chars: int = attrs.field(init=False, default=0, repr=False)


def _not_found(item_id: str) -> ClientError:
    return ClientError(f"item {item_id} not found", code="item_not_found", param="item_id")


@attrs.define(eq=False)
class Conversation:
    """The items of one session; see the module docstring."""

    ids: IdSource
    _by_id: dict[str, StoredItem] = attrs.field(init=False, factory=dict)
    _first: StoredItem | None = attrs.field(init=False, default=None)
    _last: StoredItem | None = attrs.field(init=False, default=None)
    _chars: int = attrs.field(init=False, default=0)
    _audio_bytes: int = attrs.field(init=False, default=0)
    _with_audio: deque[str] = attrs.field(init=False, factory=deque)  # ids, oldest first

    # -- the store ------------------------------------------------------------------------

    @property
    def items(self) -> list[StoredItem]:
        """The items in order (a new list: this walks the conversation)."""
        out = []
        stored = self._first
        while stored is not None:
            out.append(stored)
            stored = stored._next
        return out

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def chars(self) -> int:
        """The JSON size of all the items (kept up to date, never recounted)."""
        return self._chars

    @property
    def user_audio_bytes(self) -> int:
        return self._audio_bytes

    def find(self, item_id: str) -> StoredItem | None:
        return self._by_id.get(item_id)

    def _get(self, item_id: str) -> StoredItem:
        stored = self._by_id.get(item_id)
        if stored is None:
            raise _not_found(item_id)
        return stored

    def last_id(self) -> str | None:
        """The id of the last item (the ``previous_item_id`` of one appended now)."""
        return self._last.item.id if self._last is not None else None

    def previous_of(self, item_id: str) -> str | None:
        stored = self._by_id.get(item_id)
        if stored is None or stored._prev is None:
            return None
        return stored._prev.item.id

    def append(self, stored: StoredItem) -> None:
        """Add `stored` at the end."""
        self._insert(stored, after=self._last)

    def _insert(self, stored: StoredItem, *, after: StoredItem | None) -> None:
        """Link `stored` in after `after` (None: first)."""
        following = after._next if after is not None else self._first
        stored._prev, stored._next = after, following
        if after is None:
            self._first = stored
        else:
            after._next = stored
        if following is None:
            self._last = stored
        else:
            following._prev = stored
        self._by_id[stored.item.id or ""] = stored
        stored._chars = wire_chars(stored.item)
        self._chars += stored._chars
        if stored.audio:
            self._audio_bytes += len(stored.audio)
            self._with_audio.append(stored.item.id or "")
            self._forget_old_audio()

    def _remove(self, stored: StoredItem) -> None:
        before, following = stored._prev, stored._next
        if before is None:
            self._first = following
        else:
            before._next = following
        if following is None:
            self._last = before
        else:
            following._prev = before
        stored._prev = stored._next = None
        del self._by_id[stored.item.id or ""]
        self._chars -= stored._chars
        self._audio_bytes -= len(stored.audio)
        if len(self._with_audio) > 2 * len(self._by_id) + 16:  # drop the ids of deleted items
            self._with_audio = deque(i for i in self._with_audio if i in self._by_id)

    def replace(self, stored: StoredItem, item: p.ConversationItem) -> None:
        """Give `stored` a new version of its item (same id), keeping the totals right."""
        stored.item = item
        if self._by_id.get(item.id or "") is stored:
            chars = wire_chars(item)
            self._chars += chars - stored._chars
            stored._chars = chars

    def _forget_old_audio(self) -> None:
        while self._audio_bytes > MAX_USER_AUDIO_BYTES and self._with_audio:
            oldest = self._by_id.get(self._with_audio.popleft())
            if oldest is not None:
                self._audio_bytes -= len(oldest.audio)
                oldest.audio = b""

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
        if item.id in self._by_id:
            raise ClientError(
                f"item {item.id} already exists", code="item_already_exists", param="item.id"
            )
        after = self._last
        if event.previous_item_id == "root":
            after = None
        elif event.previous_item_id is not None:
            after = self._by_id.get(event.previous_item_id)
            if after is None:
                raise ClientError(
                    f"previous item {event.previous_item_id} not found",
                    code="item_not_found",
                    param="previous_item_id",
                )
        stored = StoredItem(item=item)
        if self._chars + wire_chars(item) > MAX_CONVERSATION_CHARS:
            raise ClientError(
                f"the conversation would exceed {MAX_CONVERSATION_CHARS} characters of items; "
                "delete items first",
                code="conversation_too_large",
                param="item",
            )
        self._insert(stored, after=after)
        return self.announce(item, after.item.id if after is not None else None)

    def delete(self, event: p.ConversationItemDelete) -> list[p.WireEvent]:
        self._remove(self._get(event.item_id))
        return [p.ConversationItemDeleted(event_id=self.ids.event(), item_id=event.item_id)]

    def retrieve(self, event: p.ConversationItemRetrieve) -> list[p.WireEvent]:
        stored = self._get(event.item_id)
        return [p.ConversationItemRetrieved(event_id=self.ids.event(), item=stored.item)]

    def truncate(self, event: p.ConversationItemTruncate) -> list[p.WireEvent]:
        stored = self._get(event.item_id)
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
        self.replace(stored, attrs.evolve(item, content=tuple(content)))
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
        stored = self._by_id.get(item_id)
        if stored is None:
            return False
        item = stored.item
        if isinstance(item, p.MessageItem):
            content = tuple(
                attrs.evolve(part, transcript=transcript)
                if isinstance(part, p.InputAudioContent)
                else part
                for part in item.content
            )
            self.replace(stored, attrs.evolve(item, content=content))
        return True

    def snapshot(self) -> tuple[p.ConversationItem, ...]:
        return tuple(s.item for s in self.items)

    def user_audio(self, item_id: str) -> bytes:
        """PCM16 at the input rate of a committed user audio item (for speech recognition;
        empty once forgotten, see the module docstring)."""
        stored = self._by_id.get(item_id)
        return stored.audio if stored is not None else b""
