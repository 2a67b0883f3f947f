"""Restoring a conversation on a new connection, sans-IO: the local history as client events.

Theory of operation
-------------------
After a reconnect the new server session knows nothing.  :func:`restore_events` turns the
session's history (:mod:`rtagents.items`) into the ``conversation.item.create`` events that
rebuild it, in order and with the same item ids (so later truncations and deletions still name
the right items):

* user and system messages: their text, images, and — for spoken input — the transcript as
  text (the audio itself is not kept, so it cannot be sent again);
* assistant messages: their text or transcript as ``output_text`` (what was heard of a cut
  answer, when it was truncated);
* function calls that were made (complete, or answered), and their outputs when they have
  one; a call cut off while the model was still writing it is left out, so the model makes it
  again.

Skipped, and reported by kind: messages with nothing left to say (no text, no transcript),
and spoken user turns that came after the last finished answer — their audio is still in the
link's replay buffer and is sent again instead, so the new server hears (and answers) them.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from rtagents import items as it
from rtagents import protocol as p


@attrs.frozen
class Restoration:
    events: tuple[p.ConversationItemCreate, ...]
    restored: int  # items re-created
    skipped: tuple[str, ...]  # why each skipped item was skipped


def _user_parts(item: it.UserMessageItem | it.SystemMessageItem) -> list[p.ContentPart]:
    parts: list[p.ContentPart] = []
    for part in item.content:
        if isinstance(part, it.InputText) and part.text:
            parts.append(p.InputTextContent(text=part.text))
        elif isinstance(part, it.InputAudio) and part.transcript:
            parts.append(p.InputTextContent(text=part.transcript))
        elif isinstance(part, it.InputImage) and part.image_url:
            parts.append(p.InputImageContent(image_url=part.image_url, detail=part.detail))  # type: ignore[arg-type]
    return parts


def _assistant_parts(item: it.AssistantMessageItem) -> list[p.ContentPart]:
    parts: list[p.ContentPart] = []
    for part in item.content:
        text = part.text if isinstance(part, it.AssistantText) else part.transcript
        if text:
            parts.append(p.OutputTextContent(text=text))
    return parts


def _answered_through(history: Sequence[it.RealtimeItem]) -> int:
    """The index of the last assistant message that finished (-1 if none)."""
    for index in range(len(history) - 1, -1, -1):
        item = history[index]
        if isinstance(item, it.AssistantMessageItem) and item.status in ("completed", "incomplete"):
            return index
    return -1


def restore_events(history: Sequence[it.RealtimeItem]) -> Restoration:
    """The events that rebuild `history` on a new connection (see the module docstring)."""
    events: list[p.ConversationItemCreate] = []
    skipped: list[str] = []
    answered = _answered_through(history)
    for index, item in enumerate(history):
        created: list[p.ConversationItem] = []
        if isinstance(item, it.UserMessageItem | it.SystemMessageItem):
            spoken = any(isinstance(c, it.InputAudio) for c in item.content)
            if isinstance(item, it.UserMessageItem) and spoken and index > answered:
                skipped.append(f"{item.item_id}: spoken after the last answer (audio replayed)")
                continue
            parts = _user_parts(item)
            if parts:
                created.append(p.MessageItem(id=item.item_id, role=item.role, content=tuple(parts)))
        elif isinstance(item, it.AssistantMessageItem):
            parts = _assistant_parts(item)
            if parts:
                message = p.MessageItem(id=item.item_id, role="assistant", content=tuple(parts))
                created.append(message)
        elif isinstance(item, it.RealtimeToolCallItem):
            if item.status != "completed" and item.output is None:
                skipped.append(f"{item.item_id}: a function call cut off before it was made")
                continue
            call = p.FunctionCallItem(
                id=item.item_id, call_id=item.call_id, name=item.name, arguments=item.arguments
            )
            created.append(call)
            if item.output is not None:
                created.append(p.FunctionCallOutputItem(call_id=item.call_id, output=item.output))
        if not created:
            skipped.append(f"{item.item_id}: nothing to restore ({type(item).__name__})")
        events.extend(p.ConversationItemCreate(item=c) for c in created)
    restored = sum(1 for e in events if not isinstance(e.item, p.FunctionCallOutputItem))
    return Restoration(tuple(events), restored, tuple(skipped))
