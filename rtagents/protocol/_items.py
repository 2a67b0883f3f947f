"""Conversation items and their content parts.

Theory of operation
-------------------
A conversation is a list of items.  We model the three kinds a voice agent uses:
:class:`MessageItem` (``type: "message"``, with a ``role`` and content parts),
:class:`FunctionCallItem` and :class:`FunctionCallOutputItem`.  Every other item type (the MCP
items, and any type a newer server invents) reads as :class:`OtherItem`, which keeps the wire
object untouched and writes it back unchanged.  When reading strictly (server role) only the
MCP item types the official union declares are accepted as :class:`OtherItem`.

Content parts (the ``...Content`` classes, so named to stay apart from the history classes of
:mod:`rtagents.items`) are told apart by their ``type``.  Which parts a message may hold depends
on its role (user: text, audio, image; system: text; assistant: output text, output audio), and
the constructor enforces it.  When reading leniently, assistant parts typed ``"text"``/``"audio"``
are accepted as output text/audio, as some servers send them.

Audio is ``bytes`` here and base64 only on the wire.  Servers leave audio out of most item
events (``conversation.item.retrieved`` includes it), so every audio field is optional.  Item
``object: "realtime.item"`` keys are accepted and not written back.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self, TypeAlias

import attrs

from ._codec import WireValue
from ._json import (
    AudioData,
    JSONObject,
    WireFormatError,
    audio_repr,
    b64encode_audio,
    expect_object,
    join_path,
    json_kind,
    text_preview,
)

ItemStatus: TypeAlias = Literal["completed", "incomplete", "in_progress"]
ImageDetail: TypeAlias = Literal["auto", "low", "high"]
MessageRole: TypeAlias = Literal["user", "assistant", "system"]

_ITEM_IGNORED: frozenset[str] = frozenset({"object"})


def image_data_url(data: AudioData, mime_type: str = "image/png") -> str:
    """A ``data:`` URL for an image, the form ``input_image`` content accepts (PNG or JPEG)."""
    return f"data:{mime_type};base64,{b64encode_audio(data)}"


def _url_repr(url: str | None) -> str:
    return "None" if url is None else text_preview(url, 48)


# -- content parts -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InputTextContent(WireValue):
    """Text from the user or the system."""

    _wire_tag = "input_text"

    text: str | None = None


@attrs.frozen(kw_only=True)
class InputAudioContent(WireValue):
    """User audio in the session's input format, with its transcript once known."""

    _wire_tag = "input_audio"

    audio: AudioData | None = attrs.field(default=None, repr=audio_repr)
    transcript: str | None = None


@attrs.frozen(kw_only=True)
class InputImageContent(WireValue):
    """An image given to the model, as a ``data:`` URL (see :func:`image_data_url`)."""

    _wire_tag = "input_image"

    image_url: str | None = attrs.field(default=None, repr=_url_repr)
    detail: ImageDetail | None = None

    @classmethod
    def from_bytes(
        cls, data: AudioData, *, mime_type: str = "image/png", detail: ImageDetail | None = None
    ) -> InputImageContent:
        return cls(image_url=image_data_url(data, mime_type), detail=detail)


@attrs.frozen(kw_only=True)
class OutputTextContent(WireValue):
    """Text the assistant produced."""

    _wire_tag = "output_text"
    _wire_tag_aliases = ("text",)

    text: str | None = None


@attrs.frozen(kw_only=True)
class OutputAudioContent(WireValue):
    """Audio the assistant produced, and its transcript."""

    _wire_tag = "output_audio"
    _wire_tag_aliases = ("audio",)

    audio: AudioData | None = attrs.field(default=None, repr=audio_repr)
    transcript: str | None = None


ContentPart: TypeAlias = (
    InputTextContent
    | InputAudioContent
    | InputImageContent
    | OutputTextContent
    | OutputAudioContent
)

_PARTS_BY_ROLE: dict[str, tuple[type[WireValue], ...]] = {
    "user": (InputTextContent, InputAudioContent, InputImageContent),
    "system": (InputTextContent,),
    "assistant": (OutputTextContent, OutputAudioContent),
}


