"""The uplink: the one way user audio takes to the model, from capture and ``send_audio`` alike.

Theory of operation
-------------------
:class:`Uplink` is a synchronous stage, not a task: the capture actor calls ``send_nowait`` with
each frame (PCM16 at the source's rate) from its own task, and ``RealtimeSession.send_audio``
calls ``send_encoded`` with audio already in the model's input format.  A frame is converted
once, at this edge, by a streaming :class:`~rtagents.audio.Encoder` (the fused native kernel
resamples and μ-law-codes in one pass), numbered, encoded once as the
``input_audio_buffer.append`` JSON text (:func:`~rtagents.protocol.encode_audio_append`) and
queued on the link's audio lane.  For captured frames the lane never waits: when the socket
falls behind, the link drops its oldest queued append and counts it (a live microphone's
freshest audio is the useful audio).  For the app's audio it is backpressure: ``send_encoded``
waits while the lane is full, so a file pushed in a tight loop loses nothing.  Either way a
frame wakes exactly one other task, the link's socket writer.  Both paths share the numbering
and the lane; ``set_format`` follows a ``session.updated`` that changes the input format.
Audio offered after the link closed is counted (``not_sent``) and dropped quietly.  With an
``echo_gate`` (the session's, when it suppresses the uplink), a captured piece explained by the
agent's own echo is sent as silence, so the server's VAD does not hear it either.
"""

from __future__ import annotations

import attrs
import trio

from rtagents import protocol as p
from rtagents._core.echo import EchoGate
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
        #: Captured pieces explained by the agent's echo are sent as silence (see _core.echo).
        self.echo_gate: EchoGate | None = None

    def set_format(self, fmt: p.AudioFormat) -> None:
        if fmt != self.format:
            self.format = fmt
            self._encoders.clear()

    def send_nowait(self, frame: AudioFrame) -> None:
        """A captured frame: convert once and queue it (never waits)."""
        encoder = self._encoders.get(frame.rate)
        if encoder is None:
            encoder = self._encoders[frame.rate] = Encoder(frame.rate, self.format)
        pcm = frame.pcm
        if self.echo_gate is not None:
            pcm, _ = self.echo_gate.filter(pcm, frame.rate, frame.timestamp, count=False)
        data = encoder.process(pcm)
        if data:
            self.send_encoded_nowait(data)

    def send_encoded_nowait(self, data: bytes) -> None:
        """Audio already in the input format: queue it (never waits; drop-oldest when full)."""
        try:
            self.link.send_audio_nowait(p.encode_audio_append(data))
        except ModelLinkError:
            self._not_sent += 1
            return
        self._queued(data)

    async def send_encoded(self, data: bytes) -> None:
        """Audio the app pushes, in the input format: queue it, waiting while the link's audio
        lane is full (nothing dropped).  A cancel point; it yields only when it waits, or when
        the link has closed (so that a sender in a tight loop cannot starve the others)."""
        try:
            await self.link.send_audio(p.encode_audio_append(data))
        except ModelLinkError:
            self._not_sent += 1
            await trio.lowlevel.checkpoint()
            return
        self._queued(data)

    def _queued(self, data: bytes) -> None:
        self.seq += 1
        self._bytes += len(data)

    def statistics(self) -> UplinkStatistics:
        return UplinkStatistics(
            format=self.format.type,
            frames=self.seq,
            bytes=self._bytes,
            not_sent=self._not_sent,
        )
