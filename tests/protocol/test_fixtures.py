"""Hand-written frames shaped like real server traffic.

Each fixture is JSON text as a server sends it: with keys our types ignore (``object``, session
``id``, ``expires_at``), ``null`` for absent values, and ``previous_item_id: null``.  Each must
be accepted by the official types (lenient parse, as for any server frame) and decode to the
typed values the runtime relies on.
"""

from __future__ import annotations

import json

import pytest

from rtagents import protocol as p

from . import oracle

SESSION_CREATED = """{"type":"session.created","event_id":"event_C1a","session":{"type":"realtime",
"object":"realtime.session","id":"sess_C1a","model":"gpt-realtime-2025-08-28","output_modalities":["audio"],
"instructions":"Be helpful.","tools":[],"tool_choice":"auto","max_output_tokens":"inf","tracing":null,
"truncation":"auto","prompt":null,"expires_at":1767000000,"include":null,"audio":{"input":{"format":
{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,"turn_detection":{"type":
"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200,"idle_timeout_ms":null,
"create_response":true,"interrupt_response":true}},"output":{"format":{"type":"audio/pcm","rate":24000},
"voice":"marin","speed":1}}}}"""

RESPONSE_DONE = """{"type":"response.done","event_id":"event_C1b","response":{"object":"realtime.response",
"id":"resp_C1b","status":"completed","status_details":null,"output":[{"id":"item_C1c","type":"message",
"status":"completed","role":"assistant","content":[{"type":"output_audio","transcript":"Hi! How can I help?"}]}],
"conversation_id":"conv_C1d","output_modalities":["audio"],"max_output_tokens":"inf","audio":{"output":
{"format":{"type":"audio/pcmu"},"voice":"marin"}},"usage":{"total_tokens":253,"input_tokens":180,
"output_tokens":73,"input_token_details":{"text_tokens":120,"audio_tokens":60,"image_tokens":0,
"cached_tokens":64,"cached_tokens_details":{"text_tokens":64,"audio_tokens":0,"image_tokens":0}},
"output_token_details":{"text_tokens":18,"audio_tokens":55}},"metadata":null}}"""

RESPONSE_CANCELLED = """{"type":"response.done","event_id":"event_C2a","response":{"object":"realtime.response",
"id":"resp_C2a","status":"cancelled","status_details":{"type":"cancelled","reason":"turn_detected"},
"output":[],"usage":{"total_tokens":0,"input_tokens":0,"output_tokens":0}}}"""

ERROR_WITH_EVENT_ID = """{"type":"error","event_id":"event_C3a","error":{"type":"invalid_request_error",
"code":"conversation_already_has_active_response","message":"Conversation already has an active response in progress: resp_C1b. Wait until the response is finished before creating a new one.",
"param":null,"event_id":"client_evt_7"}}"""

FUNCTION_CALL_ADDED = """{"type":"response.output_item.added","event_id":"event_C4a","response_id":"resp_C4a",
"output_index":0,"item":{"id":"item_C4b","object":"realtime.item","type":"function_call","status":"in_progress",
"name":"get_weather","call_id":"call_C4c","arguments":""}}"""

USER_ITEM_ADDED = """{"type":"conversation.item.added","event_id":"event_C5a","previous_item_id":null,
"item":{"id":"item_C5b","object":"realtime.item","type":"message","status":"completed","role":"user",
"content":[{"type":"input_audio","transcript":null}]}}"""

TRANSCRIPTION_COMPLETED = """{"type":"conversation.item.input_audio_transcription.completed",
"event_id":"event_C6a","item_id":"item_C5b","content_index":0,"transcript":"What's the weather in Oslo?",
"usage":{"type":"tokens","total_tokens":31,"input_tokens":22,"input_token_details":{"text_tokens":0,
"audio_tokens":22},"output_tokens":9},"logprobs":null}"""

AUDIO_DELTA = """{"type":"response.output_audio.delta","event_id":"event_C7a","response_id":"resp_C1b",
"item_id":"item_C1c","output_index":0,"content_index":0,"delta":"////f3+AgAAAAA=="}"""

