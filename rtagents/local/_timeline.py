"""What happened when in the local server's connections: :class:`Mark` and :class:`Timeline`.

Every connection writes the moments of its turns (end of turn, transcript ready, response
started, first text from the responder, first audio sent, ...) to its server's timeline, in
``trio.current_time()`` seconds; ``_latency`` splits a turn's latency from them.  The timeline
keeps the newest 4096 marks.
"""

from __future__ import annotations

from collections import deque

import attrs
import trio


@attrs.frozen
class Mark:
    """``what`` happened at ``t`` (trio clock seconds) to ``ref`` (an item or response id)."""

    t: float
    what: str
    ref: str


@attrs.define(eq=False)
class Timeline:
    """The latest marks of a server's connections (bounded: the oldest are forgotten)."""

    marks: deque[Mark] = attrs.field(factory=lambda: deque(maxlen=4096))

    def mark(self, what: str, ref: str) -> None:
        self.marks.append(Mark(trio.current_time(), what, ref))
