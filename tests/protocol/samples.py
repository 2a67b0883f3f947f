"""Tables of events the protocol core can produce, shared by the conformance, round-trip and
bad-input tests.  Client samples cover every constructor and option combination the runtime
uses; server samples cover every server event type at least once."""

from __future__ import annotations

import array
from typing import Any

from rtagents import protocol as p

ULAW_20MS = bytes([0xFF, 0x7F, 0x80, 0x00]) * 40  # 160 bytes
PCM_20MS = array.array("h", range(-240, 240)).tobytes()  # 960 bytes
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(32))

WEATHER_TOOL = p.FunctionTool(
    name="get_weather",
    description="Look up the weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
HANGUP_TOOL = p.FunctionTool(name="hang_up")
MCP_TOOL = p.McpTool(
    server_label="docs",
    server_url="https://mcp.example.com/sse",
    server_description="Product documentation",
    headers={"X-Tenant": "acme"},
    allowed_tools=["search", "fetch"],
    require_approval="never",
)

FULL_SESSION = p.SessionConfig(
    model="gpt-realtime",
    instructions="You are a friendly phone agent.",
    output_modalities=("audio",),
    max_output_tokens=4096,
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcmu(),
            transcription=p.Transcription(model="gpt-4o-mini-transcribe", language="en"),
            noise_reduction=p.NoiseReduction.near_field(),
            turn_detection=p.ServerVad(
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=500,
                idle_timeout_ms=6000,
                create_response=True,
                interrupt_response=True,
            ),
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcmu(), voice="marin", speed=1.1),
    ),
    tools=(WEATHER_TOOL, HANGUP_TOOL),
    tool_choice="auto",
    parallel_tool_calls=False,
    reasoning=p.Reasoning(effort="low"),
    tracing="auto",
    truncation="auto",
    prompt=p.Prompt(id="pmpt_123", version="2", variables={"city": "Paris"}),
    include=("item.input_audio_transcription.logprobs",),
)

PCM_SEMANTIC_SESSION = p.SessionConfig(
    model="gpt-realtime-2.1",
    max_output_tokens="inf",
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcm(),
            transcription=p.Transcription(
                model="gpt-4o-transcribe",
                prompt="Names: Anaïs, Bjørn",
                languages=("en", "fr"),
                keywords=("rtagents",),
                delay="low",
            ),
            noise_reduction=p.NoiseReduction(type="far_field", strength=0.7),
            turn_detection=p.SemanticVad(
                eagerness="high", create_response=False, interrupt_response=False
            ),
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcm(), voice=p.CustomVoice(id="voice_1")),
    ),
    tools=(WEATHER_TOOL,),
    tool_choice=p.FunctionToolChoice(name="get_weather"),
    tracing=p.TracingConfig(workflow_name="support", group_id="g1", metadata={"tier": "gold"}),
    truncation=p.RetentionRatioTruncation(
        retention_ratio=0.8, token_limits=p.TokenLimits(post_instructions=2000)
    ),
)

NULLS_SESSION = p.SessionConfig(
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcma(),
            transcription=None,
            noise_reduction=None,
            turn_detection=None,
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcma()),
    ),
    tools=(MCP_TOOL,),
    tool_choice=p.McpToolChoice(server_label="docs", name="search"),
    tracing=None,
    truncation="disabled",
)

TEXT_SESSION = p.SessionConfig(
    output_modalities=("text",),
    tool_choice="none",
    audio=p.AudioConfig(input=p.AudioInputConfig(format=p.AudioFormat(type="audio/pcm"))),
)

RESPONSE_PARAMS = p.ResponseParams(
    instructions="Answer in one sentence.",
    output_modalities=("audio",),
    max_output_tokens=200,
    tools=(WEATHER_TOOL, MCP_TOOL),
    tool_choice="required",
    parallel_tool_calls=True,
    reasoning=p.Reasoning(effort="minimal"),
    prompt=p.Prompt(id="pmpt_9"),
    metadata={"purpose": "greeting", "turn": "1"},
    audio=p.ResponseAudio(output=p.ResponseAudioOutput(format=p.AudioFormat.pcmu(), voice="cedar")),
    conversation="none",
    input=(
        p.MessageItem.system_text("Be brief."),
        p.MessageItem.user_text("What's the weather?"),
    ),
)

