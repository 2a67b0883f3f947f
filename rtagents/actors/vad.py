"""Local voice activity detection: a sans-IO detector and the actor that runs it on frames.

Theory of operation
-------------------
:class:`EnergyDetector` looks at 10 ms sub-frames of PCM16 at its rate (16 kHz by default) and
applies onset/offset hysteresis: speech *starts* after ``min_speech_ms`` of sub-frames louder
than ``start_dbfs`` and *stops* after ``min_silence_ms`` of sub-frames quieter than
``stop_dbfs``.  Between the two thresholds nothing changes, so a voice hovering near one level
does not flap.  A decision carries its audio time (ms fed up to the end of the deciding
sub-frame, so any chunking gives the same answer), never a clock.

:class:`VadActor` takes captured frames from a bounded queue, resamples them to the detector's
rate with the native streaming resampler and calls ``emit`` synchronously for each decision,
while the frame that caused it is being processed: the session's handler stops playback inside
that call, which is what keeps barge-in within one frame.  The resampler's look-ahead (≈ 1–2 ms
withheld) is made up once with silence at the start of each stream, so the detector has always
seen exactly the audio captured so far and a decision never waits for the next frame.

Any object with the detector's ``rate`` and ``feed`` (a neural VAD, say) can replace the energy
detector (the :class:`Detector` protocol).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import attrs
import numpy as np
import trio

from rtagents import native

from ._queue import AudioFrame, AudioQueue

SUB_FRAME_MS = 10

Decision = tuple[Literal["start", "stop"], int]


class Detector(Protocol):
    """A streaming VAD: ``feed`` PCM16 mono at ``rate`` in chunks of any size; get the
    decisions that audio completed, each with the audio time (ms fed so far) it was made at."""

    rate: int

    def feed(self, pcm16: bytes) -> list[Decision]: ...


@attrs.define
class EnergyDetector:
    """Energy VAD with onset/offset hysteresis over 10 ms sub-frames (sans-IO, no clock)."""

    rate: int = 16000
    start_dbfs: float = -40.0
    stop_dbfs: float = -48.0
    min_speech_ms: int = 20
    min_silence_ms: int = 300
    speaking: bool = attrs.field(init=False, default=False)
    _pending: bytes = attrs.field(init=False, default=b"")
    _sub_frames: int = attrs.field(init=False, default=0)
    _run: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.rate <= 0 or self.rate * SUB_FRAME_MS % 1000:
            raise ValueError(f"rate {self.rate} Hz has no whole number of samples in 10 ms")
        if self.stop_dbfs > self.start_dbfs:
            raise ValueError("stop_dbfs must not be above start_dbfs (hysteresis)")

    def feed(self, pcm16: bytes) -> list[Decision]:
        """Feed audio; returns the decisions it completed, at the end of the deciding
        sub-frame in audio time (so any chunking of the same audio gives the same answer)."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        data = self._pending + pcm16
        size = self.rate * SUB_FRAME_MS // 1000 * 2
        whole = len(data) - len(data) % size
        self._pending = data[whole:]
        decisions: list[Decision] = []
        if not whole:
            return decisions
        samples = np.frombuffer(data[:whole], "<i2").astype(np.float64).reshape(-1, size // 2)
        rms = np.sqrt(np.mean(samples * samples, axis=1))
        levels = 20 * np.log10(np.maximum(rms, 1e-9) / 32768.0)
        for level in levels:
            self._sub_frames += 1
            if self.speaking:
                self._run = self._run + 1 if level < self.stop_dbfs else 0
                if self._run >= _sub_frames_for(self.min_silence_ms):
                    self.speaking, self._run = False, 0
                    decisions.append(("stop", self._sub_frames * SUB_FRAME_MS))
            else:
                self._run = self._run + 1 if level > self.start_dbfs else 0
                if self._run >= _sub_frames_for(self.min_speech_ms):
                    self.speaking, self._run = True, 0
                    decisions.append(("start", self._sub_frames * SUB_FRAME_MS))
        return decisions


def _sub_frames_for(ms: int) -> int:
    """Sub-frames in a row that make ``ms`` (at least one: a decision needs evidence)."""
    return max(1, -(-ms // SUB_FRAME_MS))


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
        inputs: AudioQueue[AudioFrame],
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
        task_status.started()
        async for frame in self.inputs:
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
            input_dropped=self.inputs.statistics().dropped,
        )
