"""Webhook signatures against the official implementations (twilio's RequestValidator, the
openai package's Standard Webhooks check) and a known answer; tampering and replays refused."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai import InvalidWebhookSignatureError, OpenAI
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from rtagents.protocol.webhooks import (
    SignatureError,
    StandardWebhookVerifier,
    standard_webhook_signature,
    twilio_signature,
    verify_twilio,
)

TOKEN = "12345"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_twilio_known_answer() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(TOKEN, url, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    verify_twilio(TOKEN, url, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


fields = st.dictionaries(
    st.text(alphabet="ABCDEFGHIJabcdefghij", min_size=1, max_size=8),
    st.text(max_size=20),
    max_size=6,
)
urls = st.sampled_from(
    [
        "https://example.com/twilio/voice",
        "https://example.com:443/twilio/voice",
        "wss://calls.example.com/twilio/media",
        "https://example.com/voice?x=1&y=%20",
        "http://localhost:8080/twilio/voice",
    ]
)


@given(urls, fields)
def test_twilio_agrees_with_the_official_validator(url: str, params: dict[str, str]) -> None:
    official = RequestValidator(TOKEN)
    signature = official.compute_signature(url, params)
    assert twilio_signature(TOKEN, url, params) == signature
    verify_twilio(TOKEN, url, params, signature)
    assert official.validate(url, params, twilio_signature(TOKEN, url, params))


def test_twilio_signs_with_or_without_the_default_port() -> None:
    signed_without = twilio_signature(TOKEN, "https://example.com/v", {})
    verify_twilio(TOKEN, "https://example.com:443/v", {}, signed_without)
    signed_with = twilio_signature(TOKEN, "wss://example.com:443/media", {})
    verify_twilio(TOKEN, "wss://example.com/media", {}, signed_with)


def test_twilio_sha256_when_the_settings_header_asks() -> None:
    sig = twilio_signature(TOKEN, "https://example.com/v", PARAMS, sha256=True)
    verify_twilio(TOKEN, "https://example.com/v", PARAMS, sig, signature_settings="SHA256")
    with pytest.raises(SignatureError):
        verify_twilio(TOKEN, "https://example.com/v", PARAMS, sig)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"params": {**PARAMS, "Digits": "9999"}}, "does not match"),
        ({"url": "https://evil.example.com/myapp.php?foo=1&bar=2"}, "does not match"),
        ({"signature": None}, "not signed"),
        ({"signature": ""}, "not signed"),
        ({"token": "other"}, "does not match"),
        ({"token": ""}, "no auth token"),
    ],
)
def test_twilio_refuses_tampered_and_unsigned(change: dict[str, object], reason: str) -> None:
    request: dict[str, object] = {
        "token": TOKEN,
        "url": "https://mycompany.com/myapp.php?foo=1&bar=2",
        "params": PARAMS,
        "signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    }
    request |= change
    with pytest.raises(SignatureError, match=reason) as caught:
        verify_twilio(
            request["token"],  # type: ignore[arg-type]
            request["url"],  # type: ignore[arg-type]
            request["params"],  # type: ignore[arg-type]
            request["signature"],  # type: ignore[arg-type]
        )
    assert TOKEN not in str(caught.value)


SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()
NOW = 1_760_000_000


def delivery(body: bytes, webhook_id: str = "wh_1", at: int = NOW) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(at),
        "webhook-signature": standard_webhook_signature(SECRET, webhook_id, str(at), body),
    }


@given(
    st.text(max_size=300).map(str.encode),  # JSON bodies are UTF-8 (the oracle decodes them)
    st.text(alphabet="abcdef0123456789_", min_size=1, max_size=20),
)
def test_standard_webhooks_agree_with_the_openai_package(body: bytes, webhook_id: str) -> None:
    headers = delivery(body, webhook_id, at=NOW)
    client = OpenAI(api_key="unused", webhook_secret=SECRET)
    # The official check reads the real clock: sign at "now" for it.
    real_now = int(time.time())
    fresh = delivery(body, webhook_id, at=real_now)
    client.webhooks.verify_signature(body, fresh)
    assert StandardWebhookVerifier(SECRET).verify(body, fresh, now=real_now) == webhook_id
    tampered = body + b" "
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.verify_signature(tampered, fresh)
    with pytest.raises(SignatureError, match="does not match"):
        StandardWebhookVerifier(SECRET).verify(tampered, headers, now=NOW)


def test_a_real_looking_call_incoming_delivery() -> None:
    body = json.dumps(
        {
            "object": "event",
            "id": "evt_1",
            "type": "realtime.call.incoming",
            "created_at": NOW,
            "data": {"call_id": "rtc_1", "sip_headers": [{"name": "From", "value": "x"}]},
        }
    ).encode()
    verifier = StandardWebhookVerifier(SECRET)
    headers = delivery(body)
    headers["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]  # any may match
    assert verifier.verify(body, headers, now=NOW + 10) == "wh_1"
    with pytest.raises(SignatureError, match="replay"):
        verifier.verify(body, headers, now=NOW + 20)  # the same delivery again
    assert "secret hidden" in repr(verifier)


@pytest.mark.parametrize(
    ("headers_change", "now", "reason"),
    [
        ({"webhook-id": None}, NOW, "missing"),
        ({"webhook-signature": None}, NOW, "missing"),
        ({"webhook-timestamp": "soon"}, NOW, "not an integer"),
        ({}, NOW + 301, "too old"),
        ({}, NOW - 301, "in the future"),
        ({"webhook-signature": "v2,abc"}, NOW, "does not match"),
    ],
)
def test_standard_webhooks_refuse(
    headers_change: dict[str, str | None], now: int, reason: str
) -> None:
    body = b'{"type":"realtime.call.incoming"}'
    headers: dict[str, str] = delivery(body)
    for key, value in headers_change.items():
        if value is None:
            headers.pop(key)
        else:
            headers[key] = value
    with pytest.raises(SignatureError, match=reason) as caught:
        StandardWebhookVerifier(SECRET).verify(body, headers, now=now)
    assert SECRET[6:] not in str(caught.value)


def test_plain_secrets_and_a_bad_whsec() -> None:
    body = b"{}"
    headers = {
        "Webhook-Id": "a",
        "Webhook-Timestamp": str(NOW),
        "Webhook-Signature": standard_webhook_signature("plain", "a", str(NOW), body),
    }
    assert StandardWebhookVerifier("plain").verify(body, headers, now=NOW) == "a"
    with pytest.raises(ValueError, match="not valid base64"):
        StandardWebhookVerifier("whsec_!!!")


def test_the_replay_memory_is_bounded() -> None:
    verifier = StandardWebhookVerifier(SECRET, remember=3)
    for n in range(10):
        verifier.verify(b"x", delivery(b"x", f"id{n}"), now=NOW)
    assert len(verifier._seen) == 3
