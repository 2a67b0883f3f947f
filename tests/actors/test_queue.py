"""AudioQueue: bounded, never blocks the sender, drops the oldest, its books balance, and a
cancelled receive loses nothing.  AudioFrame: a small, checked record."""

from __future__ import annotations

import collections

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from rtagents.audio import AudioFrame, AudioQueue

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
def test_behaves_like_a_drop_oldest_deque_and_books_balance(
    capacity: int, sequence: list[Op]
) -> None:
    q: AudioQueue[int] = AudioQueue(capacity)
    model: collections.deque[int] = collections.deque()
    dropped = cleared = 0
    for op, value in sequence:
        if op == "send":
            if len(model) == capacity:
                model.popleft()
                dropped += 1
            model.append(value)
            q.send_nowait(value)
        elif op == "receive":
            if model:
                assert q.receive_nowait() == model.popleft()  # FIFO, oldest surviving first
            else:
                with pytest.raises(trio.WouldBlock):
                    q.receive_nowait()
        else:
            cleared += len(model)
            assert q.clear() == len(model)
            model.clear()
        stats = q.statistics()
        assert stats.size == len(q) == len(model) <= capacity
        assert (stats.dropped, stats.cleared) == (dropped, cleared)
        assert stats.sent == stats.received + stats.dropped + stats.cleared + stats.size
        assert stats.peak <= capacity


def test_full_queue_drops_the_oldest() -> None:
    q: AudioQueue[int] = AudioQueue(3)
    for i in range(5):
        q.send_nowait(i)
    assert [q.receive_nowait() for _ in range(3)] == [2, 3, 4]
    stats = q.statistics()
    assert (stats.sent, stats.received, stats.dropped, stats.peak) == (5, 3, 2, 3)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AudioQueue(0)


def test_an_empty_queue_is_still_truthy() -> None:
    # `if queue:` meaning "if there is a queue" must not silently mean "if it has items".
    assert AudioQueue[int](1)
    assert len(AudioQueue[int](1)) == 0


async def test_receive_waits_and_close_ends_iteration(
    autojump_clock: trio.testing.MockClock,
) -> None:
    q: AudioQueue[int] = AudioQueue(4)
    got: list[tuple[float, int]] = []

    async def consume() -> None:
        async for item in q:
            got.append((trio.current_time(), item))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.sleep(1)
        q.send_nowait(1)
        await trio.sleep(1)
        q.send_nowait(2)
        q.send_nowait(3)
        q.close()  # what is queued is still delivered
    assert got == [(1.0, 1), (2.0, 2), (2.0, 3)]
    assert q.closed
    with pytest.raises(trio.ClosedResourceError):
        q.send_nowait(4)
    with pytest.raises(trio.EndOfChannel):
        await q.receive()
    with pytest.raises(trio.EndOfChannel):
        q.receive_nowait()


async def test_a_cancelled_receive_takes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    q: AudioQueue[int] = AudioQueue(4)
    # Parked, then cancelled: nothing taken, and a later send is not lost.
    with trio.move_on_after(1) as scope:
        await q.receive()
    assert scope.cancelled_caught
    q.send_nowait(7)
    # Already cancelled when called: raises, and the item stays queued.
    with trio.CancelScope() as scope:
        scope.cancel()
        await q.receive()
    assert scope.cancelled_caught
    assert len(q) == 1
    assert await q.receive() == 7
    assert q.statistics().received == 1


async def test_a_waiting_receiver_wakes_on_send(autojump_clock: trio.testing.MockClock) -> None:
    q: AudioQueue[str] = AudioQueue(1)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.sleep(0.5)
            q.send_nowait("a")

        nursery.start_soon(later)
        assert await q.receive() == "a"
        assert trio.current_time() == 0.5


def test_audio_frame_is_small_checked_and_frozen() -> None:
    frame = AudioFrame(b"\x01\x00" * 480, 24000, 1.25, 7)
    assert frame.duration_ms == 20.0
    assert repr(frame) == "AudioFrame(pcm=<960 bytes>, rate=24000, timestamp=1.25, seq=7)"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        frame.seq = 8  # type: ignore[misc]
    with pytest.raises(ValueError, match="even number"):
        AudioFrame(b"\x00", 24000, 0.0, 0)
