"""The playback actor: agent audio to a sink, what was played, and stopping at once.

Theory of operation
-------------------
``enqueue`` (synchronous, never blocks) converts agent audio from the model's format
(``input_format``: PCM16 at 24 kHz, or G.711 at 8 kHz) to PCM16 at the sink's rate in one native
pass (one streaming :class:`~rtagents.audio.Decoder` per item, flushed when the item changes or
ends; ``set_input_format`` follows a ``session.updated`` from the next item on) and cuts it
into ``frame_ms`` frames, each tagged with its item and the item-relative position (ms) at its
end.  The queue is bounded in milliseconds; over capacity the oldest frames are dropped and
counted.

The writer loop (``run``) is the only task that writes to the sink.  Starting from idle it waits
for a small jitter buffer (``prebuffer_ms`` queued, or the item's end, or two frames' time since
the first frame was queued), then writes frame after frame.  A paced sink returns from
``write`` when that audio has played, so ``on_progress`` after each write reports the real
playout position.  When the queue runs dry the writer is idle again: it reports ``None`` once
(everything queued so far has been played); if the item had not ended, that was an underrun
and the jitter buffer applies again.

``interrupt_nowait`` is the barge-in path, synchronous so that a VAD callback can call it: it
drops everything queued and makes the next (and last) write a fade-out of at most ``fade_ms``
built from the audio of the playing item that would have come next (a linear ramp to zero, no
click).  So the last agent sample reaches a paced sink within ``frame_ms + fade_ms`` of the
call: 18 ms with the defaults (10 ms frames, 8 ms fade).  Audio that arrives later for an
interrupted item is dropped and counted; a new item plays normally.

``on_played`` (the session's echo gate, :mod:`rtagents._core.echo`) is told what is handed to
the sink just before each write — agent frames and fades alike: the trio time the write starts
(a paced sink starts playing it then) and the levels (dBFS) of its 10 ms pieces (one pass of the
native kernel per frame).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence

import attrs
import numpy as np
import trio

from rtagents._core.echo import pcm_levels
from rtagents.audio.convert import Decoder
from rtagents.audio.sinks import AudioSink
from rtagents.protocol import AudioFormat


@attrs.frozen
class PlaybackPosition:
    """``played_ms`` of item ``item_id`` (content ``content_index``) written to the sink."""

    item_id: str
    content_index: int
    played_ms: float


@attrs.frozen(kw_only=True)
class PlaybackStatistics:
    frames_written: int
    written_ms: float  # agent frames written (fades not included)
    queued_ms: float
    underruns: int
    dropped_ms: float  # oldest audio dropped over capacity
    flushed_ms: float  # queued audio discarded by interrupts
    late_dropped_ms: float  # audio enqueued for an item after it was interrupted
    interrupts: int
    playing: bool


@attrs.frozen
class _Frame:
    item_id: str
    content_index: int
    pcm: bytes
    end_ms: float  # item-relative position at the end of this frame


class _RecentIds:
    """A set of the most recent item ids (bounded: a long session meets many items)."""

    def __init__(self, size: int = 256) -> None:
        self._ids: dict[str, None] = {}
        self._size = size

    def add(self, item_id: str) -> None:
        self._ids.pop(item_id, None)
        self._ids[item_id] = None
        if len(self._ids) > self._size:
            del self._ids[next(iter(self._ids))]

    def discard(self, item_id: str) -> None:
        self._ids.pop(item_id, None)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._ids


class PlaybackActor:
    """Plays agent audio with a jitter buffer and stops within a frame; see the module
    docstring."""

    def __init__(
        self,
        sink: AudioSink,
        *,
        input_format: AudioFormat | None = None,
        frame_ms: int = 10,
        prebuffer_ms: int = 40,
        capacity_ms: int = 120_000,
        fade_ms: int = 8,
        on_progress: Callable[[PlaybackPosition | None], None] | None = None,
        on_played: Callable[[float, Sequence[float]], None] | None = None,
    ) -> None:
        if frame_ms <= 0 or sink.rate * frame_ms % 1000:
            raise ValueError(f"frame_ms={frame_ms} is not a whole number of samples")
        if fade_ms < 0 or prebuffer_ms < 0 or capacity_ms < frame_ms:
            raise ValueError("fade_ms and prebuffer_ms must be >= 0 and capacity_ms >= frame_ms")
        self.sink = sink
        self.input_format = input_format or AudioFormat.pcm()
        self.frame_ms = frame_ms
        self.prebuffer_ms = prebuffer_ms
        self.capacity_ms = capacity_ms
        self.fade_ms = fade_ms
        self.on_progress = on_progress
        self.on_played = on_played
        self._frame_bytes = sink.rate * frame_ms // 1000 * 2
        self._queue: collections.deque[_Frame] = collections.deque()
        self._queued_bytes = 0  # exact (bytes, not a sum of float milliseconds)
        self._lot = trio.lowlevel.ParkingLot()
        # the item being enqueued: its resampler, the partial frame not yet cut, its length
        self._key: tuple[str, int] | None = None
        self._decoder: Decoder | None = None
        self._partial = bytearray()
        self._item_samples = 0  # sink-rate samples of the item cut into frames so far
        self._ended = _RecentIds()
        self._interrupted = _RecentIds()
        # the writer
        self._fade: bytes | None = None
        self._position: PlaybackPosition | None = None
        self._idle = True
        self._first_queued_at: float | None = None
        self._counts = collections.Counter[str]()
        self._ms: collections.defaultdict[str, float] = collections.defaultdict(float)

    def _ms_of(self, nbytes: int, rate: int) -> float:
        return nbytes / 2 / rate * 1000

    @property
    def _queued_ms(self) -> float:
        return self._ms_of(self._queued_bytes, self.sink.rate)

    # -- producer side (synchronous) -----------------------------------------------------------

    def enqueue(self, item_id: str, content_index: int, pcm: bytes) -> None:
        """Queue ``pcm`` (audio in ``input_format``) for item ``item_id``; never blocks."""
        fmt = self.input_format
        if fmt.sample_width == 2 and len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        if item_id in self._interrupted:
            self._ms["late_dropped"] += fmt.duration_ms(len(pcm))
            return
        key = (item_id, content_index)
        if key != self._key:
            self._finish_item()
            self._key = key
            self._item_samples = 0
        self._ended.discard(item_id)  # (more audio after end_item: it is open again)
        if self._decoder is None:
            self._decoder = Decoder(fmt, self.sink.rate)
        self._partial += self._decoder.process(pcm)
        self._cut(whole_only=True)

    def set_input_format(self, fmt: AudioFormat) -> None:
        """The model's output format changed (``session.updated``): applies from the next item
        on (an item in progress keeps the format it started in)."""
        self.input_format = fmt

    def end_item(self, item_id: str) -> None:
        """No more audio will come for this item: queue its last partial frame now."""
        self._ended.add(item_id)
        if self._key is not None and self._key[0] == item_id:
            self._finish_item()
            self._lot.unpark_all()  # the jitter buffer need not wait for more

    def _finish_item(self) -> None:
        """Flush the current item's resampler and cut its last, partial frame."""
        if self._decoder is not None:
            self._partial += self._decoder.flush()
            self._decoder = None
        self._cut(whole_only=False)

    def _cut(self, *, whole_only: bool) -> None:
        size = self._frame_bytes
        while len(self._partial) >= size or (not whole_only and self._partial):
            assert self._key is not None
            chunk = bytes(self._partial[:size])
            del self._partial[:size]
            self._item_samples += len(chunk) // 2
            end_ms = self._item_samples / self.sink.rate * 1000
            self._push(_Frame(self._key[0], self._key[1], chunk, end_ms))

    def _push(self, frame: _Frame) -> None:
        self._queue.append(frame)
        self._queued_bytes += len(frame.pcm)
        if self._first_queued_at is None:
            self._first_queued_at = trio.current_time()
        while self._queued_ms > self.capacity_ms and len(self._queue) > 1:
            old = len(self._queue.popleft().pcm)
            self._queued_bytes -= old
            self._ms["dropped"] += self._ms_of(old, self.sink.rate)
        self._lot.unpark_all()

    def interrupt_nowait(self) -> PlaybackPosition | None:
        """Stop now: flush the queue, fade out within ``fade_ms``, drop late audio of the items
        stopped.  Returns what had been written of the playing item (None if idle)."""
        self._counts["interrupts"] += 1
        position = self.position()
        stopped = {f.item_id for f in self._queue}
        if self._key is not None:
            stopped.add(self._key[0])
        if position is not None:
            stopped.add(position.item_id)
            if self._fade is None:  # (a second call before the fade is written keeps it)
                self._fade = self._make_fade(position)
        for item_id in stopped:
            self._interrupted.add(item_id)
        partial_ms = self._ms_of(len(self._partial), self.sink.rate)
        self._ms["flushed"] += self._queued_ms + partial_ms
        self._queue.clear()
        self._queued_bytes = 0
        self._partial.clear()
        self._key = None
        self._decoder = None
        self._first_queued_at = None
        self._lot.unpark_all()
        return position

    def _make_fade(self, position: PlaybackPosition) -> bytes | None:
        """A linear fade to zero over the playing item's next ``fade_ms`` of audio."""
        key = (position.item_id, position.content_index)
        need = 2 * (self.sink.rate * self.fade_ms // 1000)
        upcoming = bytearray()
        for frame in self._queue:
            if (frame.item_id, frame.content_index) != key or len(upcoming) >= need:
                break
            upcoming += frame.pcm
        if self._key == key and len(upcoming) < need:
            upcoming += self._partial
        head = np.frombuffer(bytes(upcoming[:need]), "<i2").astype(np.float64)
        if not len(head):
            return None  # the item ends with the frame in flight: nothing to fade
        ramp = np.linspace(1.0, 0.0, len(head) + 1)[1:]  # ends on an exact zero
        return np.rint(head * ramp).astype("<i2").tobytes()

    def position(self) -> PlaybackPosition | None:
        """What has been written of the playing item (None when idle)."""
        return None if self._idle else self._position

    # -- the writer ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await self._play()
        except trio.ClosedResourceError:
            # The sink's owner closed it (a session closes its sink before its actors stop):
            # nothing more can play, and that is the end of playback, not an error.
            return

    async def _play(self) -> None:
        while True:
            if self._fade is not None:
                fade, self._fade = self._fade, None
                await self._write(fade)
                if self._queue:  # a new item came during the fade: it starts from idle
                    self._idle = True
                continue
            if not self._queue:
                self._drained()
                await self._lot.park()
                continue
            if self._idle:
                await self._prebuffer()
                if not self._queue:
                    continue
            frame = self._queue.popleft()
            ms = self._ms_of(len(frame.pcm), self.sink.rate)
            self._queued_bytes -= len(frame.pcm)
            self._idle = False
            self._position = PlaybackPosition(frame.item_id, frame.content_index, frame.end_ms)
            await self._write(frame.pcm)
            self._counts["frames"] += 1
            self._ms["written"] += ms
            if frame.item_id in self._interrupted:
                continue  # interrupted while in flight: its position was returned then
            if self.on_progress is not None:
                self.on_progress(self._position)
            if not self._queue and self._key is not None and self._key[0] not in self._ended:
                self._counts["underruns"] += 1  # more audio is due but none is here

    async def _write(self, pcm: bytes) -> None:
        if self.on_played is not None:
            self.on_played(trio.current_time(), pcm_levels(pcm, self.sink.rate))
        await self.sink.write(pcm)

    async def _prebuffer(self) -> None:
        """Wait for the jitter buffer: prebuffer_ms queued, the item ended, or two frames'
        time since the first frame was queued."""
        while self._queue and not self._buffered():
            assert self._first_queued_at is not None
            deadline = self._first_queued_at + 2 * self.frame_ms / 1000
            if trio.current_time() >= deadline:
                return
            with trio.move_on_at(deadline):
                await self._lot.park()

    def _buffered(self) -> bool:
        if self._queued_ms >= self.prebuffer_ms:
            return True
        if self._key is None or self._key[0] in self._ended:
            return True  # nothing more is coming for what is queued
        return any(f.item_id != self._key[0] for f in self._queue)  # an earlier, whole item

    def _drained(self) -> None:
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
