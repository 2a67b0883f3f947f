"""Audio sources: where user audio comes from (a WAV file, any iterable, a microphone).

Theory of operation
-------------------
A source (:class:`AudioSource`) has a ``rate`` and yields PCM16 mono chunks of any size from
``frames()``, pacing itself: a WAV file on a fixed schedule (chunk n at start + n × chunk_ms, so
no drift accumulates), an iterable as fast as it is consumed, a microphone as its driver
delivers (the PortAudio thread hands each block to trio with the run's token, into a
drop-oldest :class:`~rtagents.actors.AudioQueue`).  The capture actor reads a source in its own
task.  A WAV source converts its file once, as it reads it, to PCM16 mono at a supported rate
(:func:`read_wav`); other sources never convert formats (the actors do, once, at the edge).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trio

from rtagents import native
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


_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_ACCEPTED = (
    "16-bit PCM WAV files are supported "
    "(and 24- or 32-bit PCM, converted to 16-bit, and G.711 μ-law or A-law)"
)


def _bad(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: not a readable WAV file ({why}); only {_ACCEPTED}")


def read_wav(path: str | Path) -> tuple[int, int, bytes]:
    """Read a WAV file: (sample rate, channels in the file, PCM16 mono samples).

    Mono or any number of channels (averaged to mono); 16-bit PCM, or 24- or 32-bit PCM (rounded
    to 16-bit), or G.711 μ-law / A-law; WAVE_FORMAT_EXTENSIBLE headers too.  A partial last
    frame is dropped; a data chunk shorter than its header says is an error unless the header
    gives the streaming sizes 0 or 0xFFFFFFFF (then the data runs to the end of the file).
    Anything else is a ``ValueError`` naming the file and the problem.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _bad(path, "no RIFF/WAVE header")
    fmt: tuple[int, int, int, int, int] | None = None
    body: bytes | None = None
    pos = 12
    while pos + 8 <= len(data) and body is None:
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8
        if chunk == b"fmt ":
            if size < 16 or pos + size > len(data):
                raise _bad(path, "truncated fmt chunk")
            f = data[pos : pos + size]
            tag, channels = int.from_bytes(f[0:2], "little"), int.from_bytes(f[2:4], "little")
            rate = int.from_bytes(f[4:8], "little")
            align, bits = int.from_bytes(f[12:14], "little"), int.from_bytes(f[14:16], "little")
            if tag == _EXTENSIBLE and size >= 40:
                tag = int.from_bytes(f[24:26], "little")  # the sub-format GUID's first field
            fmt = (tag, channels, rate, align, bits)
        elif chunk == b"data":
            if fmt is None:
                raise _bad(path, "data chunk before the fmt chunk")
            if size in (0, 0xFFFFFFFF):
                size = len(data) - pos
            elif pos + size > len(data):
                raise ValueError(
                    f"{path}: truncated WAV file: its data chunk should have {size} bytes "
                    f"but the file ends after {len(data) - pos}"
                )
            body = data[pos : pos + size]
        pos += size + (size & 1)
    if fmt is None or body is None:
        raise _bad(path, "no fmt chunk" if fmt is None else "no data chunk")
    return _decode(path, fmt, body)


def _decode(path: Path, fmt: tuple[int, int, int, int, int], body: bytes) -> tuple[int, int, bytes]:
    tag, channels, rate, align, bits = fmt
    if tag == _FLOAT:
        raise _bad(path, "IEEE float samples")
    if tag not in (_PCM, _ALAW, _ULAW):
        raise _bad(path, f"compressed format 0x{tag:04x}")
    if channels == 0:
        raise ValueError(f"{path}: invalid WAV file: it has 0 channels")
    if rate == 0:
        raise ValueError(f"{path}: invalid WAV file: its sample rate is 0 Hz")
    width = 1 if tag != _PCM else bits // 8
    if tag == _PCM and (bits % 8 or width not in (2, 3, 4)):
        raise ValueError(
            f"{path}: unsupported sample width: only {_ACCEPTED}; this one has {bits}-bit samples"
        )
    if tag != _PCM and bits != 8:
        raise ValueError(f"{path}: invalid WAV file: G.711 samples have 8 bits, not {bits}")
    if align != width * channels:
        raise ValueError(
            f"{path}: invalid WAV file: {channels} channels of {width} bytes need frames of "
            f"{width * channels} bytes, but the header says {align}"
        )
    body = body[: len(body) - len(body) % align]  # a partial last frame
    if tag == _ULAW:
        body = native.ulaw_decode(body)
    elif tag == _ALAW:
        body = native.alaw_decode(body)
    elif width != 2:  # 24 or 32 bits: the top 16, rounded (and saturated)
        raw = np.frombuffer(body, np.uint8).reshape(-1, width)
        wide = raw[:, -1].astype(np.int8).astype(np.int64) << (8 * (width - 1))
        for i in range(width - 1):
            wide |= raw[:, i].astype(np.int64) << (8 * i)
        shift = 8 * (width - 2)
        narrow = np.clip((wide + (1 << (shift - 1))) >> shift, -32768, 32767)
        body = narrow.astype("<i2").tobytes()
    if channels > 1:
        frames = np.frombuffer(body, "<i2").reshape(-1, channels).astype(np.int32)
        body = (frames.sum(axis=1) // channels).astype("<i2").tobytes()
    return rate, channels, body


def nearest_supported_rate(rate: int) -> int:
    """The supported rate a file at ``rate`` is converted to: the next one up (or 96 kHz)."""
    return min((r for r in native.SUPPORTED_RATES if r >= rate), default=96000)


class WavSource:
    """A WAV file as the user's voice, paced in real time unless told not to, followed by
    ``tail_silence_ms`` of silence.

    Any rate, mono or multichannel (averaged to mono), 16-, 24- or 32-bit PCM or G.711 (see
    :func:`read_wav`).  It is converted once, when the file is read, to ``rate`` if given (one
    of :data:`~rtagents.native.SUPPORTED_RATES`), else to the file's own rate when that is a
    supported one (the session's actors convert from it), else to the next supported rate up.
    The file is read at construction, so a bad file fails there, with a ``ValueError``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rate: int | None = None,
        realtime: bool = True,
        chunk_ms: int = 20,
        tail_silence_ms: int = 0,
    ) -> None:
        if chunk_ms <= 0 or tail_silence_ms < 0:
            raise ValueError("chunk_ms must be positive and tail_silence_ms not negative")
        if rate is not None and rate not in native.SUPPORTED_RATES:
            supported = ", ".join(map(str, native.SUPPORTED_RATES))
            raise ValueError(f"unsupported rate {rate} Hz: supported rates are {supported}")
        self.path = Path(path)
        self.file_rate, self.file_channels, raw = read_wav(self.path)
        if rate is None:
            rate = self.file_rate
            if rate not in native.SUPPORTED_RATES:
                rate = nearest_supported_rate(rate)
        if rate != self.file_rate:
            try:
                converter = native.Resampler.any_rate(self.file_rate, rate)
            except ValueError as exc:
                raise ValueError(f"{self.path}: {exc}") from exc
            raw = converter.process(raw) + converter.flush()
        self.rate = rate
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
