"""Webhook signatures, sans-IO: Twilio's ``X-Twilio-Signature`` and Standard Webhooks (OpenAI).

Theory of operation
-------------------
Both schemes are an HMAC over what was received, keyed by a shared secret, compared in constant
time; both are checked on the *raw* request (URL and form fields, or body bytes), never on a
re-serialised copy.  Nothing here does I/O or reads a clock: the caller passes the request parts
and, for Standard Webhooks, ``now`` (Unix seconds).

* **Twilio** (:func:`twilio_signature`, :func:`verify_twilio`): base64(HMAC-SHA1(auth token,
  URL + every POST field's name and value in sorted order)); SHA-256 when the request's
  ``X-Twilio-Webhooks-Signature-Settings`` asks for it.  Twilio may sign the URL with or without
  an explicit default port, so both forms are tried.  A WebSocket upgrade is signed as the
  ``wss://`` URL with no fields.  The official ``twilio`` package's ``RequestValidator`` is the
  oracle in the tests; the runtime does not depend on it.
* **Standard Webhooks** (:class:`StandardWebhookVerifier`, what OpenAI's ``realtime.call.incoming``
  uses): base64(HMAC-SHA256(key, ``"{webhook-id}.{webhook-timestamp}.{body}"``)), the key being
  ``base64decode(secret[6:])`` for a ``whsec_`` secret, else the secret's UTF-8 bytes; the
  ``webhook-signature`` header lists space-separated ``v1,<b64>`` candidates, any one may match.
  A timestamp more than ``tolerance`` seconds old or ahead is refused, and so is a ``webhook-id``
  seen before within the tolerance window (a replay): the verifier remembers ids, bounded.

Failures are :class:`SignatureError` with a reason that never contains the secret or the
expected signature.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

#: Seconds a Standard Webhooks timestamp may be off (OpenAI's default).
DEFAULT_TOLERANCE: Final = 300.0


class SignatureError(ValueError):
    """A request's signature does not check out; the message says why (never the secret)."""


class WebhookReplay(SignatureError):
    """A correctly signed delivery whose ``webhook-id`` was already accepted: a replay, or the
    sender's retry of a delivery we handled (answer 2xx and do nothing)."""


# -- Twilio --------------------------------------------------------------------------------------


def _fields(params: Mapping[str, str | Iterable[str]] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(name, v) for v in values]
    return sorted(pairs)


def twilio_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str | Iterable[str]] | None = None,
    *,
    sha256: bool = False,
) -> str:
    """The ``X-Twilio-Signature`` Twilio computes for a request to ``url`` with POST ``params``
    (fields sorted by name, then value)."""
    data = url + "".join(name + value for name, value in _fields(params))
    digest = hashlib.sha256 if sha256 else hashlib.sha1
    mac = hmac.new(auth_token.encode(), data.encode(), digest).digest()
    return base64.b64encode(mac).decode("ascii")


def _port_forms(url: str) -> list[str]:
    """The URL as given, without its default port, and with it (Twilio signs either)."""
    parts = urlsplit(url)
    default = {"https": 443, "wss": 443, "http": 80, "ws": 80}.get(parts.scheme)
    forms = [url]
    if default is None or parts.hostname is None:
        return forms
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        forms.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif parts.port == default:
        forms.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return forms


def verify_twilio(
    auth_token: str,
    url: str,
    params: Mapping[str, str | Iterable[str]] | None,
    signature: str | None,
    *,
    signature_settings: str | None = None,
) -> None:
    """Check ``X-Twilio-Signature``; raises :class:`SignatureError` if it does not match.
    ``signature_settings`` is the ``X-Twilio-Webhooks-Signature-Settings`` header, if any."""
    if not auth_token:
        raise SignatureError("no auth token to check the signature with")
    if not signature:
        raise SignatureError("the request is not signed (no X-Twilio-Signature)")
    sha256 = bool(signature_settings) and "sha256" in (signature_settings or "").lower()
    for form in _port_forms(url):
        expected = twilio_signature(auth_token, form, params, sha256=sha256)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return
    raise SignatureError("X-Twilio-Signature does not match the request")


# -- Standard Webhooks (OpenAI) ------------------------------------------------------------------


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the webhook secret is not valid base64 after 'whsec_'") from None
    return secret.encode()


def standard_webhook_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``v1,<b64>`` signature entry a sender computes (for fakes and tests)."""
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class StandardWebhookVerifier:
    """Verifies Standard Webhooks deliveries and refuses replays; see the module docstring.

    ``remember`` bounds the ids kept for replay detection (the oldest go first; an id older than
    the tolerance could not pass the timestamp check anyway)."""

    def __init__(
        self, secret: str, *, tolerance: float = DEFAULT_TOLERANCE, remember: int = 10_000
    ) -> None:
        self._key = _key(secret)
        self.tolerance = tolerance
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._remember = remember

    def __repr__(self) -> str:
        return f"<StandardWebhookVerifier tolerance={self.tolerance:g}s (secret hidden)>"

    def verify(self, body: bytes, headers: Mapping[str, str], now: float) -> str:
        """Check one delivery (raw ``body``, its headers) at Unix time ``now``; returns its
        ``webhook-id``.  Raises :class:`SignatureError` for a missing header, a bad or stale
        timestamp, a signature that does not match, or an id already accepted (a replay)."""
        webhook_id = _header(headers, "webhook-id")
        timestamp = _header(headers, "webhook-timestamp")
        signatures = _header(headers, "webhook-signature")
        if not webhook_id or not timestamp or not signatures:
            raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise SignatureError("webhook-timestamp is not an integer") from None
        if sent_at < now - self.tolerance:
            raise SignatureError("webhook-timestamp is too old")
        if sent_at > now + self.tolerance:
            raise SignatureError("webhook-timestamp is in the future")
        signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
        expected = base64.b64encode(hmac.new(self._key, signed, hashlib.sha256).digest())
        for candidate in signatures.split():
            version, _, value = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                break
        else:
            raise SignatureError("webhook-signature does not match the body")
        if webhook_id in self._seen:
            raise WebhookReplay("webhook-id was already delivered (a replay)")
        self._seen[webhook_id] = now
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        for old_id, seen_at in list(self._seen.items()):
            if seen_at >= now - 2 * self.tolerance:
                break
            del self._seen[old_id]
        return webhook_id
