"""Test signals: a formula for the features fixture, vendored real speech, noise; weights."""

from __future__ import annotations

import importlib.util
import json
import os
import wave
from pathlib import Path

import numpy as np
import pytest

from rtagents.detectors.weights import weights_path

LIBRIVOX = Path(__file__).resolve().parents[2] / "rtagents" / "testing" / "data" / "librivox"
CLIP = "sense_and_sensibility_01_austen_64kb-{}"


def librivox(number: str) -> tuple[bytes, list[tuple[str, float, float]]]:
    """A vendored LibriVox clip (16 kHz PCM16) and its words as (word, start s, end s); the
    test is skipped when the clips are not there."""
    wav = LIBRIVOX / (CLIP.format(number) + ".wav")
    if not wav.exists():
        pytest.skip(f"no LibriVox clip {wav.name} in {LIBRIVOX}")
    with wave.open(str(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        pcm = w.readframes(w.getnframes())
    meta = json.loads(wav.with_suffix(".json").read_text())
    words = [(x["t"], x["b"], x["b"] + x["d"]) for x in meta["w"] if x["t"] != "<sil>"]
    return pcm, words


def noise(seconds: float, sd: float, seed: int = 0) -> bytes:
    """White noise of standard deviation ``sd`` LSB as 16 kHz PCM16 (sd 100 ≈ −50 dBFS)."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, sd, int(16000 * seconds))
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * int(16000 * seconds))


def need_weights(name: str) -> Path:
    """The cached model ``name``, or skip: fetch them with ``rtagents fetch-models`` (or
    ``python -c 'from rtagents.detectors import fetch_weights; fetch_weights()'``).  With
    ``RTAGENTS_REQUIRE_MODELS=1`` (CI, after fetching) a missing model or onnxruntime fails."""
    path = weights_path(name)
    missing = None
    if path is None:
        missing = f"{name} is not in the model cache: run `rtagents fetch-models` first"
    elif importlib.util.find_spec("onnxruntime") is None:
        missing = "onnxruntime is not installed: pip install 'rtagents[turns]'"
    if missing is not None:
        if os.environ.get("RTAGENTS_REQUIRE_MODELS"):
            pytest.fail(f"RTAGENTS_REQUIRE_MODELS is set, but {missing}")
        pytest.skip(missing)
    assert path is not None
    return path
