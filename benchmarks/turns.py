"""Knowing when the user has finished: end-of-turn latency and premature ends of turn.

    python -m benchmarks.turns            # full run (real time, one session at a time: ~18 min)
    python -m benchmarks.turns --quick    # smoke run (one clip, two configurations, < 60 s)
    python -m benchmarks.turns --configs "server_vad · energy,server_vad · silero"  # a subset

What is measured
----------------
Real speech is streamed, in real time, into ``rtagents local-server`` (the scripted responder:
a short spoken answer), and the client notes when the server's ``input_audio_buffer.committed``
arrives, for each turn-detection configuration:

* **End-of-turn latency** on *complete utterances*: each clip as recorded, then a −60 dBFS
  noise floor (seeded) until the commit, or 10 s.  Latency = arrival of ``committed`` − the
  moment the clip's last word ended, that moment being the send time of the 20 ms frame that
  holds the last word's end, less the part of the frame after it (a microphone hands over a
  frame when its last sample is captured, so up to 20 ms of framing is part of the figure, as it
  is for a real caller).  Reported as p50/p95/max; *misses*: no commit within 10 s.
* **Premature end of turn** at *mid-sentence pauses*: at the word boundary nearest the middle of
  the clip's speech that leaves at least 1 s of speech on each side, the natural gap is replaced
  by 400, 700 or 1000 ms of the same noise floor.  A commit that arrives before the frame holding
  the end of the resumed speech was sent is premature; where it happened (in the pause, N ms in;
  before it; after the speech resumed) is recorded in the JSON.  The rate is clips with at least
  one premature commit ÷ clips.  The commit at the end of the resumed speech is recorded too.

Configurations: the server's VAD frame classifier (``--vad energy|silero``) × its end-of-turn
model (``--turn-model off|auto``), one fresh server process for each pair, and in it the session's
``turn_detection``: ``server_vad`` (silence 500 ms) and ``semantic_vad`` at each eagerness.  A
configuration whose flags the server refuses, or whose ``session.update`` it answers with an
error, is skipped with the reason.  Each server gets one warm-up session first (not counted:
models load on first use).  One session at a time, 20 ms ``input_audio_buffer.append`` frames of
PCM16 at 24 kHz (resampled from 16 kHz by ``rtagents.native.resample``), each sent at its due
time on the real clock; a frame more than a frame late shifts the rest of the schedule (no
bursts), counted as *late frames*.

How to read it: lower latency is better only as long as the premature rate stays low; the
acceptance figures are semantic_vad (auto) latency p50 ≤ 300 ms and premature at 700 ms pauses
≤ 1 in 5, with server_vad beside it (whose 500 ms silence rule must cut every pause longer than
that: it is the baseline the turn model is there to beat).  A semantic_vad latency of seconds is
a turn the model did not judge finished, ended by the eagerness' longest wait (the server's
``EAGERNESS``: 8/4/2 s for low/medium/high, auto as medium); server_vad's figure is its 500 ms of
silence plus whatever the VAD still hears as speech after the aligned end of the last word (the
recordings' own tail: breath, reverberation, room noise near −45 dBFS), plus the framing.  The
*VAD tail* column is that part: where the server's ``speech_stopped`` put the end of speech
(``audio_end_ms``), after the aligned end of the last word; latency less the tail is what the
decision rule (silence timer, or candidate pause + turn model) and the transport add.

What the corpus limits: the audio is LibriVox read speech (*Sense and Sensibility*, one reader,
five clips of 3–7 s, a volunteer's recording at 64 kb/s with a room-noise floor near −45 dBFS),
so the figures say nothing about other speakers, accents, spontaneous conversational speech (real
hesitations, fillers, trailing intonation), telephone bandwidth or noisy rooms; the pauses are
spliced, not produced by the speaker, so the prosody before them is that of fluent reading, which
gives an end-of-turn model fewer cues than a real hesitation (or sometimes misleading ones).
Five clips give 5 samples per cell: read the rates as k in 5, not as percentages to compare
finely, and p95 of five latencies as their maximum.

"False barge-ins under noise and echo" come from ``benchmarks.barge_in.measure`` (client-side
VAD and echo gate) when that module is present; its table is printed as a second section.

The machine is shared: the load average before and after each configuration is in the JSON.
Prints tables, writes ``turns.json`` and ``turns.png`` to ``--out``.  Nothing here asserts a
timing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from benchmarks import _common as common
from rtagents import native
from rtagents.testing.corpus import Clip, librivox_clips

RATE = 24000
CLIP_RATE = 16000
FRAME_S = 0.020
FRAME_SAMPLES = int(RATE * FRAME_S)
NOISE_DBFS = -60.0
TIMEOUT_S = 10.0
PAUSES_MS = (400, 700, 1000)
MIN_SIDE_S = 1.0  # speech kept on each side of the spliced pause
ANSWER = "OK."
LATENCY_GOAL_MS = 300.0
PREMATURE_GOAL = 0.2


@attrs.frozen
class Config:
    """One row: the server's flags and the session's turn detection."""

    name: str
    vad: str  # energy | silero
    turn_model: str  # off | auto
    detection: dict[str, Any]


CONFIGS = (
    Config("server_vad · energy", "energy", "off", {"type": "server_vad"}),
    Config("server_vad · silero", "silero", "off", {"type": "server_vad"}),
    *(
        Config(
            f"semantic_vad {e} · smart-turn · silero",
            "silero",
            "auto",
            {"type": "semantic_vad", "eagerness": e},
        )
        for e in ("low", "medium", "high", "auto")
    ),
    Config(
        "semantic_vad auto · smart-turn · energy",
        "energy",
        "auto",
        {"type": "semantic_vad", "eagerness": "auto"},
    ),
    Config(
        "semantic_vad auto · no model (fallback)",
        "energy",
        "off",
        {"type": "semantic_vad", "eagerness": "auto"},
    ),
)
QUICK = ("server_vad · energy", "semantic_vad auto · smart-turn · silero")


@attrs.frozen
class Variant:
    """One stream: a clip as is, or with a spliced pause; times in seconds of the stream."""

    clip: str
    kind: str  # "complete" or "pause"
    pause_ms: int
    pcm: bytes = attrs.field(repr=False)  # PCM16 at 24 kHz, speech and then the noise floor
    speech_end: float
    pause_at: float | None = None
    resume_at: float | None = None


def _noise(seconds: float, rate: int, seed: int) -> bytes:
    rms = 32768.0 * 10 ** (NOISE_DBFS / 20)
    samples = np.random.default_rng(seed).normal(0.0, rms, int(seconds * rate))
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def _boundary(clip: Clip) -> int:
    """The index i of the word after which the pause goes (between words i and i + 1)."""
    middle = (clip.speech_start + clip.speech_end) / 2
    words = clip.words
    fits = [
        i
        for i in range(len(words) - 1)
        if words[i].end - clip.speech_start >= MIN_SIDE_S
        and clip.speech_end - words[i + 1].start >= MIN_SIDE_S
    ]
    if not fits:  # a short clip: the boundary nearest the middle
        fits = list(range(len(words) - 1))
    return min(fits, key=lambda i: abs((words[i].end + words[i + 1].start) / 2 - middle))


def variants(clip: Clip, pauses: Sequence[int], seed: int) -> list[Variant]:
    """The complete clip and one spliced-pause version per pause length."""

    def stream(pcm16k: bytes) -> bytes:
        speech = native.resample(pcm16k, CLIP_RATE, RATE)
        return speech + _noise(TIMEOUT_S + 1.0, RATE, seed)

    out = [Variant(clip.name, "complete", 0, stream(clip.pcm16), clip.speech_end)]
    i = _boundary(clip)
    cut, resume = clip.words[i].end, clip.words[i + 1].start
    a, b = 2 * round(cut * CLIP_RATE), 2 * round(resume * CLIP_RATE)
    for pause in pauses:
        gap = _noise(pause / 1000, CLIP_RATE, seed + pause)
        pcm = clip.pcm16[:a] + gap + clip.pcm16[b:]
        shift = pause / 1000 - (resume - cut)
        out.append(
            Variant(
                clip.name,
                "pause",
                pause,
                stream(pcm),
                clip.speech_end + shift,
                pause_at=cut,
                resume_at=cut + pause / 1000,
            )
        )
    return out


def _frames(pcm: bytes) -> list[str]:
    size = 2 * FRAME_SAMPLES
    return [
        '{"type":"input_audio_buffer.append","audio":"'
        + base64.b64encode(pcm[i : i + size]).decode()
        + '"}'
        for i in range(0, len(pcm) - size + 1, size)
    ]


def _session_update(detection: dict[str, Any]) -> str:
    audio_in = {"format": {"type": "audio/pcm", "rate": RATE}, "turn_detection": detection}
    session = {"type": "realtime", "audio": {"input": audio_in}}
    return json.dumps({"type": "session.update", "session": session})


async def run_variant(url: str, detection: dict[str, Any], variant: Variant) -> dict[str, Any]:
    """Stream one variant in real time; the commits, when they arrived and where."""
    frames = _frames(variant.pcm)
    end_frame = (round(variant.speech_end * RATE) - 1) // FRAME_SAMPLES
    last = min(len(frames), end_frame + 1 + int(TIMEOUT_S / FRAME_S))
    sent: list[float] = []
    commits: list[tuple[float, int | None]] = []  # (arrival, the speech_stopped's audio_end_ms)
    record: dict[str, Any] = {
        "clip": variant.clip,
        "kind": variant.kind,
        "pause_ms": variant.pause_ms,
    }
    starts = 0
    late = 0
    async with open_websocket_url(url, max_message_size=16 * 2**20) as ws:
        await ws.get_message()  # session.created
        await ws.send_message(_session_update(detection))
        with trio.move_on_after(5) as waited:
            while True:
                event = json.loads(await ws.get_message())
                if event["type"] == "session.updated":
                    break
                if event["type"] == "error":
                    record["error"] = event.get("error", {}).get("message", str(event))
                    return record
        if waited.cancelled_caught:
            record["error"] = "no session.updated within 5 s"
            return record

        async def receive(cancel: trio.CancelScope) -> None:
            nonlocal starts
            stopped_at: int | None = None
            while True:
                try:
                    event = json.loads(await ws.get_message())
                except ConnectionClosed as exc:
                    record.setdefault("errors", []).append(f"connection closed: {exc.reason}")
                    return
                now = trio.current_time()
                kind = event["type"]
                if kind == "input_audio_buffer.speech_started":
                    starts += 1
                elif kind == "input_audio_buffer.speech_stopped":
                    stopped_at = event.get("audio_end_ms")
                elif kind == "input_audio_buffer.committed":
                    commits.append((now, stopped_at))
                    if len(sent) > end_frame:
                        cancel.cancel()
                elif kind == "error":
                    record.setdefault("errors", []).append(event.get("error", {}).get("message"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive, nursery.cancel_scope)
            origin = trio.current_time()
            for k in range(last):
                due = origin + (k + 1) * FRAME_S
                await trio.sleep_until(due)
                now = trio.current_time()
                if now - due > FRAME_S:  # late: move the schedule on rather than burst
                    origin += now - due
                    late += 1
                sent.append(now)
                await ws.send_message(frames[k])
            await trio.sleep(0.5)  # a commit decided on the last frame may still be coming
            nursery.cancel_scope.cancel()
        with trio.move_on_after(2):
            await ws.aclose()

    def position(t: float) -> float:
        """The stream position (s) a microphone had reached at time ``t``."""
        k = max(0, min(len(sent) - 1, int(np.searchsorted(sent, t, side="right")) - 1))
        return (k + 1) * FRAME_S + min(max(t - sent[k], 0.0), FRAME_S)

    if len(sent) <= end_frame:
        record["error"] = "the stream ended before the speech did: " + "; ".join(
            record.get("errors", ["?"])
        )
        return record
    spoken_end = sent[end_frame] - ((end_frame + 1) * FRAME_S - variant.speech_end)
    premature = []
    latency = None
    for t, audio_end_ms in commits:
        if t < sent[end_frame]:
            at = position(t)
            premature.append(
                {"at_s": round(at, 3), "where": _where(variant, at), "audio_end_ms": audio_end_ms}
            )
        elif latency is None:
            latency = (t - spoken_end) * 1000
            record["vad_end_ms"] = audio_end_ms  # where the server's VAD put the end of speech
    record |= {
        "latency_ms": latency,
        "premature": premature,
        "speech_started": starts,
        "late_frames": late,
        "speech_end_s": variant.speech_end,
    }
    if variant.pause_at is not None:
        record |= {"pause_at_s": variant.pause_at, "resume_at_s": variant.resume_at}
    return record


def _where(variant: Variant, at: float) -> str:
    if variant.pause_at is None or variant.resume_at is None:
        return f"{(variant.speech_end - at) * 1000:.0f} ms before the end"
    if at < variant.pause_at:
        return "before the pause"
    if at < variant.resume_at:
        return f"in the pause, +{(at - variant.pause_at) * 1000:.0f} ms"
    return f"after the speech resumed, +{(at - variant.resume_at) * 1000:.0f} ms"


# -- the server ---------------------------------------------------------------------------------


class Server:
    """``rtagents local-server`` in a subprocess, with the flags of one (VAD, turn model) pair."""

    def __init__(self, script: Path, vad: str, turn_model: str) -> None:
        command = [sys.executable, "-m", "rtagents", "local-server", "--script", str(script)]
        if vad != "energy":  # (the defaults are left out: they work on any server)
            command += ["--vad", vad]
        if turn_model != "off":
            command += ["--turn-model", turn_model]
        self.command = command
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        self.url: str | None = None
        self.refused: str | None = None  # why this server cannot measure what was asked
        self.notes: list[str] = []
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60.0)
        line = self.process.stdout.readline() if ready else ""
        if line.startswith("listening on "):
            self.url = line.split()[-1]
        else:
            self.stop()
        # What it said on stderr before listening: why it refused, or what it fell back from
        # (reading to the end leaves the shared offset where the server writes next).
        self._stderr.seek(0)
        self.notes = [x for x in self._stderr.read().splitlines() if x.strip()]
        if self.url is None:
            exited = f"no address printed (exit {self.process.returncode})"
            self.refused = self.notes[-1] if self.notes else exited
        elif any("unavailable" in n or "runs as server_vad" in n for n in self.notes):
            self.refused = "the server fell back: " + " / ".join(self.notes)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def close(self) -> None:
        self.stop()
        self._stderr.close()


# -- summarizing and reporting ------------------------------------------------------------------


def summarize(config: Config, runs: list[dict[str, Any]], pauses: Sequence[int]) -> dict[str, Any]:
    complete = [r for r in runs if r["kind"] == "complete"]
    latencies = [r["latency_ms"] for r in complete if r["latency_ms"] is not None]
    result: dict[str, Any] = {
        "complete": {
            "n": len(complete),
            "latency_ms": latencies,
            "summary": common.summary(latencies),
            "misses": sum(r["latency_ms"] is None for r in complete),
            "premature": sum(bool(r["premature"]) for r in complete),
            # how far after the aligned end of the last word the server's VAD put the speech end
            "vad_tail_ms": [
                r["vad_end_ms"] - 1000 * r["speech_end_s"]
                for r in complete
                if r.get("vad_end_ms") is not None
            ],
        },
        "pauses": {},
        "late_frames": sum(r["late_frames"] for r in runs),
    }
    for pause in pauses:
        paused = [r for r in runs if r["kind"] == "pause" and r["pause_ms"] == pause]
        cut = sum(bool(r["premature"]) for r in paused)
        after = [r["latency_ms"] for r in paused if r["latency_ms"] is not None]
        result["pauses"][str(pause)] = {
            "n": len(paused),
            "premature": cut,
            "rate": cut / len(paused) if paused else None,
            "where": [p["where"] for r in paused for p in r["premature"]],
            "misses": sum(r["latency_ms"] is None for r in paused),
            "latency_after_ms": after,
        }
    return result


def _report(results: dict[str, Any], pauses: Sequence[int]) -> None:
    rows, pause_rows, notes = [], [], []
    for name, entry in results["configs"].items():
        if "skipped" in entry:
            notes.append(f"skipped {name}: {entry['skipped']}")
            continue
        c = entry["complete"]
        s = c["summary"]
        tail = float(np.median(c["vad_tail_ms"])) if c["vad_tail_ms"] else None
        figures = [s.get("p50"), s.get("p95"), s.get("max"), tail]
        rows.append([name, c["n"], *figures, c["misses"], c["premature"]])
        cells = []
        for pause in pauses:
            cell = entry["pauses"][str(pause)]
            cells.append(f"{cell['premature']}/{cell['n']}")
        misses = sum(entry["pauses"][str(p)]["misses"] for p in pauses)
        pause_rows.append([name, *cells, misses, entry["late_frames"]])
    print(
        common.table(
            ["configuration", "n", "p50", "p95", "max", "VAD tail p50", "misses", "cut early"],
            rows,
            "End of turn on complete utterances (ms, last word's end → committed; VAD tail: where"
            " the server's VAD put the end of speech, after the word's end)",
        )
    )
    print()
    print(
        common.table(
            ["configuration", *(f"{p} ms" for p in pauses), "misses", "late frames"],
            pause_rows,
            "Premature end of turn at a mid-sentence pause (clips cut / clips)",
        )
    )
    print("\n".join(["", *notes, ""]) if notes else "")
    verdicts = []
    for name in ("semantic_vad auto · smart-turn · silero", "server_vad · energy"):
        entry = results["configs"].get(name, {})
        if "complete" not in entry:
            verdicts.append([name, "latency p50 ≤ 300 ms", None, "no data"])
            continue
        p50 = entry["complete"]["summary"].get("p50")
        verdicts.append([name, "latency p50 ≤ 300 ms", p50, common.verdict(p50, LATENCY_GOAL_MS)])
        at = entry["pauses"].get("700")
        rate = at["rate"] if at else None
        verdicts.append(
            [name, "premature at 700 ms ≤ 0.2", rate, common.verdict(rate, PREMATURE_GOAL)]
        )
    results["summary"] = verdicts
    print(
        common.table(
            ["configuration", "target", "measured", "verdict"],
            verdicts,
            "Acceptance (issue 17; server_vad beside it)",
        )
    )


def _barge_ins(quick: bool) -> dict[str, Any]:
    """The second section: false barge-ins under noise and echo, from benchmarks.barge_in."""
    try:
        from benchmarks import barge_in

        rows: list[dict[str, Any]] = barge_in.measure(quick)
    except ImportError:
        note = (
            "TODO: benchmarks/barge_in.py (false barge-ins under noise and echo) is not there yet"
        )
        print(note)
        return {"note": note}
    except Exception as exc:  # its failure must not lose this benchmark's figures
        note = f"benchmarks.barge_in.measure failed: {exc!r}"
        print(note)
        return {"note": note}
    print("False barge-ins under noise and echo (benchmarks.barge_in)\n")
    show = getattr(barge_in, "table", None)
    if callable(show):
        print(show(rows))
    else:  # one table per kind of row, with the columns that kind has
        kinds: dict[object, list[dict[str, Any]]] = {}
        for row in rows:
            kinds.setdefault(row.get("kind"), []).append(row)
        for kind, group in kinds.items():
            headers = list(dict.fromkeys(k for row in group for k in row))
            cells = [[row.get(h) for h in headers] for row in group]
            print(common.table(headers, cells, f"{kind}") + "\n")
    return {"rows": rows}


def _plot(results: dict[str, Any], pauses: Sequence[int], out: Path) -> str | None:
    plt = common.pyplot()
    if plt is None:
        return None
    measured = {n: e for n, e in results["configs"].items() if "complete" in e}
    fig, (lat_ax, cut_ax) = plt.subplots(1, 2, figsize=(14, 5))
    names = list(measured)
    for y, name in enumerate(names):
        values = measured[name]["complete"]["latency_ms"]
        lat_ax.scatter(values, [y] * len(values), alpha=0.7)
        if values:
            lat_ax.plot([float(np.median(values))] * 2, [y - 0.3, y + 0.3], color="black")
    everything = [v for e in measured.values() for v in e["complete"]["latency_ms"] if v > 0]
    if everything and max(everything) > 10 * min(everything):
        lat_ax.set_xscale("log")  # (max waits of several seconds beside a few hundred ms)
        ticks: tuple[int, ...] = (100, 200, 300, 500, 1000, 2000, 4000, 8000, 16000)
        ticks = tuple(t for t in ticks if min(everything) / 1.5 <= t <= max(everything) * 1.5)
        lat_ax.set_xticks(ticks, [str(t) for t in ticks])
        lat_ax.minorticks_off()
    lat_ax.invert_yaxis()
    lat_ax.axvline(LATENCY_GOAL_MS, color="grey", linestyle="--", label="goal (p50)")
    lat_ax.set_yticks(range(len(names)), names, fontsize=8)
    lat_ax.set_xlabel("last word's end → committed (ms); bar: median")
    lat_ax.set_title("End-of-turn latency, complete utterances")
    lat_ax.legend(fontsize=8)
    markers = "os^vD<>px*"
    for n, name in enumerate(names):
        rates = [measured[name]["pauses"][str(p)]["rate"] for p in pauses]
        nudge = 12 * (n - (len(names) - 1) / 2)  # (side by side where rates are equal)
        xs = [p + nudge for p in pauses]
        cut_ax.plot(xs, rates, marker=markers[n % len(markers)], label=name, alpha=0.8)
    cut_ax.axhline(PREMATURE_GOAL, color="grey", linestyle="--")
    cut_ax.set_xticks(list(pauses))
    cut_ax.set_ylim(-0.05, 1.05)
    cut_ax.set_xlabel("mid-sentence pause (ms)")
    cut_ax.set_ylabel("premature end-of-turn rate")
    cut_ax.set_title("Premature end of turn vs pause length")
    cut_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "turns.png", dpi=110)
    plt.close(fig)
    return "turns.png"


async def _run_server(
    url: str,
    configs: list[Config],
    streams: list[Variant],
    warmup: Variant,
    progress: common.Progress,
) -> dict[str, list[dict[str, Any]]]:
    await run_variant(url, configs[0].detection, warmup)  # models load on first use
    runs: dict[str, list[dict[str, Any]]] = {}
    for config in configs:
        runs[config.name] = []
        for variant in streams:
            progress.step(
                f"{config.name}: {variant.clip[-4:]} {variant.kind} {variant.pause_ms or ''}"
            )
            record = await run_variant(url, config.detection, variant)
            runs[config.name].append(record)
            if "error" in record:  # the server refuses this turn detection: no use going on
                break
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="End-of-turn latency and premature ends of turn.")
    parser.add_argument("--quick", action="store_true", help="one clip, two configurations (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--configs", default=None, help="comma-separated configuration names")
    opts = parser.parse_args(argv)
    clips = librivox_clips()
    if opts.quick:
        clips = tuple(c for c in clips if c.name.endswith("0890"))
        configs = [c for c in CONFIGS if c.name in QUICK]
        pauses: Sequence[int] = (700,)
    else:
        configs = list(CONFIGS)
        pauses = PAUSES_MS
    if opts.configs:
        wanted = [n.strip() for n in opts.configs.split(",")]
        configs = [c for c in CONFIGS if c.name in wanted]
    streams = [v for n, clip in enumerate(clips) for v in variants(clip, pauses, seed=n)]
    warmup = min(streams, key=lambda v: v.speech_end)
    env = common.environment()
    env["loadavg_start"] = os.getloadavg()
    print(f"rtagents turn-detection benchmark — python {env['python']}, {env['platform']}")
    print(
        f"{len(clips)} LibriVox clip(s), complete and with {'/'.join(map(str, pauses))} ms pauses,"
        f" streamed in real time into rtagents local-server; load {env['loadavg_start'][0]:.2f}\n"
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    script = opts.out / "turns_script.json"
    script.write_text(json.dumps({"rules": [{"say": ANSWER}], "ms_per_char": 60, "chunk_ms": 100}))
    results: dict[str, Any] = {
        "environment": env,
        "quick": opts.quick,
        "pauses_ms": list(pauses),
        "noise_dbfs": NOISE_DBFS,
        "timeout_s": TIMEOUT_S,
        "configs": {},
        "runs": {},
        "servers": [],
    }
    groups: dict[tuple[str, str], list[Config]] = {}
    for config in configs:
        groups.setdefault((config.vad, config.turn_model), []).append(config)
    progress = common.Progress(len(configs) * len(streams), 60)
    for (vad, turn_model), group in groups.items():
        load_before = os.getloadavg()
        server = Server(script, vad, turn_model)
        if server.url is None or server.refused is not None:
            server.close()
            for config in group:
                results["configs"][config.name] = {"skipped": str(server.refused)}
                progress.done += len(streams)
            continue
        try:
            runs = trio.run(_run_server, server.url, group, streams, warmup, progress)
        finally:
            server.close()
        results["servers"].append(
            {
                "command": " ".join(server.command[1:]),
                "notes": server.notes,
                "vad": vad,
                "turn_model": turn_model,
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
            }
        )
        for config in group:
            records = runs.get(config.name, [])
            results["runs"][config.name] = records
            errors = [r["error"] for r in records if "error" in r]
            if errors:
                results["configs"][config.name] = {"skipped": f"session refused: {errors[0]}"}
            else:
                results["configs"][config.name] = {
                    "vad": vad,
                    "turn_model": turn_model,
                    "detection": config.detection,
                    **summarize(config, records, pauses),
                }
    progress.end()
    order = [c.name for c in CONFIGS]
    results["configs"] = dict(sorted(results["configs"].items(), key=lambda kv: order.index(kv[0])))
    env["loadavg_end"] = os.getloadavg()
    _report(results, pauses)
    print()
    results["barge_in"] = _barge_ins(opts.quick)
    common.write_json(opts.out / "turns.json", results)
    written = _plot(results, pauses, opts.out)
    print(f"\nwrote {opts.out / 'turns.json'}" + (f", {opts.out / written}" if written else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
