"""Cost of the turn detectors: energy level meter, Silero VAD, smart-turn v3, side by side.

    python -m benchmarks.detectors            # full run (about a minute)
    python -m benchmarks.detectors --quick    # smoke run

Prints a table, writes ``detectors.json`` to ``--out`` (default benchmarks/results).

Methodology
-----------
Every call is timed on its own, wall clock (``perf_counter_ns``) and CPU time of the process
(``process_time_ns``), so the figures are distributions (p50, p95, max) of the cost of one step
as a caller sees it; on a shared machine the wall figures swing with other load (2–3× here),
the CPU figures much less.  The detectors are interleaved round by
round (one round: a second of 32 ms frames through each frame detector, then one smart-turn
decision), so a burst of load from other processes hits all of them alike.  Audio is real speech
(the vendored LibriVox clips, looped) when present, else the synthetic voice.  A "32 ms frame"
is 512 samples at 16 kHz: Silero's frame; the energy meter and detector get the same 512
samples (5 sub-frames of 10 ms, plus 2 ms kept).  A smart-turn decision is the whole
``SmartTurn.probability`` on an 8 s window (features + model); the features are also timed
alone.  onnxruntime runs on one thread (``intra_op_num_threads=1``).  The neural rows are left
out, with the reason, when onnxruntime or the cached weights (``rtagents fetch-models``) are
missing.  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import _common as common
from rtagents._core.levels import LevelMeter
from rtagents._core.vad import EnergyDetector
from rtagents.detectors import smart_turn as st
from rtagents.detectors.silero import SileroVad
from rtagents.detectors.smart_turn import SmartTurn
from rtagents.detectors.weights import SILERO_VAD, SMART_TURN, weights_path
from rtagents.testing._audio import voice

T = TypeVar("T")
FRAME_BYTES = 2 * 512
LIBRIVOX = Path(__file__).resolve().parent.parent / "rtagents" / "testing" / "data" / "librivox"


def speech(seconds: float) -> tuple[bytes, str]:
    """At least ``seconds`` of 16 kHz speech (real when the clips are there), and its source."""
    clips = sorted(LIBRIVOX.glob("*.wav"))
    pcm = b""
    for clip in clips:
        with wave.open(str(clip)) as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2):
                pcm += w.readframes(w.getnframes())
    source = f"LibriVox ({len(clips)} clips, looped)"
    if not pcm:
        pcm, source = voice(seconds, rate=16000), "synthetic voice (rtagents.testing)"
    need = 2 * int(seconds * 16000)
    return (pcm * (need // len(pcm) + 1))[:need], source


class Timings:
    """Wall-clock and CPU time (µs) of each call of one step."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def call(self, fn: Callable[[bytes], T], arg: bytes) -> T:
        cpu, wall = time.process_time_ns(), time.perf_counter_ns()
        result = fn(arg)
        self.wall.append((time.perf_counter_ns() - wall) / 1000.0)
        self.cpu.append((time.process_time_ns() - cpu) / 1000.0)
        return result

    def summary(self, unit_us: float) -> dict[str, Any]:
        return {
            "wall": common.summary([v / unit_us for v in self.wall]),
            "cpu": common.summary([v / unit_us for v in self.cpu]),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cost of the turn detectors.")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    opts = parser.parse_args(argv)
    rounds = 5 if opts.quick else 60
    env = common.environment()
    print(f"rtagents detector benchmark — python {env['python']}, {env['platform']}")
    audio, source = speech(rounds + st.WINDOW_SECONDS + 1)
    print(f"audio: {source}\n")

    frame_detectors: dict[str, Callable[[bytes], object]] = {
        "LevelMeter (10 ms sub-frames)": LevelMeter(160).feed,
        "EnergyDetector": EnergyDetector().feed,
    }
    notes: list[str] = []
    loads: dict[str, float] = {}
    turn = None
    if importlib.util.find_spec("onnxruntime") is None:
        notes.append("onnxruntime is not installed (extra 'turns'): neural rows left out")
    else:
        if (path := weights_path(SILERO_VAD)) is not None:
            start = time.perf_counter()
            frame_detectors["SileroVad (onnxruntime, 1 thread)"] = SileroVad(path).feed
            loads["SileroVad"] = (time.perf_counter() - start) * 1000
        else:
            notes.append(f"{SILERO_VAD} not cached (rtagents fetch-models): Silero left out")
        if (path := weights_path(SMART_TURN)) is not None:
            start = time.perf_counter()
            turn = SmartTurn(path)
            loads["SmartTurn"] = (time.perf_counter() - start) * 1000
        else:
            notes.append(f"{SMART_TURN} not cached (rtagents fetch-models): smart-turn left out")

    per_frame = {name: Timings() for name in frame_detectors}
    features, decisions = Timings(), Timings()
    probabilities: list[float] = []
    frames_per_round = 16000 * 2 // FRAME_BYTES  # about one second
    for r in range(rounds):
        base = r * frames_per_round * FRAME_BYTES
        for name, feed in frame_detectors.items():
            for i in range(frames_per_round):
                frame = audio[base + i * FRAME_BYTES : base + (i + 1) * FRAME_BYTES]
                per_frame[name].call(feed, frame)
        window = audio[base : base + 2 * st.WINDOW_SAMPLES]
        features.call(st.features, window)
        if turn is not None:
            probabilities.append(decisions.call(turn.probability, window))

    results: dict[str, Any] = {"environment": env, "quick": opts.quick, "audio": source}
    results["load_ms"] = loads
    results["notes"] = notes
    steps = [(name, "µs / 32 ms frame", t, 1.0) for name, t in per_frame.items()]
    steps.append(("Whisper log-mel, 8 s (numpy)", "ms / window", features, 1000.0))
    if decisions.wall:
        steps.append(("SmartTurn.probability, 8 s", "ms / decision", decisions, 1000.0))
        results["smart-turn probabilities"] = common.summary(probabilities)
    rows: list[list[object]] = []
    for name, unit, timings, scale in steps:
        s = results[name] = {"unit": unit, **timings.summary(scale)}
        wall, cpu = s["wall"], s["cpu"]
        rows.append([name, unit, wall["p50"], wall["p95"], wall["max"], cpu["p50"], cpu["p95"]])
    headers = ["step", "unit", "p50", "p95", "max", "CPU p50", "CPU p95"]
    print(common.table(headers, rows))
    if loads:
        print("\nload: " + ", ".join(f"{k} {v:.0f} ms" for k, v in loads.items()))
    for note in notes:
        print(f"note: {note}")
    opts.out.mkdir(parents=True, exist_ok=True)
    common.write_json(opts.out / "detectors.json", results)
    print(f"\nwrote {opts.out / 'detectors.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
