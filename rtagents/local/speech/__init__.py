"""The local server's ears, brain and voice: an offline speech cascade (``rtagents[local]``).

* :class:`PocketsphinxRecognizer` — streaming speech recognition (the server's transcriber);
* :class:`RuleBrain` — the default brain: deterministic rules, *not* a language model;
  :class:`ChatCompletionsBrain` — any OpenAI-compatible chat-completions endpoint (llama.cpp
  server, Ollama, vLLM, OpenAI) with function calling;
* :class:`EspeakVoice` — espeak-ng speech synthesis, streamed while it synthesizes;
* :class:`SpokenResponder` — a brain's text spoken by a voice, piece by piece;
* :func:`speech_model` — all of it assembled for the local server.

Nothing here is imported by the runtime: the optional engines (pocketsphinx, espeak-ng, httpx)
are loaded when a component is built, and a missing one raises :class:`SpeechUnavailable`
naming the extra to install.
"""

from ._assemble import SpeechModel as SpeechModel
from ._assemble import speech_model as speech_model
from ._chat import ChatCompletionsBrain as ChatCompletionsBrain
from ._errors import SpeechUnavailable as SpeechUnavailable
from ._espeak import EspeakVoice as EspeakVoice
from ._pocketsphinx import PocketsphinxRecognizer as PocketsphinxRecognizer
from ._rules import RuleBrain as RuleBrain
from ._spoken import SpokenResponder as SpokenResponder
from ._spoken import split_speakable as split_speakable

__all__ = [
    "ChatCompletionsBrain",
    "EspeakVoice",
    "PocketsphinxRecognizer",
    "RuleBrain",
    "SpeechModel",
    "SpeechUnavailable",
    "SpokenResponder",
    "speech_model",
    "split_speakable",
]
