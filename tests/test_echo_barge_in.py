"""Echo-safe barge-in in whole sessions: the agent's voice played by the sink comes back into the
microphone (a loopback of the fake sink, attenuated, delayed, with a little noise).  The echo
gate keeps the local VAD from barging in on it; a real voice over the echo still barges in,
and playback stops within one frame of the detector's decision.  Mock clock, fake devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from rtagents import RealtimeRunConfig, open_session
from rtagents._core.vad import Decision, Detector, EnergyDetector
from rtagents.actors.vad import make_detector
from rtagents.agent import RealtimeAgent
from rtagents.detectors import weights
from rtagents.testing import FakeAudioSink, TurnsResponder, local_model
from rtagents.testing.corpus import librivox_clips

FRAME = 0.020
RATE = 24000
STORY = "Once upon a time there was a story that went on for a good few seconds. " * 2


class Loopback:
    """A microphone in the room of ``sink``: it hears what the sink played ``delay`` seconds
    earlier at ``coupling_db``, white noise at ``noise_dbfs``, and ``user`` (PCM16 at 24 kHz)
    from ``user_at`` seconds after it starts.  Frame n arrives at start + (n + 1) × 20 ms,
    holding the 20 ms before."""

    rate = RATE

    def __init__(
        self,
        sink: FakeAudioSink,
        seconds: float,
        *,
        coupling_db: float = -10.0,
        delay: float = 0.040,
        noise_dbfs: float = -60.0,
        user: bytes = b"",
        user_at: float = 0.0,
    ) -> None:
        self.sink, self.seconds, self.delay = sink, seconds, delay
        self.gain = 10 ** (coupling_db / 20)
        self.noise = 32768 * 10 ** (noise_dbfs / 20)
        self.user, self.user_at = np.frombuffer(user, "<i2").astype(np.float64), user_at
        self.origin = 0.0

    def _played(self, timeline: np.ndarray, seen: int) -> int:
        """Lay the sink's new writes on the timeline (sample 0 = origin); returns how many."""
        for begin, pcm in self.sink.writes[seen:]:
            at = round((begin - self.origin) * RATE)
            x = np.frombuffer(pcm, "<i2").astype(np.float64)
            lo, hi = max(0, at), min(len(timeline), at + len(x))
            if hi > lo:
                timeline[lo:hi] = x[lo - at : hi - at]
        return len(self.sink.writes)

    async def frames(self) -> AsyncIterator[bytes]:
        self.origin = trio.current_time()
        step = int(RATE * FRAME)
        count = int(self.seconds / FRAME)
        timeline = np.zeros((count + 1) * step)
        rng = np.random.default_rng(7)
        user = np.zeros(len(timeline))
        at = round(self.user_at * RATE)
        user[at : at + len(self.user)] = self.user[: max(0, len(user) - at)]
        seen, lag = 0, round(self.delay * RATE)
        for n in range(count):
            await trio.sleep_until(self.origin + (n + 1) * FRAME)
            seen = self._played(timeline, seen)
            lo = n * step
            echo = np.concatenate([np.zeros(lag), timeline])[lo : lo + step]
            mic = echo * self.gain + user[lo : lo + step]
            mic += rng.standard_normal(step) * self.noise
            yield np.clip(np.rint(mic), -32768, 32767).astype("<i2").tobytes()


class Recording:
    """A detector that notes the trio time of each of its decisions."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.rate = detector.rate
        self.decisions: list[tuple[str, float]] = []

    def feed(self, pcm16: bytes) -> list[Decision]:
        decisions = self.detector.feed(pcm16)
        self.decisions += [(kind, trio.current_time()) for kind, _ in decisions]
        return decisions


def user_speech(seconds: float = 2.5) -> tuple[bytes, float]:
    """A LibriVox reader at the clip's own level (about -24 dBFS), 24 kHz; and the time from
    the clip's start to the first word."""
    from rtagents import native

    clip = librivox_clips()[0]
    pcm = clip.pcm16[: 2 * int(seconds * clip.rate)]
    return native.resample(pcm, clip.rate, RATE), clip.speech_start


async def run(*, echo_gate: bool, mic_kw: dict[str, Any], vad: Any = True) -> dict[str, Any]:
    """The agent tells a story (asked by text: no server VAD), its voice looped back."""
    model = local_model(TurnsResponder(STORY), pace=0.05)
    sink = FakeAudioSink()
    mic = Loopback(sink, 8.0, **mic_kw)
    config = RealtimeRunConfig(
        audio_source=mic,
        audio_sink=sink,
        link_factory=model.link_factory,
        model_settings={"turn_detection": None},
        local_vad=vad,
        echo_gate=echo_gate,
    )
    async with open_session(RealtimeAgent("Teller"), config) as session:
        start = trio.current_time()
        await session.send_message("Tell me a story.")
        await trio.sleep(8.5)
        stats = session.statistics()
    return {"stats": stats, "sink": sink, "start": start}


