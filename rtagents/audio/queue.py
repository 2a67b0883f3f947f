"""Bounded audio queues that never block their sender, and the audio frame they carry.

Theory of operation
-------------------
Audio must keep flowing in real time: a capture callback or a reader loop may never wait for a
slow consumer.  :class:`AudioQueue` is a bounded FIFO (a ``deque`` with ``maxlen``) between two
trio tasks whose ``send_nowait`` always succeeds on an open queue: when the queue is full it
drops the *oldest* item (the freshest audio is the useful audio) and counts it.  ``clear``
empties it on purpose (a barge-in flush), counted separately.  The books always balance::

    sent == received + dropped + cleared + len(queue)

A receiver waits in a ``ParkingLot``; every send wakes it.  ``receive`` either returns an item
or is cancelled with the queue unchanged (the item is taken only after the wait, with no
checkpoint between taking it and returning it).  ``close`` ends the stream: what is queued can
still be received, then ``receive`` raises ``trio.EndOfChannel`` and ``async for`` stops;
sending to a closed queue raises ``trio.ClosedResourceError``.
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

import attrs
import trio

T = TypeVar("T")


def _pcm_repr(pcm: bytes) -> str:
    return f"<{len(pcm)} bytes>"


def _check_pcm16(instance: object, attribute: object, pcm: bytes) -> None:
    if len(pcm) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")


@attrs.frozen(slots=True)
class AudioFrame:
    """PCM16 mono little-endian audio at ``rate``, stamped with the trio time it was captured
    (``timestamp``) and its place in the capture stream (``seq``)."""

    pcm: bytes = attrs.field(repr=_pcm_repr, validator=_check_pcm16)
    rate: int
    timestamp: float
    seq: int

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 / self.rate * 1000


@attrs.frozen(kw_only=True)
class QueueStatistics:
    capacity: int
    size: int
    sent: int
    received: int
    dropped: int  # oldest items pushed out by a send to a full queue
    cleared: int  # items removed by clear()
    peak: int  # the largest size seen


class AudioQueue(Generic[T]):
    """A bounded FIFO whose sender never blocks; full means the oldest item is dropped.

    See the module docstring.  Meant for one receiving task (more are safe, each item goes to
    one of them)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"an AudioQueue needs a capacity of at least 1, not {capacity}")
        self.capacity = capacity
        self._items: collections.deque[T] = collections.deque(maxlen=capacity)
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._sent = self._received = self._dropped = self._cleared = self._peak = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AudioQueue {len(self._items)}/{self.capacity} {state}>"

    def send_nowait(self, item: T) -> None:
        """Queue ``item``; if the queue is full, drop (and count) the oldest item first."""
        if self._closed:
            raise trio.ClosedResourceError("the queue is closed")
        if len(self._items) == self.capacity:
            self._dropped += 1  # the deque's maxlen pushes the oldest out
        self._items.append(item)
        self._sent += 1
        self._peak = max(self._peak, len(self._items))
        self._lot.unpark_all()

    def receive_nowait(self) -> T:
        """The oldest item; ``trio.WouldBlock`` if empty, ``trio.EndOfChannel`` if also closed."""
        if self._items:
            self._received += 1
            return self._items.popleft()
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> T:
        """Wait for the oldest item (``trio.EndOfChannel`` once closed and empty)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                item = self.receive_nowait()
            except trio.WouldBlock:
                await self._lot.park()  # cancelled here: nothing was taken
                continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return item

    def clear(self) -> int:
        """Drop everything queued (counted as ``cleared``); returns how many items."""
        n = len(self._items)
        self._items.clear()
        self._cleared += n
        return n

    def close(self) -> None:
        """No more sends; the receiver gets what is queued, then ``EndOfChannel``."""
        self._closed = True
        self._lot.unpark_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return True  # a queue is a thing, not a collection to test for emptiness

    def __aiter__(self) -> AudioQueue[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def statistics(self) -> QueueStatistics:
        return QueueStatistics(
            capacity=self.capacity,
            size=len(self._items),
            sent=self._sent,
            received=self._received,
            dropped=self._dropped,
            cleared=self._cleared,
            peak=self._peak,
        )
