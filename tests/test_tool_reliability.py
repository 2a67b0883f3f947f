"""Tool calls never take the session down: every way a tool path can fail is answered.

Regression tests for the tool-reliability issue, one reproduction each: a result that cannot be
converted, a blocking sync tool, an unknown tool, and each way a tool path can raise (hooks,
cleanup after a timeout, error functions, the run's ``tool_error_formatter``).  Every one
crashed the session, hung it, blocked its event loop or left the model silent before the fix.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import RealtimeRunConfig, open_session
from rtagents import protocol as p
from rtagents._agency.tools import ToolRunner
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.actors import ToolCall, ToolExecutor, ToolResult
from rtagents.actors.tools import MAX_TOOL_THREADS
from rtagents.agent import RealtimeAgent, function_tool
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.events import RealtimeSessionEvent
from rtagents.function_tools import (
    MAX_OUTPUT_CHARS,
    FunctionTool,
    convert_tool_output,
    tool_output_text,
)
from rtagents.testing._scripted import ScriptedModel

# -- helpers -----------------------------------------------------------------------------------


def returning(value: Any, name: str = "give", **options: Any) -> FunctionTool:
    """A hand-made async tool that returns `value` as is."""

    async def invoke(ctx: Any, arguments: str) -> Any:
        return value

    return FunctionTool(name, "", {}, invoke, strict_json_schema=False, **options)


async def execute(
    calls: list[ToolCall],
    seconds: float = 10,
    **options: Any,
) -> tuple[dict[str, ToolResult], ToolExecutor]:
    """Run `calls` through an executor for `seconds`; the results by call id."""
    done: dict[str, ToolResult] = {}

    async def on_done(result: ToolResult) -> None:
        assert result.call.call_id not in done, "answered twice"
        done[result.call.call_id] = result

    options.setdefault("on_done", on_done)
    executor = ToolExecutor(**options)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for call in calls:
            executor.submit_nowait(call)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    return done, executor


def call(tool: FunctionTool | None, call_id: str = "c1", arguments: str = "{}") -> ToolCall:
    name = tool.name if tool is not None else "nope"
    ctx = ToolContext(None, tool_name=name, tool_call_id=call_id, tool_arguments=arguments)
    return ToolCall(call_id, name, arguments, tool, ctx)


def kinds(result: ToolResult) -> list[str]:
    return [problem.kind for problem in result.problems]


def function_call(call_id: str, name: str, arguments: str = "{}", n: int = 0) -> Any:
    item = p.FunctionCallItem(
        id=f"i{call_id}", call_id=call_id, name=name, arguments=arguments, status="completed"
    )
    return p.ResponseOutputItemDone(
        event_id=f"e{call_id}", response_id="r1", output_index=n, item=item
    )


async def live(
    tools: list[FunctionTool],
    *calls: tuple[str, str],
    seconds: float = 5,
    during: Callable[[Any], Awaitable[None]] | None = None,
    **config: Any,
) -> tuple[ScriptedModel, list[RealtimeSessionEvent], Any]:
    """A live session on the scripted model: the model calls `calls`, one response."""
    model = ScriptedModel(strict=False)
    run_config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False, **config)
    events: list[RealtimeSessionEvent] = []
    async with open_session(RealtimeAgent("A", tools=tools), run_config) as session:
        if during is not None:
            await during(session)
        model.emit(
            p.ResponseCreated(event_id="e0", response=p.Response(id="r1", status="in_progress")),
            *[function_call(f"c{n}", name, args, n) for n, (name, args) in enumerate(calls)],
            p.ResponseDone(event_id="e9", response=p.Response(id="r1", status="completed")),
        )
        await trio.sleep(seconds)
        while True:
            try:
                events.append(session.receive_nowait())
            except trio.WouldBlock:
                break
        stats = session.statistics()
    return model, events, stats


def sent_outputs(model: ScriptedModel) -> dict[str, str]:
    return {e.item.call_id: e.item.output for e in model.sent_of(p.ConversationItemCreate)}


def errors(events: list[RealtimeSessionEvent]) -> list[Any]:
    return [e.error for e in events if e.type == "error"]


# -- 1. results that cannot be converted -------------------------------------------------------


class Locked:
    def __init__(self) -> None:
        self.lock = threading.Lock()


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


@dataclasses.dataclass
class WithLock:
    name: str
    lock: Any


@attrs.define
class AttrsWithBad:
    name: str
    bad: Any


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def gen() -> Generator[int, None, None]:
    yield 1


def cyclic() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


BAD_RESULTS: dict[str, Callable[[], Any]] = {
    "lock_object": Locked,
    "bad_str": BadStr,
    "deep_list": lambda: deep_list(100_000),
    "deep_dict": lambda: {"a": deep_list(100_000)},
    "non_str_keys": lambda: {(1, 2): "tuple", frozenset({1}): "set", BadStr(): "bad", 1.5: 2},
    "generator": gen,
    "bytes": lambda: b"\x00\xff binary",
    "nan": lambda: {"x": math.nan, "y": [math.inf, -math.inf]},
    "dataclass_with_lock": lambda: WithLock("w", threading.Lock()),
    "attrs_with_bad": lambda: AttrsWithBad("a", BadStr()),
    "huge_int": lambda: 10**5000,
    "huge_str": lambda: "x" * (MAX_OUTPUT_CHARS * 3),
    "huge_list": lambda: list(range(2_000_000)),
    "cycle": cyclic,
    "lone_surrogate": lambda: "bad \ud800 text",
    "set": lambda: {3, 1, 2},
}


@pytest.mark.parametrize("name", list(BAD_RESULTS))
async def test_any_result_is_answered_with_bounded_text(name: str) -> None:
    tool = returning(BAD_RESULTS[name]())
    done, executor = await execute([call(tool)], seconds=0.5)
    result = done["c1"]
    assert result.status == "completed"
    assert isinstance(result.text, str)
    assert 0 < len(result.text) <= MAX_OUTPUT_CHARS
    result.text.encode("utf-8")  # no lone surrogate: the link can send it
    assert executor.statistics().completed == 1


def test_what_the_model_reads_for_awkward_results() -> None:
    assert tool_output_text({"x": math.nan, "y": math.inf}) == '{"x": "NaN", "y": "Infinity"}'
    assert json.loads(tool_output_text({(1, 2): "t", 1: "one", None: 0}))["(1, 2)"] == "t"
    assert tool_output_text(WithLock("w", None)) == '{"name": "w", "lock": null}'
    assert tool_output_text({3, 1, 2}) == "[1, 2, 3]"
    assert tool_output_text(b"abc") == "\"b'abc'\""  # str(), as before
    assert "could not be converted" in tool_output_text(BadStr())
    assert "BadStr" in tool_output_text(BadStr())
    text = tool_output_text("y" * (MAX_OUTPUT_CHARS + 10))
    assert len(text) == MAX_OUTPUT_CHARS
    assert "cut" in text[-200:]
    assert "circular" in tool_output_text(cyclic())
    assert tool_output_text(10**5000).startswith('"an integer of')
    # The limit is a parameter.
    assert len(tool_output_text(list(range(1000)), limit=100)) == 100


async def test_a_result_that_cannot_be_converted_does_not_end_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bad = returning(WithLock("w", threading.Lock()), name="bad")
    deep = returning(deep_list(100_000), name="deep")
    model, _, stats = await live([bad, deep], ("bad", "{}"), ("deep", "{}"))
    outputs = sent_outputs(model)
    assert json.loads(outputs["c0"])["name"] == "w"
    assert len(outputs["c1"]) <= MAX_OUTPUT_CHARS
    assert len(model.sent_of(p.ResponseCreate)) >= 1  # the model is asked to go on
    assert stats.tools.completed == 2


async def test_an_output_over_the_limit_is_cut_and_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    huge = returning("z" * (MAX_OUTPUT_CHARS + 1), name="huge")
    model, events, stats = await live([huge], ("huge", "{}"))
    (output,) = sent_outputs(model).values()
    assert len(output) == MAX_OUTPUT_CHARS
    assert output.startswith("zzz")
    assert "cut" in output[-200:]
    (error,) = errors(events)
    assert (error["type"], error["tool"]) == ("tool_output_cut", "huge")
    assert stats.tools.outputs_cut == 1


_NASTY = threading.local()  # set while converting: hypothesis itself needs the repr


class Nasty:
    """Its str() and repr() raise (while converting)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __str__(self) -> str:
        if getattr(_NASTY, "on", False):
            raise ValueError(f"str {self.n}")
        return f"Nasty({self.n})"

    def __repr__(self) -> str:
        if getattr(_NASTY, "on", False):
            raise KeyError(f"repr {self.n}")
        return f"Nasty({self.n})"

    def __hash__(self) -> int:
        return self.n


