"""The vendored LibriVox clips and their loader (rtagents.testing.corpus)."""

from __future__ import annotations

import hashlib
import json
import re
import wave
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from rtagents import native
from rtagents.testing import corpus
from rtagents.testing.corpus import (
    Clip,
    CorpusError,
    from_telephone,
    librivox_clip,
    librivox_clips,
    telephone_ulaw,
    word_accuracy,
    word_errors,
)

DATA = resources.files("rtagents.testing").joinpath("data", "librivox")


def test_five_clips_of_real_speech_with_transcripts_and_timed_words() -> None:
    clips = librivox_clips()
    assert [c.name[-4:] for c in clips] == ["0870", "0880", "0890", "0920", "0930"]
    assert sum(len(c.words) for c in clips) == 71
    for clip in clips:
        assert clip.rate == 16000
        assert 2.9 < clip.duration < 7.2
        assert [w.text for w in clip.words] == clip.transcript.split()
        assert 0.1 < clip.speech_start < clip.speech_end < clip.duration
        # The speech is where the alignment says: louder inside the words than before them.
        samples = np.frombuffer(clip.pcm16, "<i2").astype(np.float64)
        before = samples[: int(clip.speech_start * 16000) - 800]
        inside = samples[int(clip.speech_start * 16000) : int(clip.speech_end * 16000)]
        assert np.sqrt(np.mean(inside**2)) > 4 * np.sqrt(np.mean(before**2))
    short = librivox_clip("0880")
    assert short.transcript == "he was not an ill disposed young man"
    assert [(w.text, w.start, w.end) for w in short.words[:3]] == [
        ("he", 0.21, 0.33),
        ("was", 0.33, 0.56),  # "was(2)": the alternate pronunciation's mark is dropped
        ("not", 0.56, 1.06),
    ]
    assert short.speech_end == 2.74
    assert librivox_clips() is librivox_clips()  # read once
    assert "0880" in repr(short)
    assert len(repr(short)) < 200  # no audio bytes in the repr


def test_an_unknown_clip_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no single clip named 'nope'"):
        librivox_clip("nope")


def test_the_files_match_the_provenance_checksums() -> None:
    listed = dict(
        re.findall(
            r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", DATA.joinpath("PROVENANCE.md").read_text()
        )
    )
    shipped = {e.name for e in DATA.iterdir() if e.name != "PROVENANCE.md"}
    assert set(listed) == shipped
    assert len(shipped) == 15
    for name, digest in listed.items():
        assert hashlib.sha256(DATA.joinpath(name).read_bytes()).hexdigest() == digest


def test_telephone_audio_is_8_khz_mu_law_of_the_same_speech() -> None:
    clip = librivox_clip("0880")
    ulaw = telephone_ulaw(clip.pcm16, clip.rate)
    assert len(ulaw) == len(clip.pcm16) // 4  # one byte per 8 kHz sample, the whole clip
    back = from_telephone(ulaw, 16000)
    assert len(back) == len(clip.pcm16)
    # Band-limited to 4 kHz and μ-law coded, but the same waveform below 4 kHz.
    reference = native.resample(native.resample(clip.pcm16, 16000, 8000), 8000, 16000)
    a = np.frombuffer(back, "<i2").astype(np.float64)
    b = np.frombuffer(reference, "<i2").astype(np.float64)
    snr = 10 * np.log10(np.sum(b**2) / np.sum((a - b) ** 2))
    assert snr > 25  # μ-law's ~38 dB, less the quiet passages
    assert telephone_ulaw(native.resample(clip.pcm16, 16000, 8000), 8000) == native.ulaw_encode(
        native.resample(clip.pcm16, 16000, 8000)
    )
    assert from_telephone(ulaw, 8000) == native.ulaw_decode(ulaw)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "errors", "accuracy"),
    [
        ("he was not an ill disposed young man", "He was not an ill-disposed young man.", 0, 1.0),
        ("he was not an ill disposed young man", "he was not an illness those young man", 2, 0.75),
        ("and mister john dashwood", "and Mr. John Dashwood", 0, 1.0),
        ("a b c d", "", 4, 0.0),
        ("a b", "a x b y z", 3, -0.5),
        ("", "", 0, 1.0),
    ],
)
def test_word_errors_and_accuracy(
    reference: str, hypothesis: str, errors: int, accuracy: float
) -> None:
    assert word_errors(reference, hypothesis)[0] == errors
    assert word_accuracy(reference, hypothesis) == pytest.approx(accuracy)


def test_a_clip_whose_files_disagree_is_a_clear_error(tmp_path: Path) -> None:
    clip = librivox_clip("0930")
    for suffix in ("wav", "txt", "json"):
        (tmp_path / f"x.{suffix}").write_bytes(DATA.joinpath(f"{clip.name}.{suffix}").read_bytes())
    loaded = corpus._load(tmp_path, "x")
    assert isinstance(loaded, Clip)
    assert loaded.words == clip.words
    (tmp_path / "x.txt").write_text("he might never have been made amiable himself")
    with pytest.raises(CorpusError, match=r"x\.json's words are not its transcript"):
        corpus._load(tmp_path, "x")
    (tmp_path / "x.txt").write_text(clip.transcript)
    alignment = json.loads((tmp_path / "x.json").read_text())
    alignment["w"][1]["b"] = 99.0
    (tmp_path / "x.json").write_text(json.dumps(alignment))
    with pytest.raises(CorpusError, match="out of order or past the audio"):
        corpus._load(tmp_path, "x")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CorpusError, match="not a pocketsphinx alignment"):
        corpus._load(tmp_path, "x")
    with wave.open(str(tmp_path / "x.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(1600))
    with pytest.raises(CorpusError, match=r"x\.wav is \(8000, 1, 2\)"):
        corpus._load(tmp_path, "x")
    (tmp_path / "x.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(CorpusError, match=r"x\.wav is not a readable WAV file"):
        corpus._load(tmp_path, "x")
    (tmp_path / "x.wav").unlink()
    with pytest.raises(CorpusError, match="'x' is incomplete"):
        corpus._load(tmp_path, "x")
