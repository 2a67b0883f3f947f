"""Echo-safe barge-in: false barge-ins on the agent's own echo, real barge-ins over it, noise.

    python -m benchmarks.barge_in            # full run (about a minute)
    python -m benchmarks.barge_in --quick    # smoke run

Prints a table, writes ``barge_in.json`` to ``--out`` (default benchmarks/results).
:func:`measure` returns the rows (one dict each) and :func:`table` prints them, for another
benchmark to show.

Methodology
-----------
Directly on the pieces a session runs, in audio time (no clock, no sleeps): the
:class:`~rtagents.actors.VadActor` (the session's detector, fed 20 ms frames as the capture
actor does) with or without the session's :class:`~rtagents._core.echo.EchoGate` (default
settings: −6 dB assumed coupling, 1 dB margin, 250 ms window), which is told every 10 ms
reference frame at the time it is handed to the sink, as the playback actor does.  Everything is
at 16 kHz (the detectors' rate; a session's 24 kHz audio is resampled to it on the way).

* The agent's voice is real speech: LibriVox clips 2–5 back to back (the reader at her own
  level, about −24 dBFS RMS), played *open loop*: a false start does not stop the agent here,
  so every false start over the whole speech is counted (in a session the first one would cut
  the agent off).  The microphone hears it ``delay`` later at ``coupling`` dB, plus white
  noise at −60 dBFS.  Row kind ``echo``: VAD speech starts per minute of agent speech.
* Real barge-ins: LibriVox clip 1's first 2.5 s (the same reader: a worst case for a level
  test, the user as loud as the agent's playback) added at its own level over the echo at
  −10 dB/40 ms, at ``trials`` offsets spread over the agent's speech.  A detection is a speech
  start between the first word's start and 1.5 s after it; the delay is from the first word's
  start (pocketsphinx's alignment) to the frame on which the detector decided — in a session,
  playback stops inside that same call.  ``no echo`` rows are the same voice alone (the
  detector's own delay).
* Noise alone (no echo, nothing played: the gate is idle): white noise and babble (four
  LibriVox clips summed at random offsets), at −50/−40/−30 dBFS RMS; speech starts per minute.

Silero rows need onnxruntime and its weights (``rtagents fetch-models``); they are left out,
with a note, otherwise.  Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _common as common
from rtagents._core.echo import EchoGate, EchoGateSettings, pcm_levels
from rtagents._core.vad import Detector, EnergyDetector
from rtagents.actors.vad import VadActor, VadSpeechStarted, VadSpeechStopped, make_detector
from rtagents.audio import AudioFrame
from rtagents.testing.corpus import librivox_clips

RATE = 16000
FRAME = 320  # 20 ms at 16 kHz: one captured frame
REF = 160  # 10 ms: one playback frame

COUPLINGS = (-20.0, -10.0, -6.0, 0.0)  # 0 dB: beyond the gate's assumption
DELAYS_MS = (20, 60, 150)
NOISE_DBFS = (-50.0, -40.0, -30.0)


def _detectors() -> tuple[dict[str, Callable[[], Detector]], list[str]]:
    makers: dict[str, Callable[[], Detector]] = {"energy": EnergyDetector}
    notes: list[str] = []
    probe = make_detector("silero")
    if isinstance(probe, EnergyDetector):
        notes.append(
            "Silero VAD unavailable (onnxruntime or `rtagents fetch-models`): rows left out"
        )
    else:

        def silero() -> Detector:
            detector = make_detector("silero")
            assert detector is not None
            return detector

        makers["silero"] = silero
    return makers, notes


def _floats(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float64)


def _pcm(x: np.ndarray) -> bytes:
    data: bytes = np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()
    return data


def _at_dbfs(x: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x**2))) or 1.0
    return x * (32768 * 10 ** (dbfs / 20) / rms)


_SETTINGS = EchoGateSettings()


def _run(
    mic: np.ndarray, reference: np.ndarray | None, detector: Detector, gate: bool
) -> tuple[list[float], float]:
    """Feed ``mic`` to a VAD actor frame by frame (the reference, if any, told to the gate
    10 ms at a time as it plays from t = 0); the times (s) of its speech starts, and the share
    of the time it was in speech."""
    starts: list[float] = []
    spans: list[float] = []

    def emit(event: VadSpeechStarted | VadSpeechStopped) -> None:
        if isinstance(event, VadSpeechStarted):
            starts.append(event.timestamp)
            spans.append(-event.timestamp)
        else:
            spans.append(event.timestamp)

    echo_gate = EchoGate(_SETTINGS) if gate else None
    vad = VadActor(None, emit, detector=detector, echo_gate=echo_gate)
    ref_pcm = _pcm(reference) if reference is not None else b""
    told = 0
    mic_pcm = _pcm(mic)
    for n in range(len(mic_pcm) // (2 * FRAME)):
        end = (n + 1) * FRAME / RATE
        if echo_gate is not None:
            # the playback actor reports each 10 ms frame as it hands it to the sink
            while told * REF < len(ref_pcm) // 2 and told * REF / RATE < end:
                chunk = ref_pcm[2 * told * REF : 2 * (told + 1) * REF]
                echo_gate.played(told * REF / RATE, pcm_levels(chunk, RATE))
                told += 1
        frame = mic_pcm[2 * n * FRAME : 2 * (n + 1) * FRAME]
        vad.send_nowait(AudioFrame(frame, RATE, end, n))
    total = len(mic_pcm) / 2 / RATE
    if len(spans) % 2:
        spans.append(total)
    return starts, sum(spans) / total


def _echo(agent: np.ndarray, coupling_db: float, delay_ms: int, seed: int) -> np.ndarray:
    lag = RATE * delay_ms // 1000
    echo = np.concatenate([np.zeros(lag), agent])[: len(agent)] * 10 ** (coupling_db / 20)
    rng = np.random.default_rng(seed)
    return echo + rng.standard_normal(len(echo)) * 32768 * 10 ** (-60 / 20)


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """The rows of the table (see the module docstring); ``quick``: fewer delays and trials."""
    clips = librivox_clips()
    agent = np.concatenate([_floats(c.pcm16) for c in clips[1:]])
    minutes = len(agent) / RATE / 60
    user_clip = clips[0]
    user = _floats(user_clip.pcm16[: 2 * int(2.5 * RATE)])
    first_word = user_clip.speech_start
    makers, notes = _detectors()
    delays = (40,) if quick else DELAYS_MS
    trials = 4 if quick else 12
    rows: list[dict[str, Any]] = []
    for name, make in makers.items():
        for coupling in COUPLINGS:
            for delay in delays:
                mic = _echo(agent, coupling, delay, seed=delay)
                for gate in (False, True):
                    starts, _ = _run(mic, agent, make(), gate)
                    rows.append(
                        {
                            "kind": "echo",
                            "detector": name,
                            "gate": gate,
                            "coupling_db": coupling,
                            "delay_ms": delay,
                            "false_per_min": len(starts) / minutes,
                        }
                    )
        # real barge-ins: the user over the echo (and alone, for the detector's own delay)
        offsets = np.linspace(0.5, len(agent) / RATE - 3.0, trials)
        for setting, gate, with_echo in (
            ("over echo, gate", True, True),
            ("over echo, no gate", False, True),
            ("no echo", False, False),
        ):
            delays_s: list[float] = []
            for i, offset in enumerate(offsets):
                at = int(offset * RATE)
                background = _echo(agent, -10.0, 40, seed=i) if with_echo else np.zeros(len(agent))
                mic = background.copy()
                mic[at : at + len(user)] += user
                starts, _ = _run(mic, agent if with_echo else None, make(), gate)
                onset = offset + first_word
                hits = [t for t in starts if onset <= t <= onset + 1.5]
                early = [t for t in starts if offset - 1.0 <= t < onset]
                if hits and not early:
                    delays_s.append(hits[0] - onset)
            rows.append(
                {
                    "kind": "barge-in",
                    "detector": name,
                    "gate": gate,
                    "setting": setting,
                    "coupling_db": -10.0 if with_echo else None,
                    "delay_ms": 40 if with_echo else None,
                    "trials": trials,
                    "detected": len(delays_s) / trials,
                    "delay_p50_ms": 1000 * statistics.median(delays_s) if delays_s else None,
                    "delay_max_ms": 1000 * max(delays_s) if delays_s else None,
                }
            )
        # noise alone
        seconds = 20 if quick else 60
        rng = np.random.default_rng(1)
        babble_src = [_floats(c.pcm16) for c in clips[1:]]
        babble = np.zeros(seconds * RATE)
        for src in babble_src:
            reps = np.tile(src, -(-len(babble) // len(src)) + 1)
            shift = int(rng.integers(0, len(src)))
            babble += reps[shift : shift + len(babble)]
        white = rng.standard_normal(seconds * RATE)
        for noise_name, noise in (("white", white), ("babble", babble)):
            for level in NOISE_DBFS:
                starts, speaking = _run(_at_dbfs(noise, level), None, make(), True)
                rows.append(
                    {
                        "kind": "noise",
                        "detector": name,
                        "noise": noise_name,
                        "noise_dbfs": level,
                        "false_per_min": len(starts) / (seconds / 60),
                        "in_speech": speaking,
                    }
                )
    for note in notes:
        rows.append({"kind": "note", "note": note})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`measure` as three plain-text tables."""
    out: list[str] = []
    echo = [r for r in rows if r["kind"] == "echo"]
    if echo:
        out.append(
            common.table(
                ["detector", "coupling dB", "delay ms", "false/min, no gate", "false/min, gate"],
                [
                    [r["detector"], r["coupling_db"], r["delay_ms"], r["false_per_min"], g]
                    for r in echo
                    if not r["gate"]
                    for g in [
                        next(
                            x["false_per_min"]
                            for x in echo
                            if x["gate"]
                            and (x["detector"], x["coupling_db"], x["delay_ms"])
                            == (r["detector"], r["coupling_db"], r["delay_ms"])
                        )
                    ]
                ],
                "False barge-ins per minute of agent speech (its echo in the microphone)",
            )
        )
    barge = [r for r in rows if r["kind"] == "barge-in"]
    if barge:
        out.append(
            common.table(
                ["detector", "setting", "trials", "detected", "delay p50 ms", "delay max ms"],
                [
                    [
                        r["detector"],
                        r["setting"],
                        r["trials"],
                        r["detected"],
                        r["delay_p50_ms"],
                        r["delay_max_ms"],
                    ]
                    for r in barge
                ],
                "Real barge-ins (LibriVox at its own level; echo -10 dB, 40 ms)",
            )
        )
    noise = [r for r in rows if r["kind"] == "noise"]
    if noise:
        out.append(
            common.table(
                ["detector", "noise", "dBFS", "starts/min", "time in speech"],
                [
                    [r["detector"], r["noise"], r["noise_dbfs"], r["false_per_min"], r["in_speech"]]
                    for r in noise
                ],
                "Noise alone (no echo)",
            )
        )
    out.extend(f"note: {r['note']}" for r in rows if r["kind"] == "note")
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Echo-safe barge-in.")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    opts = parser.parse_args(argv)
    env = common.environment()
    print(f"rtagents barge-in benchmark — python {env['python']}, {env['platform']}\n")
    rows = measure(opts.quick)
    print(table(rows))
    opts.out.mkdir(parents=True, exist_ok=True)
    common.write_json(
        opts.out / "barge_in.json", {"environment": env, "quick": opts.quick, "rows": rows}
    )
    print(f"\nwrote {opts.out / 'barge_in.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
