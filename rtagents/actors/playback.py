"""The playback actor: agent audio to a sink, what was played, and stopping at once.

Theory of operation
-------------------
``enqueue`` (synchronous, never blocks) resamples agent audio to the sink's rate and cuts it into
``frame_ms`` frames, each tagged with its item and the item-relative position (ms) at its end.
The queue is bounded in milliseconds; over capacity the oldest frames are dropped and counted.

The writer loop is the only task that writes to the sink.  Starting from idle it waits for a
small jitter buffer (``prebuffer_ms``, or the item's end, or two frames' time), then writes frame
after frame; a paced sink returns from ``write`` when the audio has been played, so after each
write ``on_progress`` reports the real playout position of that item.  When the queue runs dry
it reports ``None`` (idle) once.

``interrupt_nowait`` is the barge-in path, synchronous so that a VAD callback can call it: it
drops everything queued and queues instead a fade-out of at most ``fade_ms`` made from the audio
that would have come next (no click).  Frames are 10 ms by default, so the frame in flight plus
the fade end within 20 ms of the call.  Audio that arrives later for an interrupted item is
dropped; a new item plays normally.
"""

from __future__ import annotations

import collections
import threading
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np
import trio

from rtagents import native


class AudioSink(Protocol):
    rate: int

    async def write(self, pcm: bytes) -> None: ...

    async def aclose(self) -> None: ...


