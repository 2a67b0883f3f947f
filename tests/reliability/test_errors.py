"""``RealtimeError.error`` is one type, whatever the error came from."""

from __future__ import annotations

import pytest

from rtagents import ErrorInfo, RealtimeError
from rtagents import protocol as p


@pytest.mark.parametrize(
    ("given", "kind", "message"),
    [
        (
            p.ErrorDetails(type="invalid_request_error", message="bad", code="c1"),
            "invalid_request_error",
            "bad",
        ),
        ({"type": "tool_error", "message": "boom", "tool": "lookup"}, "tool_error", "boom"),
        (ValueError("odd"), "error", "odd"),
        ("plain text", "error", "plain text"),
    ],
)
def test_every_error_is_an_error_info(given: object, kind: str, message: str) -> None:
    error = RealtimeError(given).error
    assert isinstance(error, ErrorInfo)
    assert (error.type, error.message) == (kind, message)
    assert (error["type"], error.get("message")) == (kind, message)


def test_extra_fields_and_server_fields_read_both_ways() -> None:
    local = RealtimeError({"type": "tool_error", "message": "boom", "tool": "lookup"}).error
    assert local["tool"] == local.details["tool"] == "lookup"
    assert dict(local) == {"type": "tool_error", "message": "boom", "tool": "lookup"}
    server = RealtimeError(p.ErrorDetails(type="x", message="m", event_id="ev")).error
    assert server.event_id == server["event_id"] == "ev"
    assert "code" not in server  # unset fields are not keys