CLIENT_SAMPLES: list[tuple[str, p.ClientEvent]] = [
    ("session-minimal", p.SessionUpdate(session=p.SessionConfig())),
    ("session-full-pcmu-server-vad", p.SessionUpdate(event_id="ev_1", session=FULL_SESSION)),
    ("session-pcm-semantic-vad", p.SessionUpdate(session=PCM_SEMANTIC_SESSION)),
    ("session-pcma-nulls-mcp", p.SessionUpdate(session=NULLS_SESSION)),
    ("session-text-only", p.SessionUpdate(session=TEXT_SESSION)),
    ("item-user-text", p.ConversationItemCreate(item=p.MessageItem.user_text("Hello!"))),
    (
        "item-user-audio-root",
        p.ConversationItemCreate(
            event_id="ev_2",
            previous_item_id="root",
            item=p.MessageItem.user_audio(ULAW_20MS, transcript="hi"),
        ),
    ),
    (
        "item-user-image-data-url",
        p.ConversationItemCreate(
            item=p.MessageItem.user_image(p.image_data_url(PNG_BYTES), detail="high")
        ),
    ),
    (
        "item-user-image-url",
        p.ConversationItemCreate(item=p.MessageItem.user_image("https://example.com/cat.jpg")),
    ),
    (
        "item-user-multipart",
        p.ConversationItemCreate(
            item=p.MessageItem(
                id="item_user_1",
                role="user",
                status="completed",
                content=(
                    p.InputTextContent(text="What is in this picture?"),
                    p.InputImageContent.from_bytes(PNG_BYTES, mime_type="image/png", detail="low"),
                    p.InputAudioContent(audio=PCM_20MS),
                ),
            )
        ),
    ),
    ("item-assistant-text", p.ConversationItemCreate(item=p.MessageItem.assistant_text("Hi."))),
    (
        "item-assistant-audio-transcript",
        p.ConversationItemCreate(
            item=p.MessageItem(
                role="assistant", content=(p.OutputAudioContent(transcript="Hello there"),)
            )
        ),
    ),
    ("item-system-text", p.ConversationItemCreate(item=p.MessageItem.system_text("Be kind."))),
    (
        "item-function-call-output",
        p.ConversationItemCreate(
            item=p.FunctionCallOutputItem(call_id="call_1", output='{"temp_c": 21}'),
            previous_item_id="item_9",
        ),
    ),
    (
        "item-function-call",
        p.ConversationItemCreate(
            item=p.FunctionCallItem(
                id="item_fc", call_id="call_1", name="get_weather", arguments='{"city":"Oslo"}'
            )
        ),
    ),
    (
        "item-mcp-approval-response",
        p.ConversationItemCreate(
            item=p.OtherItem(
                wire={
                    "type": "mcp_approval_response",
                    "id": "item_ar",
                    "approval_request_id": "mcpr_1",
                    "approve": True,
                }
            )
        ),
    ),
    (
        "truncate",
        p.ConversationItemTruncate(event_id="ev_3", item_id="item_a", audio_end_ms=1234),
    ),
    ("delete", p.ConversationItemDelete(item_id="item_a")),
    ("retrieve", p.ConversationItemRetrieve(item_id="item_a", event_id="ev_4")),
    ("append-ulaw", p.InputAudioBufferAppend(audio=ULAW_20MS)),
    ("append-empty", p.InputAudioBufferAppend(audio=b"", event_id="ev_5")),
    ("append-pcm", p.InputAudioBufferAppend(audio=PCM_20MS)),
    ("commit", p.InputAudioBufferCommit()),
    ("clear", p.InputAudioBufferClear(event_id="ev_6")),
    ("output-clear", p.OutputAudioBufferClear()),
    ("response-create-bare", p.ResponseCreate()),
    ("response-create-full", p.ResponseCreate(event_id="ev_7", response=RESPONSE_PARAMS)),
    (
        "response-create-empty-input",
        p.ResponseCreate(response=p.ResponseParams(input=(), conversation="auto")),
    ),
    ("response-cancel-bare", p.ResponseCancel()),
    ("response-cancel-id", p.ResponseCancel(response_id="resp_1", event_id="ev_8")),
]

