"""The local server's detectors, loaded: Silero for the VAD and smart-turn for ``semantic_vad``.

:func:`load_detection` picks them once per server: ``vad`` is ``"energy"`` (no dependency),
``"silero"`` or ``"auto"`` (Silero when its weights and onnxruntime are here); ``turn_model`` is
``"off"`` or ``"auto"`` (smart-turn when here).  What cannot be had falls back — to the energy
VAD, to ``semantic_vad`` timed as server VAD — and :attr:`Detection.notes` says why and how to
get it (``rtagents fetch-models``, ``pip install 'rtagents[turns]'``), for the server to say once.
Loading reads the model files (about 0.1–0.3 s each); nothing here runs per frame.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from rtagents import native

from ._connection import TurnJudge
from ._turns import TurnDetectors

VADS: Final = ("energy", "silero", "auto")
TURN_MODELS: Final = ("off", "auto")
JUDGE_RATE: Final = 16000


class SmartTurnJudge:
    """Smart-turn v3 as the connection's :class:`~._connection.TurnJudge`: the audio taken to
    16 kHz, then the model (on the calling thread: a worker thread in the server)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def probability(self, pcm16: bytes, rate: int) -> float:
        audio = pcm16 if rate == JUDGE_RATE else native.resample(pcm16, rate, JUDGE_RATE)
        return float(self.model.probability(audio)) if audio else 0.0


@attrs.frozen
class Detection:
    """What a server's sessions detect turns with, and what fell back (``notes``)."""

    detectors: TurnDetectors = attrs.field(factory=TurnDetectors)
    judge: TurnJudge | None = None
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        turn = "smart-turn" if self.judge is not None else "off (as server_vad)"
        return f"VAD {self.detectors.vad_name}, semantic_vad turn model {turn}"


def _unavailable(name: str) -> str | None:
    """Why the model file `name` cannot be used here (None: it can)."""
    import importlib.util

    from rtagents.detectors import weights_path

    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed (pip install 'rtagents[turns]')"
    if weights_path(name) is None:
        return "its weights are not fetched (run `rtagents fetch-models` once)"
    return None


def load_detection(vad: str = "energy", turn_model: str = "off") -> Detection:
    """The detectors for `vad` and `turn_model` (see the module docstring).  Raises
    ``ValueError`` for a name that is neither."""
    if vad not in VADS:
        raise ValueError(f"vad must be one of {', '.join(VADS)}, not {vad!r}")
    if turn_model not in TURN_MODELS:
        raise ValueError(f"turn_model must be one of {', '.join(TURN_MODELS)}, not {turn_model!r}")
    from rtagents.detectors import SILERO_VAD, SMART_TURN

    notes: list[str] = []
    silero = None
    if vad != "energy":
        why = _unavailable(SILERO_VAD)
        if why is None:
            from rtagents.detectors._onnx import model_path, open_session

            silero = open_session(model_path(None, SILERO_VAD))
        else:
            notes.append(f"Silero VAD unavailable, using the energy VAD: {why}")
    judge: TurnJudge | None = None
    if turn_model == "auto":
        why = _unavailable(SMART_TURN)
        if why is None:
            from rtagents.detectors import SmartTurn

            judge = SmartTurnJudge(SmartTurn())
        else:
            notes.append(f"semantic_vad runs as server_vad (no smart-turn model): {why}")
    return Detection(TurnDetectors(silero, judge is not None), judge, tuple(notes))
