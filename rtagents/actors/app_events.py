"""The app's event channel: bounded, and the session never waits for the app.

Theory of operation
-------------------
A session pushes every event for the app (``async for event in session``) into one
:class:`EventQueue`.  The producer is the model link's reader (and the other actors), which must
never wait for a slow app, so ``push`` never blocks.  Overflow policy: when ``capacity`` events
are queued, the oldest *droppable* event goes first (audio, raw model events, history
snapshots: each later one supersedes them), else the oldest event; every drop is counted by
type.  After ``close`` the app receives what is queued, then the end of the stream.

Each event is stamped with the session's ``info`` (:class:`~rtagents.events.RealtimeEventInfo`)
as it is queued: one shared object, set in place on the event that has none (events are frozen
to the app; the queue is where they are finished).
"""

from __future__ import annotations

import collections
from typing import Any

import trio

from rtagents.events import DROPPABLE_TYPES, RealtimeSessionEvent

_set = object.__setattr__


class EventQueue:
    """Bounded; never blocks the producer.  Full: drop the oldest droppable event, else the
    oldest event; count every drop by type."""

    def __init__(self, capacity: int, info: Any = None) -> None:
        self.capacity = capacity
        self.info = info
        self._items: collections.deque[RealtimeSessionEvent] = collections.deque()
        self._ready = trio.Event()
        self.closed = False
        self.emitted = 0
        self.peak = 0
        self.dropped: collections.Counter[str] = collections.Counter()

    def push(self, event: RealtimeSessionEvent) -> None:
        if self.closed:
            return
        if getattr(event, "info", None) is None:
            _set(event, "info", self.info)
        if len(self._items) >= self.capacity:
            victim = next((e for e in self._items if e.type in DROPPABLE_TYPES), None)
            if victim is not None:
                self._items.remove(victim)
            else:
                victim = self._items.popleft()
            self.dropped[victim.type] += 1
        self._items.append(event)
        self.emitted += 1
        self.peak = max(self.peak, len(self._items))
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def get_nowait(self) -> RealtimeSessionEvent | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> RealtimeSessionEvent | None:
        while not self._items:
            if self.closed:
                return None
            self._ready = trio.Event()
            await self._ready.wait()
        return self._items.popleft()
