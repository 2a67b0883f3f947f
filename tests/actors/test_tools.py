"""The tool executor: every outcome becomes an output for the model; nothing blocks."""

from __future__ import annotations

import itertools
import json

import pytest
import trio
import trio.testing

from rtagents.actors import ToolCall, ToolExecutor, ToolResult
from rtagents.agent import function_tool


@function_tool(timeout=2.0)
async def slow(seconds: float) -> str:
    """Sleeps."""
    await trio.sleep(seconds)
    return f"slept {seconds}"


@function_tool
def boom(x: int) -> int:
    """Fails."""
    raise RuntimeError(f"bad {x}")


async def run_calls(calls: list[ToolCall], max_calls: int = 16) -> list[tuple[float, ToolResult]]:
    done: list[tuple[float, ToolResult]] = []

    async def on_done(result: ToolResult) -> None:
        done.append((trio.current_time(), result))

    executor = ToolExecutor(on_done, max_calls=max_calls)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for call in calls:
            executor.submit_nowait(call)
        await trio.sleep(10)
        nursery.cancel_scope.cancel()
    return done


async def test_outcomes(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        ToolCall("c1", "slow", '{"seconds": 1}', slow),
        ToolCall("c2", "slow", '{"seconds": 5}', slow),  # times out after 2 s
        ToolCall("c3", "boom", '{"x": 3}', boom),
        ToolCall("c4", "slow", "[1, 2]", slow),
        ToolCall("c5", "nope", "{}", None),
    ]
    done = await run_calls(calls)
    by_id = {r.call.call_id: (t, r) for t, r in done}
    assert by_id["c1"][1].status == "completed"
    assert by_id["c1"][1].text == "slept 1.0"  # a JSON integer for a float parameter
    assert by_id["c1"][0] == 1.0  # calls run concurrently
    assert by_id["c2"][1].status == "timeout"
    assert by_id["c2"][0] == 2.0
    assert by_id["c2"][1].text == "Tool 'slow' timed out after 2 seconds."  # the SDK's words
    assert by_id["c3"][1].status == "error"
    assert "An error occurred while running the tool" in by_id["c3"][1].text  # no exception text
    assert by_id["c4"][1].status == "bad_arguments"
    assert by_id["c5"][1].status == "not_found"


async def test_calls_over_the_cap_are_answered_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [ToolCall(f"c{i}", "slow", '{"seconds": 1}', slow) for i in range(5)]
    done = await run_calls(calls, max_calls=3)
    # 3 calls in flight at most; the other 2 are answered immediately rather than left waiting.
    assert sorted((t, r.call.call_id, r.status) for t, r in done) == [
        (0.0, "c3", "rejected"),
        (0.0, "c4", "rejected"),
        (1.0, "c0", "completed"),
        (1.0, "c1", "completed"),
        (1.0, "c2", "completed"),
    ]


async def test_a_slot_frees_once_a_call_is_answered(autojump_clock: trio.testing.MockClock) -> None:
    done: list[tuple[float, str, str]] = []

    async def on_done(result: ToolResult) -> None:
        done.append((trio.current_time(), result.call.call_id, result.status))

    executor = ToolExecutor(on_done, max_calls=1)
    executor.submit_nowait(ToolCall("c0", "slow", '{"seconds": 1}', slow))  # before run: kept
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        executor.submit_nowait(ToolCall("c1", "slow", '{"seconds": 1}', slow))
        await trio.sleep(2)
        assert executor.statistics().in_flight == 0
        executor.submit_nowait(ToolCall("c2", "slow", '{"seconds": 1}', slow))
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert done == [(0.0, "c1", "rejected"), (1.0, "c0", "completed"), (3.0, "c2", "completed")]
    stats = executor.statistics()
    assert (stats.submitted, stats.rejected, stats.completed, stats.in_flight) == (3, 1, 2, 0)


