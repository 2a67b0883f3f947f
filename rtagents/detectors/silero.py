"""Silero VAD through onnxruntime: a streaming speech probability per 32 ms of 16 kHz PCM16.

Theory of operation
-------------------
The Silero v5 ONNX model scores one frame of 512 samples at 16 kHz (32 ms) at a time.  Its
input is the previous frame's last 64 samples (the *context*) followed by the frame, as float32
``sample / 32768``, shape ``[1, 576]``; it also takes and returns a recurrent ``state``
``[2, 1, 128]``, and the rate as an int64 scalar.  :class:`SileroVad` keeps the context and the
state between calls, exactly as silero's own ``OnnxWrapper`` does, so feeding audio in chunks of
any size gives the same probabilities as feeding it at once: a partial frame is kept for the
next call (at most 511 samples; the buffer is bounded).  :meth:`SileroVad.reset` forgets the
state, the context and the partial frame (a new utterance, a new stream).

:class:`SileroDetector` turns the probabilities into speech start/stop decisions with
hysteresis (two thresholds, two minimum durations), the :class:`rtagents._core.vad.Detector`
protocol the VAD actor runs, in place of the energy detector.

Frames run one at a time, on the calling thread, on one onnxruntime thread (about 0.1 ms of
CPU each here, p95 up to 0.45 ms under load: ``python -m benchmarks.detectors``), so running it
inline in the capture task, as the VAD actor does, costs about 0.3% of a core per stream.
Pure apart from the model: no clock, no I/O after load.  Audio at another rate goes through
:class:`rtagents.native.Resampler` first (the VAD actor does that for any detector).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from rtagents._core.vad import Decision
from rtagents.detectors._onnx import model_path, open_session
from rtagents.detectors.weights import SILERO_VAD

RATE = 16000
FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
FRAME_MS = FRAME_SAMPLES * 1000 // RATE  # 32
_RESET_MAX_P = 0.1  # a periodic reset waits for _RESET_LOW_FRAMES frames in a row below this
_RESET_LOW_FRAMES = 5


class SileroVad:
    """Streaming Silero VAD at 16 kHz: :meth:`feed` PCM16, get one probability per whole
    32 ms frame completed.  ``path`` defaults to the cached model (see
    :func:`rtagents.detectors.weights.fetch_weights`)."""

    rate = RATE
    frame_samples = FRAME_SAMPLES

    def __init__(self, path: str | os.PathLike[str] | None = None, *, session: Any = None) -> None:
        self._session = (
            session if session is not None else open_session(model_path(path, SILERO_VAD))
        )
        self._sr = np.array(RATE, dtype=np.int64)
        self._input = np.zeros((1, CONTEXT_SAMPLES + FRAME_SAMPLES), dtype=np.float32)
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._pending = b""
        self.frames = 0  #: frames scored since the last reset

    def feed(self, pcm16: bytes) -> list[float]:
        """Speech probabilities (0..1) of the whole frames that ``pcm16`` completes, in order."""
        return list(self.scores(pcm16))

    def scores(self, pcm16: bytes) -> Iterator[float]:
        """:meth:`feed`, lazily: each frame is scored when the iterator reaches it, so a
        :meth:`reset_state` between two frames takes effect at the next one.  Exhaust it: the
        frames it has not reached are lost (the partial frame is already kept)."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        data = self._pending + pcm16 if self._pending else pcm16
        step = 2 * FRAME_SAMPLES
        whole = len(data) - len(data) % step
        self._pending = bytes(data[whole:])
        return self._frames_of(data, whole)

    def _frames_of(self, data: bytes, whole: int) -> Iterator[float]:
        if not whole:
            return
        samples = np.frombuffer(data, dtype="<i2", count=whole // 2).astype(np.float32)
        samples *= np.float32(1.0 / 32768.0)
        for frame in samples.reshape(-1, FRAME_SAMPLES):
            yield self._score(frame)

    def _score(self, frame: np.ndarray) -> float:
        x = self._input
        x[0, CONTEXT_SAMPLES:] = frame
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": self._sr}
        )
        x[0, :CONTEXT_SAMPLES] = frame[-CONTEXT_SAMPLES:]
        self.frames += 1
        return float(out[0, 0])

    def reset_state(self) -> None:
        """Forget the recurrent state and the 64-sample context, keeping the audio timeline
        (a partial frame stays): the periodic reset in quiet, see :class:`SileroDetector`."""
        self._input[:] = 0.0
        self._state = np.zeros((2, 1, 128), dtype=np.float32)

    def reset(self) -> None:
        """Forget the recurrent state, the 64-sample context and any partial frame."""
        self.reset_state()
        self._pending = b""
        self.frames = 0


class SileroDetector:
    """Silero as a :class:`rtagents._core.vad.Detector` (for the VAD actor): speech *starts*
    after ``min_speech_ms`` of frames with probability ≥ ``start_threshold`` and *stops* after
    ``min_silence_ms`` of frames below ``stop_threshold``; each decision carries the audio time
    (ms fed, at the end of the deciding frame), so any chunking gives the same answer.

    Like pipecat's analyser, it resets the model's state after ``reset_after_s`` of audio, at
    the first frame where it is not speaking and the last five frames all scored below 0.1:
    long non-speech otherwise leaves the recurrent state under-reporting the speech after it.
    """

    rate = RATE

    def __init__(
        self,
        vad: SileroVad,
        *,
        start_threshold: float = 0.5,
        stop_threshold: float = 0.35,
        min_speech_ms: int = 64,
        min_silence_ms: int = 300,
        reset_after_s: float | None = 2.0,
    ) -> None:
        if not 0.0 <= stop_threshold <= start_threshold <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= stop_threshold <= start_threshold <= 1")
        self.vad = vad
        self.start_threshold = start_threshold
        self.stop_threshold = stop_threshold
        self._start_frames = max(1, -(-min_speech_ms // FRAME_MS))
        self._stop_frames = max(1, -(-min_silence_ms // FRAME_MS))
        self._reset_frames = (
            None if reset_after_s is None else round(reset_after_s * 1000 / FRAME_MS)
        )
        self.speaking = False
        self.resets = 0  #: periodic state resets so far
        self._frames = 0
        self._run = 0
        self._low = 0
        self._since_reset = 0

    def feed(self, pcm16: bytes) -> list[Decision]:
        """Feed 16 kHz PCM16; the decisions the whole frames it completes make."""
        decisions: list[Decision] = []
        for p in self.vad.scores(pcm16):
            self._frames += 1
            if self.speaking:
                self._run = self._run + 1 if p < self.stop_threshold else 0
                if self._run >= self._stop_frames:
                    self.speaking, self._run = False, 0
                    decisions.append(("stop", self._frames * FRAME_MS))
            else:
                self._run = self._run + 1 if p >= self.start_threshold else 0
                if self._run >= self._start_frames:
                    self.speaking, self._run = True, 0
                    decisions.append(("start", self._frames * FRAME_MS))
            self._maybe_reset(p)
        return decisions

    def _maybe_reset(self, p: float) -> None:
        self._since_reset += 1
        self._low = self._low + 1 if p < _RESET_MAX_P else 0
        if (
            self._reset_frames is not None
            and self._since_reset >= self._reset_frames
            and not self.speaking
            and self._low >= _RESET_LOW_FRAMES
        ):
            self.vad.reset_state()
            self.resets += 1
            self._since_reset = 0
