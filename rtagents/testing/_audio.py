"""Audio devices on the trio clock, for tests (and users' tests) with ``MockClock``.

:class:`FakeAudioSource` yields frame n at ``start_at + n × frame_ms``; :class:`FakeAudioSink`
plays like a sound card (each write lasts its duration, on a fixed schedule) and records when
every write began, so a test can say when each agent sample reached the "speaker".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import numpy as np
import trio

from rtagents import native
from rtagents.local import synthetic_voice


class FakeAudioSource:
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
    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate
        self.writes: list[tuple[float, bytes]] = []
        self.closed = False
        self._next: float | None = None

    async def write(self, pcm: bytes) -> None:
        now = trio.current_time()
        start = now if self._next is None or self._next < now else self._next
        self.writes.append((start, pcm))
        self._next = start + len(pcm) / 2 / self.rate
        await trio.sleep_until(self._next)

    async def aclose(self) -> None:
        self.closed = True
        await trio.lowlevel.checkpoint()

    def audio(self) -> bytes:
        return b"".join(pcm for _, pcm in self.writes)

    @property
    def seconds_written(self) -> float:
        return sum(len(pcm) for _, pcm in self.writes) / 2 / self.rate

    def last_nonzero_time(self, before: float | None = None) -> float | None:
        """When the last non-zero sample played (among writes that began before ``before``)."""
        for start, pcm in reversed(self.writes):
            if before is not None and start >= before:
                continue
            nonzero = np.flatnonzero(np.frombuffer(pcm, "<i2"))
            if len(nonzero):
                return start + int(nonzero[-1]) / self.rate
        return None


def voice(seconds: float, rate: int = 24000, seed: int = 0) -> bytes:
    """A speech-like PCM16 signal (not speech; loud enough for any VAD)."""
    pcm = np.rint(synthetic_voice(seconds, seed=seed)).astype("<i2").tobytes()
    return pcm if rate == 24000 else native.resample(pcm, 24000, rate)


def silence(seconds: float, rate: int = 24000) -> bytes:
    return bytes(2 * int(rate * seconds))