def _unreprable() -> st.SearchStrategy[Any]:
    return st.integers().map(Nasty)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # nan and the infinities included
    | st.text()
    | st.binary()
    | _unreprable()
)
_keys = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
_hashable = st.recursive(_keys | _unreprable(), lambda inner: st.tuples(inner, inner), max_leaves=4)

python_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_hashable, inner, max_size=4)
        | st.sets(_hashable, max_size=4)
        | st.frozensets(_keys, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=python_values, limit=st.integers(40, 400))
def test_tool_output_text_never_raises(value: Any, limit: int) -> None:
    _NASTY.on = True
    try:
        text = tool_output_text(value, limit=limit)
        converted = convert_tool_output(value, limit=limit)
    finally:
        _NASTY.on = False
    assert isinstance(text, str)
    assert len(text) <= limit
    assert text or value == ""  # only an empty string reads as nothing
    text.encode("utf-8")
    assert converted.text == text
    if converted.cut:
        assert len(text) == limit  # as much as fits, and the note saying it was cut
        assert "cut" in text or limit < 60
    elif converted.converted and not isinstance(value, str):
        json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


@settings(max_examples=100, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    )
)
def test_json_values_are_sent_as_json(value: Any) -> None:
    if isinstance(value, str):
        assert tool_output_text(value) == value
    else:
        assert tool_output_text(value) == json.dumps(value)


