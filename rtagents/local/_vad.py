"""The local server's voice activity detector, sans-IO, in audio time.

Theory of operation
-------------------
Audio is cut into frames at the input rate and each frame is classified voiced or not by a
*frame classifier*:

* :class:`EnergyFrames` (the default, no dependency): 10 ms frames; a frame is voiced when its
  RMS level, as measured by the shared :class:`~rtagents._core.levels.LevelMeter` (the one the
  client-side VAD uses too), is above a threshold in dBFS.  The Realtime ``threshold`` (0..1,
  default 0.5) maps linearly onto -70..-20 dBFS, so the default is -45 dBFS: quiet room noise
  stays below it, speech at any normal level is above it;
* :class:`SileroFrames`: 32 ms frames of the audio taken to 16 kHz by the native streaming
  resampler; a frame is voiced when Silero's speech probability is above ``threshold`` (the
  Realtime parameter means exactly that).  Noise and music that are loud are not speech to it.

:class:`SpeechVad` turns voiced frames into decisions:

* Speech **starts** after ``min_speech_ms`` of consecutive voiced frames.  ``audio_start_ms`` is
  the start of the first of them minus ``prefix_padding_ms``, but never before the start of the
  audio still in the input buffer (``floor_ms``, which the caller moves on commit and clear).
* Speech **stops** after ``silence_duration_ms`` of consecutive unvoiced frames;
  ``audio_end_ms`` is the end of the last voiced frame.

Every millisecond figure counts audio samples fed since the session started, never a clock, so
the same audio always gives the same decisions, whatever the chunking.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

import attrs

from rtagents import native
from rtagents._core.levels import LevelMeter

FRAME_MS: Final = 10  # the energy classifier's frames
SILERO_RATE: Final = 16000


def threshold_dbfs(threshold: float) -> float:
    """The frame level (dBFS) above which a frame counts as voiced."""
    return -70.0 + 50.0 * min(max(threshold, 0.0), 1.0)


@attrs.frozen
class SpeechStarted:
    audio_start_ms: int


@attrs.frozen
class SpeechStopped:
    audio_end_ms: int
    decided_ms: int = 0  # the end of the frame on which the silence was long enough


class FrameClassifier(Protocol):
    """Classifies whole frames of ``frame_ms`` of PCM16 as voiced or not (a partial frame waits
    for the next call)."""

    frame_ms: int

    def voiced(self, pcm16: bytes) -> list[bool]: ...


@attrs.define
class EnergyFrames:
    """10 ms frames louder than :func:`threshold_dbfs` of ``threshold``."""

    rate: int
    threshold: float = 0.5
    frame_ms: int = attrs.field(init=False, default=FRAME_MS)
    _meter: LevelMeter = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.rate % (1000 // FRAME_MS):
            raise ValueError(f"rate {self.rate} is not a whole number of samples per frame")
        self._meter = LevelMeter(self.rate * FRAME_MS // 1000)

    def voiced(self, pcm16: bytes) -> list[bool]:
        limit = threshold_dbfs(self.threshold)
        return [bool(level > limit) for level in self._meter.feed(pcm16)]


class SileroFrames:
    """32 ms frames whose Silero speech probability is above ``threshold``; ``model`` is an
    onnxruntime session of ``silero_vad.onnx`` (shared by every session of a server: each
    classifier keeps its own state)."""

    frame_ms = 32

    def __init__(self, rate: int, threshold: float, model: Any) -> None:
        from rtagents.detectors import SileroVad

        self.rate = rate
        self.threshold = threshold
        self._vad = SileroVad(session=model)
        self._resampler = native.Resampler(rate, SILERO_RATE) if rate != SILERO_RATE else None

    def voiced(self, pcm16: bytes) -> list[bool]:
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        audio = self._resampler.process(pcm16) if self._resampler is not None else pcm16
        return [p > self.threshold for p in self._vad.feed(audio)]


@attrs.define
class SpeechVad:
    """Feed PCM16 at ``rate``; get speech start/stop decisions in audio milliseconds."""

    rate: int
    frames: FrameClassifier
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    min_speech_ms: int = 30
    floor_ms: int = 0
    start_ms: int = 0  # audio already fed before this detector was made
    speaking: bool = attrs.field(init=False, default=False)
    _frames: int = attrs.field(init=False, default=0)  # whole frames analysed so far
    _run: int = attrs.field(init=False, default=0)  # consecutive frames against the state
    _last_voiced_end: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._frames = self.start_ms // self.frame_ms

    @property
    def frame_ms(self) -> int:
        return self.frames.frame_ms

    @property
    def audio_ms(self) -> int:
        """Audio fed so far, in whole frames' worth of milliseconds."""
        return self._frames * self.frame_ms

    def feed(self, pcm16: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Decisions for the whole frames ``pcm16`` completes (a partial frame waits for the
        next call).  Raises :class:`ValueError` on an odd number of bytes."""
        out: list[SpeechStarted | SpeechStopped] = []
        for voiced in self.frames.voiced(pcm16):
            out.extend(self._frame(voiced))
        return out

    def _frame(self, voiced: bool) -> list[SpeechStarted | SpeechStopped]:
        frame_ms = self.frame_ms
        start_ms = self._frames * frame_ms
        self._frames += 1
        if voiced:
            self._last_voiced_end = start_ms + frame_ms
        if voiced != self.speaking:
            self._run += 1
        else:
            self._run = 0
        if not self.speaking and self._run * frame_ms >= self.min_speech_ms:
            self.speaking = True
            first_voiced = start_ms + frame_ms * (1 - self._run)
            self._run = 0
            begin = max(first_voiced - self.prefix_padding_ms, self.floor_ms)
            return [SpeechStarted(audio_start_ms=begin)]
        if self.speaking and self._run * frame_ms >= self.silence_duration_ms:
            self.speaking = False
            self._run = 0
            return [
                SpeechStopped(audio_end_ms=self._last_voiced_end, decided_ms=start_ms + frame_ms)
            ]
        return []

    def reset_speech(self) -> None:
        """Forget a speech segment in progress (after ``input_audio_buffer.clear``)."""
        self.speaking = False
        self._run = 0


def EnergyVad(  # the detector's name from before classifiers were pluggable
    rate: int, threshold: float = 0.5, **options: Any
) -> SpeechVad:
    """The energy VAD: :class:`SpeechVad` over :class:`EnergyFrames`."""
    return SpeechVad(rate, EnergyFrames(rate, threshold), **options)
