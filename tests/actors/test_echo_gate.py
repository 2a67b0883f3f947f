"""The echo gate (sans-IO) and the choice of local VAD: what echo is gated and what passes, the
playback actor's reference, the VAD actor's counts; ``local_vad`` values, the Silero fallback and
its one warning."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import RealtimeRunConfig
from rtagents._core.echo import EchoGate, EchoGateSettings, pcm_levels
from rtagents._core.vad import EnergyDetector
from rtagents.actors import PlaybackActor, VadActor, VadSpeechStarted, VadSpeechStopped
from rtagents.actors import vad as vad_module
from rtagents.audio import AudioFrame
from rtagents.detectors import weights as weights_module
from rtagents.testing import FakeAudioSink, voice
from rtagents.testing.corpus import librivox_clips

RATE = 16000


def tone(dbfs: float, ms: int, rate: int = RATE) -> bytes:
    n = rate * ms // 1000
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    x = amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
    data: bytes = np.rint(x).astype("<i2").tobytes()
    return data


def test_pcm_levels_of_whole_and_partial_pieces() -> None:
    levels = pcm_levels(tone(-20, 25), RATE)
    assert len(levels) == 3  # 10 + 10 + 5 ms
    assert all(abs(level + 20) < 0.2 for level in levels)
    assert pcm_levels(b"", RATE) == []
    with pytest.raises(ValueError, match="even"):
        pcm_levels(b"\x00", RATE)


def test_echo_below_the_assumed_coupling_is_gated_louder_speech_passes() -> None:
    gate = EchoGate()  # coupling -6 dB, margin 1 dB: the limit is 5 dB under the reference
    gate.played(10.0, [-20.0] * 30)  # 300 ms at -20 dBFS from t = 10 s
    echo = tone(-30, 20)  # -10 dB coupling, 40 ms later
    out, gated = gate.filter(echo, RATE, 10.06)
    assert (out, gated) == (bytes(len(echo)), 2)
    near = tone(-20, 20)  # as loud as the reference: above the limit
    assert gate.filter(near, RATE, 10.1) == (near, 0)
    assert gate.gated_pieces == 2
    assert gate.gated_ms == pytest.approx(20)


def test_only_the_pieces_explained_by_echo_are_silenced() -> None:
    gate = EchoGate()
    gate.played(0.0, [-20.0] * 10)
    frame = tone(-30, 10) + tone(-10, 10)
    out, gated = gate.filter(frame, RATE, 0.05)
    assert gated == 1
    assert out == bytes(len(frame) // 2) + frame[len(frame) // 2 :]


def test_the_window_reaches_back_max_delay_and_no_further() -> None:
    gate = EchoGate(EchoGateSettings(max_delay_ms=100))
    gate.played(0.0, [-20.0])  # 0–10 ms
    echo = tone(-30, 20)
    assert gate.filter(echo, RATE, 0.10)[1] == 2  # [80, 100] ms: within 100 ms of the play
    assert gate.filter(echo, RATE, 0.135) == (echo, 0)  # [115, 135] ms: too late for echo
    assert not gate.active(0.115)


def test_the_loudest_reference_in_the_window_sets_the_limit() -> None:
    gate = EchoGate(EchoGateSettings(coupling_db=-6, margin_db=0))
    gate.played(0.0, [-40.0, -40.0, -15.0, -40.0, -40.0])
    assert gate.echo_limit(0.08, 0.09) == pytest.approx(-21.0)
    assert gate.echo_limit(0.30, 0.31) == pytest.approx(-46.0)  # the loud piece is too old
    assert gate.echo_limit(0.40, 0.41) is None  # nothing within 250 ms before


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 20_000), min_size=1, max_size=640),
    st.floats(0, 1000),
)
def test_with_no_reference_nothing_is_ever_gated(samples: list[int], end: float) -> None:
    gate = EchoGate()
    pcm = np.array(samples, "<i2").tobytes()
    assert gate.filter(pcm, RATE, end) == (pcm, 0)
    assert gate.gated_pieces == 0


@settings(max_examples=60, deadline=None)
@given(
    ref_db=st.floats(-60, -3),
    coupling_db=st.floats(-40, -6),
    delay_ms=st.integers(0, 240),
    offset=st.integers(0, 159),
)
def test_echo_within_the_assumed_coupling_is_always_gated(
    ref_db: float, coupling_db: float, delay_ms: int, offset: int
) -> None:
    """Whatever its delay (≤ the window) and alignment, echo no louder than the assumed worst
    case never reaches the detector while the reference plays."""
    ref = tone(ref_db, 600)
    gate = EchoGate()
    gate.played(0.0, pcm_levels(ref, RATE))
    gain = 10 ** (coupling_db / 20)
    echo = np.frombuffer(ref, "<i2").astype(np.float64) * gain
    lag = RATE * delay_ms // 1000 + offset
    mic = np.concatenate([np.zeros(lag), echo])[: len(echo)]
    pcm = np.rint(mic).astype("<i2").tobytes()
    start = 0.3  # audio from 300 ms to 320 ms: fully inside the echo
    chunk = pcm[2 * int(start * RATE) : 2 * int((start + 0.02) * RATE)]
    out, gated = gate.filter(chunk, RATE, start + 0.02)
    assert gated == 2
    assert not any(out)


def test_bad_settings_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="coupling_db"):
        EchoGateSettings(coupling_db=float("nan"))
    with pytest.raises(ValueError, match="max_delay_ms"):
        EchoGateSettings(max_delay_ms=5000)
    with pytest.raises(ValueError, match="history_ms"):
        EchoGateSettings(max_delay_ms=500, history_ms=200)
    with pytest.raises(ValueError, match="unknown key"):
        EchoGateSettings.coerce({"coupling": -6})
    with pytest.raises(TypeError, match="echo_gate must be"):
        EchoGateSettings.coerce("on")


def test_run_config_echo_gate_values() -> None:
    assert RealtimeRunConfig().echo_gate == EchoGateSettings()  # on by default (with a sink)
    assert RealtimeRunConfig(echo_gate=False).echo_gate is None
    assert RealtimeRunConfig(echo_gate={"coupling_db": 0}).echo_gate == EchoGateSettings(
        coupling_db=0
    )
    assert RealtimeRunConfig.coerce({"echo_gate": True}).echo_gate == EchoGateSettings()
    with pytest.raises(TypeError, match="echo_gate"):
        RealtimeRunConfig(echo_gate=3)


# -- the actors ------------------------------------------------------------------------------


async def test_playback_reports_each_write_with_its_time_and_levels(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = FakeAudioSink()
    reported: list[tuple[float, list[float]]] = []
    playback = PlaybackActor(sink, on_played=lambda t, levels: reported.append((t, list(levels))))
    async with trio.open_nursery() as nursery:
        await nursery.start(playback.run)
        playback.enqueue("item", 0, voice(0.3))
        playback.end_item("item")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [t for t, _ in reported] == [t for t, _ in sink.writes]
    assert [levels for _, levels in reported] == [pcm_levels(pcm, 24000) for _, pcm in sink.writes]


def test_the_vad_actor_feeds_gated_echo_as_silence_and_counts_it() -> None:
    events: list[VadSpeechStarted | VadSpeechStopped] = []
    gate = EchoGate()
    vad = VadActor(None, events.append, echo_gate=gate)
    ref = voice(1.0, 24000)
    gate.played(0.0, pcm_levels(ref, 24000))
    echo = (np.frombuffer(ref, "<i2").astype(np.float64) * 10 ** (-10 / 20)).astype("<i2")
    echo = np.concatenate([np.zeros(24 * 40, "<i2"), echo])  # 40 ms later
    step = 480
    for n in range(40):
        pcm = echo[n * step : (n + 1) * step].tobytes()
        vad.send_nowait(AudioFrame(pcm, 24000, (n + 1) * 0.02, n))
    stats = vad.statistics()
    assert events == []
    assert stats.speech_starts == 0
    assert stats.gated_frames >= 35
    assert stats.gated_ms > 600
    # The same echo without the gate is speech to the detector.
    ungated = VadActor(None, events.append)
    for n in range(40):
        pcm = echo[n * step : (n + 1) * step].tobytes()
        ungated.send_nowait(AudioFrame(pcm, 24000, (n + 1) * 0.02, n))
    assert ungated.statistics().speech_starts == 1
    assert ungated.statistics().gated_frames == 0


# -- choosing the local VAD ------------------------------------------------------------------


class _Custom:
    rate = 16000

    def feed(self, pcm16: bytes) -> list[Any]:
        return []


def test_local_vad_values() -> None:
    for value in (True, False, "energy", "silero"):
        assert RealtimeRunConfig(local_vad=value).local_vad == value
    custom = _Custom()
    assert RealtimeRunConfig(local_vad=custom).local_vad is custom
    assert vad_module.make_detector(custom) is custom
    assert vad_module.make_detector(False) is None
    assert isinstance(vad_module.make_detector(True), EnergyDetector)
    assert isinstance(vad_module.make_detector("energy"), EnergyDetector)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("webrtc", ValueError, "local_vad must be True, False, 'energy', 'silero'"),
        ("Silero", ValueError, "not 'Silero'"),
        (1, TypeError, "not int"),
        (None, TypeError, "not NoneType"),
        (object(), TypeError, "not object"),
        (type("Rateless", (), {"rate": "16k", "feed": lambda self, b: []})(), ValueError, "rate"),
        (type("Odd", (), {"rate": 11025, "feed": lambda self, b: []})(), ValueError, "rate"),
    ],
)
def test_bad_local_vad_values_fail_at_config_time(value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        RealtimeRunConfig(local_vad=value)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        RealtimeRunConfig.coerce({"local_vad": value})


@pytest.fixture
def fresh_silero(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget this process's Silero session and warning."""
    monkeypatch.setattr(vad_module, "_silero_session", None)
    monkeypatch.setattr(vad_module, "_warned", False)


