"""A remote player's position, known only through marks, and a pacer for sending it audio.

Theory of operation
-------------------
A phone call's agent audio plays on Twilio's side, not ours.  We learn what has been *heard*
only from marks: after each chunk of media we send a mark, and Twilio echoes it once the audio
before it has played.  :class:`MarkLedger` keeps, in send order, the marks in flight with the
position each one stands for (item id, content index, milliseconds of that item's audio up to
the end of the chunk).  An echoed mark moves the *played* position to its own; marks echo in
order, so the ones before it are settled too.  ``clear`` (a barge-in) makes Twilio drop what it
buffered and echo every pending mark at once: those echoes say "discarded", not "played", so
the ledger forgets them when the clear is sent and ignores their echoes — the played position
stays at the last real acknowledgement, which is where the item is truncated.

:class:`OutboundPacer` decides when the next chunk may go: the remote buffer is kept at most
``lead_ms`` ahead of real time (audio is scheduled back to back from the first chunk, restarting
after an idle gap), so a barge-in has little to discard and the socket is not flooded with a
whole answer the moment it is synthesized.  Both are sans-IO: sizes in, names and deadlines out;
``now`` is an argument (seconds, any monotonic clock).
"""

from __future__ import annotations

import collections

import attrs


@attrs.frozen
class PlayedPosition:
    """Where the remote player is: ``played_ms`` of item ``item_id``'s content
    ``content_index`` have been heard."""

    item_id: str
    content_index: int
    played_ms: float


@attrs.frozen
class _InFlight:
    name: str
    position: PlayedPosition


class MarkLedger:
    """Marks in flight and the played position they prove; see the module docstring.

    ``bytes_per_ms`` is the outbound format's (8 for μ-law at 8 kHz).  ``capacity`` bounds the
    marks in flight: past it, the oldest is settled as if echoed (a player that never echoes
    must not grow us without bound); ``overflowed`` counts those."""

    def __init__(
        self, bytes_per_ms: float = 8.0, *, capacity: int = 4096, prefix: str = "m"
    ) -> None:
        if bytes_per_ms <= 0:
            raise ValueError("bytes_per_ms must be positive")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.bytes_per_ms = bytes_per_ms
        self.capacity = capacity
        self._prefix = prefix
        self._serial = 0
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._discarded: set[str] = set()
        self._sent_ms: dict[tuple[str, int], float] = {}
        self.played: PlayedPosition | None = None
        self.overflowed = 0
        self.unknown_echoes = 0

    def sent(self, item_id: str, content_index: int, nbytes: int) -> str:
        """Record a chunk of ``nbytes`` of the item just sent; returns the name of the mark to
        send right after it."""
        if nbytes < 0:
            raise ValueError("a chunk cannot have a negative size")
        key = (item_id, content_index)
        end_ms = self._sent_ms.get(key, 0.0) + nbytes / self.bytes_per_ms
        self._sent_ms[key] = end_ms
        self._serial += 1
        name = f"{self._prefix}{self._serial}"
        self._in_flight.append(_InFlight(name, PlayedPosition(item_id, content_index, end_ms)))
        if len(self._in_flight) > self.capacity:
            self.played = self._in_flight.popleft().position
            self.overflowed += 1
        return name

    def echoed(self, name: str) -> PlayedPosition | None:
        """A mark came back.  Returns the new played position, or ``None`` when the echo moves
        nothing (a mark discarded by a clear, an unknown or repeated name)."""
        if name in self._discarded:
            self._discarded.discard(name)
            return None
        for index, mark in enumerate(self._in_flight):
            if mark.name == name:
                for _ in range(index + 1):
                    self._in_flight.popleft()
                self.played = mark.position
                return mark.position
        self.unknown_echoes += 1
        return None

    def cleared(self) -> PlayedPosition | None:
        """We sent ``clear``: what was in flight will never play.  Returns the played position
        (where a cancelled item is truncated), ``None`` if nothing was heard yet."""
        self._discarded.update(mark.name for mark in self._in_flight)
        self._in_flight.clear()
        return self.played

    def forget_item(self, item_id: str) -> None:
        """The item is finished with (truncated or done): drop its sent-bytes count."""
        for key in [k for k in self._sent_ms if k[0] == item_id]:
            del self._sent_ms[key]

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def idle(self) -> bool:
        """Everything sent has been acknowledged (or discarded)."""
        return not self._in_flight


class OutboundPacer:
    """When may the next chunk go, keeping the remote buffer at most ``lead_ms`` ahead.

    ``book(now, duration_ms)`` records a chunk sent at ``now``; ``due(now)`` is the earliest
    time (seconds) the next chunk may be sent — ``now`` or earlier means at once."""

    def __init__(self, lead_ms: float = 60.0) -> None:
        if lead_ms < 0:
            raise ValueError("lead_ms cannot be negative")
        self.lead_s = lead_ms / 1000
        self._ends_at: float | None = None  # when what was sent so far ends playing

    def due(self, now: float) -> float:
        if self._ends_at is None or self._ends_at <= now:
            return now
        return self._ends_at - self.lead_s

    def book(self, now: float, duration_ms: float) -> float:
        """Record a chunk sent at ``now``; returns when it will start playing."""
        start = now if self._ends_at is None or self._ends_at < now else self._ends_at
        self._ends_at = start + duration_ms / 1000
        return start

    def buffered_ms(self, now: float) -> float:
        """Audio sent but (by the schedule) not yet played."""
        if self._ends_at is None or self._ends_at <= now:
            return 0.0
        return (self._ends_at - now) * 1000

    def reset(self) -> None:
        """A clear: the remote buffer is empty now."""
        self._ends_at = None