# -- server ------------------------------------------------------------------------------------

IDS: dict[str, Any] = {
    "response_id": "resp_1",
    "item_id": "item_1",
    "output_index": 0,
    "content_index": 0,
}

ASSISTANT_IN_PROGRESS = p.MessageItem(
    id="item_1", role="assistant", status="in_progress", content=()
)
ASSISTANT_DONE = p.MessageItem(
    id="item_1",
    role="assistant",
    status="completed",
    content=(p.OutputAudioContent(transcript="Hello! How can I help?"),),
)
USER_AUDIO_ITEM = p.MessageItem(
    id="item_0", role="user", status="completed", content=(p.InputAudioContent(transcript=None),)
)
FUNCTION_CALL = p.FunctionCallItem(
    id="item_2",
    call_id="call_1",
    name="get_weather",
    arguments='{"city":"Oslo"}',
    status="completed",
)
USAGE = p.ResponseUsage(
    total_tokens=420,
    input_tokens=300,
    output_tokens=120,
    input_token_details=p.InputTokenDetails(
        text_tokens=100,
        audio_tokens=200,
        image_tokens=0,
        cached_tokens=64,
        cached_tokens_details=p.CachedTokenDetails(text_tokens=64, audio_tokens=0, image_tokens=0),
    ),
    output_token_details=p.OutputTokenDetails(text_tokens=20, audio_tokens=100),
)
RESPONSE_DONE = p.Response(
    id="resp_1",
    status="completed",
    status_details=p.ResponseStatusDetails(type="completed"),
    output=(ASSISTANT_DONE, FUNCTION_CALL),
    output_modalities=("audio",),
    max_output_tokens="inf",
    conversation_id="conv_1",
    audio=p.ResponseAudio(output=p.ResponseAudioOutput(format=p.AudioFormat.pcmu(), voice="marin")),
    metadata={"purpose": "greeting"},
    usage=USAGE,
)
RESPONSE_CANCELLED = p.Response(
    id="resp_2",
    status="cancelled",
    status_details=p.ResponseStatusDetails(type="cancelled", reason="turn_detected"),
    output=(),
)
RESPONSE_FAILED = p.Response(
    id="resp_3",
    status="failed",
    status_details=p.ResponseStatusDetails(
        type="failed",
        error=p.ResponseStatusError(type="server_error", code="internal", message="boom"),
    ),
)

