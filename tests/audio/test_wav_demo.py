"""`rtagents demo --input q.wav` with the WAV files people actually have: espeak-ng's 22,050 Hz
mono, a 44.1 kHz stereo recording (24-bit, WAVE_FORMAT_EXTENSIBLE), an 11,025 Hz one.  The whole
demo runs on trio's MockClock with the offline speech model inline (as tests/local do)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from rtagents import native
from rtagents.apps.demo import SAMPLE_QUESTION, add_arguments, run_demo
from tests.audio.wavfiles import wav_bytes

speech = pytest.importorskip("rtagents.local.speech")
try:
    VOICE = speech.EspeakVoice(threaded=False)
except speech.SpeechUnavailable as exc:  # pragma: no cover - the [local] extra is missing
    pytest.skip(f"no espeak-ng: {exc}", allow_module_level=True)


def demo_args(**given: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return argparse.Namespace(**{**vars(parser.parse_args([])), **given})


def question_at(rate: int) -> np.ndarray:
    """The demo's sample question, spoken by espeak-ng, at `rate` (int16)."""
    pcm24 = bytes(VOICE.synthesize_sync(SAMPLE_QUESTION))
    return np.frombuffer(native.resample(pcm24, 24000, rate), "<i2")


async def ask(tmp_path: Path, wav: bytes) -> list[str]:
    question = tmp_path / "q.wav"
    question.write_bytes(wav)
    args = demo_args(input=str(question), output=str(tmp_path / "a.wav"), files=True)
    result = await run_demo(args, io.StringIO(), in_memory=True)
    assert result.agent_said  # it answered
    return result.users_said


async def test_espeak_22050_hz_mono(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTAGENTS_BRAIN", raising=False)
    mono = question_at(22050).tobytes()
    heard = await ask(tmp_path, wav_bytes(mono, 22050, 1, 16, extensible=False))
    assert heard == [SAMPLE_QUESTION.lower().rstrip("?")]


async def test_44100_hz_stereo_24_bit(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTAGENTS_BRAIN", raising=False)
    left = question_at(44100).astype(np.int32) << 8
    right = left // 2  # a quieter right channel: the down-mix averages
    frames = np.stack([left, right], axis=1).reshape(-1)
    raw = np.stack([(frames >> s) & 0xFF for s in (0, 8, 16)], axis=1).astype(np.uint8)
    heard = await ask(tmp_path, wav_bytes(raw.tobytes(), 44100, 2, 24, extensible=True))
    assert heard == [SAMPLE_QUESTION.lower().rstrip("?")]
