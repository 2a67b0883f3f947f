"""How the local server decides a user's turn has ended, sans-IO: detectors and eagerness.

Theory of operation
-------------------
:class:`TurnDetectors` is what a server's sessions detect turns with — which frame classifier
the VAD uses (energy, or Silero's model) and whether ``semantic_vad`` has a turn-completion model
— chosen once per server (``rtagents local-server --vad --turn-model``).

With a turn model, ``semantic_vad`` works in two steps (see ``_input``): the VAD proposes a
*candidate* end after a short pause (:data:`CANDIDATE_PAUSE_MS`: 96 ms over Silero's frames,
160 ms over the energy ones) and the session asks the
adapter, through a :class:`TurnQuery` carrying the turn's last 8 s of audio, how likely it is
that the user has finished; the adapter answers with the probability (the model runs off the
event loop) and the session ends the turn when it is at least the eagerness' threshold.  A turn
not judged finished ends anyway once the pause has lasted the eagerness' longest wait (OpenAI
documents about 8 s / 4 s / 2 s for low / medium / high; ``auto`` is medium).  Speech resuming
voids the candidate — the pause was inside the turn, and the same item goes on.  Without a turn
model ``semantic_vad`` runs as server VAD with its defaults.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from ._vad import EnergyFrames, FrameClassifier, SileroFrames

#: The pause after which the VAD proposes a candidate end of turn to the turn model, by frame
#: classifier.  Silero: three of its frames — 96 ms made the median end of turn 264 ms against
#: 323 ms at 160 ms, with the same premature ends (1 in 5).  Energy: 160 ms — at 96 ms the dips
#: inside words of real speech read as pauses (3 in 5 mid-sentence pauses ended the turn, and 2
#: of 5 complete sentences were cut early); ``python -m benchmarks.turns``.
CANDIDATE_PAUSE_MS: Final = {"silero": 96, "energy": 160}
#: The audio a turn query carries: the turn model looks at the last 8 s.
TURN_WINDOW_MS: Final = 8000


@attrs.frozen
class Eagerness:
    """``threshold``: the turn model's probability that ends a turn; ``max_wait_ms``: the
    longest pause before the turn ends anyway."""

    threshold: float
    max_wait_ms: int


EAGERNESS: Final = {
    "low": Eagerness(0.8, 8000),
    "medium": Eagerness(0.5, 4000),
    "high": Eagerness(0.3, 2000),
    "auto": Eagerness(0.5, 4000),
}


def eagerness(name: str | None) -> Eagerness:
    return EAGERNESS.get(name or "auto", EAGERNESS["auto"])


@attrs.frozen
class TurnDetectors:
    """The server's detectors: ``silero`` is an onnxruntime session of ``silero_vad.onnx``
    (None: the energy classifier); ``turn_model`` says whether ``semantic_vad`` asks the
    adapter to judge candidate ends (the adapter holds the model)."""

    silero: Any = attrs.field(default=None, repr=lambda s: "loaded" if s is not None else "None")
    turn_model: bool = False

    def frames(self, rate: int, threshold: float) -> FrameClassifier:
        if self.silero is not None:
            return SileroFrames(rate, threshold, self.silero)
        return EnergyFrames(rate, threshold)

    @property
    def vad_name(self) -> str:
        return "silero" if self.silero is not None else "energy"

    @property
    def candidate_pause_ms(self) -> int:
        return CANDIDATE_PAUSE_MS[self.vad_name]


@attrs.frozen
class TurnQuery:
    """Asks the adapter: has the user finished?  ``pcm16`` is the turn's last
    :data:`TURN_WINDOW_MS` at ``rate``; answer with ``ServerSession.turn_verdict(seq, p)``."""

    seq: int
    pcm16: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    rate: int