SERVER_SAMPLES: list[tuple[str, p.ServerEvent]] = [
    (
        "error",
        p.ErrorEvent(
            event_id="ev_s1",
            error=p.ErrorDetails(
                type="invalid_request_error",
                code="invalid_value",
                message="Invalid value: 'x'.",
                param="session.voice",
                event_id="ev_1",
            ),
        ),
    ),
    (
        "error-minimal",
        p.ErrorEvent(event_id="ev_s2", error=p.ErrorDetails(type="server_error", message="x")),
    ),
    ("session-created", p.SessionCreated(event_id="ev_s3", session=FULL_SESSION)),
    ("session-updated", p.SessionUpdated(event_id="ev_s4", session=PCM_SEMANTIC_SESSION)),
    ("session-updated-nulls", p.SessionUpdated(event_id="ev_s5", session=NULLS_SESSION)),
    (
        "conversation-created",
        p.ConversationCreated(event_id="ev_s6", conversation=p.ConversationInfo(id="conv_1")),
    ),
    (
        "item-added",
        p.ConversationItemAdded(event_id="ev_s7", previous_item_id=None, item=USER_AUDIO_ITEM),
    ),
    (
        "item-done",
        p.ConversationItemDone(event_id="ev_s8", previous_item_id="item_0", item=ASSISTANT_DONE),
    ),
    (
        "item-created",
        p.ConversationItemCreated(event_id="ev_s9", item=p.MessageItem.user_text("hi", id="i")),
    ),
    (
        "item-retrieved",
        p.ConversationItemRetrieved(
            event_id="ev_s10",
            item=p.MessageItem(
                id="item_0",
                role="user",
                content=(p.InputAudioContent(audio=ULAW_20MS, transcript="hello"),),
            ),
        ),
    ),
    (
        "item-truncated",
        p.ConversationItemTruncated(
            event_id="ev_s11", item_id="item_1", content_index=0, audio_end_ms=1500
        ),
    ),
    ("item-deleted", p.ConversationItemDeleted(event_id="ev_s12", item_id="item_1")),
    (
        "transcription-delta",
        p.InputAudioTranscriptionDelta(
            event_id="ev_s13",
            item_id="item_0",
            content_index=0,
            delta="Hel",
            logprobs=(p.LogProb(token="Hel", token_bytes=(72, 101, 108), logprob=-0.25),),
        ),
    ),
    (
        "transcription-delta-minimal",
        p.InputAudioTranscriptionDelta(event_id="ev_s14", item_id="item_0"),
    ),
    (
        "transcription-completed-tokens",
        p.InputAudioTranscriptionCompleted(
            event_id="ev_s15",
            item_id="item_0",
            content_index=0,
            transcript="Hello there.",
            usage=p.TranscriptTokenUsage(
                input_tokens=20,
                output_tokens=5,
                total_tokens=25,
                input_token_details=p.TranscriptInputTokenDetails(text_tokens=0, audio_tokens=20),
            ),
            languages=(p.DetectedLanguage(code="en"),),
        ),
    ),
    (
        "transcription-completed-duration",
        p.InputAudioTranscriptionCompleted(
            event_id="ev_s16",
            item_id="item_0",
            content_index=0,
            transcript="",
            usage=p.TranscriptDurationUsage(seconds=2.5),
        ),
    ),
    (
        "transcription-failed",
        p.InputAudioTranscriptionFailed(
            event_id="ev_s17",
            item_id="item_0",
            content_index=0,
            error=p.TranscriptionError(type="transcription_error", message="no speech"),
        ),
    ),
    (
        "transcription-segment",
        p.InputAudioTranscriptionSegment(
            event_id="ev_s18",
            id="seg_1",
            item_id="item_0",
            content_index=0,
            text="Hello",
            speaker="A",
            start=0.0,
            end=0.75,
        ),
    ),
    (
        "buffer-committed",
        p.InputAudioBufferCommitted(event_id="ev_s19", item_id="item_0", previous_item_id="x"),
    ),
    ("buffer-cleared", p.InputAudioBufferCleared(event_id="ev_s20")),
    (
        "speech-started",
        p.InputAudioBufferSpeechStarted(event_id="ev_s21", item_id="item_0", audio_start_ms=980),
    ),
    (
        "speech-stopped",
        p.InputAudioBufferSpeechStopped(event_id="ev_s22", item_id="item_0", audio_end_ms=2310),
    ),
    (
        "timeout-triggered",
        p.InputAudioBufferTimeoutTriggered(
            event_id="ev_s23", item_id="item_5", audio_start_ms=9000, audio_end_ms=15000
        ),
    ),
    ("dtmf", p.InputAudioBufferDtmfEventReceived(event="5", received_at=1_767_000_000)),
    ("output-started", p.OutputAudioBufferStarted(event_id="ev_s24", response_id="resp_1")),
    ("output-stopped", p.OutputAudioBufferStopped(event_id="ev_s25", response_id="resp_1")),
    ("output-cleared", p.OutputAudioBufferCleared(event_id="ev_s26", response_id="resp_1")),
    (
        "rate-limits",
        p.RateLimitsUpdated(
            event_id="ev_s27",
            rate_limits=(
                p.RateLimit(name="requests", limit=1000, remaining=999, reset_seconds=60.0),
                p.RateLimit(name="tokens", limit=50000, remaining=49000, reset_seconds=0.5),
            ),
        ),
    ),
    (
        "response-created",
        p.ResponseCreated(
            event_id="ev_s28", response=p.Response(id="resp_1", status="in_progress", output=())
        ),
    ),
    ("response-done", p.ResponseDone(event_id="ev_s29", response=RESPONSE_DONE)),
    ("response-done-cancelled", p.ResponseDone(event_id="ev_s30", response=RESPONSE_CANCELLED)),
    ("response-done-failed", p.ResponseDone(event_id="ev_s31", response=RESPONSE_FAILED)),
    (
        "output-item-added",
        p.ResponseOutputItemAdded(
            event_id="ev_s32", response_id="resp_1", output_index=0, item=ASSISTANT_IN_PROGRESS
        ),
    ),
    (
        "output-item-done-function-call",
        p.ResponseOutputItemDone(
            event_id="ev_s33", response_id="resp_1", output_index=1, item=FUNCTION_CALL
        ),
    ),
    (
        "content-part-added",
        p.ResponseContentPartAdded(
            event_id="ev_s34", **IDS, part=p.ResponsePart(type="audio", transcript="")
        ),
    ),
    (
        "content-part-done",
        p.ResponseContentPartDone(
            event_id="ev_s35", **IDS, part=p.ResponsePart(type="text", text="Hi there")
        ),
    ),
    ("text-delta", p.ResponseOutputTextDelta(event_id="ev_s36", **IDS, delta="Hi ")),
    ("text-done", p.ResponseOutputTextDone(event_id="ev_s37", **IDS, text="Hi there")),
    ("audio-delta", p.ResponseOutputAudioDelta(event_id="ev_s38", **IDS, audio=ULAW_20MS)),
    ("audio-delta-pcm", p.ResponseOutputAudioDelta(event_id="ev_s39", **IDS, audio=PCM_20MS)),
    ("audio-done", p.ResponseOutputAudioDone(event_id="ev_s40", **IDS)),
    (
        "transcript-delta",
        p.ResponseOutputAudioTranscriptDelta(event_id="ev_s41", **IDS, delta="Hello"),
    ),
    (
        "transcript-done",
        p.ResponseOutputAudioTranscriptDone(event_id="ev_s42", **IDS, transcript="Hello!"),
    ),
    (
        "function-args-delta",
        p.ResponseFunctionCallArgumentsDelta(
            event_id="ev_s43",
            response_id="resp_1",
            item_id="item_2",
            output_index=1,
            call_id="call_1",
            delta='{"ci',
        ),
    ),
    (
        "function-args-done",
        p.ResponseFunctionCallArgumentsDone(
            event_id="ev_s44",
            response_id="resp_1",
            item_id="item_2",
            output_index=1,
            call_id="call_1",
            name="get_weather",
            arguments='{"city":"Oslo"}',
        ),
    ),
    (
        "mcp-args-delta",
        p.ResponseMcpCallArgumentsDelta(
            event_id="ev_s45",
            response_id="resp_1",
            item_id="item_3",
            output_index=2,
            delta='{"q"',
            obfuscation="xyz",
        ),
    ),
    (
        "mcp-args-done",
        p.ResponseMcpCallArgumentsDone(
            event_id="ev_s46",
            response_id="resp_1",
            item_id="item_3",
            output_index=2,
            arguments='{"q":"docs"}',
        ),
    ),
    (
        "mcp-call-in-progress",
        p.ResponseMcpCallInProgress(event_id="ev_s47", item_id="item_3", output_index=2),
    ),
    (
        "mcp-call-completed",
        p.ResponseMcpCallCompleted(event_id="ev_s48", item_id="item_3", output_index=2),
    ),
    (
        "mcp-call-failed",
        p.ResponseMcpCallFailed(event_id="ev_s49", item_id="item_3", output_index=2),
    ),
    ("mcp-list-in-progress", p.McpListToolsInProgress(event_id="ev_s50", item_id="item_4")),
    ("mcp-list-completed", p.McpListToolsCompleted(event_id="ev_s51", item_id="item_4")),
    ("mcp-list-failed", p.McpListToolsFailed(event_id="ev_s52", item_id="item_4")),
    (
        "output-item-done-mcp-call",
        p.ResponseOutputItemDone(
            event_id="ev_s53",
            response_id="resp_1",
            output_index=2,
            item=p.OtherItem(
                wire={
                    "type": "mcp_call",
                    "id": "item_3",
                    "server_label": "docs",
                    "name": "search",
                    "arguments": '{"q":"docs"}',
                    "output": "3 results",
                }
            ),
        ),
    ),
]
