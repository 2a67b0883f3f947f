"""AudioQueue: bounded, never blocks the sender, drops the oldest, and its books balance."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from rtagents.actors import AudioQueue

Op = tuple[str, int]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 10**6)),
        st.tuples(st.just("receive"), st.just(0)),
        st.tuples(st.just("clear"), st.just(0)),
    ),
    max_size=200,
)


@given(st.integers(1, 8), ops)
def test_books_balance_and_order_is_kept(capacity: int, sequence: list[Op]) -> None:
    q: AudioQueue[int] = AudioQueue(capacity)
    sent: list[int] = []
    received: list[int] = []
    for op, value in sequence:
        if op == "send":
            q.send_nowait(value)
            sent.append(value)
        elif op == "receive":
            try:
                received.append(q.receive_nowait())
            except trio.WouldBlock:
                assert len(q) == 0
        else:
            q.clear()
        stats = q.statistics()
        assert stats.size == len(q) <= capacity
        assert stats.sent == stats.received + stats.dropped + stats.cleared + stats.size
    # What was received is a subsequence of what was sent, in order (drops skip, never reorder).
    it = iter(sent)
    assert all(any(x == y for y in it) for x in received)
    assert q.statistics().peak <= capacity


def test_full_queue_drops_the_oldest() -> None:
    q: AudioQueue[int] = AudioQueue(3)
    for i in range(5):
        q.send_nowait(i)
    assert [q.receive_nowait() for _ in range(3)] == [2, 3, 4]
    assert q.statistics().dropped == 2


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AudioQueue(0)


async def test_receive_waits_and_close_ends_iteration(
    autojump_clock: trio.testing.MockClock,
) -> None:
    q: AudioQueue[int] = AudioQueue(4)
    got: list[int] = []

    async def consume() -> None:
        async for item in q:
            got.append(item)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.sleep(1)
        q.send_nowait(1)
        await trio.sleep(1)
        q.send_nowait(2)
        q.close()
    assert got == [1, 2]
    with pytest.raises(trio.ClosedResourceError):
        q.send_nowait(3)
    with pytest.raises(trio.EndOfChannel):
        await q.receive()
