"""The chat-completions brain against a fake OpenAI-compatible server on a loopback port.

No real sleeping: every reply is immediate, and the connection-refused case uses a port that was
just closed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import trio

from rtagents import protocol as p
from rtagents.local._responders import CallTool, ResponderError, ResponseContext, ResponsePart, Say
from rtagents.local.speech._chat import ChatCompletionsBrain, build_messages
from rtagents.local.speech._errors import SpeechUnavailable
from rtagents.testing import FakeChatServer, FakeReply, open_fake_chat_server

WEATHER = p.FunctionTool(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
TIME = p.FunctionTool(name="get_time", description="The time", parameters={"type": "object"})
SECRET = "sk-test-very-secret-0123456789"


def context(
    *items: p.ConversationItem,
    instructions: str | None = "Be brief.",
    tools: Sequence[p.Tool] | None = None,
    params: p.ResponseParams | None = None,
) -> ResponseContext:
    session = p.SessionConfig(
        instructions=instructions, tools=tuple(tools) if tools is not None else None
    )
    return ResponseContext(
        conversation=tuple(items), session=session, params=params, audio_output=False
    )


async def collect(brain: ChatCompletionsBrain, ctx: ResponseContext) -> list[ResponsePart]:
    async with contextlib.aclosing(brain.respond(ctx)) as parts:
        return [part async for part in parts]


@contextlib.asynccontextmanager
async def serving(
    *replies: FakeReply, api_key: str | None = None
) -> AsyncIterator[tuple[FakeChatServer, ChatCompletionsBrain]]:
    async with open_fake_chat_server(replies) as server:
        brain = ChatCompletionsBrain(base_url=server.url, model="test-model", api_key=api_key)
        try:
            yield server, brain
        finally:
            await brain.aclose()


async def closed_port() -> int:
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


# -- text ----------------------------------------------------------------------------------------


async def test_text_streams_as_several_says() -> None:
    reply = "The weather in Oslo is mild and dry today."
    async with serving(FakeReply(text=reply)) as (server, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Weather?")))
    assert len(parts) >= 3
    assert all(isinstance(part, Say) and part.audio is None for part in parts)
    assert "".join(part.text for part in parts if isinstance(part, Say)) == reply
    (request,) = server.requests
    assert request["model"] == "test-model"
    assert request["stream"] is True
    assert request["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
    ]
    assert "tools" not in request
    stats = brain.statistics()
    assert (stats.requests, stats.failures, stats.tool_calls) == (1, 0, 0)
    assert stats.first_token_seconds_last is not None
    assert stats.first_token_seconds_last >= 0


async def test_non_streamed_json_reply() -> None:
    async with serving(FakeReply(text="Hello there.", stream=False)) as (_, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Hi")))
    assert parts == [Say("Hello there.")]


async def test_non_streamed_json_tool_call() -> None:
    reply = FakeReply(tool_calls=(("get_weather", '{"city": "Oslo"}'),), stream=False)
    async with serving(reply) as (_, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Hi"), tools=[WEATHER]))
    assert parts == [CallTool("get_weather", '{"city": "Oslo"}')]


async def test_abandoned_and_cancelled_streams_clean_up() -> None:
    replies = (
        FakeReply(text="one two three four five six"),
        FakeReply(text="never finished", stall=True),
        FakeReply(text="Still here."),
    )
    ctx = context(p.MessageItem.user_text("Hi"))
    async with serving(*replies) as (_, brain):
        async with contextlib.aclosing(brain.respond(ctx)) as parts:
            async for part in parts:
                assert part == Say("one two ")
                break  # abandoned while the generator waits at a yield
        got = []
        with trio.CancelScope() as scope:
            async with contextlib.aclosing(brain.respond(ctx)) as parts:
                async for part in parts:
                    got.append(part)
                    scope.cancel()  # cancelled while waiting for the stalled server
        assert scope.cancelled_caught
        assert got == [Say("never ")]
        parts_after = await collect(brain, ctx)
        gc.collect()  # any unfinished async generator would warn (and fail) here
    assert "".join(part.text for part in parts_after if isinstance(part, Say)) == "Still here."
    assert brain.statistics().failures == 0


# -- tools ---------------------------------------------------------------------------------------


async def test_tool_call_round_trip() -> None:
    args = '{"city": "Oslo", "unit": "celsius"}'
    replies = (
        FakeReply(tool_calls=(("get_weather", args),)),
        FakeReply(text="It is sunny in Oslo."),
    )
    question = p.MessageItem.user_text("What's the weather in Oslo?")
    async with serving(*replies) as (server, brain):
        first = await collect(brain, context(question, tools=[WEATHER]))
        assert first == [CallTool("get_weather", args)]
        assert server.requests[0]["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ]
        call = p.FunctionCallItem(call_id="call_abc", name="get_weather", arguments=args)
        output = p.FunctionCallOutputItem(call_id="call_abc", output='{"sky": "sunny"}')
        second = await collect(brain, context(question, call, output, tools=[WEATHER]))
        assert "".join(part.text for part in second if isinstance(part, Say)) == (
            "It is sunny in Oslo."
        )
        assert brain.statistics().tool_calls == 1
        assert brain.statistics().requests == 2
    messages = server.requests[1]["messages"]
    assert messages[-2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": args},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": '{"sky": "sunny"}'},
    ]


async def test_two_tool_calls_in_one_reply() -> None:
    calls = (("get_weather", '{"city": "Paris"}'), ("get_time", '{"zone": "Europe/Paris"}'))
    async with serving(FakeReply(tool_calls=calls)) as (_, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Hi"), tools=[WEATHER, TIME]))
    assert parts == [CallTool(name, args) for name, args in calls]
    assert brain.statistics().tool_calls == 2


async def test_text_then_tool_call_and_empty_arguments() -> None:
    reply = FakeReply(text="Let me check.", tool_calls=(("get_time", ""),))
    async with serving(reply) as (_, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Time?"), tools=[TIME]))
    assert "".join(part.text for part in parts if isinstance(part, Say)) == "Let me check."
    assert parts[-1] == CallTool("get_time", "{}")


async def test_consecutive_function_calls_merge_into_one_assistant_message() -> None:
    ctx = context(
        p.MessageItem.user_text("Both please"),
        p.FunctionCallItem(call_id="c1", name="get_weather", arguments='{"city":"Rome"}'),
        p.FunctionCallItem(call_id="c2", name="get_time", arguments=""),
        p.FunctionCallOutputItem(call_id="c1", output="warm"),
        p.FunctionCallOutputItem(call_id="c2", output="noon"),
        instructions=None,
    )
    messages = build_messages(ctx)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["c1", "c2"]
    assert messages[1]["tool_calls"][1]["function"]["arguments"] == "{}"


# -- what is sent --------------------------------------------------------------------------------


async def test_messages_from_instructions_transcripts_and_params_override() -> None:
    ctx = context(
        p.MessageItem.system_text("The caller is in Oslo."),
        p.MessageItem.user_audio(b"\0\0" * 10, transcript="hello there"),
        p.MessageItem(
            role="assistant",
            content=(p.OutputAudioContent(audio=b"\0\0", transcript="Hi! How can I help?"),),
        ),
        p.MessageItem.user_audio(b"\0\0" * 10, transcript=None),  # not transcribed: left out
        p.MessageItem.user_audio(b"\0\0" * 10, transcript=""),  # nothing heard: left out
        p.MessageItem(
            role="user",
            content=(
                p.InputTextContent(text="look at"),
                p.InputAudioContent(transcript="this please"),
            ),
        ),
        p.MessageItem.assistant_text("Sure."),
        p.OtherItem(wire={"type": "mcp_list_tools", "id": "x"}),
        instructions="Session instructions.",
        tools=[WEATHER],
        params=p.ResponseParams(instructions="Answer in French.", tools=(TIME,)),
    )
    async with serving(FakeReply(text="D'accord.")) as (server, brain):
        await collect(brain, ctx)
    (request,) = server.requests
    assert request["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "system", "content": "The caller is in Oslo."},
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "look at this please"},
        {"role": "assistant", "content": "Sure."},
    ]
    assert [t["function"]["name"] for t in request["tools"]] == ["get_time"]


async def test_no_tools_and_no_instructions_are_omitted() -> None:
    ctx = context(
        p.MessageItem.user_text("Hi"),
        instructions="",
        tools=[p.McpTool(server_label="remote", server_url="https://mcp.example")],
    )
    brain = ChatCompletionsBrain(
        base_url="http://127.0.0.1:1/v1", model="m", temperature=0.2, max_tokens=64
    )
    body = brain.request_body(ctx)
    assert "tools" not in body
    assert "tool_choice" not in body
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert (body["temperature"], body["max_tokens"]) == (0.2, 64)
    assert "temperature" not in ChatCompletionsBrain("http://x/v1", "m").request_body(ctx)


async def test_params_empty_instructions_override_session() -> None:
    ctx = context(p.MessageItem.user_text("Hi"), params=p.ResponseParams(instructions=""))
    assert build_messages(ctx) == [{"role": "user", "content": "Hi"}]


async def test_tool_choice_passes_through() -> None:
    ctx = context(
        p.MessageItem.user_text("Hi"),
        tools=[WEATHER],
        params=p.ResponseParams(tool_choice=p.FunctionToolChoice(name="get_weather")),
    )
    body = ChatCompletionsBrain("http://x/v1", "m").request_body(ctx)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


# -- failures ------------------------------------------------------------------------------------


async def test_http_500_is_a_responder_error() -> None:
    async with serving(FakeReply(status=500, text="model exploded")) as (_, brain):
        with pytest.raises(ResponderError, match="500") as info:
            await collect(brain, context(p.MessageItem.user_text("Hi")))
    assert "model exploded" in str(info.value)
    assert brain.statistics().failures == 1


async def test_exhausted_replies_answer_500() -> None:
    async with serving() as (_, brain):
        with pytest.raises(ResponderError, match="500"):
            await collect(brain, context(p.MessageItem.user_text("Hi")))


async def test_connection_refused_is_a_responder_error() -> None:
    brain = ChatCompletionsBrain(base_url=f"http://127.0.0.1:{await closed_port()}/v1", model="m")
    try:
        with pytest.raises(ResponderError, match="cannot reach"):
            await collect(brain, context(p.MessageItem.user_text("Hi")))
    finally:
        await brain.aclose()
    assert brain.statistics().failures == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"data: {not json\n\n",
        b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [1, 2\n\n',
        b"data: 42\n\n",
    ],
)
async def test_malformed_stream_is_a_responder_error(raw: bytes) -> None:
    async with serving(FakeReply(raw=raw)) as (_, brain):
        with pytest.raises(ResponderError, match="JSON"):
            await collect(brain, context(p.MessageItem.user_text("Hi")))


async def test_error_object_in_stream_is_a_responder_error() -> None:
    raw = b'data: {"error": {"message": "context too long", "code": 400}}\n\n'
    async with serving(FakeReply(raw=raw)) as (_, brain):
        with pytest.raises(ResponderError, match="context too long"):
            await collect(brain, context(p.MessageItem.user_text("Hi")))


async def test_tolerant_stream_crlf_comments_and_missing_done() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"total_tokens": 3}},
    ]
    raw = b": ping\r\n\r\nevent: message\r\n"
    raw += b"".join(b"data:" + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
    async with serving(FakeReply(raw=raw)) as (_, brain):
        parts = await collect(brain, context(p.MessageItem.user_text("Hi")))
    assert parts == [Say("Hel"), Say("lo")]


async def test_api_key_sent_as_bearer_and_never_shown() -> None:
    async with serving(
        FakeReply(text="ok"), FakeReply(status=401, text=f"bad key {SECRET}"), api_key=SECRET
    ) as (server, brain):
        await collect(brain, context(p.MessageItem.user_text("Hi")))
        with pytest.raises(ResponderError, match="401") as info:
            await collect(brain, context(p.MessageItem.user_text("Hi")))
    assert server.auth_headers == [f"Bearer {SECRET}"] * 2
    assert SECRET not in repr(brain)
    assert SECRET not in str(info.value)
    assert "[redacted]" in str(info.value)
    assert SECRET not in str(info.value.__cause__)


async def test_no_authorization_header_without_key() -> None:
    async with serving(FakeReply(text="ok")) as (server, brain):
        await collect(brain, context(p.MessageItem.user_text("Hi")))
    assert server.auth_headers == [None]


async def test_refused_connection_message_hides_key_and_url_password() -> None:
    port = await closed_port()
    brain = ChatCompletionsBrain(
        base_url=f"http://user:pw-{SECRET}@127.0.0.1:{port}/v1", model="m", api_key=SECRET
    )
    try:
        with pytest.raises(ResponderError) as info:
            await collect(brain, context(p.MessageItem.user_text("Hi")))
    finally:
        await brain.aclose()
    assert SECRET not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


# -- configuration -------------------------------------------------------------------------------


def test_from_env_requires_the_url() -> None:
    with pytest.raises(ValueError, match="RTAGENTS_CHAT_URL"):
        ChatCompletionsBrain.from_env({})
    with pytest.raises(ValueError, match="RTAGENTS_CHAT_URL"):
        ChatCompletionsBrain.from_env({"RTAGENTS_CHAT_URL": "  ", "OPENAI_API_KEY": SECRET})


def test_from_env_defaults() -> None:
    brain = ChatCompletionsBrain.from_env(
        {"RTAGENTS_CHAT_URL": "http://127.0.0.1:8080/v1", "OPENAI_API_KEY": SECRET}
    )
    assert brain.base_url == "http://127.0.0.1:8080/v1"
    assert brain.model == "local"
    assert brain.api_key is None  # OPENAI_API_KEY is only for api.openai.com
    assert brain.endpoint == "http://127.0.0.1:8080/v1/chat/completions"


def test_from_env_keys() -> None:
    openai: dict[str, Any] = {
        "RTAGENTS_CHAT_URL": "https://api.openai.com/v1/",
        "RTAGENTS_CHAT_MODEL": "gpt-4o-mini",
        "OPENAI_API_KEY": SECRET,
    }
    brain = ChatCompletionsBrain.from_env(openai)
    assert (brain.model, brain.api_key) == ("gpt-4o-mini", SECRET)
    assert brain.endpoint == "https://api.openai.com/v1/chat/completions"
    assert SECRET not in repr(brain)
    own = ChatCompletionsBrain.from_env({**openai, "RTAGENTS_CHAT_API_KEY": "sk-own"})
    assert own.api_key == "sk-own"


def test_missing_httpx_raises_speech_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(SpeechUnavailable, match=r"pip install 'rtagents\[local\]'"):
        ChatCompletionsBrain(base_url="http://127.0.0.1:8080/v1", model="m")
