"""Bounded audio queues that never block their sender, and the audio frame they carry.

Theory of operation
-------------------
Audio must keep flowing in real time: a capture callback or a reader loop may never wait for a
slow consumer.  :class:`AudioQueue` is a bounded FIFO between two trio tasks whose
``send_nowait`` always succeeds: when the queue is full it drops the *oldest* item (the freshest
audio is the useful audio) and counts it.  ``clear`` empties it on purpose (a barge-in flush),
counted separately.  The books always balance:
``sent == received + dropped + cleared + len(queue)``.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

import attrs
import trio

T = TypeVar("T")


@attrs.frozen(slots=True)
class AudioFrame:
    """PCM16 mono little-endian audio at ``rate``, stamped with the trio time it was captured."""

    pcm: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
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
    dropped: int
    cleared: int
    peak: int


class AudioQueue(Generic[T]):
    """See the module docstring.  One receiving task at a time."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("an AudioQueue needs a capacity of at least 1")
        self.capacity = capacity
        self._items: collections.deque[T] = collections.deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._sent = self._received = self._dropped = self._cleared = self._peak = 0

    def send_nowait(self, item: T) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the queue is closed")
        if len(self._items) >= self.capacity:
            self._items.popleft()
            self._dropped += 1
        self._items.append(item)
        self._sent += 1
        self._peak = max(self._peak, len(self._items))
        self._lot.unpark_all()

    def receive_nowait(self) -> T:
        if self._items:
            self._received += 1
            return self._items.popleft()
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> T:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                item = self.receive_nowait()
            except trio.WouldBlock:
                await self._lot.park()
                continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return item

    def clear(self) -> int:
        n = len(self._items)
        self._items.clear()
        self._cleared += n
        return n

    def close(self) -> None:
        self._closed = True
        self._lot.unpark_all()

    def __len__(self) -> int:
        return len(self._items)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.receive()
            except trio.EndOfChannel:
                return

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
