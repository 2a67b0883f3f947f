"""Event frames: the :class:`WireEvent` base, event registries and the frame reader.

Theory of operation
-------------------
One WebSocket text frame holds one event: a JSON object whose ``type`` names its class.  Both
event families (client and server) derive from :class:`WireEvent` and are collected in a
registry by :func:`registry_of`.  :func:`decode_frame` reads one frame against a registry and
never raises: it returns the decoded event, an :class:`UnknownType` (well-formed, but a
``type`` the registry does not know) or a :class:`DecodeFailure` (not UTF-8, not JSON, not an
object, no string ``type``, or a field the codec refused).  Each role turns the last two into
its own values (``ClientProtocolError``/``UnknownServerEvent``/``ServerProtocolError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import attrs

from ._codec import WireValue
from ._json import (
    AudioData,
    JSONObject,
    ProtocolErrorCode,
    WireFormatError,
    dump_json,
    json_kind,
    load_json,
)


class WireEvent(WireValue):
    """Base of every client and server event class."""

    __slots__ = ()

    @property
    def type(self) -> str:
        """The event's ``type`` string."""
        tag = self._wire_tag
        assert tag is not None
        return tag

    def to_json(self) -> str:
        """The compact JSON text to send in one WebSocket text frame."""
        return dump_json(self.to_wire())


E = TypeVar("E", bound=WireEvent)


# -- event frames ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DecodeFailure:
    """Why a frame could not be read; each role turns it into its protocol-error class."""

    code: ProtocolErrorCode
    reason: str
    param: str | None
    event_type: str | None
    event_id: str | None
    raw_text: str


@attrs.frozen(kw_only=True)
class UnknownType:
    """A well-formed object whose ``type`` the registry does not know."""

    type: str
    event_id: str | None
    raw: JSONObject


def frame_text(text: str | AudioData) -> str | DecodeFailure:
    """The frame as text; binary input must be UTF-8."""
    if isinstance(text, str):
        return text
    try:
        return str(text, "utf-8")
    except UnicodeDecodeError as exc:
        return DecodeFailure(
            code="invalid_json",
            reason=f"frame is not UTF-8 ({exc.reason} at byte {exc.start})",
            param=None,
            event_type=None,
            event_id=None,
            raw_text=str(text, "utf-8", "replace"),
        )


def decode_frame(
    text: str | AudioData, registry: Mapping[str, type[E]], *, strict: bool
) -> E | UnknownType | DecodeFailure:
    """Read one frame against a registry of event classes.  Never raises on any input."""
    decoded = frame_text(text)
    if isinstance(decoded, DecodeFailure):
        return decoded
    text = decoded

    def fail(
        code: ProtocolErrorCode,
        reason: str,
        param: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> DecodeFailure:
        return DecodeFailure(
            code=code,
            reason=reason,
            param=param,
            event_type=event_type,
            event_id=event_id,
            raw_text=text,
        )

    try:
        obj = load_json(text)
    except (ValueError, RecursionError) as exc:
        return fail("invalid_json", f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return fail("invalid_event", f"expected a JSON object, got {json_kind(obj)}")
    event_id = obj.get("event_id")
    if not isinstance(event_id, str):
        event_id = None
    if "type" not in obj:
        return fail("missing_required_parameter", "event has no 'type'", "type", None, event_id)
    event_type = obj["type"]
    if not isinstance(event_type, str):
        return fail(
            "invalid_type",
            f"event 'type' must be a string, got {json_kind(event_type)}",
            "type",
            None,
            event_id,
        )
    cls = registry.get(event_type)
    if cls is None:
        return UnknownType(type=event_type, event_id=event_id, raw=obj)
    try:
        return cls._decode_wire(obj, strict, "")
    except WireFormatError as exc:
        return fail(exc.code, f"{event_type}: {exc}", exc.path or None, event_type, event_id)


def registry_of(*classes: type[E]) -> dict[str, type[E]]:
    """Map each event class's ``type`` string to the class."""
    table: dict[str, type[E]] = {}
    for cls in classes:
        tag = cls._wire_tag
        if tag is None or tag in table:
            raise TypeError(f"bad or duplicate event type on {cls.__name__}")
        table[tag] = cls
    return table
