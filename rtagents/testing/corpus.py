"""Real human speech for tests and benchmarks: five LibriVox clips, transcripts, word timings.

Theory of operation
-------------------
The clips ship inside the package (``rtagents/testing/data/librivox/``, about 0.8 MB; their
source and checksums are in ``PROVENANCE.md`` there): read English speech from the LibriVox
recording of *Sense and Sensibility* (public domain), as vendored by pocketsphinx's own test
suite.  Each clip is three files with one stem: ``.wav`` (16 kHz mono PCM16), ``.txt`` (what
was read) and ``.json`` (pocketsphinx's forced alignment: one entry per word or silence, with
its start ``b`` and duration ``d`` in seconds).

:func:`librivox_clips` reads them once (through :mod:`importlib.resources`, so it works from a
wheel or a zip) into frozen :class:`Clip` values; :attr:`Clip.words` carries the word timings,
so "the end of the user's speech" is a measured fact (:attr:`Clip.speech_end`), not a guess.
A clip whose files disagree (a timed word sequence that is not the transcript, a WAV that is
not 16 kHz mono PCM16) raises :class:`CorpusError` naming the file.

Telephone audio is derived, not stored: :func:`telephone_ulaw` takes PCM16 at any supported
rate to G.711 μ-law at 8 kHz in one fused native pass (resample + encode, what a phone
network carries), :func:`from_telephone` takes μ-law back to PCM16 at a chosen rate.

:func:`word_errors` and :func:`word_accuracy` score a transcript against a reference: words
are lower-cased runs of letters and apostrophes, a few written abbreviations are spelled out
as read ("mr" → "mister"), and errors are the word-level edit distance (substitutions,
deletions and insertions); accuracy is ``1 - errors / reference words`` (negative when the
hypothesis is mostly insertions).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import re
import wave
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable

import attrs

from rtagents import native

__all__ = [
    "Clip",
    "CorpusError",
    "Word",
    "from_telephone",
    "librivox_clip",
    "librivox_clips",
    "normalized_words",
    "telephone_ulaw",
    "word_accuracy",
    "word_errors",
]

RATE = 16000
TELEPHONE_RATE = 8000
_DATA = ("data", "librivox")
_WORD = re.compile(r"[a-z']+")
_SPELLED = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_ALTERNATE = re.compile(r"\(\d+\)$")  # "was(2)": the dictionary's second pronunciation
_NOT_WORDS = frozenset({"<sil>", "<s>", "</s>"})


class CorpusError(ValueError):
    """A vendored clip is missing or its files disagree."""


@attrs.frozen
class Word:
    """One spoken word and when it was said, in seconds from the clip's start."""

    text: str
    start: float
    end: float


@attrs.frozen(repr=False)
class Clip:
    """One recording: PCM16 mono at ``rate``, what was read, and its word timings."""

    name: str
    rate: int
    pcm16: bytes
    transcript: str
    words: tuple[Word, ...]

    def __repr__(self) -> str:
        return f"Clip({self.name!r}, {self.duration:.2f} s, {self.transcript!r})"

    @property
    def duration(self) -> float:
        return len(self.pcm16) / 2 / self.rate

    @property
    def speech_start(self) -> float:
        """When the first word starts (seconds)."""
        return self.words[0].start

    @property
    def speech_end(self) -> float:
        """When the last word ends (seconds): where end-of-turn latency is measured from."""
        return self.words[-1].end


