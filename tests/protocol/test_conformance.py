"""Conformance: everything our encoders write validates against the official ``openai`` types.

Rules: client events are checked strictly (exact types, no undeclared keys, nothing coerced);
server events our encoders produce are held to the same bar.  Fixed tables cover every
constructor and option the runtime uses; Hypothesis then combines session options freely.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import protocol as p

from . import oracle
from .samples import CLIENT_SAMPLES, SERVER_SAMPLES

FAST = settings(max_examples=60, deadline=None)

ALL_SAMPLES: list[tuple[str, p.WireEvent]] = [*CLIENT_SAMPLES, *SERVER_SAMPLES]


@pytest.mark.parametrize(("name", "event"), CLIENT_SAMPLES, ids=[n for n, _ in CLIENT_SAMPLES])
def test_client_event_validates_strictly(name: str, event: p.ClientEvent) -> None:
    oracle.assert_valid_client_event(event.to_wire())


@pytest.mark.parametrize(("name", "event"), SERVER_SAMPLES, ids=[n for n, _ in SERVER_SAMPLES])
def test_server_event_validates_strictly(name: str, event: p.ServerEvent) -> None:
    oracle.assert_valid_server_event(event.to_wire())


def test_registries_match_the_official_unions() -> None:
    assert set(p.CLIENT_EVENT_TYPES) == set(oracle.CLIENT_MODELS)
    assert set(p.SERVER_EVENT_TYPES) == set(oracle.SERVER_MODELS)
    assert len(p.CLIENT_EVENT_TYPES) == 11
    assert len(p.SERVER_EVENT_TYPES) == 46


def test_samples_cover_every_event_type() -> None:
    assert {e.type for _, e in CLIENT_SAMPLES} == set(p.CLIENT_EVENT_TYPES)
    assert {e.type for _, e in SERVER_SAMPLES} == set(p.SERVER_EVENT_TYPES)


def test_event_type_property_matches_wire() -> None:
    for _, event in ALL_SAMPLES:
        assert event.to_wire()["type"] == event.type


@pytest.mark.parametrize(
    ("name", "event"),
    ALL_SAMPLES,
    ids=[n for n, _ in ALL_SAMPLES],
)
def test_to_json_is_compact_text_of_to_wire(name: str, event: p.ClientEvent) -> None:
    text = event.to_json()
    assert json.loads(text) == event.to_wire()
    assert text == json.dumps(event.to_wire(), separators=(",", ":"), ensure_ascii=False)
    assert text.startswith('{"type":')


def test_unset_optional_fields_are_left_out() -> None:
    assert p.ResponseCreate().to_wire() == {"type": "response.create"}
    assert p.ResponseCancel().to_wire() == {"type": "response.cancel"}
    assert p.SessionUpdate(session=p.SessionConfig()).to_wire() == {
        "type": "session.update",
        "session": {"type": "realtime"},
    }
    assert p.AudioInputConfig().to_wire() == {}


def test_nullable_fields_send_null_only_when_set_to_none() -> None:
    assert p.AudioInputConfig(turn_detection=None).to_wire() == {"turn_detection": None}
    assert p.SessionConfig(tracing=None).to_wire() == {"type": "realtime", "tracing": None}
    assert "turn_detection" not in p.AudioInputConfig(format=p.AudioFormat.pcm()).to_wire()


def test_audio_formats_are_ga_objects() -> None:
    assert p.AudioFormat.pcm().to_wire() == {"type": "audio/pcm", "rate": 24000}
    assert p.AudioFormat.pcmu().to_wire() == {"type": "audio/pcmu"}
    assert p.AudioFormat.pcma().to_wire() == {"type": "audio/pcma"}


def test_error_event_for_a_client_error_validates_and_echoes_the_event_id() -> None:
    problem = p.decode_client_event('{"type":"conversation.item.delete","event_id":"ev_9"}')
    assert isinstance(problem, p.ClientProtocolError)
    reply = p.ErrorEvent.for_client_error(problem, event_id="ev_srv_1")
    oracle.assert_valid_server_event(reply.to_wire())
    assert reply.error.event_id == "ev_9"
    assert reply.error.param == "item_id"
    assert reply.error.code == "missing_required_parameter"


# -- generated sessions ------------------------------------------------------------------------

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_ids = st.text(st.characters(codec="utf-8", exclude_categories=_SURROGATES), max_size=12)
_opt = st.none
_formats = st.sampled_from([p.AudioFormat.pcm(), p.AudioFormat.pcmu(), p.AudioFormat.pcma()])
_ms = st.integers(0, 10_000)
_server_vad = st.builds(
    p.ServerVad,
    threshold=_opt() | st.floats(0.0, 1.0),
    prefix_padding_ms=_opt() | _ms,
    silence_duration_ms=_opt() | _ms,
    idle_timeout_ms=_opt() | _ms,
    create_response=_opt() | st.booleans(),
    interrupt_response=_opt() | st.booleans(),
)
_semantic_vad = st.builds(
    p.SemanticVad,
    eagerness=_opt() | st.sampled_from(["low", "medium", "high", "auto"]),
    create_response=_opt() | st.booleans(),
    interrupt_response=_opt() | st.booleans(),
)
_unset_or_none = st.sampled_from([p.UNSET, None])
_input = st.builds(
    p.AudioInputConfig,
    format=_opt() | _formats,
    transcription=_unset_or_none
    | st.builds(
        p.Transcription, model=_opt() | st.just("whisper-1"), language=_opt() | st.just("en")
    ),
    noise_reduction=_unset_or_none
    | st.builds(
        p.NoiseReduction,
        type=_opt() | st.sampled_from(["near_field", "far_field"]),
        strength=_opt() | st.floats(0, 1),
    ),
    turn_detection=_unset_or_none | _server_vad | _semantic_vad,
)
_output = st.builds(
    p.AudioOutputConfig,
    format=_opt() | _formats,
    voice=_opt() | st.sampled_from(["marin", "cedar", "alloy"]) | st.builds(p.CustomVoice, id=_ids),
    speed=_opt() | st.floats(0.25, 1.5),
)
_schema = st.fixed_dictionaries(
    {"type": st.just("object")},
    optional={"properties": st.dictionaries(_ids, st.just({"type": "string"}), max_size=3)},
)
_tools = st.lists(
    st.builds(p.FunctionTool, name=_ids, description=_opt() | _ids, parameters=_opt() | _schema),
    max_size=3,
).map(tuple)
_tool_choice = st.sampled_from(["none", "auto", "required"]) | st.builds(
    p.FunctionToolChoice, name=_ids
)
_sessions = st.builds(
    p.SessionConfig,
    model=_opt() | st.sampled_from(["gpt-realtime", "gpt-realtime-mini"]),
    instructions=_opt() | st.text(max_size=40),
    output_modalities=_opt() | st.sampled_from([("audio",), ("text",)]),
    max_output_tokens=_opt() | st.integers(1, 4096) | st.just("inf"),
    audio=_opt() | st.builds(p.AudioConfig, input=_opt() | _input, output=_opt() | _output),
    tools=_opt() | _tools,
    tool_choice=_opt() | _tool_choice,
    tracing=_unset_or_none | st.just("auto") | st.builds(p.TracingConfig, workflow_name=_ids),
    truncation=_opt()
    | st.sampled_from(["auto", "disabled"])
    | st.builds(p.RetentionRatioTruncation, retention_ratio=st.floats(0, 1)),
)


@FAST
@given(session=_sessions, event_id=_opt() | _ids)
def test_generated_session_updates_validate_and_round_trip(
    session: p.SessionConfig, event_id: str | None
) -> None:
    event = p.SessionUpdate(event_id=event_id, session=session)
    oracle.assert_valid_client_event(event.to_wire())
    assert p.decode_client_event(event.to_json()) == event
    created = p.SessionCreated(event_id="ev_1", session=session)
    oracle.assert_valid_server_event(created.to_wire())
    assert p.decode_server_event(created.to_json()) == created


_parts_by_role = {
    "user": st.one_of(
        st.builds(p.InputTextContent, text=st.text(max_size=20)),
        st.builds(
            p.InputAudioContent,
            audio=st.binary(max_size=64),
            transcript=_opt() | st.text(max_size=8),
        ),
        st.builds(
            p.InputImageContent,
            image_url=st.just("data:image/png;base64,iVBORw0KGgo="),
            detail=_opt() | st.sampled_from(["auto", "low", "high"]),
        ),
    ),
    "system": st.builds(p.InputTextContent, text=st.text(max_size=20)),
    "assistant": st.one_of(
        st.builds(p.OutputTextContent, text=st.text(max_size=20)),
        st.builds(
            p.OutputAudioContent,
            audio=_opt() | st.binary(max_size=64),
            transcript=_opt() | st.text(max_size=8),
        ),
    ),
}
_messages = st.sampled_from(["user", "system", "assistant"]).flatmap(
    lambda role: st.builds(
        p.MessageItem,
        id=_opt() | _ids,
        role=st.just(role),
        content=st.lists(_parts_by_role[role], max_size=3).map(tuple),
        status=_opt() | st.sampled_from(["completed", "incomplete", "in_progress"]),
    )
)


@FAST
@given(item=_messages, previous=_opt() | st.just("root") | _ids)
def test_generated_items_validate_and_round_trip(item: p.MessageItem, previous: str | None) -> None:
    event = p.ConversationItemCreate(item=item, previous_item_id=previous)
    oracle.assert_valid_client_event(event.to_wire())
    assert p.decode_client_event(event.to_json()) == event
    added = p.ConversationItemAdded(event_id="ev", item=item, previous_item_id=previous)
    oracle.assert_valid_server_event(added.to_wire())
    assert p.decode_server_event(added.to_json()) == added
