"""The NumPy Whisper log-mel features, against a known answer from transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rtagents.detectors.whisper_features import log_mel, mel_filters
from tests.detectors._kat import kat_input

KAT = json.loads((Path(__file__).with_name("data") / "whisper_features_kat.json").read_text())


def test_features_match_transformers_known_answer() -> None:
    # Regenerate with tests/detectors/make_whisper_kat.py (transformers, in a scratch venv).
    features = log_mel(kat_input())
    assert list(features.shape) == KAT["shape"] == [80, 800]
    assert features.dtype == np.float32
    got = features[np.ix_(KAT["rows"], KAT["columns"])]
    # float32 rounding of a different summation order: at most an ulp or two near 1.0
    np.testing.assert_allclose(got, np.array(KAT["values"]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(features.mean(axis=1), KAT["row_means"], rtol=0, atol=1e-6)
    assert float(features.mean(dtype=np.float64)) == pytest.approx(KAT["mean"], abs=1e-6)


def test_filters_are_slaney_normalised_triangles() -> None:
    filters = mel_filters()
    assert filters.shape == (201, 80)
    assert (filters >= 0).all()
    assert (filters.max(axis=0) > 0).all()  # no empty filter at 400-point FFT resolution
    peaks = filters.argmax(axis=0)
    assert (np.diff(peaks) >= 0).all()  # ordered by frequency


def test_silence_is_flat_and_finite() -> None:
    features = log_mel(np.zeros(128_000, dtype=np.float32))
    assert np.isfinite(features).all()
    assert features.min() == features.max()


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        log_mel(np.zeros((2, 128_000), dtype=np.float32))
    with pytest.raises(ValueError, match="at least 400 samples"):
        log_mel(np.zeros(10, dtype=np.float32))