SPEECH_STARTED = """{"type":"input_audio_buffer.speech_started","event_id":"event_C8a","audio_start_ms":1060,
"item_id":"item_C8b"}"""

RATE_LIMITS = """{"type":"rate_limits.updated","event_id":"event_C9a","rate_limits":[{"name":"requests",
"limit":5000,"remaining":4999,"reset_seconds":0.012},{"name":"tokens","limit":800000,"remaining":799400,
"reset_seconds":0.045}]}"""

DTMF = """{"type":"input_audio_buffer.dtmf_event_received","event":"#","received_at":1767000123}"""

ALL = [
    SESSION_CREATED,
    RESPONSE_DONE,
    RESPONSE_CANCELLED,
    ERROR_WITH_EVENT_ID,
    FUNCTION_CALL_ADDED,
    USER_ITEM_ADDED,
    TRANSCRIPTION_COMPLETED,
    AUDIO_DELTA,
    SPEECH_STARTED,
    RATE_LIMITS,
    DTMF,
]


@pytest.mark.parametrize("text", ALL, ids=lambda t: json.loads(t)["type"])
def test_fixture_is_realistic_and_decodes(text: str) -> None:
    oracle.parse_server_event(json.loads(text))
    event = p.decode_server_event(text)
    assert isinstance(event, p.WireEvent)
    assert event.raw == json.loads(text)
    # Re-encoding keeps every declared value and drops only what the types do not declare.
    oracle.parse_server_event(event.to_wire())
    assert p.decode_server_event(event.to_json()) == event


def test_session_created() -> None:
    event = p.decode_server_event(SESSION_CREATED)
    assert isinstance(event, p.SessionCreated)
    session = event.session
    assert session.model == "gpt-realtime-2025-08-28"
    assert session.max_output_tokens == "inf"
    assert session.tracing is None
    assert session.tools == ()
    assert session.audio is not None
    assert session.audio.input is not None
    assert session.audio.input.format == p.AudioFormat.pcm()
    assert session.audio.input.transcription is None
    vad = session.audio.input.turn_detection
    assert vad == p.ServerVad(
        threshold=0.5,
        prefix_padding_ms=300,
        silence_duration_ms=200,
        create_response=True,
        interrupt_response=True,
    )
    assert session.audio.output == p.AudioOutputConfig(
        format=p.AudioFormat.pcm(), voice="marin", speed=1.0
    )
    assert event.raw is not None
    raw_session = event.raw["session"]
    assert isinstance(raw_session, dict)
    assert raw_session["id"] == "sess_C1a"


def test_response_done_with_usage() -> None:
    event = p.decode_server_event(RESPONSE_DONE)
    assert isinstance(event, p.ResponseDone)
    response = event.response
    assert response.id == "resp_C1b"
    assert response.status == "completed"
    assert response.output == (
        p.MessageItem(
            id="item_C1c",
            role="assistant",
            status="completed",
            content=(p.OutputAudioContent(transcript="Hi! How can I help?"),),
        ),
    )
    assert response.audio == p.ResponseAudio(
        output=p.ResponseAudioOutput(format=p.AudioFormat.pcmu(), voice="marin")
    )
    usage = response.usage
    assert usage is not None
    assert (usage.total_tokens, usage.input_tokens, usage.output_tokens) == (253, 180, 73)
    assert usage.input_token_details is not None
    assert usage.input_token_details.cached_tokens == 64
    assert usage.output_token_details == p.OutputTokenDetails(text_tokens=18, audio_tokens=55)


def test_response_cancelled_by_barge_in() -> None:
    event = p.decode_server_event(RESPONSE_CANCELLED)
    assert isinstance(event, p.ResponseDone)
    assert event.response.status == "cancelled"
    assert event.response.status_details == p.ResponseStatusDetails(
        type="cancelled", reason="turn_detected"
    )


