"""A brain with a voice: text from any text-only responder, spoken while it arrives.

Theory of operation
-------------------
:class:`SpokenResponder` wraps a *brain* (a :class:`~rtagents.local.Responder` that yields
text :class:`Say` parts and :class:`CallTool`, e.g. :class:`RuleBrain` or
:class:`ChatCompletionsBrain`) and a *voice* (anything with ``synthesize(text)`` yielding PCM16
24 kHz chunks as they are made, e.g. :class:`EspeakVoice`).

The brain's text is cut into speakable pieces as it streams in: a piece ends at a sentence
end, or at a clause break (comma, semicolon, colon) once it is ``min_clause_chars`` long, so a
language model's first words are heard before its sentence is complete.  Each piece is
synthesized and its chunks forwarded as soon as the voice produces them; the piece's text
travels with its first chunk (the transcript leads the audio by at most one piece).  Tool
calls pass straight through.  In text-only responses nothing is synthesized.

Marks on the server's timeline: ``brain_first_text`` (the brain's first words) and
``synth_first_audio`` (the first synthesized chunk, before it is sent).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

import attrs

from rtagents.local._responders import CallTool, Responder, ResponseContext, ResponsePart, Say

_SENTENCE_END = re.compile(r"[.!?]\s")
_CLAUSE_END = re.compile(r"[,;:]\s")


class Voice(Protocol):
    def synthesize(self, text: str) -> AsyncIterator[bytes]: ...


def split_speakable(text: str, min_clause_chars: int) -> tuple[list[str], str]:
    """Cut the complete pieces off `text`: (pieces, rest still waiting for more words).

    A boundary is punctuation *followed by a space*: at the end of the text so far more may
    come ("3." may be "3.5"), so the rest waits for the next words or the end of the answer.
    """
    pieces: list[str] = []
    start = 0
    position = 0
    while True:
        sentence = _SENTENCE_END.search(text, position)
        clause = _CLAUSE_END.search(text, position)
        ends = []
        if sentence:
            ends.append(sentence.end())
        if clause and clause.end() - start >= min_clause_chars:
            ends.append(clause.end())
        elif clause and (sentence is None or clause.end() < sentence.end()):
            position = clause.end()  # too short a clause: look further
            continue
        if not ends:
            break
        end = min(ends)
        piece = text[start:end]
        if piece.strip():
            pieces.append(piece)
        start = position = end
    return pieces, text[start:]


@attrs.define
class SpokenResponder:
    """A text brain spoken by a voice; see the module docstring."""

    brain: Responder
    voice: Voice
    min_clause_chars: int = 24

    async def respond(self, context: ResponseContext) -> AsyncGenerator[ResponsePart, None]:
        first_audio = True
        async with contextlib.aclosing(self._units(context)) as units:
            async for unit in units:
                if isinstance(unit, CallTool):
                    yield unit
                    continue
                async with contextlib.aclosing(self._speak(unit, context)) as outs:
                    async for out in outs:
                        if out.audio and first_audio:
                            first_audio = False
                            context.mark("synth_first_audio")
                        yield out

    async def _units(self, context: ResponseContext) -> AsyncGenerator[str | CallTool, None]:
        """The brain's output as speakable pieces of text and tool calls, in order: text said
        before a call is flushed before it."""
        pending = ""
        first_text = True
        async with contextlib.aclosing(self.brain.respond(context)) as parts:  # type: ignore[type-var]
            async for part in parts:
                if isinstance(part, CallTool):
                    if pending.strip():
                        yield pending
                    pending = ""
                    yield part
                    continue
                if part.text and first_text:
                    first_text = False
                    context.mark("brain_first_text")
                pieces, pending = split_speakable(pending + part.text, self.min_clause_chars)
                for piece in pieces:
                    yield piece
        if pending.strip():
            yield pending

    async def _speak(self, text: str, context: ResponseContext) -> AsyncGenerator[Say, None]:
        if not context.audio_output:
            yield Say(text)
            return
        carried = text
        async with contextlib.aclosing(self.voice.synthesize(text.strip())) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                yield Say(carried, chunk)
                carried = ""
        if carried:  # the voice said nothing (e.g. only punctuation): keep the text
            yield Say(carried)
