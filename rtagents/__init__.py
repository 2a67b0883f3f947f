"""rtagents: a trio-native realtime voice-agent runtime.

What exists today: the native audio kernels in :mod:`rtagents.native` (G.711 μ-law and a
low-latency streaming resampler).  The session runtime, protocol core and integrations described
in the README's roadmap are being built on top of them.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