# -- 2. sync tools run in worker threads -------------------------------------------------------


def sleeper(release: threading.Event, seconds: float, **options: Any) -> FunctionTool:
    """A hand-made sync tool that blocks (until `release` or `seconds`)."""

    def invoke(ctx: Any, arguments: str) -> str:
        release.wait(seconds)
        return "woke"

    return FunctionTool("sleepy", "", {}, invoke, strict_json_schema=False, **options)


async def test_a_blocking_sync_tool_does_not_stall_the_loop_and_times_out() -> None:
    release = threading.Event()
    tool = sleeper(release, 3.0, timeout_seconds=0.5)
    ticks: list[float] = []
    done: dict[str, tuple[float, ToolResult]] = {}

    async def on_done(result: ToolResult) -> None:
        done[result.call.call_id] = (trio.current_time(), result)

    executor = ToolExecutor(on_done)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            start = trio.current_time()
            executor.submit_nowait(call(tool))
            for _ in range(10):  # the event loop keeps running while the tool blocks
                await trio.sleep(0.1)
                ticks.append(trio.current_time() - start)
            nursery.cancel_scope.cancel()
    finally:
        release.set()
    at, result = done["c1"]
    assert at - start == pytest.approx(0.5, abs=0.25)  # the timeout is honoured
    assert (result.status, result.text) == ("timeout", "Tool 'sleepy' timed out after 0.5 seconds.")
    assert ticks[-1] < 1.5  # ten 0.1 s sleeps, not held up for 3 s
    stats = executor.statistics()
    assert (stats.timed_out, stats.threads_abandoned) == (1, 1)
    assert "tool_thread_abandoned" in kinds(result)


