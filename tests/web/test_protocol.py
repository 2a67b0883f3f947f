"""The page's wire protocol (rtagents.web.protocol) and the event view (rtagents.web.view):
pure functions, checked with hypothesis for round trips and for input that must never raise."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents import items as it
from rtagents.agent import RealtimeAgent
from rtagents.events import (
    RealtimeAgentStartEvent,
    RealtimeAudio,
    RealtimeAudioInterrupted,
    RealtimeConnectionLost,
    RealtimeError,
    RealtimeHistoryAdded,
    RealtimeHistoryUpdated,
    RealtimeRawModelEvent,
    RealtimeToolApprovalRequired,
    RealtimeToolEnd,
    RealtimeToolStart,
)
from rtagents.web import protocol as wp
from rtagents.web.view import REMEMBERED, AgentAudio, PageView, transcript_of
from tests.test_layers import EDGES, FORBIDDEN, reachable

ids = st.text(min_size=1, max_size=40)
indexes = st.integers(0, 2**31 - 1)
ms = st.floats(0, 1e9, exclude_max=True, allow_nan=False, allow_infinity=False)
texts = st.text(min_size=1, max_size=200)
images = st.builds(lambda b: "data:image/png;base64," + b, st.text("abcXYZ019+/=", max_size=100))
pcm = st.binary(max_size=wp.MAX_AUDIO_BYTES // 2).map(lambda b: b + b)  # even length

client_messages = st.one_of(
    st.builds(wp.PlaybackProgress, ids, indexes, ms),
    st.just(wp.PlaybackIdle()),
    st.just(wp.Interrupt()),
    st.builds(wp.SendText, texts),
    st.builds(wp.SendImage, images, st.none() | st.text(max_size=50)),
    st.builds(wp.Approve, ids, st.booleans()),
    st.builds(wp.Reject, ids, st.none() | st.text(max_size=50), st.booleans()),
)
any_text = st.text(max_size=80)
server_messages = st.one_of(
    st.builds(wp.Ready, any_text, indexes),
    st.builds(wp.State, any_text),
    st.builds(wp.AudioStart, any_text, indexes),
    st.builds(wp.AudioInterrupted, any_text, indexes),
    st.builds(
        wp.Transcript,
        any_text,
        st.sampled_from(["user", "agent"]),
        any_text,
        st.booleans(),
        st.none() | indexes,
    ),
    st.builds(wp.ToolStart, any_text, any_text, any_text),
    st.builds(wp.ToolEnd, any_text, any_text, any_text, any_text),
    st.builds(wp.ApprovalRequired, any_text, any_text, any_text),
    st.builds(wp.AgentStart, any_text),
    st.builds(wp.AgentEnd, any_text),
    st.builds(wp.Handoff, any_text, any_text),
    st.builds(wp.Status, any_text, any_text),
    st.builds(wp.Error, any_text, any_text),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "item_id",
    "content_index",
    "played_ms",
    "text",
    "image_url",
    "call_id",
    "always",
    "reason",
]
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*wp._CLIENT, "nope", ""]) | json_values},
    optional={name: json_values | ids | indexes | ms for name in FIELDS},
)


# -- round trips -------------------------------------------------------------------------------


@given(client_messages)
def test_client_messages_round_trip(message: Any) -> None:
    frame = wp.encode(message)
    assert isinstance(frame, str)
    assert wp.decode_client_text(frame) == message


@given(pcm)
def test_audio_frames_round_trip(data: bytes) -> None:
    frame = wp.encode(wp.MicAudio(data))
    assert frame == data
    assert wp.decode_client_audio(data) == wp.MicAudio(data)


@given(server_messages)
def test_server_messages_round_trip(message: Any) -> None:
    text = wp.encode_text(message)
    assert json.loads(text)["type"] == message.type
    assert wp.decode_server_text(text) == message


# -- bad input: a value back, never an exception ----------------------------------------------


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_text_frame_decodes_to_a_message_or_an_error(frame: str | bytes) -> None:
    result = wp.decode_client_text(frame)
    assert isinstance(
        result,
        wp.ProtocolError
        | wp.PlaybackProgress
        | wp.PlaybackIdle
        | wp.Interrupt
        | wp.SendText
        | wp.SendImage
        | wp.Approve
        | wp.Reject,
    )


@given(message_like)
def test_any_json_object_decodes_to_a_valid_message_or_an_error(data: dict[str, Any]) -> None:
    result = wp.decode_client_text(json.dumps(data))
    if isinstance(result, wp.ProtocolError):
        assert result.code in {"bad_message", "unknown_type", "bad_field"}
        assert result.message
        return
    # Whatever decodes is well formed: it encodes back to the same message.
    assert wp.decode_client_text(wp.encode(result)) == result
    if isinstance(result, wp.PlaybackProgress):
        assert math.isfinite(result.played_ms)
        assert result.played_ms >= 0
        assert isinstance(result.played_ms, float)


@given(st.binary(max_size=4 * 1024))
def test_any_binary_frame_is_audio_or_an_error(data: bytes) -> None:
    result = wp.decode_client_audio(data)
    if len(data) % 2:
        assert result == wp.ProtocolError(
            "bad_audio", f"PCM16 audio has an even number of bytes, not {len(data)}"
        )
    else:
        assert result == wp.MicAudio(data)


@pytest.mark.parametrize(
    ("frame", "code", "says"),
    [
        ("", "bad_json", "not JSON"),
        ("{", "bad_json", "not JSON"),
        (b"\xff\xfe", "bad_json", "not JSON"),
        ("[" * 100_000, "bad_json", "not JSON"),
        ('"interrupt"', "bad_message", "a JSON object"),
        ("{}", "unknown_type", "unknown type 'NoneType'"),
        ('{"type": "dance"}', "unknown_type", "unknown type 'dance'"),
        ('{"type": 7}', "unknown_type", "unknown type 'int'"),
        ('{"type": "playback", "played_ms": 1}', "bad_field", "missing 'item_id'"),
        ('{"type": "playback", "item_id": "i", "played_ms": -1}', "bad_field", "'played_ms'"),
        ('{"type": "playback", "item_id": "i", "played_ms": 1e999}', "bad_field", "'played_ms'"),
        ('{"type": "playback", "item_id": "i", "played_ms": Infinity}', "bad_json", "not JSON"),
        ('{"type": "playback", "item_id": "", "played_ms": 1}', "bad_field", "'item_id'"),
        (
            '{"type": "playback", "item_id": "i", "content_index": true, "played_ms": 1}',
            "bad_field",
            "'content_index'",
        ),
        ('{"type": "text", "text": ""}', "bad_field", "'text'"),
        ('{"type": "text", "text": 5}', "bad_field", "'text' (int)"),
        ('{"type": "image", "image_url": "file:///etc/passwd"}', "bad_field", "'image_url'"),
        ('{"type": "approve", "call_id": "c", "always": "yes"}', "bad_field", "'always'"),
    ],
)
def test_bad_frames_say_what_was_wrong(frame: str | bytes, code: str, says: str) -> None:
    result = wp.decode_client_text(frame)
    assert isinstance(result, wp.ProtocolError)
    assert result.code == code
    assert says in result.message
    assert "\n" not in result.message


def test_audio_limits() -> None:
    assert wp.decode_client_audio(b"\x00") == wp.ProtocolError(
        "bad_audio", "PCM16 audio has an even number of bytes, not 1"
    )
    too_long = bytes(wp.MAX_AUDIO_BYTES + 2)
    error = wp.decode_client_audio(too_long)
    assert isinstance(error, wp.ProtocolError)
    assert "at most 48000 bytes" in error.message
    assert wp.decode_client_audio(bytes(wp.MAX_AUDIO_BYTES)) == wp.MicAudio(
        bytes(wp.MAX_AUDIO_BYTES)
    )


def test_defaults_integers_and_extra_fields() -> None:
    frame = '{"type": "playback", "item_id": "i", "played_ms": 12, "from": "a newer page"}'
    assert wp.decode_client_text(frame) == wp.PlaybackProgress("i", 0, 12.0)
    assert wp.decode_client_text('{"type": "reject", "call_id": "c"}') == wp.Reject("c")
    image = wp.SendImage("data:image/png;base64,AA", "what is it?")
    assert image.message() == {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_image", "image_url": "data:image/png;base64,AA"},
            {"type": "input_text", "text": "what is it?"},
        ],
    }
    assert wp.SendImage("data:image/png;base64,AA").message()["content"] == [
        {"type": "input_image", "image_url": "data:image/png;base64,AA"}
    ]


@pytest.mark.parametrize("module", ["rtagents.web.protocol", "rtagents.web.view"])
def test_the_protocol_and_the_view_are_pure(module: str) -> None:
    # As in tests/test_layers.py, package __init__ facades are not followed (rtagents/web's
    # re-exports the command, which is trio).
    edges = {k: {t for t in v if t not in ("rtagents", "rtagents.web")} for k, v in EDGES.items()}
    assert not reachable(module, edges) & (FORBIDDEN | {"starlette", "hypercorn"})


# -- the view: session events → page messages -------------------------------------------------


def audio(item: str, n: int = 480, index: int = 0) -> RealtimeAudio:
    return RealtimeAudio(bytes(2 * n), item, index, "resp_1")


def agent_item(text: str, status: Any = "in_progress", cut: int | None = None) -> Any:
    return it.AssistantMessageItem("item_a", (it.AssistantAudio(text),), None, status, cut)


def test_audio_is_announced_once_per_item_and_again_after_an_interrupt() -> None:
    view = PageView()
    out = view.on_event(audio("item_a")) + view.on_event(audio("item_a"))
    assert out == [wp.AudioStart("item_a", 0), AgentAudio(bytes(960)), AgentAudio(bytes(960))]
    assert view.on_event(audio("item_a", index=1))[0] == wp.AudioStart("item_a", 1)
    assert view.on_event(RealtimeAudioInterrupted("item_a", 1)) == [
        wp.AudioInterrupted("item_a", 1)
    ]
    assert view.on_event(audio("item_a", index=1))[0] == wp.AudioStart("item_a", 1)
    assert view.on_event(audio("item_b", n=0)) == [wp.AudioStart("item_b", 0)]


def test_transcripts_are_sent_when_they_change() -> None:
    view = PageView()
    user = it.UserMessageItem("item_u", (it.InputAudio(None),))
    assert view.on_event(RealtimeHistoryAdded(user)) == []  # nothing to show yet
    heard = it.UserMessageItem("item_u", (it.InputAudio("hello there"),), status="completed")
    first = view.on_event(RealtimeHistoryUpdated([heard, agent_item("Hel")]))
    assert first == [
        wp.Transcript("item_u", "user", "hello there", True),
        wp.Transcript("item_a", "agent", "Hel"),
    ]
    assert view.on_event(RealtimeHistoryUpdated([heard, agent_item("Hello")])) == [
        wp.Transcript("item_a", "agent", "Hello")
    ]
    assert view.on_event(RealtimeHistoryUpdated([heard, agent_item("Hello")])) == []
    cut = agent_item("Hel", "incomplete", 300)
    assert view.on_event(RealtimeHistoryUpdated([heard, cut])) == [
        wp.Transcript("item_a", "agent", "Hel", True, 300)
    ]


def test_transcript_of_each_kind_of_item() -> None:
    image = it.UserMessageItem(
        "u", (it.InputImage("data:image/png;base64,AA"), it.InputText(" what? ")), status=None
    )
    assert transcript_of(image) == wp.Transcript("u", "user", "[image] what?")
    text = it.AssistantMessageItem("a", (it.AssistantText("Hi."),), status="completed")
    assert transcript_of(text) == wp.Transcript("a", "agent", "Hi.", True)
    assert transcript_of(it.SystemMessageItem("s", (it.InputText("rules"),))) is None
    assert transcript_of(it.RealtimeToolCallItem("t", "c", "f", "{}")) is None


def test_only_the_newest_items_are_looked_at() -> None:
    view = PageView()
    history = [
        it.AssistantMessageItem(f"item_{n}", (it.AssistantText(f"n{n}"),), status="completed")
        for n in range(REMEMBERED + 10)
    ]
    sent = view.on_event(RealtimeHistoryUpdated(history))
    assert len(sent) == REMEMBERED
    assert sent[0] == wp.Transcript("item_10", "agent", "n10", True)
    assert view.on_event(RealtimeHistoryUpdated(history)) == []  # no churn


def test_tools_agents_errors_and_the_state() -> None:
    agent = RealtimeAgent("Helper")
    tool = type("Tool", (), {"name": "get_time"})()
    view = PageView()
    assert view.on_event(RealtimeToolStart(agent, tool, "c1", '{"city": "Oslo"}')) == [
        wp.ToolStart("c1", "get_time", '{"city": "Oslo"}')
    ]
    assert view.on_event(RealtimeToolEnd(agent, tool, "c1", "{}", 42)) == [
        wp.ToolEnd("c1", "get_time", "{}", "42")
    ]
    assert view.on_event(RealtimeToolApprovalRequired(agent, tool, "c2", "{}")) == [
        wp.ApprovalRequired("c2", "get_time", "{}")
    ]
    assert view.on_event(RealtimeAgentStartEvent(agent)) == [wp.AgentStart("Helper")]
    assert view.on_event(RealtimeError({"type": "tool_error", "message": "boom"})) == [
        wp.Error("tool_error", "boom")
    ]
    lost = view.on_event(RealtimeConnectionLost(1006, "reset"))
    assert lost == [wp.Status("lost", "the model link was lost (reset); reconnecting")]
    assert view.on_event(RealtimeRawModelEvent({"type": "x"})) == []
    assert view.state("idle") == [wp.State("idle")]
    assert view.state("idle") == []
    assert view.state("agent_speaking") == [wp.State("agent_speaking")]
