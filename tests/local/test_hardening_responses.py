"""Responses that cannot hurt the server: streamed, bounded, and failing alone.

Reproductions from the reliability issue: a 20,000-character tool output answered with
``response.create`` blocked every connection for 6 s (the scripted voice synthesized the whole
answer at once; 100,000 characters exited the process, see test_hardening_process.py), and a
responder's exception ended the connection.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from rtagents import protocol as p
from rtagents.local import ResponseContext, ResponsePart, Say, ScriptedResponder
from rtagents.local._response_builder import MAX_OUTPUT_TOKENS
from tests.local.test_hardening_support import is_done, memory_client, transcript, user_text


def tool_output(chars: int) -> list[p.WireEvent]:
    output = ("All work and no play makes a dull answer. " * (chars // 42 + 1))[:chars]
    item = p.FunctionCallOutputItem(call_id="call_big", output=output)
    return [p.ConversationItemCreate(item=item), p.ResponseCreate()]


def test_the_scripted_voice_synthesizes_as_it_is_asked() -> None:
    # The first parts of a 5-minute answer cost what they are, not the whole answer.
    text = "x" * 5000  # 300 s of synthetic voice at 60 ms a character
    context = ResponseContext(
        conversation=(p.FunctionCallOutputItem(call_id="c", output=text),),
        session=p.SessionConfig(),
        params=None,
        audio_output=True,
    )

    async def first_parts() -> list[ResponsePart]:
        parts = ScriptedResponder().respond(context)
        taken = [await parts.__anext__() for _ in range(3)]
        await parts.aclose()  # type: ignore[attr-defined]
        return taken

    tracemalloc.start()
    try:
        taken = trio.run(first_parts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, peak  # the whole answer's signal would be 300 MB
    assert [len(part.audio or b"") for part in taken] == [4800] * 3  # type: ignore[union-attr]


async def test_a_huge_tool_output_is_capped_and_other_connections_keep_their_pace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # One connection gets a 20,000-character answer to speak; another has short turns
    # meanwhile.  The short turns are answered while the long answer is still being produced
    # (the server yields between its parts; before, it synthesized the whole answer at once and
    # every other connection waited), and the long answer stops at the response limit.  (How
    # long the loop goes without scheduling is a timing: benchmarks/local_server_load.py.)
    results: dict[str, list[Any]] = {}
    finished: list[str] = []
    measured = trio.Event()  # the clients stay connected until both are done

    def done_with(name: str) -> None:
        finished.append(name)
        if len(finished) == 2:
            measured.set()

    async def huge() -> None:
        async with memory_client() as client:
            for event in tool_output(20_000):
                await client.send(event)
            results["huge"] = await client.until(is_done)
            done_with("huge")
            await measured.wait()

    async def short_turns() -> None:
        async with memory_client() as client:
            done = []
            for _ in range(3):
                await client.send(user_text("hello"))
                await client.send(p.ResponseCreate())
                done.append((await client.until(is_done))[-1])
            results["short"] = done
            done_with("short")
            await measured.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(huge)
        nursery.start_soon(short_turns)
    assert finished == ["short", "huge"]
    assert [d.response.status for d in results["short"]] == ["completed"] * 3
    done = results["huge"][-1]
    assert done.response.status == "incomplete"
    assert done.response.status_details.reason == "max_output_tokens"
    assert MAX_OUTPUT_TOKENS <= done.response.usage.output_tokens < MAX_OUTPUT_TOKENS + 10
    said = transcript(results["huge"])
    assert said.startswith("The result is All work and no play")
    assert len(said) < 20_000 // 5


async def test_max_output_tokens_of_a_response_is_honoured(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with memory_client() as client:
        await client.send(user_text("a story please"))
        await client.send(p.ResponseCreate(response=p.ResponseParams(max_output_tokens=20)))
        events = await client.until(is_done)
    done = events[-1]
    assert (done.response.status, done.response.status_details.reason) == (
        "incomplete",
        "max_output_tokens",
    )
    assert 20 <= done.response.usage.output_tokens < 25  # one 100 ms part is 2.5 tokens
    message = next(e for e in events if isinstance(e, p.ResponseOutputItemDone))
    assert isinstance(message.item, p.MessageItem)
    assert message.item.status == "incomplete"


@attrs.define
class Fragile:
    """Says a little, then fails with `error` on the responses numbered in `fail`."""

    error: BaseException
    fail: frozenset[int] = frozenset({0})
    calls: int = 0

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        n = self.calls
        self.calls += 1
        yield Say("Well", bytes(4800) if context.audio_output else None)
        if n in self.fail:
            raise self.error
        yield Say(" then.", bytes(4800) if context.audio_output else None)


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), KeyError("missing"), ZeroDivisionError("division by zero")]
)
async def test_a_responder_exception_fails_only_that_response(
    autojump_clock: trio.testing.MockClock, error: Exception
) -> None:
    async with memory_client(Fragile(error)) as client:
        await client.send(user_text("hi"))
        await client.send(p.ResponseCreate())
        failed = await client.until(is_done)
        await client.send(p.ResponseCreate())
        ok = await client.until(is_done)
    (problem,) = [e for e in failed if isinstance(e, p.ErrorEvent)]
    assert (problem.error.type, problem.error.code) == ("server_error", "responder_failed")
    assert type(error).__name__ in problem.error.message
    done = failed[-1]
    assert done.response.status == "failed"
    assert done.response.status_details.error.code == "responder_failed"
    assert type(error).__name__ in done.response.status_details.error.message
    assert transcript(failed) == "Well"
    assert ok[-1].response.status == "completed"
    assert transcript(ok) == "Well then."


async def test_a_failure_inside_the_session_core_is_an_error_not_a_lost_connection(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtagents.local import _core

    def broken(session: Any, event: Any) -> Any:
        raise RuntimeError("a bug in the core")

    monkeypatch.setitem(_core._HANDLERS, p.InputAudioBufferClear, broken)
    async with memory_client() as client:
        await client.send(p.InputAudioBufferClear(event_id="x"))
        (error,) = await client.until(lambda e: isinstance(e, p.ErrorEvent))
        assert (error.error.type, error.error.code) == ("server_error", "internal_error")
        assert "a bug in the core" in error.error.message
        await client.send(user_text("hi"))
        await client.send(p.ResponseCreate())
        assert (await client.until(is_done))[-1].response.status == "completed"