def test_silero_is_used_when_its_weights_and_onnxruntime_are_here(fresh_silero: None) -> None:
    if weights_module.weights_path(weights_module.SILERO_VAD) is None:
        pytest.skip("the Silero weights are not fetched (rtagents fetch-models)")
    pytest.importorskip("onnxruntime")
    from rtagents.detectors import SileroDetector

    first, second = vad_module.make_detector("silero"), vad_module.make_detector("silero")
    assert isinstance(first, SileroDetector)
    assert isinstance(second, SileroDetector)
    assert first is not second
    assert first.vad is not second.vad
    clip = librivox_clips()[0]
    ((kind, at_ms), *_) = first.feed(clip.pcm16)  # real speech (the synthetic voice is not)
    assert kind == "start"
    assert clip.speech_start * 1000 < at_ms < clip.speech_start * 1000 + 500


def test_silero_without_weights_falls_back_to_energy_with_one_warning(
    fresh_silero: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(weights_module, "weights_path", lambda name, *a, **k: None)
    with caplog.at_level(logging.WARNING, logger="rtagents.vad"):
        detectors = [vad_module.make_detector("silero") for _ in range(3)]
    assert all(isinstance(d, EnergyDetector) for d in detectors)
    (record,) = caplog.records
    assert "rtagents fetch-models" in record.getMessage()
    assert "pip install 'rtagents[turns]'" in record.getMessage()
    assert "energy VAD" in record.getMessage()


def test_silero_without_onnxruntime_falls_back_to_energy_with_one_warning(
    fresh_silero: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from rtagents.detectors import _onnx

    def missing() -> Any:
        raise ImportError("no onnxruntime")

    monkeypatch.setattr(_onnx, "onnxruntime", missing)
    with caplog.at_level(logging.WARNING, logger="rtagents.vad"):
        assert isinstance(vad_module.make_detector("silero"), EnergyDetector)
        assert isinstance(vad_module.make_detector("silero"), EnergyDetector)
    (record,) = caplog.records
    assert "onnxruntime is not installed" in record.getMessage()
    assert "pip install 'rtagents[turns]'" in record.getMessage()
