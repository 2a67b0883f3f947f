"""The energy voice activity detector, sans-IO: speech starts and stops in audio time.

Theory of operation
-------------------
:class:`EnergyDetector` takes the levels of 10 ms sub-frames of PCM16 at its rate (16 kHz by
default) from the shared :class:`~rtagents._core.levels.LevelMeter` and applies onset/offset
hysteresis: speech *starts* after ``min_speech_ms`` of sub-frames louder than ``start_dbfs`` and
*stops* after ``min_silence_ms`` of sub-frames quieter than ``stop_dbfs``.  Between the two
thresholds nothing changes, so a voice hovering near one level does not flap.  A decision
carries its audio time (ms fed up to the end of the deciding sub-frame, so any chunking gives the
same answer), never a clock.  Any object with a ``rate`` and ``feed`` (the :class:`Detector`
protocol: a neural VAD, say) can take its place in the VAD actor.
"""

from __future__ import annotations

from typing import Literal, Protocol

import attrs

from rtagents._core.levels import LevelMeter

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
    _meter: LevelMeter = attrs.field(init=False)
    _sub_frames: int = attrs.field(init=False, default=0)
    _run: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.rate <= 0 or self.rate * SUB_FRAME_MS % 1000:
            raise ValueError(f"rate {self.rate} Hz has no whole number of samples in 10 ms")
        if self.stop_dbfs > self.start_dbfs:
            raise ValueError("stop_dbfs must not be above start_dbfs (hysteresis)")
        self._meter = LevelMeter(self.rate * SUB_FRAME_MS // 1000)

    def feed(self, pcm16: bytes) -> list[Decision]:
        """Feed audio; returns the decisions it completed, at the end of the deciding
        sub-frame in audio time (so any chunking of the same audio gives the same answer)."""
        decisions: list[Decision] = []
        levels = self._meter.feed(pcm16)  # (checks that the PCM is whole samples)
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
