"""The link's send queue: order, the two lanes' policies, closing, and its checkpoints."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from rtagents.models._outbox import Outbox


def test_one_fifo_for_both_lanes() -> None:
    box = Outbox(control_capacity=2, audio_capacity=3)
    box.put_audio_nowait("a1")
    box.put_nowait("c1")
    box.put_audio_nowait("a2")
    assert [box.get_nowait() for _ in range(3)] == ["a1", "c1", "a2"]
    with pytest.raises(trio.WouldBlock):
        box.get_nowait()


def test_full_audio_lane_drops_its_oldest_append_not_control() -> None:
    box = Outbox(control_capacity=2, audio_capacity=2)
    box.put_audio_nowait("a1")
    box.put_nowait("c1")
    box.put_audio_nowait("a2")
    box.put_audio_nowait("a3")  # full: a1 goes
    assert box.audio_dropped == 1
    assert [box.get_nowait() for _ in range(3)] == ["c1", "a2", "a3"]
    assert (box.audio_used, box.control_used, box.audio_peak) == (0, 0, 2)


def test_control_put_nowait_has_a_reserve_then_refuses() -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    box.put_nowait("c1")
    box.put_nowait("c2")  # the reserve
    with pytest.raises(trio.WouldBlock):
        box.put_nowait("c3")
    assert box.control_peak == 2


async def test_put_waits_for_room(autojump_clock: trio.testing.MockClock) -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    await box.put("c1")
    done = trio.Event()

    async def second() -> None:
        await box.put("c2")
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(second)
        await trio.sleep(1)
        assert not done.is_set()  # backpressure
        assert await box.get() == "c1"
        await done.wait()
    assert box.get_nowait() == "c2"


async def test_close_drains_then_ends() -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    box.put_audio_nowait("a1")
    box.close()
    with pytest.raises(trio.ClosedResourceError):
        box.put_audio_nowait("a2")
    with pytest.raises(trio.ClosedResourceError):
        await box.put("c")
    assert await box.get() == "a1"
    with pytest.raises(trio.EndOfChannel):
        await box.get()


async def test_a_parked_get_is_woken_by_close(autojump_clock: trio.testing.MockClock) -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)

    async def close_later() -> None:
        await trio.sleep(1)
        box.close()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_later)
        with pytest.raises(trio.EndOfChannel):
            await box.get()


async def test_get_is_a_checkpoint_both_ways() -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    box.put_audio_nowait("a1")
    with trio.testing.assert_checkpoints():
        assert await box.get() == "a1"
    with trio.CancelScope() as scope:
        scope.cancel()
        box.put_audio_nowait("a2")
        with pytest.raises(trio.Cancelled):
            await box.get()  # cancelled even with an entry ready: nothing is lost
    assert box.get_nowait() == "a2"


async def test_a_parked_get_returns_after_one_switch() -> None:
    """A writer parked on an empty outbox costs one task step per entry: woken, it takes the
    entry and returns without another trip through the scheduler."""
    box = Outbox(control_capacity=1, audio_capacity=4)
    got: list[str] = []

    async def writer() -> None:
        while True:
            try:
                got.append(await box.get())
            except trio.EndOfChannel:
                return

    class StepCounter(trio.abc.Instrument):
        def __init__(self) -> None:
            self.steps = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task.name.endswith("writer"):
                self.steps += 1

    counter = StepCounter()
    trio.lowlevel.add_instrument(counter)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            await trio.testing.wait_all_tasks_blocked()
            assert counter.steps == 1  # started, parked
            for entry in ("a1", "a2", "a3"):
                box.put_audio_nowait(entry)
                await trio.testing.wait_all_tasks_blocked()
            assert counter.steps == 4  # one step per entry
            box.close()
    finally:
        trio.lowlevel.remove_instrument(counter)
    assert got == ["a1", "a2", "a3"]
    assert counter.steps == 5


async def test_cancelled_while_parked_leaves_the_entry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    with trio.move_on_after(1):
        await box.get()
    box.put_audio_nowait("a1")
    assert box.get_nowait() == "a1"


async def test_put_audio_waits_for_room_and_drops_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The app's audio (a file pushed in a tight loop) meets backpressure, not drops."""
    box = Outbox(control_capacity=1, audio_capacity=3)
    got: list[str] = []

    async def writer() -> None:
        while True:
            try:
                got.append(await box.get())
            except trio.EndOfChannel:
                return
            await trio.sleep(0.02)  # a slow socket

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        for i in range(40):
            await box.put_audio(f"a{i}")
            assert box.audio_used <= 3
        box.close()
    assert got == [f"a{i}" for i in range(40)]
    assert box.audio_dropped == 0


async def test_put_audio_with_room_is_a_cancel_point_without_a_task_switch() -> None:
    box = Outbox(control_capacity=1, audio_capacity=3)
    task = trio.lowlevel.current_task()
    cancel_points, schedule_points = task._cancel_points, task._schedule_points
    await box.put_audio("a")
    assert task._cancel_points == cancel_points + 1  # a cancel point...
    assert task._schedule_points == schedule_points  # ...and no trip through the scheduler
    assert box.get_nowait() == "a"
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await box.put_audio("a0")
    assert len(box) == 0
    await box.put_audio("a1")
    assert box.get_nowait() == "a1"


async def test_a_waiting_put_audio_is_released_by_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    box = Outbox(control_capacity=1, audio_capacity=1)
    await box.put_audio("a1")

    async def close_later() -> None:
        await trio.sleep(1)
        box.close()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_later)
        with pytest.raises(trio.ClosedResourceError):
            await box.put_audio("a2")
