"""The browser page's wire protocol, as values: what the page and the server say over one
WebSocket.  Pure: no trio, no sockets, no clock.

Theory of operation
-------------------
Audio travels as **binary** frames, both ways, always PCM16 little-endian, mono, 24 kHz
(:data:`SAMPLE_RATE`): the page's capture worklet sends its microphone (the page's
``AudioContext`` runs at 24 kHz, so the browser resamples; the worklet resamples itself if the
browser refused that rate), and the server sends the agent's voice.  Everything else is a
**JSON text** frame, an object with a ``type``.

Agent audio carries no header of its own: an :class:`AudioStart` text frame names the item
(``item_id``, ``content_index``) the binary frames after it belong to, until the next one.  A
WebSocket keeps frames in order, so this is unambiguous and costs one small frame per answer.

The page reports what it has really played (:class:`PlaybackProgress`: the item, the content
index and the milliseconds its playback worklet has handed to the audio output) and when its
queue ran dry (:class:`PlaybackIdle`); the server passes both to the session, so a truncation
after an interrupt cuts the answer where the listener stopped hearing it.

Decoding never raises: :func:`decode_client_text` and :func:`decode_client_audio` return a
message or a :class:`ProtocolError` (bad JSON, not an object, an unknown ``type``, a missing
or mistyped field, odd-length or oversized audio), which the server sends back to the page as
an :class:`Error` and goes on.  Unknown extra fields are ignored (a newer page may send more).
:func:`encode` is the one encoder, for both directions; :func:`decode_server_text` is the
page's side, in Python (tests and Python clients).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

#: Audio rate on the page's socket, both ways (PCM16 mono).
SAMPLE_RATE = 24000
#: Largest binary frame the page may send: 1 s of audio (the page sends 20 ms frames).
MAX_AUDIO_BYTES = 2 * SAMPLE_RATE
#: Largest ``image_url`` (a ``data:`` URL) the page may send.
MAX_IMAGE_URL_CHARS = 8 * 1024 * 1024
#: Largest typed message.
MAX_TEXT_CHARS = 20_000


# -- messages from the page --------------------------------------------------------------------


@attrs.frozen
class MicAudio:
    """A binary frame from the page: microphone PCM16 at 24 kHz."""

    pcm: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    type: ClassVar[str] = "audio"


@attrs.frozen
class PlaybackProgress:
    """``{"type": "playback", "item_id", "content_index", "played_ms"}``: how much of an item
    the page has played."""

    item_id: str
    content_index: int
    played_ms: float
    type: ClassVar[str] = "playback"


@attrs.frozen
class PlaybackIdle:
    """``{"type": "playback_idle"}``: everything received has been played."""

    type: ClassVar[str] = "playback_idle"


@attrs.frozen
class Interrupt:
    """``{"type": "interrupt"}``: the interrupt button (the page has flushed its playback and
    reported its final position first)."""

    type: ClassVar[str] = "interrupt"


@attrs.frozen
class SendText:
    """``{"type": "text", "text"}``: a typed user message."""

    text: str
    type: ClassVar[str] = "text"


@attrs.frozen
class SendImage:
    """``{"type": "image", "image_url", "text"}``: an image (a ``data:image/...`` URL), with
    an optional text, sent as the SDK's message dict (``input_image`` and ``input_text``)."""

    image_url: str = attrs.field(repr=lambda u: f"<{len(u)} chars>")
    text: str | None = None
    type: ClassVar[str] = "image"

    def message(self) -> dict[str, Any]:
        """The SDK's user message dict for ``session.send_message``."""
        content: list[dict[str, Any]] = [{"type": "input_image", "image_url": self.image_url}]
        if self.text:
            content.append({"type": "input_text", "text": self.text})
        return {"type": "message", "role": "user", "content": content}


@attrs.frozen
class Approve:
    """``{"type": "approve", "call_id", "always"}``: run a tool call that waits for approval."""

    call_id: str
    always: bool = False
    type: ClassVar[str] = "approve"


@attrs.frozen
class Reject:
    """``{"type": "reject", "call_id", "reason", "always"}``: refuse it."""

    call_id: str
    reason: str | None = None
    always: bool = False
    type: ClassVar[str] = "reject"


ClientMessage: TypeAlias = (
    MicAudio | PlaybackProgress | PlaybackIdle | Interrupt | SendText | SendImage | Approve | Reject
)


@attrs.frozen
class ProtocolError:
    """What was wrong with a frame from the page (a value, never raised)."""

    code: str
    message: str


# -- messages to the page ----------------------------------------------------------------------


