"""The uplink: the one way user audio takes to the model, from capture and ``send_audio`` alike.

Theory of operation
-------------------
:class:`Uplink` is a synchronous stage, not a task: the capture actor calls ``send_nowait`` with
each frame (PCM16 at the source's rate) from its own task, and ``RealtimeSession.send_audio``
calls ``send_encoded_nowait`` with audio already in the model's input format.  A frame is
converted once, at this edge, by a streaming :class:`~rtagents.audio.Encoder` (the fused native
kernel resamples and μ-law-codes in one pass), numbered, wrapped as an
``input_audio_buffer.append`` and queued on the link's audio lane, which never waits: when the
socket falls behind, the link drops its oldest queued append and counts it.  So a captured frame
wakes exactly one other task, the link's socket writer.  Both paths share the numbering and the
lane; ``set_format`` follows a ``session.updated`` that changes the input format.  Audio offered
after the link closed is counted (``not_sent``) and dropped quietly.
"""

from __future__ import annotations

import attrs

from rtagents import protocol as p
from rtagents.audio.convert import Encoder
from rtagents.audio.queue import AudioFrame
from rtagents.models import ModelLink, ModelLinkError


@attrs.frozen(kw_only=True)
class UplinkStatistics:
    format: str
    frames: int  # chunks queued for the model (captured frames and send_audio calls)
    bytes: int  # audio bytes queued, in the model's format
    not_sent: int  # chunks offered after the link had closed


class Uplink:
    """See the module docstring."""

    def __init__(self, link: ModelLink, fmt: p.AudioFormat) -> None:
        self.link = link
        self.format = fmt
        self._encoders: dict[int, Encoder] = {}
        self.seq = 0
        self._bytes = 0
        self._not_sent = 0

    def set_format(self, fmt: p.AudioFormat) -> None:
        if fmt != self.format:
            self.format = fmt
            self._encoders.clear()

    def send_nowait(self, frame: AudioFrame) -> None:
        """A captured frame: convert once and queue it (never waits)."""
        encoder = self._encoders.get(frame.rate)
        if encoder is None:
            encoder = self._encoders[frame.rate] = Encoder(frame.rate, self.format)
        data = encoder.process(frame.pcm)
        if data:
            self.send_encoded_nowait(data)

    def send_encoded_nowait(self, data: bytes) -> None:
        """Audio already in the input format: queue it (never waits)."""
        try:
            self.link.send_audio_nowait(p.InputAudioBufferAppend(audio=data))
        except ModelLinkError:
            self._not_sent += 1
            return
        self.seq += 1
        self._bytes += len(data)

    def statistics(self) -> UplinkStatistics:
        return UplinkStatistics(
            format=self.format.type,
            frames=self.seq,
            bytes=self._bytes,
            not_sent=self._not_sent,
        )
