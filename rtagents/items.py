"""The session's local history: conversation items as the app sees them.

Items mirror the OpenAI Agents SDK's realtime items (``type``, ``role``, ``content`` as a list,
``status``, ``model_dump()``), without audio bytes: history keeps what was said (text and
transcripts), not the sound (``audio`` is always ``None``, as in the SDK's history).  They are
built from the protocol's items with :func:`from_protocol`, and updated by replacing them (they
are frozen; treat their lists as read-only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

import attrs

from rtagents import protocol as p


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _user_parts(parts: Iterable[InputText | InputAudio | InputImage]) -> list[Any]:
    return list(parts)


def _assistant_parts(parts: Iterable[AssistantText | AssistantAudio]) -> list[Any]:
    return list(parts)


def _system_parts(parts: Iterable[InputText]) -> list[Any]:
    return list(parts)


class _Dumpable:
    """``model_dump`` / ``model_dump_json`` as the SDK's pydantic items have them."""

    __slots__ = ()

    def model_dump(self, *, exclude_none: bool = False, mode: str = "python") -> dict[str, Any]:
        data = attrs.asdict(self, recurse=True)  # type: ignore[arg-type]
        return _strip_none(data) if exclude_none else data

    def model_dump_json(self, *, exclude_none: bool = False, indent: int | None = None) -> str:
        return json.dumps(self.model_dump(exclude_none=exclude_none), indent=indent)


@attrs.frozen
class InputText(_Dumpable):
    text: str | None = None
    type: Literal["input_text"] = "input_text"


@attrs.frozen
class InputAudio(_Dumpable):
    transcript: str | None = None
    audio: str | None = attrs.field(default=None, kw_only=True, repr=False)
    type: Literal["input_audio"] = "input_audio"


@attrs.frozen
class InputImage(_Dumpable):
    image_url: str | None = attrs.field(default=None, repr=lambda u: f"<{len(u or '')} chars>")
    detail: str | None = None
    type: Literal["input_image"] = "input_image"


@attrs.frozen
class AssistantText(_Dumpable):
    text: str | None = None
    type: Literal["text"] = "text"


@attrs.frozen
class AssistantAudio(_Dumpable):
    transcript: str | None = None
    audio: str | None = attrs.field(default=None, kw_only=True, repr=False)
    type: Literal["audio"] = "audio"


ItemStatus: TypeAlias = Literal["in_progress", "completed", "incomplete"]


@attrs.frozen
class UserMessageItem(_Dumpable):
    item_id: str
    content: list[InputText | InputAudio | InputImage] = attrs.field(converter=_user_parts)
    previous_item_id: str | None = None
    status: ItemStatus | None = None
    type: Literal["message"] = "message"
    role: Literal["user"] = "user"


@attrs.frozen
class AssistantMessageItem(_Dumpable):
    """``truncated_at_ms`` is set when the user cut the answer off: the audio after that point
    was never heard (and the server dropped it, with its transcript)."""

    item_id: str
    content: list[AssistantText | AssistantAudio] = attrs.field(converter=_assistant_parts)
    previous_item_id: str | None = None
    status: ItemStatus | None = None
    truncated_at_ms: int | None = None
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"


@attrs.frozen
class SystemMessageItem(_Dumpable):
    item_id: str
    content: list[InputText] = attrs.field(converter=_system_parts)
    previous_item_id: str | None = None
    status: ItemStatus | None = None
    type: Literal["message"] = "message"
    role: Literal["system"] = "system"


@attrs.frozen
class RealtimeToolCallItem(_Dumpable):
    item_id: str
    call_id: str
    name: str
    arguments: str
    output: str | None = None
    previous_item_id: str | None = None
    status: ItemStatus = "in_progress"
    type: Literal["function_call"] = "function_call"


RealtimeMessageItem: TypeAlias = UserMessageItem | AssistantMessageItem | SystemMessageItem
RealtimeItem: TypeAlias = RealtimeMessageItem | RealtimeToolCallItem


@attrs.frozen
class RealtimeResponse(_Dumpable):
    """A response and its output items (the SDK declares it; sessions do not emit it)."""

    id: str
    output: list[RealtimeMessageItem] = attrs.field(factory=list)


def from_protocol(
    item: p.ConversationItem, previous_item_id: str | None = None
) -> RealtimeItem | None:
    """The history item for a protocol item (None for items history does not show)."""
    item_id = getattr(item, "id", None) or ""
    status = getattr(item, "status", None)
    if isinstance(item, p.MessageItem):
        if item.role == "assistant":
            parts: list[AssistantText | AssistantAudio] = []
            for part in item.content:
                if isinstance(part, p.OutputAudioContent):
                    parts.append(AssistantAudio(part.transcript))
                elif isinstance(part, p.OutputTextContent | p.InputTextContent):
                    parts.append(AssistantText(part.text))
            return AssistantMessageItem(item_id, tuple(parts), previous_item_id, status)
        user_parts: list[InputText | InputAudio | InputImage] = []
        for part in item.content:
            if isinstance(part, p.InputTextContent):
                user_parts.append(InputText(part.text))
            elif isinstance(part, p.InputAudioContent):
                user_parts.append(InputAudio(part.transcript))
            elif isinstance(part, p.InputImageContent):
                user_parts.append(InputImage(part.image_url, part.detail))
        if item.role == "system":
            texts = tuple(x for x in user_parts if isinstance(x, InputText))
            return SystemMessageItem(item_id, texts, previous_item_id, status)
        return UserMessageItem(item_id, tuple(user_parts), previous_item_id, status)
    if isinstance(item, p.FunctionCallItem):
        return RealtimeToolCallItem(
            item_id,
            item.call_id or "",
            item.name,
            item.arguments,
            None,
            previous_item_id,
            status or "in_progress",
        )
    return None


def merge(old: RealtimeItem, new: RealtimeItem) -> RealtimeItem:
    """An update of a known item: keep transcripts and text the update lacks (servers send
    items without them in some events), and a tool call's output."""
    if isinstance(old, AssistantMessageItem) and isinstance(new, AssistantMessageItem):
        if len(old.content) == len(new.content):
            kept = tuple(
                attrs.evolve(n, transcript=o.transcript)
                if isinstance(n, AssistantAudio)
                and isinstance(o, AssistantAudio)
                and not n.transcript
                else attrs.evolve(n, text=o.text)
                if isinstance(n, AssistantText) and isinstance(o, AssistantText) and not n.text
                else n
                for o, n in zip(old.content, new.content, strict=True)
            )
            new = attrs.evolve(new, content=kept)
        elif not new.content:
            new = attrs.evolve(new, content=old.content)
        if new.truncated_at_ms is None and old.truncated_at_ms is not None:
            new = attrs.evolve(new, truncated_at_ms=old.truncated_at_ms)
    elif isinstance(old, UserMessageItem) and isinstance(new, UserMessageItem):
        if len(old.content) == len(new.content):
            kept_user = tuple(
                attrs.evolve(n, transcript=o.transcript)
                if isinstance(n, InputAudio) and isinstance(o, InputAudio) and not n.transcript
                else n
                for o, n in zip(old.content, new.content, strict=True)
            )
            new = attrs.evolve(new, content=kept_user)
    elif (
        isinstance(old, RealtimeToolCallItem)
        and isinstance(new, RealtimeToolCallItem)
        and new.output is None
        and old.output is not None
    ):
        new = attrs.evolve(new, output=old.output, status=old.status)
    if new.previous_item_id is None and old.previous_item_id is not None:
        new = attrs.evolve(new, previous_item_id=old.previous_item_id)
    return new
