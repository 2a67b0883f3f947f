"""Audio sinks: where agent audio goes (a speaker, a WAV file, nowhere), and device pacing.

Theory of operation
-------------------
A sink (:class:`AudioSink`) has a ``rate`` and takes PCM16 mono through ``write``, which returns
when the device has accepted the audio: a paced sink (:class:`DevicePacer`) returns when that
audio has *played*, which is what lets the playback actor report real playout positions.  Only
the playback actor's writer task writes to a sink.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trio

from rtagents import native
from rtagents.audio.sources import _sounddevice


class AudioSink(Protocol):
    """Where agent audio goes.  ``write`` returns when the device has accepted the audio (a
    paced sink paces itself like a device); ``aclose`` releases it."""

    rate: int

    async def write(self, pcm: bytes) -> None: ...

    async def aclose(self) -> None: ...


class DevicePacer:
    """A device-like schedule: each chunk plays from max(schedule, now) for its duration, and
    ``pace`` returns when it has played.  After an idle gap the schedule restarts at "now"."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._next: float | None = None

    def schedule(self, pcm: bytes) -> float:
        """Book ``pcm`` on the schedule; returns when it starts playing."""
        now = trio.current_time()
        start = now if self._next is None or self._next < now else self._next
        self._next = start + len(pcm) / 2 / self.rate
        return start

    async def wait(self) -> None:
        """Until everything booked so far has played."""
        if self._next is not None:
            await trio.sleep_until(self._next)

    async def pace(self, pcm: bytes) -> None:
        self.schedule(pcm)
        await self.wait()


class NullSink:
    """Discards audio, paced like a device when ``realtime``."""

    def __init__(self, rate: int = 24000, realtime: bool = True) -> None:
        self.rate = rate
        self._pacer = DevicePacer(rate) if realtime else None

    async def write(self, pcm: bytes) -> None:
        if self._pacer is not None:
            await self._pacer.pace(pcm)
        else:
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class WavSink:
    """A 16-bit PCM WAV file, written as played (paced like a device when ``realtime``).

    ``rate`` and ``channels`` are the file's: any rate from 1 to 384 kHz, any number of
    channels (the mono audio is copied to each).  The sink's own :attr:`rate`, what ``write``
    takes, is ``rate`` itself when it is a supported rate with whole 10 ms frames (all but
    11,025 and 22,050 Hz), else the next such rate up, and the sink converts as it writes
    (streaming, the tail flushed on close).  The file is complete once closed.  Each write goes
    to the file's buffered writer on the event loop (a few hundred bytes per frame); a disk
    that stalls would stall playback."""

    def __init__(
        self, path: str | Path, rate: int = 24000, *, channels: int = 1, realtime: bool = True
    ) -> None:
        if channels < 1:
            raise ValueError(f"a WAV file needs at least one channel, not {channels}")
        self.file_rate = rate
        self.channels = channels
        self.rate = _sink_rate(rate)
        self._converter = (
            native.Resampler.any_rate(self.rate, rate) if self.rate != rate else None
        )  # raises ValueError for rates out of range, before the file is created
        self.path = Path(path)
        self._wav: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self._pacer = DevicePacer(self.rate) if realtime else None

    def __repr__(self) -> str:
        return f"<WavSink {str(self.path)!r} {self.file_rate} Hz × {self.channels}>"

    def _put(self, pcm: bytes) -> None:
        assert self._wav is not None
        if self.channels > 1:
            mono = np.frombuffer(pcm, "<i2")
            pcm = np.repeat(mono, self.channels).astype("<i2").tobytes()
        self._wav.writeframes(pcm)

    async def write(self, pcm: bytes) -> None:
        if self._wav is None:
            raise trio.ClosedResourceError("the WAV sink is closed")
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        self._put(pcm if self._converter is None else self._converter.process(pcm))
        if self._pacer is not None:
            await self._pacer.pace(pcm)
        else:
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if self._wav is not None:
            if self._converter is not None:
                self._put(self._converter.flush())
            self._wav.close()
            self._wav = None
        await trio.lowlevel.checkpoint()


def _sink_rate(rate: int) -> int:
    """What a WAV sink at ``rate`` takes: ``rate``, or the next supported rate with whole 10 ms
    frames (what the playback actor needs)."""
    usable = [r for r in native.SUPPORTED_RATES if r % 100 == 0]
    if rate in usable:
        return rate
    return min((r for r in usable if r >= rate), default=usable[-1])


class SoundDeviceSink:
    """An output device (sounddevice's ``RawOutputStream``): its callback pulls from a ring of
    ``buffer_ms``; ``write`` waits while the ring is full.  Needs ``pip install
    'rtagents[audio]'`` and the PortAudio library (``RuntimeError`` if missing)."""

    def __init__(self, rate: int = 24000, *, buffer_ms: int = 60, device: Any = None) -> None:
        sd = _sounddevice()
        self.rate = rate
        self._ring = bytearray()
        self._limit = rate * buffer_ms // 1000 * 2
        self._lock = threading.Lock()
        self._stream = sd.RawOutputStream(
            samplerate=rate, channels=1, dtype="int16", device=device, callback=self._callback
        )
        self._stream.start()

    def _callback(self, out: Any, frames: int, time: Any, status: Any) -> None:
        with self._lock:  # PortAudio's thread
            n = min(len(self._ring), frames * 2)
            out[:n] = self._ring[:n]
            out[n:] = b"\x00" * (frames * 2 - n)
            del self._ring[:n]

    async def write(self, pcm: bytes) -> None:
        view = memoryview(pcm)
        while view:
            with self._lock:
                room = self._limit - len(self._ring)
                if room > 0:
                    self._ring += view[:room]
                    view = view[room:]
            if view:
                await trio.sleep(0.005)  # the device drains the ring at its own pace
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._stream.stop()
        self._stream.close()
        await trio.lowlevel.checkpoint()
