"""Phone calls per core: N concurrent fake Twilio calls against ``rtagents serve twilio``.

Three processes: ``rtagents local-server`` with the scripted responder (a short spoken answer
to every turn, so the model side costs little), ``rtagents serve twilio --model-url`` (the
server measured: one process, every call in it), and a driver holding N
:class:`~rtagents.testing.FakeTwilioPeer` calls over real WebSockets on loopback.  Each caller
speaks 1 s in every 4 s (20 ms μ-law frames at real time, each call at its own phase), so
every call takes turns; the agent's answers come back paced, with marks, as Twilio would get
them.

Reported per audio mode (``--audio``: ``pcmu``, μ-law passthrough — the calls' audio is never
transcoded — and ``pcm16``, the PCM mode — each call's session audio is PCM16 at 24 kHz, every
caller frame and agent delta converted by the fused native kernels; a fresh server per mode)
and per N: the server's CPU per call-second (from ``/proc``), its RSS per call; outbound pacing
jitter — how late the server's writer woke against its paced schedule (p50/p99: the worst
call's p99 and the median call's p50, from the server's ``--stats`` endpoint); underruns at the
peer (the fake Twilio's buffer ran dry inside an answer: count and p99 length — the model's own
delivery shows here too, since the scripted model streams in real time); inbound handling (a
caller frame read → queued for the model, worst call's p99); in PCM mode the fused kernels' own
time per caller frame and per agent delta (µs, the median call's p50 and the worst call's p99);
outbound audio dropped; answers heard vs expected.
Idle calls (connected, silent) give the RSS per idle call.  Escalation stops once a level
breaks down (jitter p99 over 50 ms, or fewer than half the answers).  Targets: 200 calls per
core with jitter p99 ≤ 5 ms and no drops; ≤ 2 MiB per idle call (in either mode).  Prints a
table (a row per mode and N), writes ``phone.json`` and ``phone.png`` (a line per mode);
``--quick`` runs N = 1 and 5 briefly in both modes (CI).  Nothing here asserts a timing.

Run: ``python -m benchmarks.phone`` (about 16 minutes: both modes) or
``--ns 1,10,50 --audio pcmu,pcm16``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import _common as common

FRAME_S = 0.020
SPEAK_S, QUIET_S = 1.0, 3.0
ANSWER = "Here is a short answer."  # about 1.4 s of audio at 60 ms per character
JITTER_TARGET_MS = 5.0
BROKEN_JITTER_MS = 50.0


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MiB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = float("nan")
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    last = len(ordered) - 1
    return {"p50": ordered[last // 2], "p99": ordered[(last * 99) // 100], "max": ordered[last]}


# -- the driver: N fake Twilio calls ------------------------------------------------------------


async def _driver(url: str, n: int, warmup: float, seconds: float, idle: bool) -> dict[str, Any]:
    import trio
    from trio_websocket import open_websocket_url

    from rtagents import native
    from rtagents.testing import FakeTwilioPeer, silence, voice

    speech = native.ulaw_encode(native.resample(voice(SPEAK_S), 24000, 8000))
    quiet = native.ulaw_encode(native.resample(silence(QUIET_S), 24000, 8000))
    arrivals: list[list[float]] = [[] for _ in range(n)]
    peers: list[Any] = []
    answers = [0] * n
    measuring = [False]

    class TimedSocket:
        """The peer's WebSocket, noting when each agent media frame arrives."""

        def __init__(self, ws: Any, k: int) -> None:
            self.ws, self.k = ws, k

        async def send_message(self, message: str | bytes) -> None:
            await self.ws.send_message(message)

        async def get_message(self) -> str | bytes:
            message: str | bytes = await self.ws.get_message()
            if measuring[0] and isinstance(message, str) and message.startswith('{"event":"media"'):
                arrivals[self.k].append(trio.current_time())
            return message

        async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
            await self.ws.aclose(code, reason)

    async def one(k: int, ready: trio.Event) -> None:
        async with open_websocket_url(url) as ws:
            peer = FakeTwilioPeer(TimedSocket(ws, k), stream_sid=f"MZbench{k:06d}")
            peers.append(peer)
            async with trio.open_nursery() as nursery:
                await nursery.start(peer.run)
                ready.set()
                if idle:
                    await trio.sleep_forever()
                await trio.sleep(random.uniform(0, SPEAK_S + QUIET_S))  # each at its own phase
                while True:
                    peer.talk(speech + quiet)
                    await trio.sleep(SPEAK_S + QUIET_S)

    async with trio.open_nursery() as nursery:
        for k in range(n):
            ready = trio.Event()
            nursery.start_soon(one, k, ready)
            await ready.wait()
        await trio.sleep(warmup)
        for peer in peers:
            peer.player.gaps.clear()
        measuring[0] = True
        await trio.sleep(seconds)
        measuring[0] = False
        underruns = [1000 * gap for peer in peers for gap in peer.player.gaps]
        nursery.cancel_scope.cancel()
    frames = 0
    for k, times in enumerate(arrivals):
        for a, b in itertools.pairwise(times):
            if b - a > 0.2:  # between answers
                answers[k] += 1
            frames += 1
        if times:
            answers[k] += 1
    return {
        "underruns": len(underruns),
        "underrun_ms": _percentiles(underruns),
        "answers": sum(answers),
        "frames": frames,
    }


