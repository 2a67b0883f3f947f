"""Round trips: encoding then decoding gives back an equal event, in both roles.

Rules: ``raw`` is outside ``==`` but must hold exactly the decoded wire object; the decoded
class must be the encoded one; audio must survive byte for byte whatever buffer type went in.
"""

from __future__ import annotations

import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import protocol as p

from .samples import (
    CLIENT_SAMPLES,
    FULL_SESSION,
    NULLS_SESSION,
    PCM_SEMANTIC_SESSION,
    RESPONSE_DONE,
    RESPONSE_PARAMS,
    SERVER_SAMPLES,
)

FAST = settings(max_examples=60, deadline=None)


@pytest.mark.parametrize(("name", "event"), SERVER_SAMPLES, ids=[n for n, _ in SERVER_SAMPLES])
def test_server_event_round_trips(name: str, event: p.ServerEvent) -> None:
    decoded = p.decode_server_event(event.to_json())
    assert type(decoded) is type(event)
    assert decoded == event
    assert isinstance(decoded, p.WireEvent)
    assert decoded.raw == event.to_wire()
    assert decoded.to_wire() == event.to_wire()


@pytest.mark.parametrize(("name", "event"), CLIENT_SAMPLES, ids=[n for n, _ in CLIENT_SAMPLES])
def test_client_event_round_trips_through_the_server_role(name: str, event: p.ClientEvent) -> None:
    decoded = p.decode_client_event(event.to_json())
    assert type(decoded) is type(event)
    assert decoded == event
    assert decoded.raw == event.to_wire()


@pytest.mark.parametrize(("name", "event"), CLIENT_SAMPLES, ids=[n for n, _ in CLIENT_SAMPLES])
def test_bytes_frames_decode_like_text(name: str, event: p.ClientEvent) -> None:
    text = event.to_json()
    assert p.decode_client_event(text.encode()) == event
    assert p.decode_client_event(memoryview(text.encode())) == event


@pytest.mark.parametrize(
    "value",
    [
        FULL_SESSION,
        PCM_SEMANTIC_SESSION,
        NULLS_SESSION,
        RESPONSE_PARAMS,
        RESPONSE_DONE,
        p.ServerVad(threshold=0.25),
        p.SemanticVad(eagerness="auto"),
        p.AudioFormat.pcm(),
        p.AudioFormat(type="audio/pcm"),
        p.MessageItem.user_audio(b"\x00\x01", transcript="x"),
        p.FunctionCallOutputItem(call_id="c", output="{}"),
        p.OtherItem(wire={"type": "mcp_list_tools", "server_label": "s", "tools": []}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_value_types_round_trip(value: p.WireValue) -> None:
    assert type(value).from_wire(value.to_wire()) == value
    assert type(value).from_wire(value.to_wire(), strict=True) == value


def test_union_valued_fields_round_trip_each_shape() -> None:
    for choice in ("none", "auto", "required", p.FunctionToolChoice(name="f")):
        params = p.ResponseParams(tool_choice=choice)
        assert p.ResponseParams.from_wire(params.to_wire()) == params
    for tokens in (1, 4096, "inf"):
        params = p.ResponseParams(max_output_tokens=tokens)
        assert p.ResponseParams.from_wire(params.to_wire()) == params
    for tracing in (p.UNSET, None, "auto", p.TracingConfig(group_id="g")):
        session = p.SessionConfig(tracing=tracing)
        assert p.SessionConfig.from_wire(session.to_wire()) == session


@FAST
@given(audio=st.binary(max_size=4096), index=st.integers(0, 2**31))
def test_audio_delta_round_trips_any_bytes(audio: bytes, index: int) -> None:
    event = p.ResponseOutputAudioDelta(
        event_id="e", response_id="r", item_id="i", output_index=index, content_index=0, audio=audio
    )
    decoded = p.decode_server_event(event.to_json())
    assert isinstance(decoded, p.ResponseOutputAudioDelta)
    assert decoded.audio == audio
    assert type(decoded.audio) is bytes


@FAST
@given(samples=st.lists(st.integers(-32768, 32767), max_size=480))
def test_append_accepts_buffers_without_copying_first(samples: list[int]) -> None:
    pcm = array.array("h", samples)
    expected = pcm.tobytes()
    for buffer in (memoryview(pcm), bytearray(expected), expected, memoryview(expected)[0:]):
        event = p.InputAudioBufferAppend(audio=buffer)
        decoded = p.decode_client_event(event.to_json())
        assert isinstance(decoded, p.InputAudioBufferAppend)
        assert decoded.audio == expected


@FAST
@given(text=st.text(), arguments=st.text())
def test_text_fields_round_trip_any_unicode(text: str, arguments: str) -> None:
    events: list[p.ServerEvent] = [
        p.ResponseOutputAudioTranscriptDelta(
            event_id="e", response_id="r", item_id="i", output_index=0, content_index=0, delta=text
        ),
        p.ResponseFunctionCallArgumentsDone(
            event_id=text,
            response_id="r",
            item_id="i",
            output_index=0,
            call_id="c",
            name=text,
            arguments=arguments,
        ),
    ]
    for event in events:
        # Lone surrogates cannot be sent as UTF-8; they still round-trip as text.
        assert p.decode_server_event(event.to_json()) == event
