"""Streaming format converters: PCM16 at a device's rate ↔ a model's wire format, in one pass.

Theory of operation
-------------------
An :class:`Encoder` takes PCM16 mono at the rate a source delivers and returns audio in a Realtime
:class:`~rtagents.protocol.AudioFormat` (PCM16 at 24 kHz, G.711 μ-law or A-law at 8 kHz); a
:class:`Decoder` does the reverse for a sink.  Each is one native call per chunk: the fused
kernels resample and μ-law-code in the same pass (``process_to_ulaw`` / ``process_ulaw``); equal
rates skip the resampler; PCM to PCM at the same rate is a copy-free pass-through.  A-law has no
fused kernel yet: it is resampled, then coded (two native calls).  Both are streaming (the
resampler keeps its history between chunks); ``flush`` ends a stream and returns its tail.
"""

from __future__ import annotations

from rtagents import native
from rtagents.protocol import AudioFormat


class Encoder:
    """PCM16 mono at ``in_rate`` → ``fmt``, streaming."""

    __slots__ = ("_kind", "_resampler", "fmt", "in_rate")

    def __init__(self, in_rate: int, fmt: AudioFormat) -> None:
        self.in_rate = in_rate
        self.fmt = fmt
        out = fmt.sample_rate
        self._resampler = native.Resampler(in_rate, out) if in_rate != out else None
        self._kind = fmt.type

    def __repr__(self) -> str:
        return f"<Encoder {self.in_rate} Hz PCM16 -> {self.fmt.type} {self.fmt.sample_rate} Hz>"

    def process(self, pcm16: bytes) -> bytes:
        rs = self._resampler
        kind = self._kind
        if kind == "audio/pcm":
            return pcm16 if rs is None else rs.process(pcm16)
        if kind == "audio/pcmu":
            return native.ulaw_encode(pcm16) if rs is None else rs.process_to_ulaw(pcm16)
        return native.alaw_encode(pcm16 if rs is None else rs.process(pcm16))

    def flush(self) -> bytes:
        rs = self._resampler
        if rs is None:
            return b""
        if self._kind == "audio/pcmu":
            return rs.flush_to_ulaw()
        tail = rs.flush()
        return tail if self._kind == "audio/pcm" else native.alaw_encode(tail)


class Decoder:
    """``fmt`` → PCM16 mono at ``out_rate``, streaming."""

    __slots__ = ("_kind", "_resampler", "fmt", "out_rate")

    def __init__(self, fmt: AudioFormat, out_rate: int) -> None:
        self.fmt = fmt
        self.out_rate = out_rate
        rate = fmt.sample_rate
        self._resampler = native.Resampler(rate, out_rate) if rate != out_rate else None
        self._kind = fmt.type

    def __repr__(self) -> str:
        return f"<Decoder {self.fmt.type} {self.fmt.sample_rate} Hz -> {self.out_rate} Hz PCM16>"

    def process(self, data: bytes) -> bytes:
        rs = self._resampler
        kind = self._kind
        if kind == "audio/pcm":
            return data if rs is None else rs.process(data)
        if kind == "audio/pcmu":
            return native.ulaw_decode(data) if rs is None else rs.process_ulaw(data)
        pcm = native.alaw_decode(data)
        return pcm if rs is None else rs.process(pcm)

    def flush(self) -> bytes:
        return b"" if self._resampler is None else self._resampler.flush()
