"""The level meter of both voice activity detectors: dBFS of fixed sub-frames, streaming.

Theory of operation
-------------------
:class:`LevelMeter` cuts PCM16 mono into sub-frames of ``frame_samples`` samples and returns the
RMS level of each whole sub-frame in dBFS (0 dBFS is a full-scale square wave; digital silence is
clamped to about -210 dBFS).  A partial sub-frame at the end of a chunk is kept for the next call,
so any chunking of the same audio yields the same levels.  The work per call is one NumPy pass
over the whole sub-frames (a row-wise dot product, no per-sample Python).  Pure: no clock, no I/O.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_FULL_SCALE = 32768.0
_FLOOR_RMS = 1e-9


def dbfs(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row-wise RMS level in dBFS of a 2-D array of PCM16 sample values."""
    power = np.einsum("ij,ij->i", samples, samples) / samples.shape[1]
    rms = np.sqrt(power)
    levels: npt.NDArray[np.float64] = 20.0 * np.log10(np.maximum(rms, _FLOOR_RMS) / _FULL_SCALE)
    return levels


class LevelMeter:
    """Levels (dBFS) of consecutive ``frame_samples``-sample sub-frames; see the module doc."""

    __slots__ = ("_pending", "frame_samples")

    def __init__(self, frame_samples: int) -> None:
        if frame_samples < 1:
            raise ValueError(f"a sub-frame needs at least one sample, not {frame_samples}")
        self.frame_samples = frame_samples
        self._pending = b""

    def feed(self, pcm16: bytes) -> npt.NDArray[np.float64]:
        """The levels of the whole sub-frames completed by ``pcm16`` (possibly none)."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        data = self._pending + pcm16 if self._pending else pcm16
        step = 2 * self.frame_samples
        whole = len(data) - len(data) % step
        self._pending = data[whole:]
        if not whole:
            return np.empty(0)
        samples = np.frombuffer(data, "<i2", count=whole // 2).astype(np.float64)
        return dbfs(samples.reshape(-1, self.frame_samples))

    def reset(self) -> None:
        """Forget a partial sub-frame."""
        self._pending = b""
