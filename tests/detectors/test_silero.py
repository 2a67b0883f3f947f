"""Silero VAD: framing, context and state (with a fake session), and the real model on real
speech, silence and a noise floor (skipped without the cached weights)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents._core.vad import Detector
from rtagents.detectors.silero import CONTEXT_SAMPLES, FRAME_SAMPLES, SileroDetector, SileroVad
from rtagents.detectors.weights import SILERO_VAD
from tests.detectors._signals import librivox, need_weights, noise, silence


class FakeSession:
    """Scores a frame by its first sample; the state counts frames; records every input."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []
        self.states: list[np.ndarray] = []

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        assert outputs is None
        x, state, sr = feeds["input"], feeds["state"], feeds["sr"]
        assert x.shape == (1, CONTEXT_SAMPLES + FRAME_SAMPLES)
        assert x.dtype == np.float32
        assert state.shape == (2, 1, 128)
        assert int(sr) == 16000
        self.inputs.append(x.copy())
        self.states.append(state.copy())
        return [np.array([[x[0, CONTEXT_SAMPLES]]], dtype=np.float32), state + 1]


def ramp(frames: int) -> bytes:
    return (np.arange(frames * FRAME_SAMPLES) % 32768).astype("<i2").tobytes()


def test_one_probability_per_whole_frame_and_the_rest_is_kept() -> None:
    vad = SileroVad(session=FakeSession())
    audio = ramp(3)
    assert vad.feed(audio[:1000]) == []  # 500 samples: no whole frame yet
    got = vad.feed(audio[1000:])
    assert got == [0.0, 512 / 32768, 1024 / 32768]
    assert vad.frames == 3


def test_context_and_state_carry_across_calls() -> None:
    session = FakeSession()
    vad = SileroVad(session=session)
    audio = np.frombuffer(ramp(3), dtype="<i2").astype(np.float32) / 32768
    vad.feed(ramp(3))
    first, second, third = session.inputs
    assert (first[0, :CONTEXT_SAMPLES] == 0).all()  # silence before the first frame
    np.testing.assert_array_equal(second[0, :CONTEXT_SAMPLES], audio[512 - 64 : 512])
    np.testing.assert_array_equal(third[0, CONTEXT_SAMPLES:], audio[1024:])
    assert [int(s[0, 0, 0]) for s in session.states] == [0, 1, 2]


def test_reset_forgets_state_context_and_partial_frame() -> None:
    session = FakeSession()
    vad = SileroVad(session=session)
    vad.feed(ramp(2) + b"\x01\x00" * 100)
    vad.reset()
    assert vad.frames == 0
    vad.feed(ramp(1))
    last = session.inputs[-1]
    assert (last[0, :CONTEXT_SAMPLES] == 0).all()
    assert int(session.states[-1][0, 0, 0]) == 0
    assert last[0, CONTEXT_SAMPLES] == 0.0  # the partial frame was dropped


def test_odd_bytes_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        SileroVad(session=FakeSession()).feed(b"\x00")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=12))
def test_any_chunking_gives_the_same_probabilities(cuts: list[int]) -> None:
    audio = ramp(4)
    whole = SileroVad(session=FakeSession()).feed(audio)
    vad = SileroVad(session=FakeSession())
    got, at = [], 0
    for n in cuts:
        got += vad.feed(audio[at : at + 2 * n])
        at = min(len(audio), at + 2 * n)
    got += vad.feed(audio[at:])
    assert got == whole


# --- decisions -----------------------------------------------------------------------------


def scripted(probabilities: list[float]) -> bytes:
    """Frames that the fake session scores as ``probabilities`` (its score: the first sample)."""
    frames = np.zeros((len(probabilities), FRAME_SAMPLES), dtype="<i2")
    frames[:, 0] = np.rint(np.array(probabilities) * 32767)
    return frames.tobytes()