@attrs.frozen
class Ready:
    """The session is connected: the agent's name and the audio format of the socket."""

    agent: str
    sample_rate: int = SAMPLE_RATE
    type: ClassVar[str] = "ready"


@attrs.frozen
class State:
    """The turn state changed: ``idle``, ``user_speaking``, ``awaiting_response``,
    ``agent_speaking`` or ``interrupted``."""

    state: str
    type: ClassVar[str] = "state"


@attrs.frozen
class AudioStart:
    """The binary frames that follow are audio of this item's content part."""

    item_id: str
    content_index: int
    type: ClassVar[str] = "audio_start"


@attrs.frozen
class AudioInterrupted:
    """Flush playback now: the agent was cut off (barge-in or interrupt)."""

    item_id: str
    content_index: int
    type: ClassVar[str] = "audio_interrupted"


@attrs.frozen
class Transcript:
    """An entry of the transcript, new or changed: ``role`` is ``user`` or ``agent``; ``final``
    once the item is complete; ``truncated_at_ms`` when the answer was cut off there."""

    item_id: str
    role: str
    text: str
    final: bool = False
    truncated_at_ms: int | None = None
    type: ClassVar[str] = "transcript"


@attrs.frozen
class ToolStart:
    call_id: str
    name: str
    arguments: str
    type: ClassVar[str] = "tool_start"


@attrs.frozen
class ToolEnd:
    call_id: str
    name: str
    arguments: str
    output: str
    type: ClassVar[str] = "tool_end"


@attrs.frozen
class ApprovalRequired:
    """A tool call waits for the user: the page shows approve / reject buttons."""

    call_id: str
    name: str
    arguments: str
    type: ClassVar[str] = "approval_required"


@attrs.frozen
class AgentStart:
    agent: str
    type: ClassVar[str] = "agent_start"


@attrs.frozen
class AgentEnd:
    agent: str
    type: ClassVar[str] = "agent_end"


@attrs.frozen
class Handoff:
    from_agent: str
    to_agent: str
    type: ClassVar[str] = "handoff"


@attrs.frozen
class Status:
    """The model link's health: ``lost`` (reconnecting) or ``reconnected``."""

    link: str
    message: str
    type: ClassVar[str] = "status"


@attrs.frozen
class Error:
    """Something the page should show: a bad frame it sent (``code`` of a
    :class:`ProtocolError`), or an error the session survived (its error type)."""

    code: str
    message: str
    type: ClassVar[str] = "error"


ServerMessage: TypeAlias = (
    Ready
    | State
    | AudioStart
    | AudioInterrupted
    | Transcript
    | ToolStart
    | ToolEnd
    | ApprovalRequired
    | AgentStart
    | AgentEnd
    | Handoff
    | Status
    | Error
)

# -- field checks ------------------------------------------------------------------------------

Check: TypeAlias = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 256


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _is_ms(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value < 1e9
    )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT_CHARS


def _is_optional_text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= MAX_TEXT_CHARS)


def _is_image_url(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("data:image/")
        and len(value) <= MAX_IMAGE_URL_CHARS
    )


def _is_optional_ms(value: Any) -> bool:
    return value is None or _is_index(value)


_REQUIRED: Any = object()

