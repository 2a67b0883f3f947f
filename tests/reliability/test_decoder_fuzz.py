"""The Realtime decoders never raise: any bytes, any JSON, and valid events with any one field
replaced by any JSON value decode to an event, an unknown event or a protocol-error value.

A longer run: ``RTAGENTS_FUZZ_EXAMPLES=5000 pytest tests/reliability/test_decoder_fuzz.py``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtagents import protocol as p
from tests.protocol.samples import SERVER_SAMPLES

EXAMPLES = int(os.environ.get("RTAGENTS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
WIRES = [e.to_wire() for _, e in SERVER_SAMPLES]


def decoded(text: str | bytes) -> Any:
    server = p.decode_server_event(text)
    client = p.decode_client_event(text)
    return server, client


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes(data: bytes) -> None:
    decoded(data)


@FUZZ
@given(json_values)
def test_any_json(value: Any) -> None:
    decoded(json.dumps(value))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out += _paths(sub, (*prefix, index))
    return out


@FUZZ
@given(st.sampled_from(WIRES), st.data(), json_values)
def test_valid_events_with_one_field_replaced(wire: dict[str, Any], data: Any, value: Any) -> None:
    wire = json.loads(json.dumps(wire))
    paths = [path for path in _paths(wire) if path]
    path = data.draw(st.sampled_from(paths))
    target = wire
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    server, _ = decoded(json.dumps(wire))
    assert isinstance(server, p.ServerEvent | p.UnknownServerEvent | p.ServerProtocolError)
