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

With an ``echo_gate`` (:mod:`rtagents._core.echo`; the session gives one when it has a sink, and
the playback actor reports to it what it played), each resampled frame first goes through the
gate: its 10 ms pieces explained by echo of the agent's own voice reach the detector as silence
(counted: ``gated_frames``, ``gated_ms``), so only near-end speech louder than the echo starts a
barge-in.  With nothing played recently the gate is one comparison.

:func:`make_detector` turns ``RealtimeRunConfig.local_vad`` into a detector: ``"silero"`` loads
Silero VAD (one onnxruntime session per process, shared; the state is per detector) or, without
its weights or onnxruntime, falls back to the energy detector with one warning per process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import trio

from rtagents import native
from rtagents._core.echo import EchoGate
from rtagents._core.vad import Decision, Detector, EnergyDetector
from rtagents.audio.queue import AudioFrame, AudioQueue

__all__ = [
    "Decision",
    "Detector",
    "EnergyDetector",
    "VadActor",
    "VadSpeechStarted",
    "VadSpeechStopped",
    "make_detector",
]

log = logging.getLogger("rtagents.vad")


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
    gated_frames: int = 0  # frames with audio the echo gate took for the agent's own voice
    gated_ms: float = 0.0  # how much of it (handed to the detector as silence)


class VadActor:
    """Runs a detector on captured frames and emits its decisions synchronously.

    ``rate`` is the rate of the default :class:`EnergyDetector`; a given ``detector`` is fed
    at its own ``rate``.  ``echo_gate``: audio explained by echo of what the playback actor
    reported as played reaches the detector as silence.  Ends when ``inputs`` is closed."""

    def __init__(
        self,
        inputs: AudioQueue[AudioFrame] | None,
        emit: Callable[[VadSpeechStarted | VadSpeechStopped], None],
        *,
        detector: Detector | None = None,
        rate: int = 16000,
        echo_gate: EchoGate | None = None,
    ) -> None:
        self.inputs = inputs
        self.emit = emit
        self.detector: Detector = detector if detector is not None else EnergyDetector(rate)
        self.echo_gate = echo_gate
        self._resamplers: dict[int, native.Resampler] = {}
        self._frames = self._starts = self._stops = self._gated_frames = 0
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
        gate = self.echo_gate
        if gate is not None and pcm:
            # At the captured rate, before resampling: the uplink asks the gate about this same
            # frame, and the gate judges a frame once (see EchoGate.filter).
            pcm, gated = gate.filter(pcm, frame.rate, frame.timestamp)
            if gated:
                self._gated_frames += 1
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
            gated_frames=self._gated_frames,
            gated_ms=self.echo_gate.gated_ms if self.echo_gate is not None else 0.0,
        )


_warned = False
_silero_session: Any = None


def _fall_back(why: str) -> EnergyDetector:
    global _warned
    if not _warned:
        _warned = True
        log.warning("local_vad='silero': %s; using the energy VAD instead", why)
    return EnergyDetector()


def make_detector(spec: bool | str | Detector) -> Detector | None:
    """The detector for ``RealtimeRunConfig.local_vad``: ``False`` → None, ``True`` or
    ``"energy"`` → :class:`EnergyDetector`, ``"silero"`` → a :class:`SileroDetector` (falling
    back to energy, with one warning per process, when onnxruntime or the weights are missing),
    a :class:`Detector` → itself.  Blocking the first time for Silero (loads a 2 MB model)."""
    global _silero_session
    if spec is False:
        return None
    if spec is True or spec == "energy":
        return EnergyDetector()
    if spec != "silero":
        if isinstance(spec, str | bool):
            raise ValueError(f"unknown local VAD {spec!r}")
        return spec
    from rtagents.detectors import _onnx
    from rtagents.detectors.silero import SileroDetector, SileroVad
    from rtagents.detectors.weights import SILERO_VAD, models_dir, weights_path

    if _silero_session is None:
        try:
            _onnx.onnxruntime()
        except ImportError:
            return _fall_back(f"onnxruntime is not installed ({_onnx.INSTALL_HINT})")
        path = weights_path(SILERO_VAD)
        if path is None:
            return _fall_back(
                f"the Silero VAD weights are not in {models_dir()} (run `rtagents fetch-models` "
                f"once; the model runs on onnxruntime: {_onnx.INSTALL_HINT})"
            )
        try:
            _silero_session = _onnx.open_session(path)
        except Exception as e:  # a damaged install of onnxruntime, say
            return _fall_back(f"the Silero VAD model could not be loaded ({type(e).__name__})")
    return SileroDetector(SileroVad(session=_silero_session))
