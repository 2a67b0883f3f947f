"""Smart-turn v3 (v3.2, CPU build) through onnxruntime: is the user's turn complete?

Theory of operation
-------------------
The model hears the end of what the user said and scores how likely it is that the turn is
over (complete utterances score about 0.9, a sentence cut in the middle about 0.01–0.1).  Its
preprocessing, exactly as pipecat's ``LocalSmartTurnAnalyzerV3`` does it:

1. PCM16 mono at 16 kHz → float32 ``sample / 32768``;
2. keep the last 8 s (128,000 samples); shorter audio is padded with zeros *in front*, so
   the end of the speech is always the end of the window;
3. Whisper log-mel features of the window (:mod:`rtagents.detectors.whisper_features`,
   ``do_normalize=True``) → ``input_features`` float32 ``[1, 80, 800]``;
4. one onnxruntime run; the output (named ``logits``, but already a sigmoid) ``[1, 1]`` is the
   probability.

One decision costs 35–100 ms of CPU here (features 3–15 ms, the rest the model), so it belongs on a
worker thread, never on the event loop, and one at a time per connection: the caller bounds it.
The object holds no per-utterance state, only the session; :meth:`SmartTurn.probability` may be
called from one thread at a time.  Audio at another rate goes through
:class:`rtagents.native.Resampler` first.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rtagents.detectors._onnx import model_path, open_session
from rtagents.detectors.weights import SMART_TURN
from rtagents.detectors.whisper_features import N_MELS, log_mel

RATE = 16000
WINDOW_SECONDS = 8
WINDOW_SAMPLES = WINDOW_SECONDS * RATE  # 128,000
N_FRAMES = WINDOW_SAMPLES // 160  # 800
INPUT_NAME = "input_features"


def window(pcm16_16k: bytes) -> np.ndarray:
    """The model's 8 s window of ``pcm16_16k`` as float32: its last 128,000 samples, or all of
    them after enough zeros in front."""
    if len(pcm16_16k) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")
    n = len(pcm16_16k) // 2
    keep = min(n, WINDOW_SAMPLES)
    samples = np.frombuffer(pcm16_16k, dtype="<i2", count=keep, offset=2 * (n - keep))
    out = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    out[WINDOW_SAMPLES - keep :] = samples.astype(np.float32) / np.float32(32768.0)
    return out


def features(pcm16_16k: bytes) -> np.ndarray:
    """The model input ``[1, 80, 800]`` float32 for the audio so far (see the module doc)."""
    return log_mel(window(pcm16_16k))[np.newaxis]


class SmartTurn:
    """Smart-turn v3 end-of-turn probability of 16 kHz PCM16.  ``path`` defaults to the cached
    model (see :func:`rtagents.detectors.weights.fetch_weights`)."""

    rate = RATE

    def __init__(self, path: str | os.PathLike[str] | None = None, *, session: Any = None) -> None:
        self._session = (
            session if session is not None else open_session(model_path(path, SMART_TURN))
        )
        inputs = self._session.get_inputs()
        if [i.name for i in inputs] != [INPUT_NAME] or list(inputs[0].shape[1:]) != [
            N_MELS,
            N_FRAMES,
        ]:
            shapes = [(i.name, i.shape) for i in inputs]
            raise ValueError(f"not a smart-turn v3 model: its inputs are {shapes}")

    def probability(self, pcm16_16k: bytes) -> float:
        """How likely (0..1) it is that the turn ending with this audio is complete.  Only the
        last 8 s count; pass at least the current utterance.  Blocking (35–100 ms of CPU)."""
        if not pcm16_16k:
            raise ValueError("smart-turn needs some audio, not none")
        (out,) = self._session.run(None, {INPUT_NAME: features(pcm16_16k)})
        return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))