@pytest.mark.parametrize(
    ("coupling_db", "delay"), [(-10, 0.020), (-10, 0.060), (-6, 0.040)], ids=str
)
async def test_the_agents_own_echo_does_not_barge_in_with_the_gate(
    autojump_clock: trio.testing.MockClock, coupling_db: float, delay: float
) -> None:
    mic = {"coupling_db": coupling_db, "delay": delay, "noise_dbfs": -60.0}
    gated = await run(echo_gate=True, mic_kw=mic)
    stats = gated["stats"]
    assert stats.vad.speech_starts == 0
    assert stats.playback.interrupts == 0
    assert stats.last_barge_in_at is None
    assert stats.playback.written_ms > 4000  # the whole story played, heard back all along
    assert stats.vad.gated_frames > 150
    # The same room without the gate: the echo is taken for the user and cuts the agent off.
    ungated = (await run(echo_gate=False, mic_kw=mic))["stats"]
    assert ungated.vad.speech_starts >= 1
    assert ungated.vad.gated_frames == 0
    assert ungated.playback.interrupts >= 1
    assert ungated.playback.written_ms < stats.playback.written_ms


def _last_agent_sample(sink: FakeAudioSink) -> float:
    last = 0.0
    for begin, pcm in sink.writes:
        nonzero = np.flatnonzero(np.frombuffer(pcm, "<i2"))
        if len(nonzero):
            last = begin + (nonzero[-1] + 1) / RATE
    return last


def _silero() -> Detector:
    if weights.weights_path(weights.SILERO_VAD) is None:
        pytest.skip("the Silero weights are not fetched (rtagents fetch-models)")
    pytest.importorskip("onnxruntime")
    detector = make_detector("silero")
    assert detector is not None
    assert not isinstance(detector, EnergyDetector)
    return detector


@pytest.mark.parametrize("kind", ["energy", "silero"])
async def test_a_real_voice_over_the_echo_barges_in_within_a_frame(
    autojump_clock: trio.testing.MockClock, kind: str
) -> None:
    speech, first_word = user_speech()
    user_at = 2.0  # the agent has been talking for a while
    detector = Recording(EnergyDetector() if kind == "energy" else _silero())
    mic = {"coupling_db": -10.0, "delay": 0.040, "user": speech, "user_at": user_at}
    result = await run(echo_gate=True, mic_kw=mic, vad=detector)
    stats, sink, start = result["stats"], result["sink"], result["start"]
    # One barge-in, on the user's voice (not on the echo before it) ...
    starts = [t for kind_, t in detector.decisions if kind_ == "start"]
    assert len(starts) >= 1
    assert stats.playback.interrupts == 1
    decided = starts[0]
    assert decided >= start + user_at + first_word
    assert decided <= start + user_at + first_word + 1.0
    # ... carried out in the same call: playback stopped, the last agent sample within a frame.
    assert stats.last_barge_in_at == decided
    assert _last_agent_sample(sink) <= decided + FRAME
    assert stats.vad.gated_frames > 0  # the echo before it was gated


@pytest.mark.parametrize("suppress", [True, False])
async def test_the_server_does_not_hear_the_echo_either(
    autojump_clock: trio.testing.MockClock, suppress: bool
) -> None:
    """With server VAD on (interrupt_response: the server cancels on speech), the echo reaches
    the server only when the uplink is not suppressed — and then it cuts the agent off."""
    model = local_model(TurnsResponder(STORY), pace=0.05)
    sink = FakeAudioSink()
    mic = Loopback(sink, 8.0, coupling_db=-10, delay=0.040)
    config = RealtimeRunConfig(
        audio_source=mic,
        audio_sink=sink,
        link_factory=model.link_factory,
        model_settings={"turn_detection": {"type": "server_vad"}},
        echo_gate={"suppress_uplink": suppress},
    )
    async with open_session(RealtimeAgent("Teller"), config) as session:
        await session.send_message("Tell me a story.")
        await trio.sleep(8.5)
        stats = session.statistics()
    heard = [m for m in model.server.timeline.marks if m.what == "speech_started"]
    assert stats.vad.speech_starts == 0  # the local VAD is gated either way
    if suppress:
        assert heard == []
        assert stats.playback.interrupts == 0
    else:
        assert heard  # the server took the agent's own voice for the user
