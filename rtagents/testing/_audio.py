"""Audio devices on the trio clock, for tests (and users' tests) with ``MockClock``.

:class:`FakeAudioSource` is a microphone that delivers frame n at ``start_at + n × frame_ms``.
:class:`FakeAudioSink` is a sound card: each write plays for its duration on a fixed schedule
(back to back while written in time; after a gap the schedule restarts at "now") and returns
when it has played; it records when every write began, so a test can say when each agent
sample reached the "speaker" (:meth:`FakeAudioSink.last_nonzero_time`).  Both work with
``trio.testing.MockClock(autojump_threshold=0)``, where audio time is exact.

:func:`voice` and :func:`silence` make PCM16 test audio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import numpy as np
import trio

from rtagents import native
from rtagents.audio import DevicePacer
from rtagents.local import synthetic_voice


class FakeAudioSource:
    """Yields ``frames`` (PCM16 chunks at ``rate``) on a fixed schedule: frame n at
    ``start_at + n × frame_ms`` (or from "now" if ``start_at`` has already passed)."""

    def __init__(
        self, frames: Sequence[bytes], rate: int = 24000, frame_ms: int = 20, start_at: float = 0.0
    ) -> None:
        self._frames = list(frames)
        self.rate = rate
        self.frame_ms = frame_ms
        self.start_at = start_at

    async def frames(self) -> AsyncIterator[bytes]:
        base = max(self.start_at, trio.current_time())
        for n, frame in enumerate(self._frames):
            await trio.sleep_until(base + n * self.frame_ms / 1000)
            yield frame


class FakeAudioSink:
    """A sound card on the trio clock that records ``writes`` as (begin time, pcm).

    ``frame_ms`` is the nominal device period, for reference only: pacing follows the length
    of each write."""

    def __init__(self, rate: int = 24000, frame_ms: int = 20) -> None:
        self.rate = rate
        self.frame_ms = frame_ms
        self.writes: list[tuple[float, bytes]] = []
        self.closed = False
        self._pacer = DevicePacer(rate)

    async def write(self, pcm: bytes) -> None:
        if self.closed:
            raise trio.ClosedResourceError("the sink is closed")
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        self.writes.append((self._pacer.schedule(pcm), bytes(pcm)))
        await self._pacer.wait()

    async def aclose(self) -> None:
        self.closed = True
        await trio.lowlevel.checkpoint()

    def audio(self) -> bytes:
        """Everything written, back to back (gaps are not filled)."""
        return b"".join(pcm for _, pcm in self.writes)

    @property
    def seconds_written(self) -> float:
        return sum(len(pcm) for _, pcm in self.writes) / 2 / self.rate

    def last_nonzero_time(self, before: float | None = None) -> float | None:
        """The trio time at which the last non-zero sample played (begin time of its write plus
        its offset), among writes that began before ``before`` if given; None if all silent."""
        for start, pcm in reversed(self.writes):
            if before is not None and start >= before:
                continue
            nonzero = np.flatnonzero(np.frombuffer(pcm, "<i2"))
            if len(nonzero):
                return start + int(nonzero[-1]) / self.rate
        return None


def voice(seconds: float, rate: int = 24000, seed: int = 0) -> bytes:
    """A speech-like PCM16 signal (not speech; loud enough for any VAD) at any supported rate
    (8–96 kHz): ``int(seconds × 24000)`` samples made at 24 kHz, resampled to ``rate``."""
    pcm = np.rint(synthetic_voice(seconds, seed=seed)).astype("<i2").tobytes()
    return pcm if rate == 24000 else native.resample(pcm, 24000, rate)


def silence(seconds: float, rate: int = 24000) -> bytes:
    """``int(seconds × rate)`` samples of PCM16 zeros."""
    return bytes(2 * int(rate * seconds))