def test_detector_hysteresis_and_audio_times() -> None:
    detector = SileroDetector(
        SileroVad(session=FakeSession()), min_speech_ms=64, min_silence_ms=96, reset_after_s=None
    )
    checked: Detector = detector  # the protocol the VAD actor runs
    assert checked.rate == 16000
    probs = [0.1, 0.9, 0.2, 0.9, 0.9, 0.4, 0.3, 0.3, 0.9, 0.3, 0.3, 0.3]
    #        frame:  1    2    3    4    5    6    7    8    9   10   11   12
    # start after 2 frames ≥ 0.5 (frames 4-5 → 160 ms); 0.4 is between the thresholds: no
    # change; stop after 3 frames < 0.35 (frames 10-12 → 384 ms; frame 9 broke the first run).
    assert detector.feed(scripted(probs)) == [("start", 160), ("stop", 384)]
    assert not detector.speaking


def test_detector_decisions_do_not_depend_on_chunking() -> None:
    probs = [0.9, 0.9, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.2, 0.8, 0.8] * 8
    audio = scripted(probs)
    one = SileroDetector(SileroVad(session=FakeSession()), min_silence_ms=200, reset_after_s=1)
    whole = one.feed(audio)
    detector = SileroDetector(SileroVad(session=FakeSession()), min_silence_ms=200, reset_after_s=1)
    pieces = [detector.feed(audio[i : i + 640]) for i in range(0, len(audio), 640)]
    assert [d for piece in pieces for d in piece] == whole
    assert [kind for kind, _ in whole] == ["start", "stop"] * 8 + ["start"]
    assert detector.resets == one.resets >= 2


def test_state_is_reset_periodically_only_in_quiet() -> None:
    session = FakeSession()
    detector = SileroDetector(SileroVad(session=session), reset_after_s=0.32)  # 10 frames
    detector.feed(scripted([0.9] * 30))  # speaking: no reset however long
    assert detector.resets == 0
    detector.feed(scripted([0.05] * 14))  # stops after 10 quiet frames; then due and quiet
    assert not detector.speaking
    assert detector.resets == 1
    # stop at frame 40 (10 quiet frames), reset right after it: frames 41-44 restart from zeros
    assert [int(s[0, 0, 0]) for s in session.states[-5:]] == [39, 0, 1, 2, 3]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        SileroDetector(SileroVad(session=FakeSession()), start_threshold=0.3, stop_threshold=0.5)


# --- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> SileroVad:
    return SileroVad(need_weights(SILERO_VAD))


@pytest.mark.parametrize("clip", ["0870", "0880", "0890", "0920", "0930"])
def test_real_speech_scores_high(model: SileroVad, clip: str) -> None:
    audio, words = librivox(clip)
    model.reset()
    probs = np.array(model.feed(audio))
    centres = (np.arange(len(probs)) + 0.5) * 0.032
    in_words = np.zeros(len(probs), dtype=bool)
    for _, start, end in words:
        in_words |= (centres >= start + 0.05) & (centres <= end - 0.05)
    assert in_words.sum() > 20
    assert (probs[in_words] > 0.5).mean() > 0.85, (clip, probs[in_words].round(2).tolist())


def test_silence_scores_low(model: SileroVad) -> None:
    model.reset()
    assert max(model.feed(silence(3.0))) < 0.05


@pytest.mark.parametrize("sd", [30, 100, 300])  # about −61, −50 and −41 dBFS
def test_a_noise_floor_scores_low(model: SileroVad, sd: int) -> None:
    model.reset()
    probs = np.array(model.feed(noise(3.0, sd, seed=sd)))
    assert probs.max() < 0.4
    assert probs.mean() < 0.05


def test_real_detector_brackets_an_utterance(model: SileroVad) -> None:
    audio, words = librivox("0880")
    model.reset()
    decisions = SileroDetector(model).feed(silence(1.0) + audio + silence(1.0))
    assert [kind for kind, _ in decisions] == ["start", "stop"]
    (_, start), (_, stop) = decisions
    first, last = 1000 + 1000 * words[0][1], 1000 + 1000 * words[-1][2]
    assert first <= start <= first + 300
    assert last + 300 <= stop <= last + 700


def test_chunking_does_not_change_the_real_model(model: SileroVad) -> None:
    audio, _ = librivox("0930")
    model.reset()
    whole = model.feed(audio)
    model.reset()
    pieces = [model.feed(audio[i : i + 640]) for i in range(0, len(audio), 640)]  # 20 ms
    assert [p for piece in pieces for p in piece] == whole