class _Pacer:
    """A device-like schedule: each chunk plays from max(schedule, now) for its duration."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._next: float | None = None

    async def pace(self, pcm: bytes) -> None:
        now = trio.current_time()
        start = now if self._next is None or self._next < now else self._next
        self._next = start + len(pcm) / 2 / self.rate
        await trio.sleep_until(self._next)


class NullSink:
    """Discards audio, paced like a device when ``realtime``."""

    def __init__(self, rate: int = 24000, *, realtime: bool = True) -> None:
        self.rate = rate
        self._pacer = _Pacer(rate) if realtime else None

    async def write(self, pcm: bytes) -> None:
        if self._pacer is not None:
            await self._pacer.pace(pcm)
        else:
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class WavSink:
    """A mono 16-bit WAV file, written as played (paced like a device when ``realtime``)."""

    def __init__(self, path: str | Path, rate: int = 24000, *, realtime: bool = True) -> None:
        self.rate = rate
        self.path = Path(path)
        self._wav: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self._pacer = _Pacer(rate) if realtime else None

    async def write(self, pcm: bytes) -> None:
        if self._wav is None:
            raise trio.ClosedResourceError("the WAV sink is closed")
        self._wav.writeframes(pcm)
        if self._pacer is not None:
            await self._pacer.pace(pcm)
        else:
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None
        await trio.lowlevel.checkpoint()


def _sounddevice() -> Any:
    try:
        import sounddevice

        return sounddevice
    except (ImportError, OSError) as exc:
        raise RuntimeError(
            "live audio needs sounddevice and the PortAudio library: "
            "pip install 'rtagents[audio]' and install PortAudio (e.g. apt-get install "
            f"libportaudio2); or use WAV files instead ({exc})"
        ) from exc


class SoundDeviceSink:
    """The default output device (sounddevice): ``write`` waits while its small ring is full."""

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
        with self._lock:
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
                await trio.sleep(0.005)
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._stream.stop()
        self._stream.close()
        await trio.lowlevel.checkpoint()


@attrs.frozen
class PlaybackPosition:
    item_id: str
    content_index: int
    played_ms: float


@attrs.frozen(kw_only=True)
class PlaybackStatistics:
    frames_written: int
    written_ms: float
    queued_ms: float
    underruns: int
    dropped_ms: float
    flushed_ms: float
    late_dropped_ms: float
    interrupts: int
    playing: bool


@attrs.frozen
class _Frame:
    item_id: str
    content_index: int
    pcm: bytes
    end_ms: float  # item-relative position at the end of this frame

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_id, self.content_index)


class PlaybackActor:
    def __init__(
        self,
        sink: AudioSink,
        *,
        in_rate: int = 24000,
        frame_ms: int = 10,
        prebuffer_ms: int = 40,
        capacity_ms: int = 120_000,
        fade_ms: int = 8,
        on_progress: Callable[[PlaybackPosition | None], None] | None = None,
    ) -> None:
        self.sink = sink
        self.in_rate = in_rate
        self.frame_ms = frame_ms
        self.prebuffer_ms = prebuffer_ms
        self.capacity_ms = capacity_ms
        self.fade_ms = fade_ms
        self.on_progress = on_progress
        self._frame_bytes = sink.rate * frame_ms // 1000 * 2
        self._queue: collections.deque[_Frame] = collections.deque()
        self._queued_ms = 0.0
        self._lot = trio.lowlevel.ParkingLot()
        # the item being enqueued: its resampler and the partial frame not yet cut
        self._key: tuple[str, int] | None = None
        self._resampler: native.Resampler | None = None
        self._partial = bytearray()
        self._item_samples = 0  # sink-rate samples of the item enqueued so far
        self._ended: set[str] = set()
        self._interrupted: set[str] = set()
        self._fade: bytes | None = None
        self._position: PlaybackPosition | None = None
        self._idle = True
        self._first_queued_at: float | None = None
        self._counts = collections.Counter[str]()
        self._ms: collections.defaultdict[str, float] = collections.defaultdict(float)

    # -- producer side (synchronous) -----------------------------------------------------------

    def enqueue(self, item_id: str, content_index: int, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        ms = len(pcm) / 2 / self.in_rate * 1000
        if item_id in self._interrupted:
            self._ms["late_dropped"] += ms
            return
        key = (item_id, content_index)
        if key != self._key:
            self._finish_item()
            self._key = key
            self._item_samples = 0
            self._resampler = (
                native.Resampler(self.in_rate, self.sink.rate)
                if self.in_rate != self.sink.rate
                else None
            )
        data = self._resampler.process(pcm) if self._resampler is not None else pcm
        self._partial += data
        self._cut(whole_only=True)

    def end_item(self, item_id: str) -> None:
        """No more audio will come for this item: play its last partial frame now."""
        self._ended.add(item_id)
        if self._key is not None and self._key[0] == item_id:
            self._finish_item()
            self._key = None

    def _finish_item(self) -> None:
        if self._key is None:
            return
        if self._resampler is not None:
            self._partial += self._resampler.flush()
            self._resampler = None
        self._cut(whole_only=False)

    def _cut(self, *, whole_only: bool) -> None:
        assert self._key is not None or not self._partial
        size = self._frame_bytes
        while len(self._partial) >= size or (not whole_only and self._partial):
            chunk = bytes(self._partial[:size])
            del self._partial[:size]
            self._item_samples += len(chunk) // 2
            assert self._key is not None
            end_ms = self._item_samples / self.sink.rate * 1000
            self._push(_Frame(self._key[0], self._key[1], chunk, end_ms))

    def _push(self, frame: _Frame) -> None:
        ms = len(frame.pcm) / 2 / self.sink.rate * 1000
        self._queue.append(frame)
        self._queued_ms += ms
        if self._first_queued_at is None:
            self._first_queued_at = trio.current_time()
        while self._queued_ms > self.capacity_ms and len(self._queue) > 1:
            old = self._queue.popleft()
            old_ms = len(old.pcm) / 2 / self.sink.rate * 1000
            self._queued_ms -= old_ms
            self._ms["dropped"] += old_ms
        self._lot.unpark_all()

    def interrupt_nowait(self) -> PlaybackPosition | None:
        """Stop now: flush, fade out within ``fade_ms``, and drop late audio of these items."""
        self._counts["interrupts"] += 1
        items = {f.item_id for f in self._queue}
        if self._key is not None:
            items.add(self._key[0])
        if self._position is not None:
            items.add(self._position.item_id)
        self._interrupted |= items
        upcoming = b"".join(f.pcm for f in list(self._queue)[:4])
        fade_samples = self.sink.rate * self.fade_ms // 1000
        head = np.frombuffer(upcoming[: fade_samples * 2], "<i2").astype(np.float64)
        if len(head):
            ramp = np.linspace(1.0, 0.0, len(head) + 1)[1:]
            self._fade = np.rint(head * ramp).astype("<i2").tobytes()
        self._ms["flushed"] += self._queued_ms
        self._queue.clear()
        self._queued_ms = 0.0
        self._partial.clear()
        self._key = None
        self._resampler = None
        self._first_queued_at = None
        self._lot.unpark_all()
        return self._position

    def position(self) -> PlaybackPosition | None:
        return self._position

    # -- the writer ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            if self._fade is not None:
                fade, self._fade = self._fade, None
                await self.sink.write(fade)
                self._note_idle()
                continue
            if not self._queue:
                self._note_idle()
                await self._lot.park()
                continue
            if self._idle:
                await self._prebuffer()
                if not self._queue or self._fade is not None:
                    continue
            frame = self._queue.popleft()
            ms = len(frame.pcm) / 2 / self.sink.rate * 1000
            self._queued_ms -= ms
            self._idle = False
            self._position = PlaybackPosition(frame.item_id, frame.content_index, frame.end_ms)
            await self.sink.write(frame.pcm)
            self._counts["frames"] += 1
            self._ms["written"] += ms
            if frame.item_id in self._interrupted:
                continue  # interrupted while in flight: its position was already taken
            if self.on_progress is not None:
                self.on_progress(self._position)
            if not self._queue and frame.item_id not in self._ended and self._key is not None:
                self._counts["underruns"] += 1

    async def _prebuffer(self) -> None:
        """Wait for the jitter buffer: prebuffer_ms queued, the item ended, or 2 frames' time."""
        first = self._first_queued_at if self._first_queued_at is not None else trio.current_time()
        deadline = first + 2 * self.frame_ms / 1000
        with trio.move_on_at(deadline):
            while not self._buffered():
                await self._lot.park()

    def _buffered(self) -> bool:
        if self._fade is not None or not self._queue:
            return self._fade is not None
        if self._queued_ms >= self.prebuffer_ms:
            return True
        return any(f.item_id in self._ended for f in self._queue)

    def _note_idle(self) -> None:
        if not self._idle:
            self._idle = True
            self._first_queued_at = None
            if self.on_progress is not None:
                self.on_progress(None)

    def statistics(self) -> PlaybackStatistics:
        return PlaybackStatistics(
            frames_written=self._counts["frames"],
            written_ms=self._ms["written"],
            queued_ms=self._queued_ms,
            underruns=self._counts["underruns"],
            dropped_ms=self._ms["dropped"],
            flushed_ms=self._ms["flushed"],
            late_dropped_ms=self._ms["late_dropped"],
            interrupts=self._counts["interrupts"],
            playing=not self._idle,
        )