def test_error_names_the_client_event() -> None:
    event = p.decode_server_event(ERROR_WITH_EVENT_ID)
    assert isinstance(event, p.ErrorEvent)
    assert event.event_id == "event_C3a"
    assert event.error.type == "invalid_request_error"
    assert event.error.code == "conversation_already_has_active_response"
    assert event.error.param is None
    assert event.error.event_id == "client_evt_7"
    assert event.error.message.startswith("Conversation already has an active response")


def test_function_call_item() -> None:
    event = p.decode_server_event(FUNCTION_CALL_ADDED)
    assert isinstance(event, p.ResponseOutputItemAdded)
    assert event.item == p.FunctionCallItem(
        id="item_C4b", call_id="call_C4c", name="get_weather", arguments="", status="in_progress"
    )


def test_user_item_without_audio() -> None:
    event = p.decode_server_event(USER_ITEM_ADDED)
    assert isinstance(event, p.ConversationItemAdded)
    assert event.previous_item_id is None
    assert event.item == p.MessageItem(
        id="item_C5b", role="user", status="completed", content=(p.InputAudioContent(),)
    )


def test_transcription_completed() -> None:
    event = p.decode_server_event(TRANSCRIPTION_COMPLETED)
    assert isinstance(event, p.InputAudioTranscriptionCompleted)
    assert event.transcript == "What's the weather in Oslo?"
    assert event.usage == p.TranscriptTokenUsage(
        input_tokens=22,
        output_tokens=9,
        total_tokens=31,
        input_token_details=p.TranscriptInputTokenDetails(text_tokens=0, audio_tokens=22),
    )
    assert event.logprobs is None


def test_audio_delta_bytes() -> None:
    event = p.decode_server_event(AUDIO_DELTA)
    assert isinstance(event, p.ResponseOutputAudioDelta)
    assert event.audio == b"\xff\xff\xff\x7f\x7f\x80\x80\x00\x00\x00"
    assert "delta" not in repr(event)
    assert "<10 bytes>" in repr(event)


def test_speech_started_and_rate_limits_and_dtmf() -> None:
    started = p.decode_server_event(SPEECH_STARTED)
    assert started == p.InputAudioBufferSpeechStarted(
        event_id="event_C8a", item_id="item_C8b", audio_start_ms=1060
    )
    limits = p.decode_server_event(RATE_LIMITS)
    assert isinstance(limits, p.RateLimitsUpdated)
    assert [limit.name for limit in limits.rate_limits] == ["requests", "tokens"]
    assert limits.rate_limits[0].reset_seconds == 0.012
    dtmf = p.decode_server_event(DTMF)
    assert dtmf == p.InputAudioBufferDtmfEventReceived(event="#", received_at=1767000123)
    assert dtmf.event_id is None


def test_lenient_aliases_for_assistant_parts() -> None:
    """Some servers type assistant content as "audio"/"text"; the client role accepts that."""
    wire = {
        "type": "response.output_item.done",
        "event_id": "e",
        "response_id": "r",
        "output_index": 0,
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "audio", "transcript": "hi"}, {"type": "text", "text": "yo"}],
        },
    }
    event = p.decode_server_event(json.dumps(wire))
    assert isinstance(event, p.ResponseOutputItemDone)
    assert event.item == p.MessageItem(
        role="assistant",
        content=(p.OutputAudioContent(transcript="hi"), p.OutputTextContent(text="yo")),
    )


def test_unknown_item_types_are_kept_whole() -> None:
    wire = {"type": "future_item", "id": "item_x", "payload": {"a": [1, 2]}}
    text = json.dumps(
        {"type": "conversation.item.done", "event_id": "e", "item": wire, "previous_item_id": "p"}
    )
    event = p.decode_server_event(text)
    assert isinstance(event, p.ConversationItemDone)
    assert isinstance(event.item, p.OtherItem)
    assert (event.item.type, event.item.id) == ("future_item", "item_x")
    assert event.to_wire()["item"] == wire
