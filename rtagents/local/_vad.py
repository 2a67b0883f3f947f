"""The local server's voice activity detector, sans-IO, in audio time.

Theory of operation
-------------------
Audio is cut into 10 ms frames at the input rate; a frame is *voiced* when its RMS level, as
measured by the shared :class:`~rtagents._core.levels.LevelMeter` (the one the client-side VAD
uses too), is above a threshold in dBFS.  The Realtime ``threshold`` (0..1, default 0.5) maps
linearly onto -70..-20 dBFS, so the default is -45 dBFS: quiet room noise stays below it, speech
at any normal level is above it.

* Speech **starts** after ``min_speech_ms`` of consecutive voiced frames.  ``audio_start_ms`` is
  the start of the first of them minus ``prefix_padding_ms``, but never before the start of the
  audio still in the input buffer (``floor_ms``, which the caller moves on commit and clear).
* Speech **stops** after ``silence_duration_ms`` of consecutive unvoiced frames;
  ``audio_end_ms`` is the end of the last voiced frame.

Every millisecond figure counts audio samples fed since the session started, never a clock, so
the same audio always gives the same decisions, whatever the chunking.
"""

from __future__ import annotations

from typing import Final

import attrs

from rtagents._core.levels import LevelMeter

FRAME_MS: Final = 10


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


@attrs.define
class EnergyVad:
    """Feed PCM16 at ``rate``; get speech start/stop decisions in audio milliseconds."""

    rate: int
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    min_speech_ms: int = 30
    floor_ms: int = 0
    start_ms: int = 0  # audio already fed before this detector was made
    speaking: bool = attrs.field(init=False, default=False)
    _meter: LevelMeter = attrs.field(init=False, eq=False, repr=False)
    _frames: int = attrs.field(init=False, default=0)  # whole frames analysed so far
    _run: int = attrs.field(init=False, default=0)  # consecutive frames against the state
    _last_voiced_end: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.rate % (1000 // FRAME_MS):
            raise ValueError(f"rate {self.rate} is not a whole number of samples per frame")
        self._frames = self.start_ms // FRAME_MS
        self._meter = LevelMeter(self.frame_samples)

    @property
    def frame_samples(self) -> int:
        return self.rate * FRAME_MS // 1000

    @property
    def audio_ms(self) -> int:
        """Audio fed so far, in whole frames' worth of milliseconds."""
        return self._frames * FRAME_MS

    def feed(self, pcm16: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Decisions for the whole frames ``pcm16`` completes (a partial frame waits for the
        next call).  Raises :class:`ValueError` on an odd number of bytes."""
        levels = self._meter.feed(pcm16)
        limit = threshold_dbfs(self.threshold)
        out: list[SpeechStarted | SpeechStopped] = []
        for level in levels:
            out.extend(self._frame(bool(level > limit)))
        return out

    def _frame(self, voiced: bool) -> list[SpeechStarted | SpeechStopped]:
        start_ms = self._frames * FRAME_MS
        self._frames += 1
        if voiced:
            self._last_voiced_end = start_ms + FRAME_MS
        if voiced != self.speaking:
            self._run += 1
        else:
            self._run = 0
        if not self.speaking and self._run * FRAME_MS >= self.min_speech_ms:
            self.speaking = True
            self._run = 0
            first_voiced = start_ms + FRAME_MS - self.min_speech_ms
            begin = max(first_voiced - self.prefix_padding_ms, self.floor_ms)
            return [SpeechStarted(audio_start_ms=begin)]
        if self.speaking and self._run * FRAME_MS >= self.silence_duration_ms:
            self.speaking = False
            self._run = 0
            return [
                SpeechStopped(audio_end_ms=self._last_voiced_end, decided_ms=start_ms + FRAME_MS)
            ]
        return []

    def reset_speech(self) -> None:
        """Forget a speech segment in progress (after ``input_audio_buffer.clear``)."""
        self.speaking = False
        self._run = 0
