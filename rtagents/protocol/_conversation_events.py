"""Server events about the conversation and its items: ``conversation.created`` and
``conversation.item.*`` (added, done, created, retrieved, truncated, deleted).

An item entering the conversation is announced by :class:`ConversationItemAdded` (model output
starts empty and ``in_progress``) and becomes final with :class:`ConversationItemDone`;
``previous_item_id`` places it.  :class:`ConversationItemCreated` is the older name still in the
GA union.  The others answer the client's ``conversation.item.retrieve`` (audio included),
``.truncate`` and ``.delete``.  Input audio transcription events live in ``_input_events``.
"""

from __future__ import annotations

import attrs

from ._event_values import ConversationInfo
from ._frames import WireEvent
from ._items import ConversationItem
from ._json import JSONObject


@attrs.frozen(kw_only=True)
class ConversationCreated(WireEvent):
    _wire_tag = "conversation.created"

    event_id: str
    conversation: ConversationInfo
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemAdded(WireEvent):
    """An item entered the conversation (model output starts empty and ``in_progress``)."""

    _wire_tag = "conversation.item.added"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemDone(WireEvent):
    """An item is final (audio still left out)."""

    _wire_tag = "conversation.item.done"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemCreated(WireEvent):
    """Older name for an item entering the conversation; still in the GA union."""

    _wire_tag = "conversation.item.created"

    event_id: str
    previous_item_id: str | None = None
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemRetrieved(WireEvent):
    """The answer to ``conversation.item.retrieve``, audio included."""

    _wire_tag = "conversation.item.retrieved"

    event_id: str
    item: ConversationItem
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemTruncated(WireEvent):
    _wire_tag = "conversation.item.truncated"

    event_id: str
    item_id: str
    content_index: int
    audio_end_ms: int
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ConversationItemDeleted(WireEvent):
    _wire_tag = "conversation.item.deleted"

    event_id: str
    item_id: str
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)
