"""What one connection to the local server may cost: :class:`Limits` and the :class:`Budget`.

Theory of operation
-------------------
The server is one trio thread serving every connection, so no connection may take more than
its share of memory, CPU or the server's patience.  The session core bounds what a session
holds (one append and the input buffer: ``_input``; the conversation: ``_conversation``; one
response's length: ``_response_builder``); :class:`Limits` bounds the connection around it, with
these defaults:

====================== ============ ===========================================================
handshake_timeout      5 s          to complete the WebSocket handshake, else the TCP
                                    connection is closed
max_message_bytes      21 MiB       one WebSocket message: a 15 MiB append in base64 (20 MiB)
                                    and its JSON; a bigger one closes the connection with 1009
events_per_second      500          client events, sustained (a 20 ms audio stream sends 50)
event_burst            1,000        client events at once (10 s of 20 ms appends: 500)
bytes_per_second       8 MiB        client bytes, sustained (about 128 × a real-time
                                    24 kHz PCM16 stream)
byte_burst             32 MiB       client bytes at once
send_queue_bytes       8 MiB        events waiting for the client (and 64 batches at most)
slow_client_timeout    10 s         how long the server waits for a client that does not read:
                                    one message stuck that long on the socket, or the queue
                                    full that long, closes the connection with 1008
close_timeout          2 s          for the client's part of the close handshake
====================== ============ ===========================================================

A client over its event or byte budget is slowed down, not cut off: the :class:`Budget` makes
the reader wait until the budget has refilled (the client's data waits in its socket: TCP flow
control), and the client gets one ``error`` event (code ``rate_limit_exceeded``) per
:data:`RATE_ERROR_INTERVAL` saying so.  Nothing is dropped, and the other connections keep the
CPU meanwhile.
"""

from __future__ import annotations

from typing import Final

import attrs
import trio

MiB: Final = 2**20
#: Seconds between two ``rate_limit_exceeded`` errors to one connection.
RATE_ERROR_INTERVAL: Final = 5.0


@attrs.frozen
class Limits:
    """The bounds of one connection (see the module docstring for what each means)."""

    handshake_timeout: float = 5.0
    max_message_bytes: int = 21 * MiB
    events_per_second: float = 500.0
    event_burst: int = 1000
    bytes_per_second: float = 8 * MiB
    byte_burst: int = 32 * MiB
    send_queue_batches: int = 64
    send_queue_bytes: int = 8 * MiB
    slow_client_timeout: float = 10.0
    close_timeout: float = 2.0


@attrs.define(eq=False)
class _Bucket:
    """A token bucket on the trio clock: `rate` tokens a second, at most `burst` saved."""

    rate: float
    burst: float
    tokens: float = attrs.field(init=False)
    _at: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.tokens = self.burst
        self._at = trio.current_time()

    def refill(self) -> None:
        now = trio.current_time()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` tokens are there (0 when they are)."""
        self.refill()
        return max(0.0, (min(amount, self.burst) - self.tokens) / self.rate)


@attrs.define(eq=False)
class Budget:
    """One connection's event and byte budgets (see the module docstring)."""

    limits: Limits
    _events: _Bucket = attrs.field(init=False)
    _bytes: _Bucket = attrs.field(init=False)
    _last_error: float = attrs.field(init=False, default=-float("inf"))
    throttled: int = attrs.field(init=False, default=0)  # messages that had to wait

    def __attrs_post_init__(self) -> None:
        self._events = _Bucket(self.limits.events_per_second, self.limits.event_burst)
        self._bytes = _Bucket(self.limits.bytes_per_second, self.limits.byte_burst)

    def delay(self, size: int) -> float:
        """Seconds to wait before a message of `size` bytes may be handled (0: now)."""
        return max(self._events.wait_for(1), self._bytes.wait_for(size))

    def spend(self, size: int) -> None:
        """Charge a message of `size` bytes (after :meth:`delay` has been waited out)."""
        self._events.refill()
        self._bytes.refill()
        self._events.tokens -= 1
        self._bytes.tokens -= min(size, self._bytes.burst)

    def should_warn(self) -> bool:
        """Whether a throttled message deserves a ``rate_limit_exceeded`` error now."""
        self.throttled += 1
        now = trio.current_time()
        if now - self._last_error < RATE_ERROR_INTERVAL:
            return False
        self._last_error = now
        return True

    def describe(self) -> str:
        limits = self.limits
        return (
            f"{limits.events_per_second:g} events/s (bursts of {limits.event_burst}) and "
            f"{limits.bytes_per_second / MiB:g} MiB/s (bursts of {limits.byte_burst / MiB:g} MiB)"
        )