async def test_a_sync_function_tool_may_have_a_timeout() -> None:
    release = threading.Event()

    @function_tool(timeout=0.3, timeout_behavior="raise_exception")
    def block(n: int) -> str:
        """Blocks."""
        release.wait(5)
        return "late"

    try:
        done, executor = await execute([call(block, arguments='{"n": 1}')], seconds=1)
    finally:
        release.set()
    assert done["c1"].status == "error"
    assert done["c1"].text == "Tool block failed: Tool 'block' timed out after 0.3 seconds."
    assert executor.statistics().threads_abandoned == 1


async def test_sync_tools_run_in_a_worker_thread_with_their_context() -> None:
    seen: list[Any] = []

    @function_tool
    def where(ctx: ToolContext[Any], n: int) -> str:
        """Where it runs."""
        now = trio.from_thread.run_sync(trio.current_time)  # the loop is reachable
        seen.append((threading.current_thread() is threading.main_thread(), ctx.tool_call_id))
        return f"{n} at {now:.0f}"

    done, executor = await execute([call(where, "c7", '{"n": 2}')], seconds=0.5)
    assert done["c7"].status == "completed"
    assert done["c7"].text.startswith("2 at ")
    assert seen == [(False, "c7")]
    assert executor.statistics().threads_abandoned == 0


