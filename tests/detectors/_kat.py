"""The fixed input of the Whisper-features known-answer test: pure NumPy, no project imports
(the generator runs it in a scratch virtualenv)."""

from __future__ import annotations

import numpy as np


def kat_input() -> np.ndarray:
    """The fixed 8 s float32 input of the Whisper-features known-answer test: 1 s of zeros
    (as smart-turn's front padding), then a 100→7000 Hz chirp plus a 220 Hz voice-like
    harmonic stack amplitude-modulated at 3 Hz.  A formula, so it is the same everywhere."""
    t = np.arange(128_000, dtype=np.float64) / 16_000
    chirp = 0.05 * np.sin(2 * np.pi * (100 * t + (6900 / 16) * t**2))
    stack = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 8))
    voice = 0.2 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * stack
    x = (chirp + voice).astype(np.float32)
    x[:16_000] = 0.0
    return x
