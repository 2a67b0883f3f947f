"""The offline speech model assembled: ears, brain and voice for the local server."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import attrs

from rtagents.local._responders import Responder

from ._chat import ChatCompletionsBrain
from ._espeak import EspeakVoice
from ._pocketsphinx import PocketsphinxRecognizer
from ._rules import RuleBrain
from ._spoken import SpokenResponder


@attrs.define(eq=False)
class SpeechModel:
    """What ``serve_local_realtime(responder=..., transcriber=...)`` needs."""

    recognizer: PocketsphinxRecognizer
    brain: Responder
    voice: EspeakVoice
    responder: SpokenResponder

    def warm_up(self) -> None:
        """Load the recognizer's model and the voice now (blocking, about 0.3 s)."""
        self.recognizer.warm_up()
        self.voice.synthesize_sync("ready")

    async def aclose(self) -> None:
        if isinstance(self.brain, ChatCompletionsBrain):
            await self.brain.aclose()


def speech_model(
    *,
    brain: str | Responder | None = None,
    phrases: Sequence[str] | None = None,
    grammar: str | None = None,
    voice: str = "en-us",
    words_per_minute: int = 175,
    threaded: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> SpeechModel:
    """The offline cascade: pocketsphinx → brain → espeak-ng.

    `brain` is ``"rules"`` (the default: :class:`RuleBrain`), ``"chat"``
    (:meth:`ChatCompletionsBrain.from_env`: ``RTAGENTS_CHAT_URL``, ``RTAGENTS_CHAT_MODEL``,
    ``RTAGENTS_CHAT_API_KEY``) or a responder of your own; when None, the ``RTAGENTS_BRAIN``
    environment variable chooses (default ``rules``).  `grammar` (JSGF) or `phrases` (a closed
    set of sentences) restrict recognition to a command language (exact on it); without them
    pocketsphinx uses its open English language model.  `threaded=False`
    runs recognition and synthesis inline, for tests on trio's MockClock.
    """
    chosen: Responder
    if brain is None:
        brain = environ.get("RTAGENTS_BRAIN", "rules") or "rules"
    if brain == "rules":
        chosen = RuleBrain()
    elif brain == "chat":
        chosen = ChatCompletionsBrain.from_env(environ)
    elif isinstance(brain, str):
        raise ValueError(f"unknown brain {brain!r}: use 'rules' or 'chat'")
    else:
        chosen = brain
    recognizer = PocketsphinxRecognizer(phrases=phrases, grammar=grammar, threaded=threaded)
    speaker = EspeakVoice(voice, words_per_minute=words_per_minute, threaded=threaded)
    return SpeechModel(recognizer, chosen, speaker, SpokenResponder(chosen, speaker))
