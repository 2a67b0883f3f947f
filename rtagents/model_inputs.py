"""What an app may send through ``session.model.send_event``: the SDK's model inputs.

:class:`RealtimeModelSendRawMessage` carries any client event as ``{"type": ...,
"other_data": {...}}`` (checked against the GA protocol before it is sent; a ``response.create``
takes its turn in the session's response sequencer, so it never collides with a running
response); the others do what the session's own methods do (``send_message``,
``send_audio``, ``interrupt``, a session update, a tool output).  Frozen values; no I/O.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

import attrs

from rtagents.model_events import RealtimeModelToolCallEvent


class RealtimeModelRawClientMessage(TypedDict):
    type: str
    other_data: NotRequired[dict[str, Any]]


class RealtimeModelInputTextContent(TypedDict):
    type: Literal["input_text"]
    text: str


class RealtimeModelInputImageContent(TypedDict, total=False):
    type: Literal["input_image"]
    image_url: str
    detail: str


class RealtimeModelUserInputMessage(TypedDict):
    type: Literal["message"]
    role: Literal["user"]
    content: list[RealtimeModelInputTextContent | RealtimeModelInputImageContent]


RealtimeModelUserInput: TypeAlias = str | RealtimeModelUserInputMessage


@attrs.frozen
class RealtimeModelSendRawMessage:
    message: RealtimeModelRawClientMessage


@attrs.frozen
class RealtimeModelSendUserInput:
    user_input: RealtimeModelUserInput


@attrs.frozen
class RealtimeModelSendAudio:
    audio: bytes = attrs.field(repr=lambda a: f"<{len(a)} bytes>")
    commit: bool = False


@attrs.frozen
class RealtimeModelSendToolOutput:
    tool_call: RealtimeModelToolCallEvent
    output: str
    start_response: bool


@attrs.frozen
class RealtimeModelSendInterrupt:
    """``response_id``: interrupt that response only (nothing happens if it is not the one
    running or playing).  ``force_response_cancel``, ``cancel_response_only`` and
    ``playback_only`` are accepted with the SDK's checks; the session always stops playback,
    cancels the response and truncates at what was heard."""

    force_response_cancel: bool = False
    response_id: str | None = None
    cancel_response_only: bool = False
    playback_only: bool = False

    def __attrs_post_init__(self) -> None:
        if self.playback_only and (self.force_response_cancel or self.cancel_response_only):
            raise ValueError("playback_only cannot be combined with a response cancel")
        if self.cancel_response_only and self.response_id is None:
            raise ValueError("cancel_response_only needs a response_id")


@attrs.frozen
class RealtimeModelSendSessionUpdate:
    session_settings: dict[str, Any]


RealtimeModelSendEvent: TypeAlias = (
    RealtimeModelSendRawMessage
    | RealtimeModelSendUserInput
    | RealtimeModelSendAudio
    | RealtimeModelSendToolOutput
    | RealtimeModelSendInterrupt
    | RealtimeModelSendSessionUpdate
)