async def test_one_at_a_time_runs_calls_in_turn_in_arrival_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spans: list[tuple[str, float, float]] = []

    @function_tool
    async def work(label: str) -> str:
        start = trio.current_time()
        await trio.sleep(1.0)
        spans.append((label, start, trio.current_time()))
        return label

    done: list[ToolResult] = []

    async def on_done(result: ToolResult) -> None:
        done.append(result)

    executor = ToolExecutor(on_done, one_at_a_time=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for label in "abc":
            args = json.dumps({"label": label})
            executor.submit_nowait(ToolCall(f"c{label}", "work", args, work))
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert [s[0] for s in spans] == ["a", "b", "c"]
    assert all(prev[2] <= nxt[1] for prev, nxt in itertools.pairwise(spans))
    assert [r.status for r in done] == ["completed"] * 3


async def test_one_at_a_time_passes_a_call_waiting_for_approval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    order: list[str] = []
    decided = trio.Event()

    @function_tool
    async def work(label: str) -> str:
        order.append(label)
        await trio.sleep(0.5)
        return label

    async def approve(call: ToolCall) -> str | None:
        if call.call_id == "ca":
            executor.awaiting_approval(call.call_id)
            await decided.wait()
        return None

    async def on_done(result: ToolResult) -> None:
        pass

    executor = ToolExecutor(on_done, approve=approve, one_at_a_time=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for label in "abc":
            args = json.dumps({"label": label})
            executor.submit_nowait(ToolCall(f"c{label}", "work", args, work))
        await trio.sleep(3)
        assert order == ["b", "c"]  # "a" waits for the app; the others go, in order
        decided.set()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert order == ["b", "c", "a"]


def test_executor_options_are_checked() -> None:
    async def on_done(result: ToolResult) -> None:
        pass

    with pytest.raises(ValueError, match="max_threads"):
        ToolExecutor(on_done, max_threads=0)
    with pytest.raises(ValueError, match="max_output_chars"):
        ToolExecutor(on_done, max_output_chars=10)
    stats = ToolExecutor(on_done).statistics()
    assert (stats.threads_busy, stats.threads_waiting, stats.threads_abandoned) == (0, 0, 0)
    assert (stats.outputs_cut, stats.callback_errors) == (0, 0)


async def test_sync_tools_run_in_threads_and_outputs_are_capped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool
    def echo(text: str, times: int) -> str:
        """Repeats."""
        return text * times

    assert echo.runs_in_thread
    assert not slow.runs_in_thread
    calls = [
        ToolCall("c1", "echo", '{"text": "ab", "times": 2}', echo),
        ToolCall("c2", "echo", '{"text": "x", "times": 1000}', echo),
    ]
    done: dict[str, ToolResult] = {}

    async def on_done(result: ToolResult) -> None:
        done[result.call.call_id] = result

    executor = ToolExecutor(on_done, max_output_chars=200, max_threads=1)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for call in calls:
            executor.submit_nowait(call)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert done["c1"].text == "abab"
    assert done["c2"].output == "x" * 1000  # what the tool returned, for tool_end
    assert len(done["c2"].text) == 200
    assert done["c2"].text.endswith("[Output cut to 200 characters from 1,000.]")
    assert [p.kind for p in done["c2"].problems] == ["tool_output_cut"]
    stats = executor.statistics()
    assert (stats.completed, stats.outputs_cut, stats.threads_busy) == (2, 1, 0)


async def test_an_approval_check_that_raises_is_answered_as_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def approve(call: ToolCall) -> str | None:
        raise LookupError("policy broke")

    done: list[ToolResult] = []

    async def on_done(result: ToolResult) -> None:
        done.append(result)

    executor = ToolExecutor(on_done, approve=approve)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        executor.submit_nowait(ToolCall("c1", "slow", '{"seconds": 1}', slow))
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    (result,) = done
    assert (result.status, result.text) == ("error", "Tool slow failed: LookupError")
    assert [p.kind for p in result.problems] == ["tool_approval_failed"]
    assert executor.statistics().failed == 1
