"""Audio formats of the Realtime GA API.

Theory of operation
-------------------
GA sessions name their audio format with a small object instead of the old beta strings:
``{"type": "audio/pcm", "rate": 24000}`` (16-bit little-endian mono at 24 kHz, the default),
``{"type": "audio/pcmu"}`` (G.711 μ-law) and ``{"type": "audio/pcma"}`` (G.711 A-law), both
8 kHz with one byte per sample.  :class:`AudioFormat` is that object as a value, with the
arithmetic the rest of the runtime needs (bytes per millisecond, for ``audio_end_ms``) and the
conversion to and from PCM16 at its rate (G.711 through the native codec).

The official types only allow ``rate`` on ``audio/pcm`` and only the value 24000, so the
constructor refuses anything else: a format we cannot describe on the wire is a local error.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from rtagents import native

from ._codec import WireValue

AudioFormatType: TypeAlias = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]

_PCM_RATE = 24_000
_G711_RATE = 8_000


@attrs.frozen(kw_only=True)
class AudioFormat(WireValue):
    """One of the three GA audio formats.  Build it with :meth:`pcm`, :meth:`pcmu`, :meth:`pcma`."""

    type: AudioFormatType
    #: Only for ``audio/pcm``, and only 24000; ``None`` leaves the key out (the server assumes
    #: 24000 anyway).
    rate: int | None = attrs.field(default=None)

    @rate.validator
    def _check_rate(self, _: object, rate: int | None) -> None:
        if rate is None:
            return
        if self.type != "audio/pcm":
            raise ValueError(f"{self.type} has no rate")
        if rate != _PCM_RATE:
            raise ValueError(f"audio/pcm supports only rate {_PCM_RATE}, not {rate}")

    @classmethod
    def pcm(cls) -> AudioFormat:
        """16-bit signed little-endian mono PCM at 24 kHz."""
        return cls(type="audio/pcm", rate=_PCM_RATE)

    @classmethod
    def pcmu(cls) -> AudioFormat:
        """G.711 μ-law, 8 kHz mono (what Twilio Media Streams carry)."""
        return cls(type="audio/pcmu")

    @classmethod
    def pcma(cls) -> AudioFormat:
        """G.711 A-law, 8 kHz mono."""
        return cls(type="audio/pcma")

    @property
    def sample_rate(self) -> int:
        return _PCM_RATE if self.type == "audio/pcm" else _G711_RATE

    @property
    def sample_width(self) -> int:
        """Bytes per sample."""
        return 2 if self.type == "audio/pcm" else 1

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.sample_width

    def duration_ms(self, nbytes: int) -> float:
        """How long ``nbytes`` of audio in this format plays, in milliseconds."""
        return nbytes * 1000 / self.bytes_per_second

    def to_pcm16(self, data: bytes) -> bytes:
        """Audio in this format as PCM16 at :attr:`sample_rate`."""
        if self.type == "audio/pcmu":
            return native.ulaw_decode(data)
        if self.type == "audio/pcma":
            return native.alaw_decode(data)
        return bytes(data)

    def from_pcm16(self, pcm: bytes) -> bytes:
        """PCM16 at :attr:`sample_rate` in this format."""
        if self.type == "audio/pcmu":
            return native.ulaw_encode(pcm)
        if self.type == "audio/pcma":
            return native.alaw_encode(pcm)
        return bytes(pcm)

    def byte_count(self, ms: int) -> int:
        """How many bytes ``ms`` milliseconds of audio take (whole samples)."""
        return ms * self.sample_rate // 1000 * self.sample_width