def normalized_words(text: str) -> list[str]:
    """`text` as the words scoring compares: lower case, punctuation dropped, "mr" spelled out."""
    return [_SPELLED.get(w, w) for w in _WORD.findall(text.lower())]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word-level edit distance, number of reference words) after :func:`normalized_words`."""
    ref, hyp = normalized_words(reference), normalized_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1], len(ref)


def word_accuracy(reference: str, hypothesis: str) -> float:
    """``1 - word errors / reference words`` (1.0 is perfect; can be negative)."""
    errors, total = word_errors(reference, hypothesis)
    if total == 0:
        return 1.0 if errors == 0 else -float(errors)
    return 1.0 - errors / total


def telephone_ulaw(pcm16: bytes, rate: int = RATE) -> bytes:
    """PCM16 at `rate` → G.711 μ-law at 8 kHz (fused resample + encode), the whole signal."""
    if rate == TELEPHONE_RATE:
        return native.ulaw_encode(pcm16)
    resampler = native.Resampler(rate, TELEPHONE_RATE)
    return resampler.process_to_ulaw(pcm16) + resampler.flush_to_ulaw()


def from_telephone(ulaw: bytes, rate: int = RATE) -> bytes:
    """G.711 μ-law at 8 kHz → PCM16 at `rate` (fused decode + resample), the whole signal."""
    if rate == TELEPHONE_RATE:
        return native.ulaw_decode(ulaw)
    resampler = native.Resampler(TELEPHONE_RATE, rate)
    return resampler.process_ulaw(ulaw) + resampler.flush()


def _read_pcm(name: str, data: bytes) -> bytes:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise CorpusError(f"{name}.wav is not a readable WAV file: {exc}") from exc
    if shape != (RATE, 1, 2):
        raise CorpusError(f"{name}.wav is {shape} (rate, channels, bytes), not ({RATE}, 1, 2)")
    return pcm


def _read_words(name: str, data: bytes, transcript: str, duration: float) -> tuple[Word, ...]:
    try:
        entries = json.loads(data)["w"]
        timed = [(str(e["t"]), float(e["b"]), float(e["d"])) for e in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{name}.json is not a pocketsphinx alignment: {exc!r}") from exc
    words = tuple(
        Word(_ALTERNATE.sub("", text), round(start, 3), round(start + length, 3))
        for text, start, length in timed
        if text not in _NOT_WORDS and not text.startswith("[")
    )
    if [w.text for w in words] != transcript.split():
        raise CorpusError(f"{name}.json's words are not its transcript {transcript!r}")
    if any(w.end < w.start or w.end > duration + 0.01 for w in words) or any(
        b.start < a.end for a, b in itertools.pairwise(words)
    ):
        raise CorpusError(f"{name}.json's word timings are out of order or past the audio")
    return words


def _load(directory: Traversable, name: str) -> Clip:
    try:
        wav = directory.joinpath(f"{name}.wav").read_bytes()
        transcript = " ".join(directory.joinpath(f"{name}.txt").read_text("utf-8").split())
        alignment = directory.joinpath(f"{name}.json").read_bytes()
    except OSError as exc:
        raise CorpusError(f"clip {name!r} is incomplete: {exc}") from exc
    pcm = _read_pcm(name, wav)
    words = _read_words(name, alignment, transcript, len(pcm) / 2 / RATE)
    return Clip(name, RATE, pcm, transcript, words)


@functools.cache
def librivox_clips() -> tuple[Clip, ...]:
    """The five vendored LibriVox clips (16 kHz), in reading order; read once, then cached."""
    directory = resources.files("rtagents.testing").joinpath(*_DATA)
    names = sorted(
        entry.name[: -len(".wav")] for entry in directory.iterdir() if entry.name.endswith(".wav")
    )
    if not names:
        raise CorpusError("no clips found in rtagents/testing/data/librivox (a broken install?)")
    return tuple(_load(directory, name) for name in names)


def librivox_clip(name: str) -> Clip:
    """One clip by its name, or by the end of it (``"0880"``)."""
    found: Sequence[Clip] = [c for c in librivox_clips() if c.name == name]
    if not found:
        found = [c for c in librivox_clips() if c.name.endswith(name)]
    if len(found) != 1:
        known = ", ".join(c.name for c in librivox_clips())
        raise KeyError(f"no single clip named {name!r} (the clips: {known})")
    return found[0]
