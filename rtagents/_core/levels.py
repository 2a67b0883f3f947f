"""The level meter of both voice activity detectors: dBFS of fixed sub-frames, streaming.

Theory of operation
-------------------
:class:`LevelMeter` cuts PCM16 mono into sub-frames of ``frame_samples`` samples and returns the
RMS level of each whole sub-frame in dBFS (0 dBFS is a full-scale square wave; digital silence is
clamped to about -270 dBFS).  A partial sub-frame at the end of a chunk is kept for the next call,
so any chunking of the same audio yields the same levels.  The work per call is one pass of the
native kernel (:func:`rtagents.native.mean_squares`, an exact integer sum per sub-frame) and a
logarithm per sub-frame: no per-sample Python, no NumPy temporaries.  Pure: no clock, no I/O.
"""

from __future__ import annotations

import math

from rtagents import native

_FULL_SCALE_POWER = 32768.0**2
_FLOOR_POWER = 1e-18  # an RMS of 1e-9: digital silence is about -270 dBFS, not -inf


def dbfs(mean_square: float) -> float:
    """The RMS level in dBFS of PCM16 samples whose mean square is ``mean_square``."""
    return 10.0 * math.log10(max(mean_square, _FLOOR_POWER) / _FULL_SCALE_POWER)


class LevelMeter:
    """Levels (dBFS) of consecutive ``frame_samples``-sample sub-frames; see the module doc."""

    __slots__ = ("_pending", "frame_samples")

    def __init__(self, frame_samples: int) -> None:
        if frame_samples < 1:
            raise ValueError(f"a sub-frame needs at least one sample, not {frame_samples}")
        self.frame_samples = frame_samples
        self._pending = b""

    def feed(self, pcm16: bytes) -> list[float]:
        """The levels of the whole sub-frames completed by ``pcm16`` (possibly none)."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        data = self._pending + pcm16 if self._pending else pcm16
        step = 2 * self.frame_samples
        whole = len(data) - len(data) % step
        self._pending = data[whole:] if whole < len(data) else b""
        if not whole:
            return []
        return [dbfs(ms) for ms in native.mean_squares(data, self.frame_samples)]

    def reset(self) -> None:
        """Forget a partial sub-frame."""
        self._pending = b""
