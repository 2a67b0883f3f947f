"""The SDK's settings dicts, mapped to the GA session — checked against the SDK itself.

The oracle is the OpenAI Agents SDK's own mapping (``OpenAIRealtimeWebSocketModel.
_get_session_config``): for the same settings dict, both must describe the same session
(audio formats, transcription, turn detection, voice, speed, modalities, instructions...).
Hypothesis draws settings from the SDK's documented key space, flat and nested.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import DEFAULT_MODEL_SETTINGS, RealtimeRunConfig
from rtagents import protocol as p
from rtagents._core.settings import audio_format, overlay, session_config_from_settings

sdk_realtime = pytest.importorskip("agents.realtime.openai_realtime")

#: Fields both mappings produce; the SDK also always sends ``model`` and ``tools`` (ours adds
#: the agent's tools, and the model travels in the URL unless ``model_name`` is given).
COMPARED = ("audio", "output_modalities", "instructions", "max_output_tokens", "tool_choice")


def sdk_session(settings: dict[str, Any]) -> dict[str, Any]:
    model = sdk_realtime.OpenAIRealtimeWebSocketModel()
    # what the SDK puts on the wire (its _send_raw_message dumps with exclude_unset)
    wire = model._get_session_config(settings).model_dump(exclude_unset=True, mode="json")
    return {k: wire[k] for k in COMPARED if k in wire}


def our_session(settings: dict[str, Any]) -> dict[str, Any]:
    wire = session_config_from_settings(settings).to_wire()
    return {k: wire[k] for k in COMPARED if k in wire}


formats = st.sampled_from(
    ["pcm16", "g711_ulaw", "g711_alaw", "audio/pcmu", {"type": "audio/pcm", "rate": 24000}]
)
turn = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"type": st.just("server_vad")},
        optional={
            "threshold": st.floats(0, 1),
            "silence_duration_ms": st.integers(0, 2000),
            "prefix_padding_ms": st.integers(0, 1000),
            "create_response": st.booleans(),
            "interrupt_response": st.booleans(),
            "idle_timeout_ms": st.integers(5000, 30000),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("semantic_vad")},
        optional={
            "eagerness": st.sampled_from(["auto", "low", "medium", "high"]),
            "create_response": st.booleans(),
            "interrupt_response": st.booleans(),
        },
    ),
)
transcription = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o-mini-transcribe", "whisper-1", "gpt-4o-transcribe"])},
    optional={"language": st.sampled_from(["en", "fr"]), "prompt": st.text(max_size=5)},
)
flat = st.fixed_dictionaries(
    {},
    optional={
        "voice": st.sampled_from(["ash", "alloy", "marin"]),
        "speed": st.floats(0.25, 1.5),
        "modalities": st.sampled_from([["audio"], ["text"]]),
        "input_audio_format": formats,
        "output_audio_format": formats,
        "input_audio_transcription": transcription,
        "input_audio_noise_reduction": st.sampled_from(
            [{"type": "near_field"}, {"type": "far_field"}]
        ),
        "turn_detection": turn,
        "instructions": st.text(max_size=10),
        "max_output_tokens": st.one_of(st.integers(1, 4096), st.just("inf")),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
    },
)
nested = st.fixed_dictionaries(
    {},
    optional={
        "input": st.fixed_dictionaries(
            {},
            optional={"format": formats, "transcription": transcription, "turn_detection": turn},
        ),
        "output": st.fixed_dictionaries(
            {},
            optional={"format": formats, "voice": st.sampled_from(["cedar", "ash"])},
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(flat, st.one_of(st.none(), nested))
def test_settings_describe_the_same_session_as_the_sdk(
    settings_: dict[str, Any], audio: dict[str, Any] | None
) -> None:
    if audio is not None:
        settings_ = {**settings_, "audio": audio}
    assert our_session(settings_) == sdk_session(settings_)


def test_the_defaults_are_the_sdks() -> None:
    assert DEFAULT_MODEL_SETTINGS == sdk_realtime.DEFAULT_MODEL_SETTINGS
    ours = our_session({})
    assert ours == sdk_session({})
    assert ours["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert ours["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"


def test_camel_case_turn_detection_keys_are_accepted() -> None:
    camel = {"turn_detection": {"type": "server_vad", "silenceDurationMs": 300}}
    wire: Any = session_config_from_settings(camel).to_wire()
    assert wire["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 300
    assert our_session(camel) == sdk_session(camel)


def test_attaching_to_a_call_leaves_the_formats_alone() -> None:
    config = session_config_from_settings({}, attach_to_call=True)
    assert config.audio is not None
    assert config.audio.input is not None
    assert config.audio.input.format is None
    given_format = session_config_from_settings(
        {"input_audio_format": "g711_ulaw"}, attach_to_call=True
    )
    assert given_format.audio.input.format == p.AudioFormat.pcmu()  # type: ignore[union-attr]


def test_turn_detection_none_switches_it_off() -> None:
    config = session_config_from_settings({"turn_detection": None})
    wire: Any = config.to_wire()
    assert wire["audio"]["input"]["turn_detection"] is None


@pytest.mark.parametrize(
    ("settings_", "named"),
    [
        ({"vocie": "ash"}, "'vocie'"),
        ({"audio": {"inptu": {}}}, "'inptu'"),
        ({"audio": {"input": {"fromat": "pcm16"}}}, "'fromat'"),
        ({"turn_detection": {"type": "server_vad", "eagerness": "low"}}, "eagerness"),
        ({"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}, "threshold"),
        ({"turn_detection": {"typ": "server_vad"}}, "'typ'"),
        ({"input_audio_format": "mp3"}, "'mp3'"),
        ({"input_audio_format": {"type": "audio/pcm", "rate": 16000}}, "16000"),
        ({"speed": 9.0}, "speed"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"tools": [object()]}, "tools"),
    ],
)
def test_bad_settings_name_the_key_at_once(settings_: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RealtimeRunConfig.coerce({"model_settings": settings_})


def test_audio_formats_in_every_spelling() -> None:
    assert audio_format("pcm16", "x") == p.AudioFormat.pcm()
    assert audio_format("g711_alaw", "x") == p.AudioFormat.pcma()
    assert audio_format({"type": "audio/pcmu"}, "x") == p.AudioFormat.pcmu()
    from openai.types.realtime.realtime_audio_formats import AudioPCMU

    assert audio_format(AudioPCMU(type="audio/pcmu"), "x") == p.AudioFormat.pcmu()
    with pytest.raises(ValueError, match="cannot read"):
        audio_format(3, "x")


def test_overlay_lays_audio_blocks_field_by_field() -> None:
    base = session_config_from_settings({})
    top = p.SessionConfig(
        audio=p.AudioConfig(output=p.AudioOutputConfig(voice="cedar")), instructions="hi"
    )
    merged = overlay(base, top)
    assert merged.instructions == "hi"
    assert merged.audio.output.voice == "cedar"  # type: ignore[union-attr]
    assert merged.audio.output.format == p.AudioFormat.pcm()  # type: ignore[union-attr]
    assert merged.audio.input == base.audio.input  # type: ignore[union-attr]