def _driver_main(args: argparse.Namespace) -> None:
    import trio

    result = trio.run(_driver, args.url, args.n, args.warmup, args.seconds, args.idle)
    print(json.dumps(result))


# -- the run ------------------------------------------------------------------------------------


def _stats(base: str) -> list[dict[str, Any]]:
    """The open calls' statistics (the server's ``--stats`` endpoint)."""
    with urllib.request.urlopen(f"{base}/twilio/stats", timeout=30) as reply:
        data: list[dict[str, Any]] = json.loads(reply.read())["calls"]
    return data


def _level(server: subprocess.Popen[str], base: str, n: int, args: argparse.Namespace,
           idle: bool = False) -> dict[str, Any]:  # fmt: skip
    ws_url = base.replace("http://", "ws://") + "/twilio/media"
    command = [
        sys.executable, "-m", "benchmarks.phone", "--driver", "--n", str(n), "--url", ws_url,
        "--warmup", str(args.warmup), "--seconds", str(args.seconds),
    ]  # fmt: skip
    if idle:
        command.append("--idle")
    _, rss0 = _proc(server.pid)
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    # The window: after the calls are up and warmed up (the driver's own timing, approximately).
    import time

    time.sleep(args.warmup + min(5.0, 0.02 * n))
    cpu1, rss1 = _proc(server.pid)
    time.sleep(args.seconds)
    cpu2, rss2 = _proc(server.pid)
    calls = [c for c in _stats(base) if c.get("frames_in", 0) > 0]  # while they are open
    out, _ = driver.communicate(timeout=args.warmup + args.seconds + 120 + n)
    if driver.returncode != 0:
        return {"n": n, "failed": f"driver exited {driver.returncode}"}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    window = args.seconds
    calls = calls[-n:]
    late = [c["outbound_late_ms"][1] for c in calls]
    convert = {
        f"convert_{way}_{stat}_us": _median_or_max(calls, f"convert_{way}_us", stat)
        for way in ("in", "out")
        for stat in ("p50", "p99")
    }
    inbound = [c["inbound_ms"][1] for c in calls]
    cycles = window / (SPEAK_S + QUIET_S)
    result.update(
        n=n,
        cpu_ms_per_call_s=1000 * (cpu2 - cpu1) / n / window,
        cpu_share=(cpu2 - cpu1) / window,
        rss_mib_per_call=(rss2 - rss0) / n,
        server_late_p99_ms=max(late) if late else float("nan"),
        server_late_p50_ms=sorted(c["outbound_late_ms"][0] for c in calls)[len(calls) // 2]
        if calls
        else float("nan"),
        inbound_p99_ms=max(inbound) if inbound else float("nan"),
        outbound_dropped_ms=sum(c["outbound_dropped_ms"] for c in calls),
        expected_answers=int(n * cycles),
        **convert,
    )
    del rss1
    return result


def _median_or_max(calls: list[dict[str, Any]], key: str, stat: str) -> float:
    """p50: the median call's; p99: the worst call's (NaN without samples: passthrough)."""
    index = 0 if stat == "p50" else 1
    values = sorted(float(c[key][index]) for c in calls if c.get(key, [0, 0, 0])[2] > 0)
    if not values:
        return float("nan")
    return values[len(values) // 2] if stat == "p50" else values[-1]


def _meets(r: dict[str, Any]) -> bool:
    return (
        "failed" not in r
        and r["server_late_p99_ms"] <= JITTER_TARGET_MS
        and r["outbound_dropped_ms"] == 0
        and r["underruns"] == 0
        and r["answers"] >= 0.8 * r["expected_answers"]
    )


def _plot(results: list[dict[str, Any]], path: Path) -> bool:
    plt = common.pyplot()
    if plt is None:
        return False
    fig, (cpu, jitter) = plt.subplots(1, 2, figsize=(11, 4))
    for k, mode in enumerate(dict.fromkeys(r["audio"] for r in results)):
        ok = [r for r in results if "failed" not in r and r["audio"] == mode]
        ns, color = [r["n"] for r in ok], f"C{k}"
        cpu.plot(ns, [r["cpu_ms_per_call_s"] for r in ok], marker="o", color=color, label=mode)
        late = [r["server_late_p99_ms"] for r in ok]
        jitter.plot(ns, late, marker="o", color=color, label=f"{mode} pacing jitter p99")
        underrun = [r["underrun_ms"]["p99"] for r in ok]
        jitter.plot(
            ns, underrun, marker="x", linestyle="--", color=color, label=f"{mode} underrun p99"
        )
    cpu.set(xscale="log", xlabel="calls", ylabel="server CPU ms per call-second")
    cpu.legend()
    jitter.axhline(JITTER_TARGET_MS, linestyle=":", color="grey")
    jitter.set(xscale="log", yscale="log", xlabel="calls", ylabel="outbound jitter p99 (ms)")
    jitter.legend()
    fig.suptitle("rtagents serve twilio: μ-law passthrough vs PCM mode, one server process")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ns", default="1,10,50,100,200")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--idle-n", type=int, default=100)
    parser.add_argument(
        "--audio",
        default="pcmu,pcm16",
        help="the calls' audio modes to measure, comma-separated (default: pcmu,pcm16)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--idle", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        _driver_main(args)
        return
    if args.quick:
        args.ns, args.warmup, args.seconds, args.idle_n = "1,5", 2.0, 4.0, 5
    modes = [m.strip() for m in args.audio.split(",") if m.strip()]
    if not modes or any(m not in ("pcmu", "pcm16") for m in modes):
        parser.error(f"--audio takes pcmu and/or pcm16, not {args.audio!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    script = args.out / "phone_script.json"
    script.write_text(json.dumps({"rules": [{"say": ANSWER}], "ms_per_char": 60, "chunk_ms": 100}))
    model = subprocess.Popen(
        [sys.executable, "-m", "rtagents", "local-server", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server: subprocess.Popen[str] | None = None
    results: list[dict[str, Any]] = []
    idle: dict[str, dict[str, Any]] = {}
    try:
        assert model.stdout is not None
        model_url = model.stdout.readline().split()[-1]
        env = common.environment()
        print(f"rtagents phone benchmark — python {env['python']}, {env['platform']}")
        print(
            f"{args.seconds:g} s measured after {args.warmup:g} s warm-up; callers speak "
            f"{SPEAK_S:g} s in every {SPEAK_S + QUIET_S:g} s; audio: {', '.join(modes)} "
            "(pcmu: μ-law passthrough; pcm16: PCM16 24 kHz through the fused kernels)\n"
        )
        for mode in modes:
            server = subprocess.Popen(
                [sys.executable, "-m", "rtagents", "serve", "twilio", "--port", "0",
                 "--model-url", model_url, "--stats", "--audio", mode],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            assert server.stdout is not None
            base = server.stdout.readline().split()[-1].rstrip("/")
            # Idle calls first, on a fresh server: an RSS delta after the loaded levels would
            # hide in memory those already made the process keep.
            sys.stderr.write(f"\r{mode}: idle {args.idle_n} calls ...          ")
            idle[mode] = _level(server, base, args.idle_n, args, idle=True)
            for n in [int(x) for x in args.ns.split(",")]:
                sys.stderr.write(f"\r{mode}: {n} calls ...          ")
                sys.stderr.flush()
                result = {"audio": mode} | _level(server, base, n, args)
                results.append(result)
                if "failed" in result or result["server_late_p99_ms"] > BROKEN_JITTER_MS:
                    break
                if result["answers"] < 0.5 * result["expected_answers"]:
                    break
            server.terminate()
            server.wait(timeout=30)
            server = None
        sys.stderr.write("\r" + " " * 40 + "\r")
    finally:
        for process in (server, model):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    rows = [
        [
            r["audio"],
            r["n"],
            r.get("cpu_ms_per_call_s"),
            r.get("cpu_share"),
            r.get("server_late_p50_ms"),
            r.get("server_late_p99_ms"),
            r.get("underruns"),
            r.get("underrun_ms", {}).get("p99"),
            r.get("inbound_p99_ms"),
            r.get("convert_in_p50_us"),
            r.get("convert_in_p99_us"),
            r.get("convert_out_p50_us"),
            r.get("convert_out_p99_us"),
            r.get("outbound_dropped_ms"),
            f"{r.get('answers')}/{r.get('expected_answers')}",
            r.get("rss_mib_per_call"),
        ]
        if "failed" not in r
        else [r["audio"], r["n"], f"failed: {r['failed']}"] + [None] * 13
        for r in results
    ]
    headers = [
        *("audio", "calls", "CPU ms/call-s", "CPU share", "jitter p50", "jitter p99"),
        *("underruns", "underrun p99", "inbound p99", "conv in p50 µs", "conv in p99 µs"),
        *("conv out p50 µs", "conv out p99 µs", "dropped ms", "answers", "RSS MiB/call"),
    ]
    title = (
        "Per-call cost (ms; jitter: the server's paced sends; underruns: at the fake Twilio; "
        "conv: the fused kernels per caller frame / agent delta, PCM mode only)"
    )
    print(common.table(headers, rows, title))
    print()
    for mode in modes:
        best = [r["n"] for r in results if r["audio"] == mode and _meets(r)]
        print(
            f"{mode}: largest N meeting the targets (jitter p99 ≤ {JITTER_TARGET_MS:g} ms, no "
            f"drops, no underruns, answers ≥ 80%): {max(best) if best else 'none'}"
        )
    for mode, level in idle.items():
        if "failed" not in level:
            rss = level.get("rss_mib_per_call", float("nan"))
            print(f"{mode}: idle calls {rss:.3f} MiB RSS per call")
    data: dict[str, Any] = {"environment": common.environment()}
    data |= {"args": vars(args) | {"out": str(args.out)}, "results": results, "idle": idle}
    common.write_json(args.out / "phone.json", data)
    if _plot(results, args.out / "phone.png"):
        print(f"\nwrote {args.out / 'phone.json'} and {args.out / 'phone.png'}")
    if any("failed" in r for r in results) or any("failed" in v for v in idle.values()):
        raise SystemExit("a level failed")


if __name__ == "__main__":
    main()
