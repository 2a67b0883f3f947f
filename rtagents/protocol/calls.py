"""OpenAI's SIP calls, sans-IO: the ``realtime.call.incoming`` webhook and the Calls API.

Theory of operation
-------------------
A phone call that a SIP trunk (e.g. Twilio Elastic SIP Trunking) sends to
``sip:<project>@sip.api.openai.com`` reaches us as a webhook: a signed POST (check it first, with
:class:`~rtagents.protocol.webhooks.StandardWebhookVerifier`) whose JSON body
:func:`parse_webhook` reads into a value — :class:`IncomingCall` for ``realtime.call.incoming``,
:class:`OtherWebhook` for any other type (answer 2xx and ignore it), :class:`MalformedWebhook`
with a reason for a body that is not a webhook event.  It never raises.  The call's SIP headers
are the caller's to choose: untrusted text, kept in order, repeats included.

We then answer through the Calls API: :func:`accept_request` (the session the call starts with,
which must not name audio formats — the SIP leg negotiates the codec), :func:`reject_request`
(a SIP status, 603 Decline by default, 486 Busy when full), :func:`hangup_request` and
:func:`refer_request` (a transfer).  Each is a :class:`CallsRequest` — method, path below the
API base, JSON body — for any HTTP client to send; :func:`read_response` turns the answer into a
:class:`CallsResponse` (``ok``, ``gone`` for 404: the caller hung up before we answered, or an
error with the API's message).  Call ids go into paths quoted, and one that is not a plausible
id is refused before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import attrs

INCOMING: Final = "realtime.call.incoming"
#: SIP statuses a reject may carry (a final response: 4xx, 5xx or 6xx).
_REJECT_RANGE: Final = range(400, 700)
_CALL_ID: Final = re.compile(r"[A-Za-z0-9_\-.:]{1,200}")


class CallsError(ValueError):
    """A Calls API request that cannot be made (a bad call id, status or target)."""


@attrs.frozen(slots=True)
class IncomingCall:
    """``realtime.call.incoming``: a call waiting to be accepted or rejected."""

    event_id: str
    call_id: str
    created_at: int
    #: The INVITE's headers as (name, value), in order, repeats kept: untrusted.
    sip_headers: tuple[tuple[str, str], ...] = ()
    sip_media_security: str | None = None

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.sip_headers if k.lower() == wanted), None)

    @property
    def caller(self) -> str | None:
        """The ``From`` header (who is calling, as the trunk says: untrusted)."""
        return self.header("From")

    @property
    def callee(self) -> str | None:
        """The ``To`` header (the number that was called)."""
        return self.header("To")


@attrs.frozen(slots=True)
class OtherWebhook:
    """A well-formed webhook event of another type (answer 2xx; nothing to do)."""

    event_id: str
    type: str


@attrs.frozen(slots=True)
class MalformedWebhook:
    """A body that is not a webhook event; ``reason`` says why."""

    reason: str


WebhookEvent = IncomingCall | OtherWebhook | MalformedWebhook


def parse_webhook(body: bytes | str) -> WebhookEvent:
    """Read a webhook's (already verified) body; never raises."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return MalformedWebhook(f"not JSON: {exc}")
    if not isinstance(data, dict):
        return MalformedWebhook("not a JSON object")
    kind, event_id = data.get("type"), data.get("id")
    if not isinstance(kind, str) or not isinstance(event_id, str):
        return MalformedWebhook("no string 'type' and 'id'")
    if kind != INCOMING:
        return OtherWebhook(event_id, kind)
    payload = data.get("data")
    if not isinstance(payload, dict):
        return MalformedWebhook(f"{INCOMING} without a 'data' object")
    call_id = payload.get("call_id")
    if not isinstance(call_id, str) or not _CALL_ID.fullmatch(call_id):
        return MalformedWebhook(f"{INCOMING} without a plausible 'call_id'")
    created_at = data.get("created_at", 0)
    if not isinstance(created_at, int) or isinstance(created_at, bool):
        return MalformedWebhook("'created_at' is not an integer")
    headers = payload.get("sip_headers", [])
    if not isinstance(headers, list):
        return MalformedWebhook("'sip_headers' is not a list")
    pairs: list[tuple[str, str]] = []
    for header in headers:
        if not (
            isinstance(header, dict)
            and isinstance(header.get("name"), str)
            and isinstance(header.get("value"), str)
        ):
            return MalformedWebhook("a SIP header is not {name, value} strings")
        pairs.append((header["name"], header["value"]))
    security = payload.get("sip_media_security")
    if security is not None and not isinstance(security, str):
        return MalformedWebhook("'sip_media_security' is not a string")
    return IncomingCall(event_id, call_id, created_at, tuple(pairs), security)


