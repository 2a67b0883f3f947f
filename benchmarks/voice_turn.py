"""A spoken turn on the offline local model: end of user speech → first agent audio, by stage.

The whole runtime on the real clock, as ``rtagents demo`` runs it: the local Realtime server on
a loopback socket with the speech cascade (pocketsphinx with the demo grammar, the rule-based
brain, espeak-ng; recognition and synthesis on worker threads), the real link, capture, VAD,
tools and a paced fake speaker.  The user's questions are espeak-ng speech played in real time.

For every turn the server's timeline gives the stages (see ``rtagents.local._latency``):
turn detection (end of speech → the end-of-turn decision: with ``--turn-model auto``, the
default as in ``rtagents demo``, a 160 ms pause (the energy VAD) then smart-turn's verdict;
with ``off``, the server VAD's 500 ms of silence), recognition (→ final transcript), brain
(→ first words, including the first response's tool call), tool round trip (the client runs
the tool and asks for the next response), synthesis (→ first audio synthesized), send (→ first
audio delta on the socket) and "to the client" (→ the session's first audio event).  The
issue's target is *decision → first audio sent* ≤ 150 ms for a short sentence.

Prints tables, writes ``voice_turn.json`` and ``voice_turn.png`` (one turn on one time axis:
user audio, VAD, transcript, tool, agent audio).  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import trio

from benchmarks import _common as common
from rtagents import RealtimeRunConfig, open_session
from rtagents import protocol as p
from rtagents.apps.demo import DEMO_GRAMMAR, TRANSCRIPTION, speech_end_seconds
from rtagents.apps.demo_agent import demo_agent
from rtagents.local import load_detection, serve_local_realtime
from rtagents.local._latency import TurnLatency, turn_latencies
from rtagents.local.speech import speech_model
from rtagents.models import OpenAIRealtimeConfig
from rtagents.testing import FakeAudioSink, FakeAudioSource, silence

QUESTIONS = (
    ("hello there", "no tool"),
    ("What is the weather in Paris?", "tool"),
    ("thank you", "no tool"),
    ("What time is it in Tokyo?", "tool"),
)
GAP_S = 5.5  # after each question: the answer plays before the next one is asked
FRAME_BYTES = 960


async def _run(questions: list[tuple[str, str]], turn_model: str) -> dict[str, Any]:
    model = speech_model(brain="rules", grammar=DEMO_GRAMMAR, threaded=True)
    await trio.to_thread.run_sync(model.warm_up)
    audio = silence(0.5)
    for text, _ in questions:
        audio += model.voice.synthesize_sync(text) + silence(GAP_S)
    ends = speech_end_seconds(audio, 24000)
    detection = load_detection("energy", turn_model)
    sink = FakeAudioSink()
    client_audio: list[float] = []
    events: list[tuple[float, str, str]] = []
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            lambda task_status: serve_local_realtime(
                responder=model.responder,
                transcriber=model.recognizer,
                detection=detection,
                task_status=task_status,
            )
        )
        start_at = trio.current_time() + 0.5
        config = RealtimeRunConfig(
            model=OpenAIRealtimeConfig(url=server.url, api_key="local"),
            model_settings=p.SessionConfig(
                audio=p.AudioConfig(input=p.AudioInputConfig(transcription=TRANSCRIPTION))
            ),
            audio_source=FakeAudioSource(
                [audio[i : i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)],
                start_at=start_at,
            ),
            audio_sink=sink,
        )
        async with open_session(demo_agent(), config) as session:
            last_item = None
            with trio.move_on_after(len(audio) / 48000 + 2):
                async for event in session:
                    now = trio.current_time()
                    if event.type == "audio" and event.item_id != last_item:
                        last_item = event.item_id
                        client_audio.append(now)
                    if event.type in ("tool_start", "tool_end", "audio_interrupted"):
                        events.append((now, event.type, getattr(event, "arguments", "")))
        nursery.cancel_scope.cancel()
    turns = turn_latencies(
        server.timeline.marks,
        speech_ends=[start_at + e for e in ends],
        client_audio=client_audio,
    )
    return {
        "turns": turns,
        "kinds": [kind for _, kind in questions],
        "texts": [text for text, _ in questions],
        "marks": [(m.t - start_at, m.what, m.ref) for m in server.timeline.marks],
        "events": [(t - start_at, what, detail) for t, what, detail in events],
        "user_audio": audio,
        "agent_writes": [(t - start_at, pcm) for t, pcm in sink.writes],
        "recognizer": model.recognizer.statistics(),
        "voice": model.voice.statistics(),
    }


def _measures(turn: TurnLatency) -> dict[str, float | None]:
    """A turn's stages, then its two totals (ms)."""
    return {
        **turn.stages(),
        "decision → first audio sent": turn.decision_to_first_audio_ms,
        "end of speech → first audio": turn.total_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A spoken turn on the offline local model.")
    parser.add_argument("--quick", action="store_true", help="one session of two questions")
    parser.add_argument("--runs", type=int, default=None, help="sessions (default 3)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument(
        "--turn-model",
        choices=("auto", "off"),
        default="auto",
        help="semantic_vad's end-of-turn model (auto: smart-turn when here, as rtagents demo)",
    )
    opts = parser.parse_args(argv)
    questions = list(QUESTIONS[:2] if opts.quick else QUESTIONS)
    runs = opts.runs or (1 if opts.quick else 3)
    env = common.environment()
    print(f"rtagents voice-turn benchmark — python {env['python']}, {env['platform']}")
    print(f"{runs} session(s) of {len(questions)} spoken questions, in real time ...\n")
    detection = load_detection("energy", opts.turn_model)
    print(f"turn detection: {detection.describe()}" + "".join(f"; {n}" for n in detection.notes))
    results = [trio.run(_run, questions, opts.turn_model) for _ in range(runs)]

    by_kind: dict[str, list[TurnLatency]] = {}
    heard = []
    for result in results:
        for kind, turn in zip(result["kinds"], result["turns"], strict=False):
            by_kind.setdefault(kind, []).append(turn)
        heard.append(len(result["turns"]) == len(result["kinds"]))
    rows = []
    summary: dict[str, Any] = {}
    for kind, turns in by_kind.items():
        for name in _measures(turns[0]):
            values = [v for t in turns if (v := _measures(t)[name]) is not None]
            s = common.summary(values)
            summary.setdefault(kind, {})[name] = {"summary": s, "values": values}
            if s["n"]:
                rows.append([f"{kind}: {name}", s["n"], s["p50"], s["p95"], s["max"]])
    print(common.table(["stage (ms)", "n", "p50", "p95", "max"], rows, "Turn latency by stage"))
    verdicts = []
    for kind in by_kind:
        p95 = summary[kind]["decision → first audio sent"]["summary"].get("p95")
        verdicts.append(
            [
                f"{kind}: decision → first audio sent (p95)",
                "≤ 150 ms",
                p95,
                common.verdict(p95, 150.0),
            ]
        )
    verdicts.append(["every question got a turn", "all", sum(heard), f"of {len(heard)} runs"])
    print()
    print(common.table(["target", "goal", "measured", "verdict"], verdicts, "Targets"))
    rec = results[0]["recognizer"]
    voice = results[0]["voice"]
    print(
        f"\nrecognition: {rec.audio_seconds:.1f} s of audio decoded in {rec.decode_seconds:.2f} s "
        f"of CPU (RTF {rec.decode_seconds / max(rec.audio_seconds, 1e-9):.3f}); "
        f"synthesis: {voice.samples_out / 24000:.1f} s of speech in {voice.synth_seconds:.3f} s"
    )
    out = {
        "environment": env,
        "quick": opts.quick,
        "turn_model": opts.turn_model,
        "questions": questions,
        "stages": summary,
        "targets": verdicts,
        "timeline_first_run": results[0]["marks"],
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    common.write_json(opts.out / "voice_turn.json", out)
    written = _plot(results[0], opts.out)
    print(f"\nwrote {opts.out / 'voice_turn.json'}" + (f", {written}" if written else ""))
    return 0


def _plot(result: dict[str, Any], out: Path) -> str | None:
    """One turn (the first with a tool call) on one time axis."""
    plt = common.pyplot()
    if plt is None:
        return None
    kinds = result["kinds"]
    index = kinds.index("tool") if "tool" in kinds else 0
    if index >= len(result["turns"]):
        return None
    turn: TurnLatency = result["turns"][index]
    marks = result["marks"]  # like the events and writes: seconds from the user audio's start
    t_decision = next(
        t for t, what, ref in marks if what == "speech_stopped" and ref == turn.item_id
    )
    t_started = next(
        (t for t, what, ref in marks if what == "speech_started" and ref == turn.item_id),
        t_decision - 2.5,
    )
    lo, hi = t_started - 0.5, t_decision + 3.5
    fig, axes = plt.subplots(5, 1, figsize=(12, 7), sharex=True)
    user = np.frombuffer(result["user_audio"], "<i2")
    t_user = np.arange(len(user)) / 24000
    keep = (t_user >= lo) & (t_user <= hi)
    axes[0].plot(t_user[keep], user[keep] / 32768, linewidth=0.4)
    axes[0].set_ylabel("user audio")
    for t, what, ref in marks:
        if ref == turn.item_id and what in ("speech_started", "speech_stopped"):
            axes[1].axvline(t, color="tab:red" if what == "speech_stopped" else "tab:green")
            axes[1].text(t, 0.5, " " + what.replace("_", " "), fontsize=8)
        if ref == turn.item_id and what in ("transcript_delta", "transcribed"):
            axes[2].axvline(t, color="tab:purple", alpha=0.4 if what == "transcript_delta" else 1)
    axes[2].text(t_decision, 0.5, " question asked: " + result["texts"][index], fontsize=8)
    axes[1].set_ylabel("VAD")
    axes[2].set_ylabel("transcript")
    for t, what, detail in result["events"]:
        if lo <= t <= hi and what in ("tool_start", "tool_end"):
            axes[3].axvline(t, color="tab:orange")
            axes[3].text(t, 0.5 if what == "tool_start" else 0.2, f" {what} {detail}", fontsize=8)
    axes[3].set_ylabel("tool")
    for t, pcm in result["agent_writes"]:
        if lo <= t <= hi:
            samples = np.frombuffer(pcm, "<i2") / 32768
            axes[4].plot(t + np.arange(len(samples)) / 24000, samples, color="tab:blue", lw=0.4)
    axes[4].set_ylabel("agent audio")
    axes[4].set_xlabel("seconds from the start of the user's audio")
    for ax in axes:
        ax.set_xlim(lo, hi)
        ax.set_yticks([])
    total = turn.total_ms
    fig.suptitle(
        f"One turn: end of speech → first agent audio {total:.0f} ms"
        if total is not None
        else "One turn"
    )
    fig.tight_layout()
    fig.savefig(out / "voice_turn.png", dpi=110)
    plt.close(fig)
    return "voice_turn.png"


if __name__ == "__main__":
    raise SystemExit(main())
