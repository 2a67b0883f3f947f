"""The model listeners' actor: ``session.model.add_listener`` listeners, served off the event path.

Theory of operation
-------------------
The SDK awaits each listener's ``on_event`` inside its WebSocket reader, so a slow listener
stalls the connection.  Here the session hands every raw model event to :meth:`push` (never
blocks: a bounded :class:`~rtagents.actors.app_events.EventQueue`, 256 events; full, the oldest
droppable — audio, raw — goes first, counted) and one task, :meth:`run`, awaits each listener in
turn, in order.  A listener that raises is logged, counted and reported through ``on_error``;
the others still get the event.  Nothing is queued while there are no listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import trio

from rtagents.actors.app_events import EventQueue

log = logging.getLogger("rtagents.listeners")


@attrs.frozen(kw_only=True)
class ListenerStatistics:
    delivered: int
    failed: int
    dropped: int
    queued: int


class ListenerActor:
    """See the module docstring.  ``listeners()`` is read at each event (they may change)."""

    def __init__(
        self,
        listeners: Callable[[], tuple[Any, ...]],
        on_error: Callable[[str], None],
        capacity: int = 256,
    ) -> None:
        self._listeners = listeners
        self._on_error = on_error
        self._queue = EventQueue(capacity)
        self._delivered = 0
        self._failed = 0

    def push(self, event: Any) -> None:
        if self._listeners():
            self._queue.push(event)

    def close(self) -> None:
        self._queue.close()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while (event := await self._queue.get()) is not None:
            data = getattr(event, "data", event)
            for listener in self._listeners():
                try:
                    await listener.on_event(data)
                    self._delivered += 1
                except Exception as exc:
                    self._failed += 1
                    log.exception("model listener %r failed", listener)
                    self._on_error(f"{type(exc).__name__}: {exc}")

    def statistics(self) -> ListenerStatistics:
        return ListenerStatistics(
            delivered=self._delivered,
            failed=self._failed,
            dropped=sum(self._queue.dropped.values()),
            queued=len(self._queue),
        )
