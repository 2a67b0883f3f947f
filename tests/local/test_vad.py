"""The local server's VAD: decisions in audio time, independent of chunking."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents.local import EnergyVad
from rtagents.local._responders import synthetic_voice
from rtagents.local._vad import SpeechStarted, SpeechStopped, SpeechVad, threshold_dbfs


def utterance(rate: int, lead_ms: int, voice_ms: int, tail_ms: int) -> bytes:
    voice = synthetic_voice(voice_ms / 1000)
    if rate != 24000:
        voice = voice[:: 24000 // rate]
    pcm = np.concatenate(
        [np.zeros(rate * lead_ms // 1000), voice, np.zeros(rate * tail_ms // 1000)]
    )
    data: bytes = np.rint(pcm).astype("<i2").tobytes()
    return data


def run(vad: SpeechVad, data: bytes, cuts: list[int]) -> list[SpeechStarted | SpeechStopped]:
    out: list[SpeechStarted | SpeechStopped] = []
    bounds = sorted({0, len(data) // 2, *(c for c in cuts if c <= len(data) // 2)})
    for a, b in itertools.pairwise(bounds):
        out += vad.feed(data[2 * a : 2 * b])
    return out


def test_threshold_mapping() -> None:
    assert threshold_dbfs(0.5) == -45
    assert threshold_dbfs(0.0) == -70
    assert threshold_dbfs(1.0) == -20
    assert threshold_dbfs(7) == -20


@settings(max_examples=40, deadline=None)
@given(
    lead=st.integers(0, 1500),
    voice=st.integers(200, 2000),
    padding=st.sampled_from([0, 100, 300]),
    silence=st.sampled_from([200, 500, 800]),
    rate=st.sampled_from([8000, 24000]),
    cuts=st.lists(st.integers(0, 100000), max_size=12),
)
def test_one_burst_gives_one_start_and_stop_where_predicted(
    lead: int, voice: int, padding: int, silence: int, rate: int, cuts: list[int]
) -> None:
    data = utterance(rate, lead, voice, silence + 200)
    vad = EnergyVad(rate=rate, prefix_padding_ms=padding, silence_duration_ms=silence)
    decisions = run(vad, data, cuts)
    assert len(decisions) == 2, decisions
    start, stop = decisions
    assert isinstance(start, SpeechStarted)
    assert isinstance(stop, SpeechStopped)
    # within one 10 ms frame (plus the 10 ms fade at each end of the synthetic voice)
    assert abs(start.audio_start_ms - max(lead - padding, 0)) <= 20
    assert abs(stop.audio_end_ms - (lead + voice)) <= 20


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 3000), st.sampled_from([8000, 24000]))
def test_silence_and_quiet_noise_never_trigger(ms: int, rate: int) -> None:
    noise = np.random.default_rng(ms).normal(0, 50, rate * ms // 1000)  # about -56 dBFS
    vad = EnergyVad(rate=rate)
    assert vad.feed(np.rint(noise).astype("<i2").tobytes()) == []


def test_floor_limits_the_padding() -> None:
    data = utterance(24000, 100, 500, 800)
    vad = EnergyVad(rate=24000, prefix_padding_ms=300, floor_ms=50)
    start = vad.feed(data)[0]
    assert start == SpeechStarted(audio_start_ms=50)


def test_rate_must_fit_whole_frames() -> None:
    with pytest.raises(ValueError, match="samples per frame"):
        EnergyVad(rate=44150)
