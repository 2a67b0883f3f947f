"""Worker threads on the trio clock: what waits for a thread holds an autojumping clock still.

Theory of operation
-------------------
Under trio's ``MockClock`` with autojump (the tests), a task waiting for a worker thread looks
blocked, so the clock would jump ahead to the next deadline while the thread works — a tool's
timeout, a close's grace period — and a few real microseconds of disk or tool work would cost
seconds of virtual time.  :func:`virtual_time_stands_still` holds the autojump while any such
wait is in progress (counted per run, so overlapping waits nest); under any other clock it does
nothing.  ``trio.testing`` is looked up, not imported: it imports pytest, and no clock can be a
``MockClock`` unless something imported it already.  :func:`run_sync` is ``trio.to_thread``'s,
inside it.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import trio

T = TypeVar("T")

# How many waits for a thread are in progress, and the autojump threshold to put back.
_HELD: trio.lowlevel.RunVar[list[Any]] = trio.lowlevel.RunVar("rtagents_thread_holds")


@contextlib.contextmanager
def virtual_time_stands_still() -> Iterator[None]:
    """See the module docstring."""
    clock = trio.lowlevel.current_clock()
    testing = sys.modules.get("trio.testing")
    if testing is None or not isinstance(clock, testing.MockClock):
        yield
        return
    try:
        held = _HELD.get()
    except LookupError:
        held = [0, math.inf]
        _HELD.set(held)
    if held[0] == 0:
        held[1] = clock.autojump_threshold
        clock.autojump_threshold = math.inf
    held[0] += 1
    try:
        yield
    finally:
        held[0] -= 1
        if held[0] == 0:
            clock.autojump_threshold = held[1]


async def run_sync(function: Callable[..., T], *args: Any) -> T:
    """``trio.to_thread.run_sync(function, *args)`` with virtual time held still meanwhile."""
    with virtual_time_stands_still():
        return await trio.to_thread.run_sync(function, *args)
