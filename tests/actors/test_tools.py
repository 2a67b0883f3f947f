"""The tool executor: every outcome becomes an output for the model; nothing blocks."""

from __future__ import annotations

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


async def run_calls(calls: list[ToolCall], queue_size: int = 16) -> list[tuple[float, ToolResult]]:
    done: list[tuple[float, ToolResult]] = []

    async def on_done(result: ToolResult) -> None:
        done.append((trio.current_time(), result))

    executor = ToolExecutor(on_done, queue_size=queue_size)
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
    assert "timed out after 2.0 seconds" in by_id["c2"][1].text
    assert by_id["c3"][1].status == "error"
    assert "bad 3" in by_id["c3"][1].text
    assert by_id["c4"][1].status == "bad_arguments"
    assert by_id["c5"][1].status == "not_found"


async def test_a_full_queue_answers_at_once(autojump_clock: trio.testing.MockClock) -> None:
    calls = [ToolCall(f"c{i}", "slow", '{"seconds": 1}', slow) for i in range(5)]
    done = await run_calls(calls, queue_size=2)
    statuses = sorted(r.status for _, r in done)
    # The executor's loop already waits for a call (it takes one at once), 2 more fit the
    # queue; the other 2 are answered immediately rather than left waiting.
    assert statuses.count("rejected") == 2
    assert statuses.count("completed") == 3
