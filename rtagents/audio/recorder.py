"""Call recording: a stereo WAV per session, user left, agent right, written as it happens.

Theory of operation
-------------------
:class:`CallRecorder` is fed from the audio path by synchronous, cheap calls — ``user(pcm,
rate, at)`` with each captured or app-sent frame at its capture time, ``agent(pcm, rate, at)``
with each frame of agent audio at the time the sink took it (as played, so a barge-in shows)
— that convert to the file's rate (one streaming native resampler per input rate) and lay the
audio on a :class:`~rtagents._core.stereo_timeline.StereoTimeline`.  Its task (``run``) takes
the finished part every ``interval`` seconds and writes it to the file in a worker thread; the
blocks waiting for the disk are bounded (``max_pending_s``): if the disk stalls past that, the
newest blocks are dropped and counted in ``statistics().dropped_ms`` — the recording loses
audio, the call does not wait.  Nothing is held for the whole call: memory is the timeline's
hold plus the pending blocks.  ``aclose`` writes the rest and closes the file (a complete WAV
at every close; the header is finished then).  In a session (``recording_path``) a
:class:`RecordingTap` beside the uplink feeds the user's side and a :class:`RecordingSink` around
the sink the agent's; an app that plays audio itself (a phone bridge) calls ``agent`` itself.
"""

from __future__ import annotations

import collections
import wave
from os import PathLike
from pathlib import Path

import attrs
import trio

from rtagents import native
from rtagents._core.stereo_timeline import LEFT, RIGHT, StereoTimeline
from rtagents.audio.queue import AudioFrame
from rtagents.audio.sinks import AudioSink
from rtagents.audio.threads import run_sync


@attrs.frozen(kw_only=True)
class RecorderStatistics:
    path: str
    seconds_written: float
    late_ms: float  # audio that arrived after its place in the file had been written
    dropped_ms: float  # audio dropped because the disk fell behind
    pending_blocks: int


class CallRecorder:
    """See the module docstring.  ``start`` is the session-clock time of the file's start."""

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        rate: int = 24000,
        start: float = 0.0,
        hold: float = 0.5,
        interval: float = 0.2,
        max_pending_s: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.rate = rate
        self.interval = interval
        self._timeline = StereoTimeline(rate, start, hold=hold)
        self._resamplers: dict[tuple[int, int], native.Resampler] = {}
        self._blocks: collections.deque[bytes] = collections.deque()
        self._max_pending = max(1, round(max_pending_s / interval))
        self._closed = False
        self._disk = trio.Lock()  # one write at a time: the writer's and aclose's
        self._more = trio.Event()
        self._dropped_frames = 0
        self._written_frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._wav: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def __repr__(self) -> str:
        return f"<CallRecorder {str(self.path)!r} {self.rate} Hz stereo>"

    def _convert(self, channel: int, pcm16: bytes, rate: int) -> bytes:
        if rate == self.rate:
            return pcm16
        key = (channel, rate)
        resampler = self._resamplers.get(key)
        if resampler is None:
            resampler = self._resamplers[key] = native.Resampler.any_rate(rate, self.rate)
        return resampler.process(pcm16)

    def user(self, pcm16: bytes, rate: int, at: float) -> None:
        """The user's audio (PCM16 mono at ``rate``) captured at session time ``at``."""
        if not self._closed and pcm16:
            self._timeline.add(LEFT, self._convert(LEFT, pcm16, rate), at)

    def agent(self, pcm16: bytes, rate: int, at: float) -> None:
        """The agent's audio (PCM16 mono at ``rate``) as it started playing at ``at``."""
        if not self._closed and pcm16:
            self._timeline.add(RIGHT, self._convert(RIGHT, pcm16, rate), at)

    def _queue(self, block: bytes) -> None:
        if not block:
            return
        if len(self._blocks) >= self._max_pending:
            self._dropped_frames += len(block) // 4
            return
        self._blocks.append(block)
        self._more.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Until closed: every ``interval``, move the finished audio to the pending blocks
        (never waiting for the disk), and write pending blocks in a worker thread."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer)
            task_status.started()
            while not self._closed:
                self._queue(self._timeline.take(trio.current_time()))
                await trio.sleep(self.interval)
            nursery.cancel_scope.cancel()

    async def _writer(self) -> None:
        while True:
            await self._write_pending()
            await self._more.wait()
            self._more = trio.Event()

    async def _write_pending(self) -> None:
        async with self._disk:
            while self._blocks and self._wav is not None:
                block = self._blocks.popleft()
                wav = self._wav
                with trio.CancelScope(shield=True):  # a write in a thread finishes, then stops
                    await run_sync(wav.writeframes, block)
                self._written_frames += len(block) // 4

    async def aclose(self) -> None:
        """Write everything still held and finish the file; idempotent."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        rest = self._timeline.finish()
        if rest:
            self._blocks.append(rest)  # the end is written even past the bound
        with trio.CancelScope(shield=True):
            await self._write_pending()
            async with self._disk:
                wav, self._wav = self._wav, None
                if wav is not None:
                    await run_sync(wav.close)

    def statistics(self) -> RecorderStatistics:
        return RecorderStatistics(
            path=str(self.path),
            seconds_written=self._written_frames / self.rate,
            late_ms=self._timeline.late_ms,
            dropped_ms=1000 * self._dropped_frames / self.rate,
            pending_blocks=len(self._blocks),
        )


class RecordingTap:
    """A capture output (beside the uplink and the VAD) that records each frame as the user's,
    at its capture time."""

    def __init__(self, recorder: CallRecorder) -> None:
        self.recorder = recorder

    def send_nowait(self, frame: AudioFrame) -> None:
        self.recorder.user(frame.pcm, frame.rate, frame.timestamp)


class RecordingSink:
    """A sink that records what it is given to play (as the agent's, at the time it starts
    playing) and passes it on to ``sink``."""

    def __init__(self, sink: AudioSink, recorder: CallRecorder) -> None:
        self.sink = sink
        self.recorder = recorder
        self.rate = sink.rate

    async def write(self, pcm: bytes) -> None:
        self.recorder.agent(pcm, self.rate, trio.current_time())
        await self.sink.write(pcm)

    async def aclose(self) -> None:
        await self.sink.aclose()
