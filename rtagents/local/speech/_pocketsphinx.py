"""Streaming speech recognition with pocketsphinx (BSD; its wheel ships an en-US model).

Theory of operation
-------------------
:class:`PocketsphinxRecognizer` is a :class:`~rtagents.local.Transcriber`: the local server
opens one :class:`Utterance` per user item and feeds it the speech *while the user talks*, so
that at the end of the turn only the last few hundred milliseconds and pocketsphinx's final
pass remain (tens of milliseconds for a short sentence, against about a third of the speech's
duration when the whole recording is decoded at once).

Each utterance borrows a decoder from a pool (building one loads the 27 MB language model,
about 0.3 s: :meth:`PocketsphinxRecognizer.warm_up` does it ahead of the first turn) and gives
it back when finished.  Audio arrives at the session's input rate and is taken to 16 kHz by
the native streaming resampler; low white noise (about -50 dBFS by default, seeded, so
recognition is deterministic) is added, because runs of exact digital zeros — what synthetic
speech and muted microphones produce — derail pocketsphinx's feature normalization.

Decoding is CPU work of a few milliseconds per 100 ms of speech: with ``threaded=True`` it runs
in a worker thread so the server's event loop keeps serving; ``threaded=False`` runs it inline,
for deterministic tests on trio's MockClock.

Three vocabularies: the default trigram language model (open English, modest accuracy: read
speech about 78% of words, espeak's synthetic speech much less; its second "flat" pass is off,
which makes the end of an utterance cost ~10 ms instead of ~100 ms for the same accuracy on our
samples), a JSGF ``grammar=`` (a command language, e.g. ``rtagents demo``'s questions: exact and
about 25 times faster than real time), or ``phrases=``, a closed set of sentences compiled to
such a grammar (what tests use).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
import numpy as np
import trio

from rtagents import native

from ._errors import SpeechUnavailable

RATE = 16000
#: Where the open vocabulary's live cepstral mean normalization starts: the mean of read speech
#: (LibriVox, at 16 kHz and through 8 kHz μ-law alike) rather than pocketsphinx's default
#: "40,3,-1", which a new decoder barely leaves within a short utterance.  Measured by
#: benchmarks/speech_accuracy.py (the first turn of a fresh decoder, one clip held out of the
#: four the mean came from): 8 kHz μ-law 36.6% → 60.6% of words, 16 kHz 49.3% → 63.4%.
OPEN_VOCABULARY_CMNINIT = "57,0,-1,11,-5,-3,1,-9,3,-1,-1,0,-2"
_T = TypeVar("_T")
_WORD = re.compile(r"[a-z']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _grammar_words(grammar: str) -> set[str]:
    """The words a JSGF grammar can say (rule names, tags and its header left out)."""
    body = "\n".join(
        line for line in grammar.splitlines() if not line.strip().startswith(("#", "grammar"))
    )
    body = re.sub(r"<[^>]*>|\{[^}]*\}|/[0-9.]+/|\bpublic\b", " ", body)
    return set(_words(body))


@attrs.frozen
class RecognizerStatistics:
    decoders: int  # built so far (the pool's size)
    utterances: int
    failures: int
    audio_seconds: float
    decode_seconds: float  # CPU time spent in pocketsphinx
    final_seconds_last: float | None  # the last utterance's finish(): resampler tail + final pass


@attrs.define(eq=False)
class PocketsphinxRecognizer:
    """Speech → text, streaming, offline.  See the module docstring."""

    phrases: Sequence[str] | None = None
    grammar: str | None = None
    noise_lsb: float = 100.0
    threaded: bool = True
    seed: int = 0
    _pool: list[Any] = attrs.field(init=False, factory=list, repr=False)
    _built: int = attrs.field(init=False, default=0, repr=False)
    _grammar: str | None = attrs.field(init=False, default=None, repr=False)
    _utterances: int = attrs.field(init=False, default=0, repr=False)
    _failures: int = attrs.field(init=False, default=0, repr=False)
    _audio_seconds: float = attrs.field(init=False, default=0.0, repr=False)
    _decode_seconds: float = attrs.field(init=False, default=0.0, repr=False)
    _final_last: float | None = attrs.field(init=False, default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.noise_lsb < 0:
            raise ValueError("noise_lsb must be >= 0")
        try:
            import pocketsphinx  # noqa: F401
        except ImportError as exc:
            raise SpeechUnavailable(
                "speech recognition needs pocketsphinx: pip install 'rtagents[local]'"
            ) from exc
        if self.phrases is not None and self.grammar is not None:
            raise ValueError("give phrases or a grammar, not both")
        if self.grammar is not None:
            self._grammar = self.grammar
            self._pool.append(self._build())  # the grammar is checked now, not at the first turn
        if self.phrases is not None:
            sentences = [" ".join(_words(phrase)) for phrase in self.phrases]
            sentences = sorted({s for s in sentences if s})
            if not sentences:
                raise ValueError("phrases must contain at least one word")
            self._grammar = (
                "#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = "
                + " | ".join(f"( {s} )" for s in sentences)
                + " ;\n"
            )
            decoder = self._build()  # checks every word against the dictionary
            self._pool.append(decoder)

    def _build(self) -> Any:
        import pocketsphinx

        started = time.perf_counter()
        if self._grammar is None:
            decoder = pocketsphinx.Decoder(
                samprate=RATE, loglevel="FATAL", fwdflat=False, cmninit=OPEN_VOCABULARY_CMNINIT
            )
        else:
            decoder = pocketsphinx.Decoder(samprate=RATE, loglevel="FATAL", lm=None)
        if self._grammar is not None:
            unknown = sorted(
                {w for w in _grammar_words(self._grammar) if decoder.lookup_word(w) is None}
            )
            if unknown:
                raise ValueError(
                    f"words not in pocketsphinx's dictionary: {', '.join(unknown)} "
                    "(spell numbers as words)"
                )
            try:
                decoder.add_jsgf_string("grammar", self._grammar)
            except (RuntimeError, ValueError) as exc:
                raise ValueError(f"the grammar does not compile: {exc}") from exc
            decoder.activate_search("grammar")
        self._built += 1
        self._decode_seconds += time.perf_counter() - started
        return decoder

    def warm_up(self) -> None:
        """Build a decoder now (blocking, ~0.3 s) so the first turn does not pay for it."""
        if not self._pool:
            self._pool.append(self._build())

    async def _run(self, fn: Callable[[], _T]) -> _T:
        if self.threaded:
            return await trio.to_thread.run_sync(fn, abandon_on_cancel=False)
        result = fn()
        await trio.lowlevel.checkpoint()
        return result

    async def open_utterance(self, rate: int) -> Utterance:
        """Start recognizing one utterance of PCM16 at `rate` (8, 16, 24 or 48 kHz)."""
        resampler = None if rate == RATE else native.Resampler(rate, RATE)
        decoder = self._pool.pop() if self._pool else await self._run(self._build)
        try:
            await self._run(decoder.start_utt)
        except BaseException:
            self._pool.append(decoder)
            raise
        self._utterances += 1
        rng = np.random.default_rng(self.seed + self._utterances)
        return Utterance(self, decoder, resampler, rng)

    def _release(self, decoder: Any) -> None:
        self._pool.append(decoder)

    def statistics(self) -> RecognizerStatistics:
        return RecognizerStatistics(
            decoders=self._built,
            utterances=self._utterances,
            failures=self._failures,
            audio_seconds=self._audio_seconds,
            decode_seconds=self._decode_seconds,
            final_seconds_last=self._final_last,
        )


@attrs.define(eq=False)
class Utterance:
    """One utterance in progress; made by :meth:`PocketsphinxRecognizer.open_utterance`."""

    _owner: PocketsphinxRecognizer
    _decoder: Any
    _resampler: native.Resampler | None
    _rng: np.random.Generator
    _closed: bool = False

    def _prepare(self, pcm: bytes, *, last: bool = False) -> bytes:
        if self._resampler is not None:
            pcm = self._resampler.process(pcm) + (self._resampler.flush() if last else b"")
        if not pcm or not self._owner.noise_lsb:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        samples += self._rng.normal(0.0, self._owner.noise_lsb, samples.size)
        return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()

    def _decode(self, pcm: bytes, *, last: bool) -> str:
        started = time.perf_counter()
        try:
            if pcm:
                self._decoder.process_raw(pcm, False, False)
            if last:
                self._decoder.end_utt()
            hyp = self._decoder.hyp()
            return hyp.hypstr if hyp is not None else ""
        finally:
            self._owner._decode_seconds += time.perf_counter() - started
            self._owner._audio_seconds += len(pcm) / 2 / RATE

    async def feed(self, pcm16: bytes) -> str:
        if self._closed:
            raise RuntimeError("this utterance is finished")
        if len(pcm16) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        data = self._prepare(pcm16)
        return await self._owner._run(functools.partial(self._decode, data, last=False))

    async def finish(self) -> str:
        if self._closed:
            raise RuntimeError("this utterance is finished")
        self._closed = True
        started = time.perf_counter()
        try:
            data = self._prepare(b"", last=True)
            text = await self._owner._run(functools.partial(self._decode, data, last=True))
        except BaseException:
            self._owner._failures += 1
            with contextlib.suppress(Exception):  # leave the decoder out of any utterance
                self._decoder.end_utt()
            raise
        finally:
            self._owner._release(self._decoder)
        self._owner._final_last = time.perf_counter() - started
        return text

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._owner._run(self._decoder.end_utt)
        finally:
            self._owner._release(self._decoder)