async def test_tool_threads_are_bounded_and_waiting_counts_against_the_timeout() -> None:
    release = threading.Event()
    lock = threading.Lock()
    busy = [0, 0]  # now, most

    def invoke(ctx: Any, arguments: str) -> str:
        with lock:
            busy[0] += 1
            busy[1] = max(busy[1], busy[0])
        try:
            release.wait(float(arguments))
        finally:
            with lock:
                busy[0] -= 1
        return "ok"

    slow = FunctionTool("slow", "", {}, invoke, strict_json_schema=False, timeout_seconds=5)
    quick = FunctionTool("quick", "", {}, invoke, strict_json_schema=False, timeout_seconds=0.3)
    seen: list[Any] = []

    async def on_done(result: ToolResult) -> None:
        seen.append((result.call.call_id, result.status))

    executor = ToolExecutor(on_done, max_threads=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for i in range(2):
            executor.submit_nowait(call(slow, f"s{i}", "0.8"))
        await trio.sleep(0.05)  # both slow calls have their threads
        executor.submit_nowait(call(quick, "q", "0.01"))
        await trio.sleep(0.05)
        stats = executor.statistics()
        assert (stats.threads_busy, stats.threads_waiting) == (2, 1)
        await trio.sleep(1.5)
        nursery.cancel_scope.cancel()
    release.set()
    # "quick" waited for a thread, under its own timeout, and never started: not abandoned.
    assert sorted(seen) == [("q", "timeout"), ("s0", "completed"), ("s1", "completed")]
    assert busy[1] == 2
    assert executor.statistics().threads_abandoned == 0
    assert MAX_TOOL_THREADS >= 1


async def test_a_sync_tool_under_the_mock_clock_takes_no_virtual_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool(timeout=1)
    def work(n: int) -> int:
        """Real work, in real time."""
        time.sleep(0.05)
        return n * 2

    done, _ = await execute([call(work, arguments='{"n": 21}')], seconds=5)
    assert (done["c1"].status, done["c1"].text) == ("completed", "42")


async def test_a_sync_tool_that_returns_an_awaitable_is_awaited_on_the_loop() -> None:
    async def later() -> str:
        await trio.sleep(0.01)
        return "awaited"

    tool = FunctionTool("t", "", {}, lambda ctx, args: later(), strict_json_schema=False)
    done, _ = await execute([call(tool)], seconds=0.3)
    assert (done["c1"].status, done["c1"].text) == ("completed", "awaited")


async def test_a_blocking_sync_tool_does_not_stall_a_live_session() -> None:
    release = threading.Event()
    tool = sleeper(release, 3.0, timeout_seconds=0.5)
    try:
        model, events, stats = await live([tool], ("sleepy", "{}"), seconds=1.0)
    finally:
        release.set()
    assert sent_outputs(model) == {"c0": "Tool 'sleepy' timed out after 0.5 seconds."}
    assert len(model.sent_of(p.ResponseCreate)) == 1
    assert stats.tools.threads_abandoned == 1
    assert [e["type"] for e in errors(events)] == ["tool_thread_abandoned"]


# -- 3. an unknown tool -------------------------------------------------------------------------


async def test_an_unknown_tool_is_answered_and_the_model_asked_to_go_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model, events, _ = await live([], ("nope", "{}"))
    assert sent_outputs(model) == {"c0": "Tool nope not found"}  # the SDK's words
    assert len(model.sent_of(p.ResponseCreate)) == 1  # not left silent
    (error,) = errors(events)
    assert error["type"] == "tool_not_found"
    assert error["message"] == "Tool nope not found"


# -- 4. every other way a tool path can raise -------------------------------------------------


async def test_on_start_raising_still_runs_and_answers_the_call() -> None:
    def on_start(c: ToolCall) -> None:
        raise RuntimeError("start hook broke")

    done, executor = await execute([call(returning("fine"))], seconds=0.2, on_start=on_start)
    assert (done["c1"].status, done["c1"].text) == ("completed", "fine")
    assert kinds(done["c1"]) == ["tool_start_failed"]
    assert "start hook broke" in done["c1"].problems[0].message
    assert executor.statistics().callback_errors == 1


async def test_on_done_raising_does_not_end_the_executor() -> None:
    answered: list[str] = []

    async def on_done(result: ToolResult) -> None:
        answered.append(result.call.call_id)
        if result.call.call_id == "c1":
            raise RuntimeError("answer broke")

    tool = returning("fine")
    _, executor = await execute([call(tool, "c1"), call(tool, "c2")], seconds=0.2, on_done=on_done)
    assert sorted(answered) == ["c1", "c2"]  # once each
    stats = executor.statistics()
    assert (stats.callback_errors, stats.in_flight, stats.completed) == (1, 0, 2)


async def test_a_tool_raising_after_its_timeout_is_answered_as_timed_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def raise_on_cancel() -> str:
        try:
            await trio.sleep(10)
        finally:
            raise RuntimeError("cleanup failed")

    async def child_raises_on_cancel() -> str:
        async def child() -> None:
            try:
                await trio.sleep(10)
            finally:
                raise ValueError("child cleanup failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return "never"

    plain = FunctionTool(
        "plain", "", {}, lambda c, a: raise_on_cancel(), strict_json_schema=False, timeout=1
    )

    async def nursery_invoke(ctx: Any, arguments: str) -> str:
        return await child_raises_on_cancel()

    grouped = FunctionTool("grouped", "", {}, nursery_invoke, strict_json_schema=False, timeout=1)
    done, executor = await execute([call(plain, "c1"), call(grouped, "c2")], seconds=3)
    for call_id, name in (("c1", "plain"), ("c2", "grouped")):
        result = done[call_id]
        assert (result.status, result.text) == (
            "timeout",
            f"Tool '{name}' timed out after 1 seconds.",
        )
        assert kinds(result) == ["tool_cleanup_failed"]
    assert executor.statistics().timed_out == 2


async def test_a_tool_raising_while_interrupted_is_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def invoke(ctx: Any, arguments: str) -> str:
        async def child() -> None:
            try:
                await trio.sleep(10)
            finally:
                raise ValueError("child cleanup failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return "never"

    tool = FunctionTool("t", "", {}, invoke, strict_json_schema=False, cancel_on_interrupt=True)
    done: list[ToolResult] = []

    async def on_done(result: ToolResult) -> None:
        done.append(result)

    executor = ToolExecutor(on_done)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        executor.submit_nowait(call(tool))
        await trio.sleep(1)
        assert executor.cancel_interruptible() == 1
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    (result,) = done
    assert result.status == "cancelled"
    assert kinds(result) == ["tool_cleanup_failed"]


def _failing_formatter(ctx: Any, error: Exception) -> str:
    raise LookupError("formatter broke")


class Weird:
    def __str__(self) -> str:
        raise RuntimeError("weird")


@pytest.mark.parametrize(
    ("formatter", "text", "problem"),
    [
        (_failing_formatter, "Tool t failed: KeyError", "tool_error_function_failed"),
        (lambda ctx, error: {"why": str(error)}, '{"why": "\'k\'"}', "tool_error_function_non_str"),
        (lambda ctx, error: None, "null", "tool_error_function_non_str"),
        (lambda ctx, error: Weird(), None, "tool_error_function_non_str"),
        (lambda ctx, error: "e" * (MAX_OUTPUT_CHARS * 2), None, None),
    ],
)
async def test_failure_error_functions_that_misbehave(
    formatter: Any, text: str | None, problem: str | None
) -> None:
    def invoke(ctx: Any, arguments: str) -> str:
        raise KeyError("k")

    tool = FunctionTool(
        "t", "", {}, invoke, strict_json_schema=False, failure_error_function=formatter
    )
    done, executor = await execute([call(tool)], seconds=0.3)
    result = done["c1"]
    assert result.status == "error"
    assert isinstance(result.error, KeyError)
    assert isinstance(result.text, str)
    assert len(result.text) <= MAX_OUTPUT_CHARS
    if text is not None:
        assert result.text == text
    if problem is not None:
        assert problem in kinds(result)
    assert executor.statistics().failed == 1


async def test_timeout_error_functions_that_misbehave(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def slow(ctx: Any, arguments: str) -> str:
        await trio.sleep(10)
        return "never"

    raising = FunctionTool(
        "raising", "", {}, slow, strict_json_schema=False, timeout=1,
        timeout_error_function=_failing_formatter,
    )  # fmt: skip
    weird = FunctionTool(
        "weird", "", {}, slow, strict_json_schema=False, timeout=1,
        timeout_error_function=lambda ctx, error: Weird(),
    )  # fmt: skip
    done, _ = await execute([call(raising, "c1"), call(weird, "c2")], seconds=3)
    assert done["c1"].text == "Tool 'raising' timed out after 1 seconds."
    assert kinds(done["c1"]) == ["tool_error_function_failed"]
    assert done["c2"].status == "timeout"
    assert kinds(done["c2"]) == ["tool_error_function_non_str"]


@pytest.mark.parametrize("how", ["raises", "returns_unprintable", "returns_huge"])
async def test_a_misbehaving_tool_error_formatter_does_not_end_the_session(
    how: str, autojump_clock: trio.testing.MockClock
) -> None:
    def formatter(args: Any) -> Any:
        if how == "raises":
            raise RuntimeError("formatter broke")
        if how == "returns_unprintable":
            return Weird()
        return "f" * (MAX_OUTPUT_CHARS * 2)

    model, events, _ = await live([], ("nope", "{}"), tool_error_formatter=formatter)
    (output,) = sent_outputs(model).values()
    if how == "returns_huge":
        assert len(output) == MAX_OUTPUT_CHARS
    else:
        assert output == "Tool nope not found"  # the default text
    types = [e["type"] for e in errors(events)]
    assert "tool_not_found" in types
    if how != "returns_huge":
        assert "tool_error_formatter_failed" in types
    assert len(model.sent_of(p.ResponseCreate)) == 1


async def test_a_misbehaving_formatter_of_a_rejection_is_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool(needs_approval=True)
    async def guarded() -> str:
        """Needs approval."""
        return "ran"

    def formatter(args: Any) -> Any:
        raise RuntimeError("formatter broke")

    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(
        link_factory=model.link_factory, local_vad=False, tool_error_formatter=formatter
    )
    events: list[Any] = []
    async with (
        open_session(RealtimeAgent("A", tools=[guarded]), config) as session,
        trio.open_nursery() as nursery,
    ):

        async def decide() -> None:
            async for event in session:
                events.append(event)
                if event.type == "tool_approval_required":
                    await session.reject_tool_call(event.call_id)

        nursery.start_soon(decide)
        model.emit(function_call("c1", "guarded"))
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert sent_outputs(model) == {"c1": "Tool execution was not approved."}
    assert "tool_error_formatter_failed" in [e["type"] for e in errors(events)]


async def test_a_needs_approval_policy_that_raises_is_answered_and_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def policy(ctx: Any, arguments: dict[str, Any], call_id: str) -> bool:
        raise ValueError("policy broke")

    @function_tool(needs_approval=policy)
    async def guarded() -> str:
        """Needs a decision."""
        return "ran"

    model, events, stats = await live([guarded], ("guarded", "{}"))
    assert sent_outputs(model) == {"c0": "Tool guarded failed: ValueError"}  # not run
    assert [e["type"] for e in errors(events)] == ["tool_error", "tool_approval_failed"]
    assert len(model.sent_of(p.ResponseCreate)) == 1
    assert stats.tools.failed == 1


class FailingPort:
    """A session port whose events for the app fail to be taken, for `failing` types."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.pushed: list[Any] = []
        self.sent: list[Any] = []
        self.fed: list[Any] = []
        self.responses = 0

    def push(self, event: Any) -> None:
        if event.type in self.failing:
            raise RuntimeError(f"cannot push {event.type}")
        self.pushed.append(event)

    async def send(self, event: Any) -> None:
        self.sent.append(event)

    async def request_response(self) -> None:
        self.responses += 1

    def feed(self, event: Any) -> None:
        self.fed.append(event)

    def interrupt_response(self, response_id: str) -> None:
        pass

    def session_config(self, resolved: Any, *, initial: bool) -> Any:
        raise NotImplementedError

    def is_latest_response(self, response_id: str) -> bool:
        return True


class NullHooks:
    def queue(self, occasion: Any) -> None:
        pass


def _boom(ctx: Any, arguments: str) -> str:
    raise KeyError("boom")


@pytest.mark.parametrize(
    ("failing", "outcome"),
    [("tool_start", "fine"), ("tool_end", "fine"), ("error", "boom"), ("tool_end", "boom")],
)
async def test_a_failing_step_of_answering_still_answers_once(failing: str, outcome: str) -> None:
    port = FailingPort({failing})
    tool = (
        returning("fine")
        if outcome == "fine"
        else FunctionTool("give", "", {}, _boom, strict_json_schema=False)
    )
    agent = RealtimeAgent("A", tools=[tool])
    runner = ToolRunner(
        port,
        History(),
        RunContextWrapper(None),
        NullHooks(),  # type: ignore[arg-type]
        lambda: agent,
        None,
    )
    resolved = await agent.resolve(RunContextWrapper(None))
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.executor.run)
        runner.submit(resolved, "c1", "give", "{}")
        await trio.sleep(0.2)
        nursery.cancel_scope.cancel()
    outputs = [e.item.output for e in port.sent]
    expected = "fine" if outcome == "fine" else "An error occurred while running the tool."
    assert len(outputs) == 1
    assert outputs[0].startswith(expected)
    assert port.responses == 1
    assert port.fed == [turns.ToolCallFinished("c1")]
    assert runner.executor.statistics().in_flight == 0


async def test_every_call_is_answered_once_whatever_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A mix of everything above on one live session: each call gets one output, the session
    survives, and a later call still works."""
    ok = returning("fine", name="ok")
    bad = returning(BadStr(), name="bad")
    deep = returning(deep_list(100_000), name="deep")

    @function_tool
    def sync_ok(n: int) -> int:
        """Sync."""
        return n + 1

    model, _, stats = await live(
        [ok, bad, deep, sync_ok],
        ("ok", "{}"),
        ("bad", "{}"),
        ("deep", "{}"),
        ("nope", "{}"),
        ("sync_ok", '{"n": 1}'),
    )
    outputs = sent_outputs(model)
    assert sorted(outputs) == ["c0", "c1", "c2", "c3", "c4"]
    assert (outputs["c0"], outputs["c4"]) == ("fine", "2")
    assert stats.tools.in_flight == 0


def test_limits_are_documented() -> None:
    import rtagents.actors.tools as tools_module
    import rtagents.function_tools as function_tools_module

    assert f"{MAX_OUTPUT_CHARS:,}" in (function_tools_module.__doc__ or "")
    assert str(MAX_TOOL_THREADS) in (tools_module.__doc__ or "")
