"""Twilio Media Streams, sans-IO: the messages of a bidirectional ``<Connect><Stream>``.

Theory of operation
-------------------
Twilio talks to us over one WebSocket per call, in JSON **text** frames (never binary), each an
object whose ``event`` names it.  Twilio sends ``connected``, ``start`` (the stream and call ids,
the media format, the ``<Parameter>`` values as ``custom_parameters``), ``media`` (base64 μ-law,
8 kHz mono, usually 20 ms = 160 bytes, but any length is accepted), ``dtmf``, ``mark`` (the echo
of one of ours once the audio before it has *played*, or once a ``clear`` discarded it) and
``stop``.  We send ``media``, ``mark`` and ``clear``.  Counters (``sequenceNumber``, ``chunk``,
``timestamp``) travel as decimal strings.

:func:`parse_twilio_message` reads what Twilio sends and never raises: a frame it cannot read is
a :class:`MalformedTwilioMessage` value with a reason, and a well-formed frame of an event this
module does not know is an :class:`UnknownTwilioEvent` (Twilio may add events; a call must not
die of one).  :func:`media_message`, :func:`mark_message` and :func:`clear_message` build what
we send; the media builder is on the hot path (one call per 20 ms chunk), so it writes the JSON
text directly around the base64.  The other direction — the messages as Twilio writes them
(``to_json`` on each event class) and :func:`parse_outbound_message` for what we send — exists
for fake Twilio peers and tests.  Pure: no I/O, no clock, no trio.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs
import pybase64

from ._json import audio_repr, text_preview

#: μ-law silence (what an idle line carries).
ULAW_SILENCE: Final = b"\xff"


@attrs.frozen(kw_only=True)
class MediaFormat:
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


@attrs.frozen(kw_only=True)
class Connected:
    """The first message on a new stream's socket."""

    protocol: str = "Call"
    version: str = "1.0.0"

    def to_json(self) -> str:
        return _dump({"event": "connected", "protocol": self.protocol, "version": self.version})


@attrs.frozen(kw_only=True)
class Start:
    """The stream has started: its ids, format and the TwiML ``<Parameter>`` values."""

    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...] = ("inbound",)
    custom_parameters: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    media_format: MediaFormat = attrs.field(factory=MediaFormat)

    def to_json(self) -> str:
        fmt = self.media_format
        return _dump(
            {
                "event": "start",
                "sequenceNumber": str(self.sequence_number),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": list(self.tracks),
                    "customParameters": dict(self.custom_parameters),
                    "mediaFormat": {
                        "encoding": fmt.encoding,
                        "sampleRate": fmt.sample_rate,
                        "channels": fmt.channels,
                    },
                },
            }
        )


@attrs.frozen(kw_only=True)
class Media:
    """Caller audio: ``payload`` is raw μ-law; ``timestamp_ms`` counts from the stream start."""

    sequence_number: int
    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes = attrs.field(repr=audio_repr)

    def to_json(self) -> str:
        return _dump(
            {
                "event": "media",
                "sequenceNumber": str(self.sequence_number),
                "streamSid": self.stream_sid,
                "media": {
                    "track": self.track,
                    "chunk": str(self.chunk),
                    "timestamp": str(self.timestamp_ms),
                    "payload": pybase64.b64encode(self.payload).decode("ascii"),
                },
            }
        )


@attrs.frozen(kw_only=True)
class Mark:
    """One of our marks, echoed: the audio sent before it has played (or was cleared)."""

    sequence_number: int
    stream_sid: str
    name: str

    def to_json(self) -> str:
        return _dump(
            {
                "event": "mark",
                "sequenceNumber": str(self.sequence_number),
                "streamSid": self.stream_sid,
                "mark": {"name": self.name},
            }
        )


@attrs.frozen(kw_only=True)
class Dtmf:
    """A key the caller pressed."""

    sequence_number: int
    stream_sid: str
    track: str
    digit: str

    def to_json(self) -> str:
        return _dump(
            {
                "event": "dtmf",
                "sequenceNumber": str(self.sequence_number),
                "streamSid": self.stream_sid,
                "dtmf": {"track": self.track, "digit": self.digit},
            }
        )


