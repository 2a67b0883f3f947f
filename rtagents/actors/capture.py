"""Audio sources and the capture actor.

Theory of operation
-------------------
A source yields PCM16 mono chunks of any size and paces itself: a WAV file on a fixed schedule
(chunk n at start + n × chunk_ms, so no drift accumulates), a microphone as its driver delivers.
:class:`CaptureActor` re-frames the chunks into exact ``frame_ms`` frames at the session's rate
(native streaming resampler when the rates differ), stamps each with the trio time and a
sequence number, and hands it to every output queue with ``send_nowait``: capture never waits
for a consumer; a slow one loses its oldest frames, counted by its queue.
"""

from __future__ import annotations

import wave
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np
import trio

from rtagents import native

from ._queue import AudioFrame, AudioQueue


class AudioSource(Protocol):
    rate: int

    def frames(self) -> AsyncIterator[bytes]: ...


class WavSource:
    """A 16-bit PCM WAV file (stereo is mixed down), paced in real time unless told not to."""

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        chunk_ms: int = 20,
        tail_silence_ms: int = 0,
    ) -> None:
        try:
            with wave.open(str(path), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                    raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
                channels = wav.getnchannels()
                self.rate = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError) as exc:
            raise ValueError(f"{path}: not a readable WAV file ({exc})") from exc
        if channels > 1:
            samples = np.frombuffer(raw, "<i2").reshape(-1, channels).astype(np.int32)
            raw = (samples.sum(axis=1) // channels).astype("<i2").tobytes()
        self.pcm = raw + bytes(2 * self.rate * tail_silence_ms // 1000)
        self.realtime = realtime
        self.chunk_ms = chunk_ms

    async def frames(self) -> AsyncIterator[bytes]:
        step = self.rate * self.chunk_ms // 1000 * 2
        start = trio.current_time()
        for n, offset in enumerate(range(0, len(self.pcm), step)):
            if self.realtime:
                await trio.sleep_until(start + n * self.chunk_ms / 1000)
            else:
                await trio.lowlevel.checkpoint()
            yield self.pcm[offset : offset + step]


class IteratorSource:
    """Any iterable or async iterable of PCM16 chunks at ``rate``."""

    def __init__(self, chunks: Iterable[bytes] | AsyncIterable[bytes], rate: int) -> None:
        self.chunks = chunks
        self.rate = rate

    async def frames(self) -> AsyncIterator[bytes]:
        if isinstance(self.chunks, AsyncIterable):
            async for chunk in self.chunks:
                yield chunk
        else:
            for chunk in self.chunks:
                await trio.lowlevel.checkpoint()
                yield chunk


class SoundDeviceSource:
    """The default input device (sounddevice); frames cross from its thread via the trio token."""

    def __init__(self, rate: int = 24000, *, chunk_ms: int = 20, device: Any = None) -> None:
        from .playback import _sounddevice

        self._sd = _sounddevice()
        self.rate = rate
        self.chunk_ms = chunk_ms
        self.device = device
        self.queue: AudioQueue[bytes] = AudioQueue(50)

    async def frames(self) -> AsyncIterator[bytes]:
        token = trio.lowlevel.current_trio_token()

        def callback(data: Any, frames: int, time: Any, status: Any) -> None:
            chunk = bytes(data)
            token.run_sync_soon(self.queue.send_nowait, chunk)

        stream = self._sd.RawInputStream(
            samplerate=self.rate,
            channels=1,
            dtype="int16",
            blocksize=self.rate * self.chunk_ms // 1000,
            device=self.device,
            callback=callback,
        )
        with stream:
            async for chunk in self.queue:
                yield chunk


@attrs.frozen(kw_only=True)
class CaptureStatistics:
    frames: int
    seconds: float
    resampling: bool
    output_drops: tuple[int, ...]


class CaptureActor:
    def __init__(
        self,
        source: AudioSource,
        *,
        out_rate: int = 24000,
        frame_ms: int = 20,
        outputs: Sequence[AudioQueue[AudioFrame]],
        close_outputs: bool = True,
    ) -> None:
        self.source = source
        self.close_outputs = close_outputs
        self.out_rate = out_rate
        self.frame_ms = frame_ms
        self.outputs = list(outputs)
        self._resampler = (
            native.Resampler(source.rate, out_rate) if source.rate != out_rate else None
        )
        self._frames = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        size = self.out_rate * self.frame_ms // 1000 * 2
        pending = bytearray()
        try:
            async for chunk in self.source.frames():
                if len(chunk) % 2:
                    raise ValueError("PCM16 audio must have an even number of bytes")
                pending += self._resampler.process(chunk) if self._resampler else chunk
                while len(pending) >= size:
                    self._emit(bytes(pending[:size]))
                    del pending[:size]
            if self._resampler is not None:
                pending += self._resampler.flush()
            if pending:
                self._emit(bytes(pending) + bytes(size - len(pending)))
        finally:
            if self.close_outputs:
                for output in self.outputs:
                    output.close()

    def _emit(self, pcm: bytes) -> None:
        self._frames += 1
        frame = AudioFrame(pcm, self.out_rate, trio.current_time(), self._frames)
        for output in self.outputs:
            output.send_nowait(frame)

    def statistics(self) -> CaptureStatistics:
        return CaptureStatistics(
            frames=self._frames,
            seconds=self._frames * self.frame_ms / 1000,
            resampling=self._resampler is not None,
            output_drops=tuple(o.statistics().dropped for o in self.outputs),
        )