#: For each message class: its fields as (name, check, default or _REQUIRED), in order.
_Fields: TypeAlias = tuple[tuple[str, Check, Any], ...]
_CLIENT: dict[str, tuple[type, _Fields]] = {
    "playback": (
        PlaybackProgress,
        (
            ("item_id", _is_id, _REQUIRED),
            ("content_index", _is_index, 0),
            ("played_ms", _is_ms, _REQUIRED),
        ),
    ),
    "playback_idle": (PlaybackIdle, ()),
    "interrupt": (Interrupt, ()),
    "text": (SendText, (("text", _is_text, _REQUIRED),)),
    "image": (
        SendImage,
        (("image_url", _is_image_url, _REQUIRED), ("text", _is_optional_text, None)),
    ),
    "approve": (Approve, (("call_id", _is_id, _REQUIRED), ("always", _is_bool, False))),
    "reject": (
        Reject,
        (
            ("call_id", _is_id, _REQUIRED),
            ("reason", _is_optional_text, None),
            ("always", _is_bool, False),
        ),
    ),
}
_SERVER: dict[str, tuple[type, _Fields]] = {
    "ready": (Ready, (("agent", _is_str, _REQUIRED), ("sample_rate", _is_index, SAMPLE_RATE))),
    "state": (State, (("state", _is_str, _REQUIRED),)),
    "audio_start": (
        AudioStart,
        (("item_id", _is_str, _REQUIRED), ("content_index", _is_index, _REQUIRED)),
    ),
    "audio_interrupted": (
        AudioInterrupted,
        (("item_id", _is_str, _REQUIRED), ("content_index", _is_index, _REQUIRED)),
    ),
    "transcript": (
        Transcript,
        (
            ("item_id", _is_str, _REQUIRED),
            ("role", _is_str, _REQUIRED),
            ("text", _is_str, _REQUIRED),
            ("final", _is_bool, False),
            ("truncated_at_ms", _is_optional_ms, None),
        ),
    ),
    "tool_start": (
        ToolStart,
        (
            ("call_id", _is_str, _REQUIRED),
            ("name", _is_str, _REQUIRED),
            ("arguments", _is_str, _REQUIRED),
        ),
    ),
    "tool_end": (
        ToolEnd,
        (
            ("call_id", _is_str, _REQUIRED),
            ("name", _is_str, _REQUIRED),
            ("arguments", _is_str, _REQUIRED),
            ("output", _is_str, _REQUIRED),
        ),
    ),
    "approval_required": (
        ApprovalRequired,
        (
            ("call_id", _is_str, _REQUIRED),
            ("name", _is_str, _REQUIRED),
            ("arguments", _is_str, _REQUIRED),
        ),
    ),
    "agent_start": (AgentStart, (("agent", _is_str, _REQUIRED),)),
    "agent_end": (AgentEnd, (("agent", _is_str, _REQUIRED),)),
    "handoff": (Handoff, (("from_agent", _is_str, _REQUIRED), ("to_agent", _is_str, _REQUIRED))),
    "status": (Status, (("link", _is_str, _REQUIRED), ("message", _is_str, _REQUIRED))),
    "error": (Error, (("code", _is_str, _REQUIRED), ("message", _is_str, _REQUIRED))),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _decode(
    text: str | bytes, table: Mapping[str, tuple[type, _Fields]]
) -> tuple[Any, ProtocolError | None]:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and bad bytes are ValueErrors
        return None, ProtocolError("bad_json", f"not JSON: {_short(exc)}")
    if not isinstance(data, dict):
        return None, ProtocolError("bad_message", "a message is a JSON object with a 'type'")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in table:
        shown = kind if isinstance(kind, str) else type(kind).__name__
        known = ", ".join(sorted(table))
        return None, ProtocolError("unknown_type", f"unknown type {shown[:60]!r} ({known})")
    cls, fields = table[kind]
    values: dict[str, Any] = {}
    for name, check, default in fields:
        if name not in data:
            if default is _REQUIRED:
                return None, ProtocolError("bad_field", f"{kind}: missing {name!r}")
            values[name] = default
            continue
        value = data[name]
        if not check(value):
            return None, ProtocolError(
                "bad_field", f"{kind}: bad {name!r} ({type(value).__name__})"
            )
        values[name] = value
    return cls(**values), None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120]


def decode_client_text(text: str | bytes) -> ClientMessage | ProtocolError:
    """A text frame from the page: its message, or what was wrong with it."""
    message, error = _decode(text, _CLIENT)
    if error is not None:
        return error
    if isinstance(message, PlaybackProgress):  # JSON has one number type: ms may be an int
        message = attrs.evolve(message, played_ms=float(message.played_ms))
    result: ClientMessage = message
    return result


def decode_client_audio(data: bytes) -> MicAudio | ProtocolError:
    """A binary frame from the page: PCM16 of a whole number of samples, at most 1 s."""
    if len(data) % 2:
        return ProtocolError(
            "bad_audio", f"PCM16 audio has an even number of bytes, not {len(data)}"
        )
    if len(data) > MAX_AUDIO_BYTES:
        return ProtocolError(
            "bad_audio", f"an audio frame is at most {MAX_AUDIO_BYTES} bytes, not {len(data)}"
        )
    return MicAudio(bytes(data))


def decode_server_text(text: str | bytes) -> ServerMessage | ProtocolError:
    """A text frame from the server (the page's side of the protocol, for Python clients)."""
    message, error = _decode(text, _SERVER)
    if error is not None:
        return error
    result: ServerMessage = message
    return result


def encode(message: ClientMessage | ServerMessage) -> str | bytes:
    """The frame for `message`: bytes for audio, JSON text for everything else."""
    if isinstance(message, MicAudio):
        return message.pcm
    data: dict[str, Any] = {"type": message.type}
    data.update(attrs.asdict(message, recurse=False))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def encode_text(message: ServerMessage) -> str:
    """The JSON text frame of a message to the page."""
    text = encode(message)
    assert isinstance(text, str)
    return text
