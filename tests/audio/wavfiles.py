"""Builds WAV files byte by byte, so the tests control every header field."""

from __future__ import annotations

import struct


def wav_bytes(frames: bytes, rate: int, channels: int, bits: int, *, extensible: bool) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else 1, channels, rate, rate * align, align, bits
    )
    if extensible:  # cbSize, valid bits, channel mask, KSDATAFORMAT_SUBTYPE_PCM
        guid = bytes.fromhex("0100000000001000800000aa00389b71")
        fmt += struct.pack("<HHI", 22, bits, 3 if channels == 2 else 4) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(frames)) + frames + b"\0" * (len(frames) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body
