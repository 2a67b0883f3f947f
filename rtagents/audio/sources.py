"""Audio sources: where user audio comes from (a WAV file, any iterable, a microphone).

Theory of operation
-------------------
A source (:class:`AudioSource`) has a ``rate`` and yields PCM16 mono chunks of any size from
``frames()``, pacing itself: a WAV file on a fixed schedule (chunk n at start + n × chunk_ms, so
no drift accumulates), an iterable as fast as it is consumed, a microphone as its driver
delivers (the PortAudio thread hands each block to trio with the run's token, into a
drop-oldest :class:`~rtagents.actors.AudioQueue`).  The capture actor reads a source in its own
task; a source never converts formats (the actors do, once, at the edge).
"""

from __future__ import annotations

import contextlib
import wave
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trio

from rtagents.audio.queue import AudioQueue


class AudioSource(Protocol):
    """Anything with a ``rate`` that yields PCM16 mono chunks (of any size) in real time."""

    rate: int

    def frames(self) -> AsyncIterator[bytes]: ...


def _sounddevice() -> Any:
    """Import sounddevice (and so PortAudio) only when a live device is asked for."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: sounddevice without the PortAudio library
        raise RuntimeError(
            "live audio needs sounddevice and the PortAudio library: "
            "pip install 'rtagents[audio]' and install PortAudio (e.g. apt-get install "
            f"libportaudio2); or use WAV files instead ({exc})"
        ) from exc
    return sounddevice


class WavSource:
    """A 16-bit PCM WAV file (stereo is mixed down to mono), paced in real time unless told not
    to, followed by ``tail_silence_ms`` of silence.  The file is read at construction, so a bad
    file fails there, with a ``ValueError``."""

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        chunk_ms: int = 20,
        tail_silence_ms: int = 0,
    ) -> None:
        if chunk_ms <= 0 or tail_silence_ms < 0:
            raise ValueError("chunk_ms must be positive and tail_silence_ms not negative")
        self.path = Path(path)
        try:
            with wave.open(str(self.path), "rb") as wav:
                width, channels = wav.getsampwidth(), wav.getnchannels()
                if width != 2 or wav.getcomptype() != "NONE":
                    raise ValueError(
                        f"{self.path}: only 16-bit PCM WAV files are supported "
                        f"(this one has {8 * width}-bit {wav.getcompname()} samples)"
                    )
                self.rate = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError) as exc:
            raise ValueError(
                f"{self.path}: not a readable WAV file ({exc}); "
                "only uncompressed 16-bit PCM WAV files are supported"
            ) from exc
        raw = raw[: len(raw) - len(raw) % (2 * channels)]  # a truncated last sample
        if channels > 1:
            samples = np.frombuffer(raw, "<i2").reshape(-1, channels).astype(np.int32)
            raw = (samples.sum(axis=1) // channels).astype("<i2").tobytes()
        self.pcm = raw + bytes(2 * (self.rate * tail_silence_ms // 1000))
        self.realtime = realtime
        self.chunk_ms = chunk_ms

    def __repr__(self) -> str:
        return f"<WavSource {str(self.path)!r} {self.rate} Hz {self.seconds:.3f} s>"

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate

    async def frames(self) -> AsyncIterator[bytes]:
        samples = len(self.pcm) // 2
        start = trio.current_time()
        n = 0
        while (begin := self.rate * self.chunk_ms * n // 1000) < samples:
            end = self.rate * self.chunk_ms * (n + 1) // 1000  # sample-exact boundaries
            if self.realtime:
                await trio.sleep_until(start + n * self.chunk_ms / 1000)
            else:
                await trio.lowlevel.checkpoint()
            yield self.pcm[2 * begin : 2 * end]
            n += 1


class IteratorSource:
    """Any iterable or async iterable of PCM16 chunks at ``rate`` (no pacing of its own)."""

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
    """An input device (sounddevice's ``RawInputStream``, the default device unless told).

    The stream's callback runs on PortAudio's thread and hands each block to trio with
    ``run_sync_soon`` into a drop-oldest queue of ``queue_chunks`` blocks.  Needs
    ``pip install 'rtagents[audio]'`` and the PortAudio library (``RuntimeError`` if missing).
    """

    def __init__(
        self, rate: int = 24000, chunk_ms: int = 20, device: Any = None, *, queue_chunks: int = 50
    ) -> None:
        self._sd = _sounddevice()
        self.rate = rate
        self.chunk_ms = chunk_ms
        self.device = device
        self.queue: AudioQueue[bytes] = AudioQueue(queue_chunks)

    async def frames(self) -> AsyncIterator[bytes]:
        token = trio.lowlevel.current_trio_token()
        queue = self.queue

        def callback(data: Any, frames: int, time: Any, status: Any) -> None:
            chunk = bytes(data)  # copied now: PortAudio reuses its buffer
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(_deliver, queue, chunk)

        stream = self._sd.RawInputStream(
            samplerate=self.rate,
            channels=1,
            dtype="int16",
            blocksize=self.rate * self.chunk_ms // 1000,
            device=self.device,
            callback=callback,
        )
        with stream:
            async for chunk in queue:
                yield chunk


def _deliver(queue: AudioQueue[bytes], chunk: bytes) -> None:
    if not queue.closed:  # an exception here would crash the trio run
        queue.send_nowait(chunk)