@attrs.frozen(kw_only=True)
class Stop:
    """The stream ended (hang-up, or the call moved on); the socket closes next."""

    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str

    def to_json(self) -> str:
        return _dump(
            {
                "event": "stop",
                "sequenceNumber": str(self.sequence_number),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )


@attrs.frozen(kw_only=True)
class UnknownTwilioEvent:
    """A well-formed message whose ``event`` this module does not know (ignore it)."""

    event: str
    raw: Mapping[str, Any] = attrs.field(eq=False, hash=False, repr=False)


@attrs.frozen(kw_only=True)
class MalformedTwilioMessage:
    """A frame that is not a Media Streams message; ``reason`` says why."""

    reason: str
    raw_text: str = attrs.field(default="", repr=text_preview)


TwilioEvent: TypeAlias = Connected | Start | Media | Mark | Dtmf | Stop
TwilioMessage: TypeAlias = TwilioEvent | UnknownTwilioEvent | MalformedTwilioMessage


# -- what we send ------------------------------------------------------------------------------


def _check_sid(stream_sid: str) -> None:
    if not stream_sid or '"' in stream_sid or "\\" in stream_sid:
        raise ValueError(f"not a stream sid: {stream_sid!r}")


def media_message(stream_sid: str, payload: bytes | bytearray | memoryview) -> str:
    """``{"event":"media","streamSid":…,"media":{"payload":<base64 μ-law>}}`` (built directly:
    one call per outbound chunk)."""
    _check_sid(stream_sid)
    b64 = pybase64.b64encode(payload).decode("ascii")
    return f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{b64}"}}}}'


def mark_message(stream_sid: str, name: str) -> str:
    """A mark after the media sent so far: Twilio echoes it when that audio has played."""
    _check_sid(stream_sid)
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """Discard every outbound chunk Twilio has buffered (it then echoes the pending marks)."""
    _check_sid(stream_sid)
    return _dump({"event": "clear", "streamSid": stream_sid})


@attrs.frozen(kw_only=True)
class OutboundMedia:
    stream_sid: str
    payload: bytes = attrs.field(repr=audio_repr)


@attrs.frozen(kw_only=True)
class OutboundMark:
    stream_sid: str
    name: str


@attrs.frozen(kw_only=True)
class OutboundClear:
    stream_sid: str


OutboundMessage: TypeAlias = OutboundMedia | OutboundMark | OutboundClear


# -- reading -----------------------------------------------------------------------------------


class _Bad(Exception):
    """Internal: why a frame is malformed (turned into a value at the edge)."""


def _dump(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(text: str | bytes | bytearray | memoryview) -> dict[str, Any]:
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad("not UTF-8 text") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _Bad("not JSON") from None
    if not isinstance(value, dict):
        raise _Bad("not a JSON object")
    return value


def _obj(value: Any, key: str) -> dict[str, Any]:
    inner = value.get(key)
    if not isinstance(inner, dict):
        raise _Bad(f"{key!r} is missing or not an object")
    return inner


def _text(value: Mapping[str, Any], key: str, *, where: str = "") -> str:
    inner = value.get(key)
    if not isinstance(inner, str):
        raise _Bad(f"{where}{key!r} is missing or not a string")
    return inner


def _count(value: Mapping[str, Any], key: str, *, where: str = "") -> int:
    """A counter: Twilio sends decimal strings; a JSON integer is accepted too."""
    inner = value.get(key)
    if isinstance(inner, bool):
        raise _Bad(f"{where}{key!r} is not a number")
    if isinstance(inner, int):
        number = inner
    elif isinstance(inner, str) and inner.isascii() and inner.isdigit():
        number = int(inner)
    else:
        raise _Bad(f"{where}{key!r} is missing or not a decimal number")
    if number < 0:
        raise _Bad(f"{where}{key!r} is negative")
    return number


def _payload(value: Mapping[str, Any], where: str) -> bytes:
    text = _text(value, "payload", where=where)
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"{where}'payload' is not base64") from None


def _start(message: dict[str, Any], seq: int, sid: str) -> Start:
    start = _obj(message, "start")
    where = "start."
    tracks = start.get("tracks", ["inbound"])
    if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
        raise _Bad("start.'tracks' is not a list of strings")
    params = start.get("customParameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise _Bad("start.'customParameters' is not an object of strings")
    fmt = start.get("mediaFormat", {})
    if not isinstance(fmt, dict):
        raise _Bad("start.'mediaFormat' is not an object")
    encoding = fmt.get("encoding", "audio/x-mulaw")
    if not isinstance(encoding, str):
        raise _Bad("start.mediaFormat.'encoding' is not a string")
    media_format = MediaFormat(
        encoding=encoding,
        sample_rate=_count(fmt, "sampleRate", where="start.mediaFormat.") if fmt else 8000,
        channels=_count(fmt, "channels", where="start.mediaFormat.") if fmt else 1,
    )
    inner_sid = start.get("streamSid")
    return Start(
        sequence_number=seq,
        stream_sid=inner_sid if isinstance(inner_sid, str) else sid,
        account_sid=_text(start, "accountSid", where=where),
        call_sid=_text(start, "callSid", where=where),
        tracks=tuple(tracks),
        custom_parameters=dict(params),
        media_format=media_format,
    )


def _read(message: dict[str, Any]) -> TwilioMessage:
    event = message.get("event")
    if not isinstance(event, str):
        raise _Bad("'event' is missing or not a string")
    if event == "connected":
        return Connected(
            protocol=_text(message, "protocol"), version=str(message.get("version", ""))
        )
    if event not in ("start", "media", "mark", "dtmf", "stop"):
        return UnknownTwilioEvent(event=event, raw=message)
    seq = _count(message, "sequenceNumber")
    sid = _text(message, "streamSid")
    if event == "media":
        media = _obj(message, "media")
        return Media(
            sequence_number=seq,
            stream_sid=sid,
            track=str(media.get("track", "inbound")),
            chunk=_count(media, "chunk", where="media."),
            timestamp_ms=_count(media, "timestamp", where="media."),
            payload=_payload(media, "media."),
        )
    if event == "start":
        return _start(message, seq, sid)
    if event == "mark":
        return Mark(sequence_number=seq, stream_sid=sid, name=_text(_obj(message, "mark"), "name"))
    if event == "dtmf":
        dtmf = _obj(message, "dtmf")
        digit = _text(dtmf, "digit", where="dtmf.")
        if len(digit) != 1:
            raise _Bad("dtmf.'digit' is not one key")
        return Dtmf(
            sequence_number=seq,
            stream_sid=sid,
            track=str(dtmf.get("track", "inbound_track")),
            digit=digit,
        )
    stop = message.get("stop")
    stop = stop if isinstance(stop, dict) else {}
    account = stop.get("accountSid")
    call = stop.get("callSid")
    return Stop(
        sequence_number=seq,
        stream_sid=sid,
        account_sid=account if isinstance(account, str) else "",
        call_sid=call if isinstance(call, str) else "",
    )


def _preview(text: str | bytes | bytearray | memoryview) -> str:
    if isinstance(text, str):
        return text
    return bytes(text[:200]).decode("utf-8", "replace")


def parse_twilio_message(text: str | bytes | bytearray | memoryview) -> TwilioMessage:
    """One frame from Twilio as a value; never raises (see the module docstring)."""
    try:
        return _read(_load(text))
    except _Bad as bad:
        return MalformedTwilioMessage(reason=str(bad), raw_text=_preview(text))


def parse_outbound_message(
    text: str | bytes | bytearray | memoryview,
) -> OutboundMessage | MalformedTwilioMessage:
    """One frame we send, read as Twilio reads it (for fake peers and tests); never raises.
    Anything but ``media``/``mark``/``clear`` with a stream sid is malformed (Twilio's 31924)."""
    try:
        message = _load(text)
        event = message.get("event")
        sid = _text(message, "streamSid")
        if event == "media":
            return OutboundMedia(stream_sid=sid, payload=_payload(_obj(message, "media"), "media."))
        if event == "mark":
            return OutboundMark(stream_sid=sid, name=_text(_obj(message, "mark"), "name"))
        if event == "clear":
            return OutboundClear(stream_sid=sid)
        raise _Bad(f"Twilio accepts media, mark and clear, not {event!r}")
    except _Bad as bad:
        return MalformedTwilioMessage(reason=str(bad), raw_text=_preview(text))
