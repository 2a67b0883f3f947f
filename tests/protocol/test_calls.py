"""The SIP calls protocol, sans-IO: the realtime.call.incoming webhook read into values (never an
exception, whatever the body), its reverse for fakes, and the Calls API's requests and answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents.protocol import calls as c
from tests.protocol.oracle import assert_valid_sip_webhook

HEADERS = (("From", '"Ada" <sip:+15550100@example.com>'), ("To", "<sip:+15550199@x>"))


def incoming(**changes: object) -> c.IncomingCall:
    values: dict[str, object] = {
        "event_id": "evt_1",
        "call_id": "rtc_abc123",
        "created_at": 1_760_000_000,
        "sip_headers": HEADERS,
        "sip_media_security": "srtp",
    }
    values.update(changes)
    return c.IncomingCall(**values)  # type: ignore[arg-type]


def test_an_incoming_call_reads_back_and_matches_the_official_type() -> None:
    call = incoming()
    body = c.webhook_body(call)
    assert_valid_sip_webhook(json.loads(body))
    assert c.parse_webhook(body) == call
    assert call.caller == HEADERS[0][1]
    assert call.callee == HEADERS[1][1]
    assert call.header("from") == HEADERS[0][1]
    assert call.header("Via") is None


def test_repeated_headers_keep_their_order() -> None:
    headers = (("Via", "a"), ("X-Id", "1"), ("Via", "b"))
    call = c.parse_webhook(c.webhook_body(incoming(sip_headers=headers)))
    assert isinstance(call, c.IncomingCall)
    assert call.sip_headers == headers
    assert call.header("via") == "a"


def test_other_event_types_are_values_to_ignore() -> None:
    body = json.dumps({"id": "evt_9", "type": "response.completed", "data": {}})
    assert c.parse_webhook(body) == c.OtherWebhook("evt_9", "response.completed")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"type": "realtime.call.incoming"}',
        b'{"id": "e", "type": "realtime.call.incoming"}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {}}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {"call_id": "../../x"}}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {"call_id": "rtc_1"},'
        b' "created_at": "now"}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {"call_id": "rtc_1",'
        b' "sip_headers": {"From": "x"}}}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {"call_id": "rtc_1",'
        b' "sip_headers": [{"name": "From"}]}}',
        b'{"id": "e", "type": "realtime.call.incoming", "data": {"call_id": "rtc_1",'
        b' "sip_media_security": 3}}',
    ],
)
def test_malformed_bodies_are_values_with_a_reason(body: bytes) -> None:
    event = c.parse_webhook(body)
    assert isinstance(event, c.MalformedWebhook)
    assert event.reason


@given(st.binary(max_size=300))
def test_garbage_never_raises(body: bytes) -> None:
    assert isinstance(c.parse_webhook(body), c.MalformedWebhook | c.OtherWebhook | c.IncomingCall)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(["id", "type", "data", "created_at"]), JSONISH))
def test_json_of_any_shape_never_raises(data: dict[str, object]) -> None:
    c.parse_webhook(json.dumps(data))


@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=30)), max_size=6),
    st.from_regex(r"rtc_[A-Za-z0-9]{1,20}", fullmatch=True),
)
def test_webhook_bodies_round_trip(headers: list[tuple[str, str]], call_id: str) -> None:
    call = incoming(sip_headers=tuple(headers), call_id=call_id)
    assert c.parse_webhook(c.webhook_body(call)) == call


def test_requests_name_the_call_in_the_path() -> None:
    accept = c.accept_request("rtc_1", {"instructions": "hi"})
    assert (accept.method, accept.path, accept.action) == (
        "POST",
        "/realtime/calls/rtc_1/accept",
        "accept",
    )
    assert json.loads(accept.body or b"") == {"type": "realtime", "instructions": "hi"}
    reject = c.reject_request("rtc_1", 486)
    assert reject.path.endswith("/reject")
    assert json.loads(reject.body or b"") == {"status_code": 486}
    assert c.hangup_request("rtc_1").body is None
    refer = c.refer_request("rtc_1", "tel:+15550123")
    assert json.loads(refer.body or b"") == {"target_uri": "tel:+15550123"}


@pytest.mark.parametrize("call_id", ["", "../x", "rtc 1", "rtc/1", "a" * 201, 5])
def test_implausible_call_ids_are_refused_before_sending(call_id: object) -> None:
    with pytest.raises(c.CallsError):
        c.hangup_request(call_id)  # type: ignore[arg-type]


def test_an_accept_may_not_name_audio_formats() -> None:
    with pytest.raises(c.CallsError, match="negotiated"):
        c.accept_request("rtc_1", {"audio": {"output": {"format": {"type": "audio/pcmu"}}}})
    c.accept_request("rtc_1", {"audio": {"output": {"voice": "ash"}}})


@pytest.mark.parametrize("status", [200, 399, 700, "486", True])
def test_reject_statuses_are_sip_final_responses(status: object) -> None:
    with pytest.raises(c.CallsError):
        c.reject_request("rtc_1", status)  # type: ignore[arg-type]


def test_transfer_targets_are_tel_or_sip_uris() -> None:
    with pytest.raises(c.CallsError):
        c.refer_request("rtc_1", "https://example.com")


def test_answers_are_read_with_the_apis_message() -> None:
    assert c.read_response(200, b"").ok
    gone = c.read_response(404, b'{"error": {"message": "Call not found"}}')
    assert gone.gone
    assert not gone.ok
    assert gone.message == "Call not found"
    assert c.read_response(500, b"upstream broke").message == "upstream broke"
    assert c.read_response(502, b"").message == "HTTP 502"
    assert c.read_response(400, b'{"error": 3}').message == '{"error": 3}'
