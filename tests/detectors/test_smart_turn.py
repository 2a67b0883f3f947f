"""Smart-turn v3: the 8 s window, the model contract (with a fake session), and the real model
on real speech (skipped without the cached weights)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from rtagents.detectors import smart_turn
from rtagents.detectors.smart_turn import SmartTurn, window
from rtagents.detectors.weights import SMART_TURN
from tests.detectors._signals import librivox, need_weights, noise, silence


def pcm(samples: np.ndarray) -> bytes:
    return np.asarray(samples, dtype="<i2").tobytes()


def test_short_audio_is_padded_in_front() -> None:
    w = window(pcm(np.full(16_000, 16384)))
    assert w.shape == (128_000,)
    assert w.dtype == np.float32
    assert (w[:112_000] == 0).all()
    assert (w[112_000:] == 0.5).all()


def test_long_audio_keeps_the_last_8_seconds() -> None:
    samples = np.arange(200_000) % 30_000
    w = window(pcm(samples))
    np.testing.assert_array_equal(w, samples[-128_000:].astype(np.float32) / 32768)


def test_exactly_8_seconds_is_unchanged() -> None:
    samples = (np.arange(128_000) % 2000) - 1000
    np.testing.assert_array_equal(window(pcm(samples)), samples / np.float32(32768))


@dataclass
class Input:
    name: str
    shape: list[Any]


class FakeSession:
    def __init__(self, inputs: list[Input] | None = None, answer: float = 0.75) -> None:
        self.inputs = inputs or [Input("input_features", ["batch", 80, 800])]
        self.answer = answer
        self.fed: list[np.ndarray] = []

    def get_inputs(self) -> list[Input]:
        return self.inputs

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        assert outputs is None
        self.fed.append(feeds["input_features"])
        return [np.array([[self.answer]], dtype=np.float32)]


def test_the_model_gets_the_features_of_the_window() -> None:
    session = FakeSession()
    audio = noise(3.0, 3000, seed=4)
    assert SmartTurn(session=session).probability(audio) == 0.75
    (fed,) = session.fed
    assert fed.shape == (1, 80, 800)
    assert fed.dtype == np.float32
    np.testing.assert_array_equal(fed, smart_turn.features(audio))


def test_output_is_clipped_to_a_probability() -> None:
    assert SmartTurn(session=FakeSession(answer=1.5)).probability(silence(1)) == 1.0


@pytest.mark.parametrize(
    "inputs",
    [
        [Input("input", [None, None])],
        [Input("input_features", [1, 128, 3000])],
        [Input("input_features", [1, 80, 800]), Input("extra", [1])],
    ],
)
def test_a_model_of_another_shape_is_refused(inputs: list[Input]) -> None:
    with pytest.raises(ValueError, match="not a smart-turn v3 model"):
        SmartTurn(session=FakeSession(inputs))


def test_bad_audio_is_a_clear_error() -> None:
    turn = SmartTurn(session=FakeSession())
    with pytest.raises(ValueError, match="even number of bytes"):
        turn.probability(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="needs some audio"):
        turn.probability(b"")


# --- the real model ------------------------------------------------------------------------

#: (clip, the word after which the sentence is cut): grammatically unfinished there.
CUTS = [("0870", "much"), ("0890", "is"), ("0920", "been")]
PAUSE = silence(0.2)  # what the VAD's stop takes before the model is asked


@pytest.fixture(scope="module")
def model() -> SmartTurn:
    return SmartTurn(need_weights(SMART_TURN))


@pytest.mark.parametrize(("clip", "cut_after"), CUTS)
def test_complete_scores_high_and_a_cut_low(model: SmartTurn, clip: str, cut_after: str) -> None:
    audio, words = librivox(clip)
    end = next(e for w, _, e in words if w.split("(")[0] == cut_after)
    cut = audio[: 2 * int(end * 16000)]
    complete_p = model.probability(audio + PAUSE)
    cut_p = model.probability(cut + PAUSE)
    assert complete_p > 0.8, (clip, complete_p)
    assert cut_p < 0.2, (clip, cut_after, cut_p)


def test_only_the_last_8_seconds_count(model: SmartTurn) -> None:
    audio, _ = librivox("0920")
    longer = noise(10.0, 2000, seed=1) + audio + PAUSE
    assert model.probability(longer) == model.probability(longer[-2 * 128_000 :])


def test_silence_gives_a_probability(model: SmartTurn) -> None:
    # Not a meaningful question (the VAD asks only after speech), but an answer, not a crash.
    p = model.probability(silence(2))
    assert 0.0 <= p <= 1.0
    assert model.probability(silence(8)) == p  # zeros in front are the padding anyway