# -- items ---------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MessageItem(WireValue):
    """A message.  Build common ones with the ``user_*``/``assistant_text``/``system_text``
    constructors."""

    _wire_tag = "message"
    _wire_ignored = _ITEM_IGNORED

    id: str | None = None
    role: MessageRole
    content: tuple[ContentPart, ...] = attrs.field()
    status: ItemStatus | None = None

    @content.validator
    def _check_content(self, _: object, content: tuple[ContentPart, ...]) -> None:
        allowed = _PARTS_BY_ROLE.get(self.role, ())
        for index, part in enumerate(content):
            if not isinstance(part, allowed):
                tag = type(part)._wire_tag
                raise ValueError(f"content[{index}]: a {self.role} message cannot hold {tag}")

    @classmethod
    def user_text(cls, text: str, *, id: str | None = None) -> MessageItem:
        return cls(id=id, role="user", content=(InputTextContent(text=text),))

    @classmethod
    def user_audio(
        cls, audio: AudioData, *, transcript: str | None = None, id: str | None = None
    ) -> MessageItem:
        """User audio, raw bytes in the session's input format."""
        return cls(
            id=id, role="user", content=(InputAudioContent(audio=audio, transcript=transcript),)
        )

    @classmethod
    def user_image(
        cls, image_url: str, *, detail: ImageDetail | None = None, id: str | None = None
    ) -> MessageItem:
        """A user image given by URL; use :func:`image_data_url` for raw PNG/JPEG bytes."""
        return cls(
            id=id, role="user", content=(InputImageContent(image_url=image_url, detail=detail),)
        )

    @classmethod
    def assistant_text(cls, text: str, *, id: str | None = None) -> MessageItem:
        return cls(id=id, role="assistant", content=(OutputTextContent(text=text),))

    @classmethod
    def system_text(cls, text: str, *, id: str | None = None) -> MessageItem:
        return cls(id=id, role="system", content=(InputTextContent(text=text),))


@attrs.frozen(kw_only=True)
class FunctionCallItem(WireValue):
    """The model calling a function; ``arguments`` is JSON text."""

    _wire_tag = "function_call"
    _wire_ignored = _ITEM_IGNORED

    id: str | None = None
    call_id: str | None = None
    name: str
    arguments: str
    status: ItemStatus | None = None


@attrs.frozen(kw_only=True)
class FunctionCallOutputItem(WireValue):
    """A function's result for ``call_id``; ``output`` is text (usually JSON).  Send
    ``response.create`` afterwards so the model speaks about it."""

    _wire_tag = "function_call_output"
    _wire_ignored = _ITEM_IGNORED

    id: str | None = None
    call_id: str
    output: str
    status: ItemStatus | None = None


def _check_other_wire(_: object, __: object, wire: JSONObject) -> None:
    if not isinstance(wire.get("type"), str):
        raise ValueError("an item needs a string 'type'")


@attrs.frozen(kw_only=True)
class OtherItem(WireValue):
    """An item of a kind we do not model (MCP items, newer types), kept as its wire object."""

    _wire_fallback = True
    #: Item types the official union declares beyond the ones modelled above.
    STRICT_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response"}
    )

    wire: JSONObject = attrs.field(validator=_check_other_wire, hash=False)

    @property
    def type(self) -> str:
        kind: Any = self.wire["type"]
        return str(kind)

    @property
    def id(self) -> str | None:
        item_id = self.wire.get("id")
        return item_id if isinstance(item_id, str) else None

    def to_wire(self) -> JSONObject:
        return dict(self.wire)

    @classmethod
    def _decode_wire(cls, wire: object, strict: bool, path: str) -> Self:
        obj = expect_object(wire, path)
        if "type" not in obj:
            raise WireFormatError(
                join_path(path, "type"),
                "required field is missing",
                code="missing_required_parameter",
            )
        kind = obj["type"]
        if not isinstance(kind, str):
            raise WireFormatError(
                join_path(path, "type"),
                f"expected a string, got {json_kind(kind)}",
                code="invalid_type",
            )
        if strict and kind not in cls.STRICT_TYPES:
            raise WireFormatError(
                join_path(path, "type"), f"unknown item type {kind!r}", code="invalid_value"
            )
        item_id = obj.get("id")
        if item_id is not None and not isinstance(item_id, str):
            raise WireFormatError(
                join_path(path, "id"),
                f"expected a string, got {json_kind(item_id)}",
                code="invalid_type",
            )
        return cls(wire=obj)


ConversationItem: TypeAlias = MessageItem | FunctionCallItem | FunctionCallOutputItem | OtherItem
