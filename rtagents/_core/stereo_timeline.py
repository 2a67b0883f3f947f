"""Two mono streams laid on one clock, as interleaved stereo: the core of the call recorder.

Theory of operation
-------------------
A recording puts the user on the left and the agent on the right, each sample where it happened
on the session's clock: the user's audio at its capture time, the agent's at the time it was
played, so a barge-in shows as the agent's channel stopping where the user came in.
:class:`StereoTimeline` takes chunks of PCM16 per channel with their start time (``add``) and
hands out interleaved stereo in order (``take(now)``), up to ``hold`` seconds before ``now`` —
the time a late chunk has to arrive — filling whatever did not arrive with silence.

A chunk that starts a run (its channel has nothing pending) is placed exactly at its time; one
that continues a run is appended to it unless it starts more than ``tolerance`` after the run's
end (then a gap of silence comes first), so consecutive frames of a stream stay contiguous
whatever the timestamps' jitter.  Audio that would land before what was already taken is cut
off and counted in ``late_ms`` (never reordered, never blocking).  Memory is bounded by
``hold`` plus one chunk per channel.  Pure: times are arguments, no clock, no I/O.
"""

from __future__ import annotations

import numpy as np

LEFT, RIGHT = 0, 1


class StereoTimeline:
    """See the module docstring.  ``start`` is the session-clock time of sample 0."""

    def __init__(
        self, rate: int, start: float, *, hold: float = 0.5, tolerance: float = 0.05
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if hold < 0 or tolerance < 0:
            raise ValueError("hold and tolerance cannot be negative")
        self.rate = rate
        self.start = start
        self._hold = round(hold * rate)
        self._tolerance = round(tolerance * rate)
        self._base = 0  # the first sample (per channel) not yet taken
        self._pending = [bytearray(), bytearray()]  # each channel's samples from _base on
        self.late_ms = 0.0
        self.taken = 0  # stereo frames handed out

    def add(self, channel: int, pcm16: bytes, at: float) -> None:
        """Lay ``pcm16`` (mono) on ``channel`` (``LEFT``/``RIGHT``) starting at time ``at``."""
        if channel not in (LEFT, RIGHT):
            raise ValueError(f"channel must be LEFT (0) or RIGHT (1), not {channel!r}")
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        pending = self._pending[channel]
        index = round((at - self.start) * self.rate)
        if pending:  # continuing a run: contiguous unless it starts clearly later
            end = self._base + len(pending) // 2
            if index > end + self._tolerance:
                pending += bytes(2 * (index - end))  # a gap: silence until it starts
        elif index >= self._base:  # starting a run: exactly where it belongs
            pending += bytes(2 * (index - self._base))
        else:  # its start was already written out: cut that part
            cut = min(self._base - index, len(pcm16) // 2)
            self.late_ms += 1000 * cut / self.rate
            pcm16 = pcm16[2 * cut :]
        pending += pcm16

    def take(self, now: float) -> bytes:
        """Interleaved stereo PCM16 up to ``hold`` before ``now`` (possibly empty)."""
        upto = round((now - self.start) * self.rate) - self._hold
        return self._take(upto - self._base) if upto > self._base else b""

    def finish(self) -> bytes:
        """Everything still pending, the shorter channel padded with silence."""
        return self._take(max(len(p) for p in self._pending) // 2)

    def _take(self, frames: int) -> bytes:
        if frames <= 0:
            return b""
        out = np.zeros((frames, 2), dtype="<i2")
        for channel, pending in enumerate(self._pending):
            have = min(frames, len(pending) // 2)
            if have:
                out[:have, channel] = np.frombuffer(pending, "<i2", count=have)
                del pending[: 2 * have]
        self._base += frames
        self.taken += frames
        return out.tobytes()

    @property
    def pending_ms(self) -> float:
        return 1000 * max(len(p) for p in self._pending) / 2 / self.rate