def webhook_body(call: IncomingCall) -> bytes:
    """The JSON body OpenAI sends for ``call`` (the reverse of :func:`parse_webhook`: fakes)."""
    data: dict[str, Any] = {
        "call_id": call.call_id,
        "sip_headers": [{"name": k, "value": v} for k, v in call.sip_headers],
    }
    if call.sip_media_security is not None:
        data["sip_media_security"] = call.sip_media_security
    event = {
        "object": "event",
        "id": call.event_id,
        "type": INCOMING,
        "created_at": call.created_at,
        "data": data,
    }
    return json.dumps(event, separators=(",", ":")).encode()


# -- the Calls API ----------------------------------------------------------------------------


@attrs.frozen(slots=True)
class CallsRequest:
    """One Calls API request: POST ``path`` (below the API base, e.g. ``/v1``) with ``body``."""

    call_id: str
    action: str  # accept | reject | hangup | refer
    path: str
    body: bytes | None = attrs.field(default=None, repr=False)
    method: str = "POST"


def _path(call_id: str, action: str) -> str:
    if not isinstance(call_id, str) or not _CALL_ID.fullmatch(call_id):
        raise CallsError(f"not a call id: {call_id!r}"[:120])
    return f"/realtime/calls/{quote(call_id, safe='')}/{action}"


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def accept_request(call_id: str, session: Mapping[str, Any]) -> CallsRequest:
    """Accept ``call_id`` with ``session`` (a GA session object; ``type`` defaults to
    ``"realtime"``).  Audio formats are refused: the SIP leg negotiates the codec."""
    body = {"type": "realtime", **session}
    audio = body.get("audio")
    if isinstance(audio, Mapping) and any(
        isinstance(audio.get(side), Mapping) and "format" in audio[side]
        for side in ("input", "output")
    ):
        raise CallsError("an accepted SIP call's audio format is negotiated: leave out format")
    return CallsRequest(call_id, "accept", _path(call_id, "accept"), _json(body))


def reject_request(call_id: str, status_code: int = 603) -> CallsRequest:
    """Reject ``call_id`` with a SIP status (603 Decline; 486 Busy Here; 480, ...)."""
    if not isinstance(status_code, int) or status_code not in _REJECT_RANGE:
        raise CallsError(f"a SIP reject status is 400-699, not {status_code!r}")
    body = _json({"status_code": status_code})
    return CallsRequest(call_id, "reject", _path(call_id, "reject"), body)


def hangup_request(call_id: str) -> CallsRequest:
    """End ``call_id`` (the SIP leg hangs up)."""
    return CallsRequest(call_id, "hangup", _path(call_id, "hangup"))


def refer_request(call_id: str, target_uri: str) -> CallsRequest:
    """Transfer ``call_id`` to ``target_uri`` (``tel:+1...`` or ``sip:user@host``)."""
    if not isinstance(target_uri, str) or not target_uri.startswith(("tel:", "sip:", "sips:")):
        raise CallsError(f"a transfer target is a tel: or sip: URI, not {target_uri!r}"[:120])
    body = _json({"target_uri": target_uri})
    return CallsRequest(call_id, "refer", _path(call_id, "refer"), body)


@attrs.frozen(slots=True)
class CallsResponse:
    """The answer to a :class:`CallsRequest`."""

    status: int
    message: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """404: the call has ended (the caller hung up before we answered)."""
        return self.status == 404


def read_response(status: int, body: bytes) -> CallsResponse:
    """Interpret the API's answer: its ``error.message`` when it gives one (never raises)."""
    if 200 <= status < 300:
        return CallsResponse(status)
    message = ""
    try:
        data = json.loads(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
    except (ValueError, UnicodeDecodeError):
        pass
    if not message:
        message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    return CallsResponse(status, message[:500])
