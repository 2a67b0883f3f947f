"""The VAD actor: a detector run on captured frames, deciding on the frame itself.

Theory of operation
-------------------
:class:`VadActor` resamples each frame to its detector's rate with the native streaming
resampler (one stream per input rate) and calls ``emit`` synchronously for each decision, while
the frame that caused it is being processed: the session's handler stops playback inside that
call, which is what keeps barge-in within one frame.  The resampler's look-ahead (≈ 1–2 ms
withheld) is made up once with silence at the start of each stream, so the detector has always
seen exactly the audio captured so far and a decision never waits for the next frame.

In a session the VAD runs *inside the capture task*: the capture actor hands it each frame with
``send_nowait`` (synchronous, like the uplink), so a frame wakes no task of its own.  Standalone,
``run`` reads frames from a bounded drop-oldest :class:`~rtagents.audio.AudioQueue`.  The
detector itself is sans-IO (:mod:`rtagents._core.vad`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from rtagents import native
from rtagents._core.vad import Decision, Detector, EnergyDetector
from rtagents.audio.queue import AudioFrame, AudioQueue

__all__ = [
    "Decision",
    "Detector",
    "EnergyDetector",
    "VadActor",
    "VadSpeechStarted",
    "VadSpeechStopped",
]


@attrs.frozen
class VadSpeechStarted:
    """The local VAD heard speech start: ``timestamp`` is the capture time of the frame that
    decided it, ``audio_ms`` the audio fed to the detector so far."""

    timestamp: float
    audio_ms: int


@attrs.frozen
class VadSpeechStopped:
    """The local VAD heard speech stop (same fields as :class:`VadSpeechStarted`)."""

    timestamp: float
    audio_ms: int


@attrs.frozen(kw_only=True)
class VadStatistics:
    frames: int
    speech_starts: int
    speech_stops: int
    speaking: bool
    input_dropped: int


class VadActor:
    """Runs a detector on captured frames and emits its decisions synchronously.

    ``rate`` is the rate of the default :class:`EnergyDetector`; a given ``detector`` is fed
    at its own ``rate``.  Ends when ``inputs`` is closed."""

    def __init__(
        self,
        inputs: AudioQueue[AudioFrame] | None,
        emit: Callable[[VadSpeechStarted | VadSpeechStopped], None],
        *,
        detector: Detector | None = None,
        rate: int = 16000,
    ) -> None:
        self.inputs = inputs
        self.emit = emit
        self.detector: Detector = detector if detector is not None else EnergyDetector(rate)
        self._resamplers: dict[int, native.Resampler] = {}
        self._frames = self._starts = self._stops = 0
        self._speaking = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.inputs is None:
            raise RuntimeError("this VAD has no input queue: feed it with send_nowait")
        task_status.started()
        async for frame in self.inputs:
            self.process(frame)

    def send_nowait(self, frame: AudioFrame) -> None:
        """Process a frame now, in the caller's task (the capture actor's fan-out)."""
        self.process(frame)

    def process(self, frame: AudioFrame) -> None:
        """Analyse one frame and emit its decisions (synchronously)."""
        self._frames += 1
        pcm = frame.pcm
        if frame.rate != self.detector.rate:
            resampler = self._resamplers.get(frame.rate)
            if resampler is None:
                resampler = self._resamplers[frame.rate] = native.Resampler(
                    frame.rate, self.detector.rate
                )
                pcm = resampler.process(pcm)
                # The resampler withholds its look-ahead (≈ 1–2 ms).  Feed that much silence
                # first, once, so that the detector has seen exactly as much audio as was
                # captured at the end of every frame: its 10 ms sub-frames then end on frame
                # boundaries and no decision waits for the next frame.
                expected = round(len(frame.pcm) // 2 * self.detector.rate / frame.rate)
                pcm = bytes(2 * max(0, expected - len(pcm) // 2)) + pcm
            else:
                pcm = resampler.process(pcm)
        for kind, audio_ms in self.detector.feed(pcm):
            if kind == "start":
                self._starts += 1
                self._speaking = True
                self.emit(VadSpeechStarted(frame.timestamp, audio_ms))
            else:
                self._stops += 1
                self._speaking = False
                self.emit(VadSpeechStopped(frame.timestamp, audio_ms))

    def statistics(self) -> VadStatistics:
        return VadStatistics(
            frames=self._frames,
            speech_starts=self._starts,
            speech_stops=self._stops,
            speaking=self._speaking,
            input_dropped=self.inputs.statistics().dropped if self.inputs is not None else 0,
        )
