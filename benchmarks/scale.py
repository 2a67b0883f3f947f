"""Per-session cost: N concurrent sessions of rtagents beside N of the OpenAI Agents SDK.

One ``rtagents local-server`` runs in its own process (the scripted responder: a short spoken
answer to every user turn).  For each N, three *workers* run one after the other, each a fresh
Python process holding N sessions against that server for a warm-up and a measured window:

* ``rtagents`` — our sessions as the SDK's users write them: no local VAD, no sink; one task per
  session sends a 20 ms PCM16 frame every 20 ms with ``send_audio`` and one reads the events;
* ``sdk`` — the same program on the OpenAI Agents SDK (asyncio, websockets, pydantic);
* ``rtagents-full`` — what a voice app runs: a fake microphone as the session's audio source
  (capture actor), the local VAD deciding barge-ins, and a paced sink (playback actor,
  played in real time like a sound card).

Every fake microphone speaks for 1 s then is silent for 3 s, over and over, each session at its
own phase; the server's VAD ends each turn and the agent answers (about 1.4 s of audio).

Reported per worker: CPU per session-second (process CPU time in the window ÷ N ÷ window),
the ratio to the SDK's, event-loop lag (a probe asks to wake every 10 ms and records how late
it woke) p50/p99/max, microphone frames sent more than a frame late, uplink drops (frames the
link's bounded lane dropped) and playback drops (ms of agent audio the jitter buffer dropped;
the SDK has no bound, so no drops to count), responses completed, and resident memory (RSS)
per session.  A separate experiment opens 100 idle sessions of each and reports the RSS
delta per session (and, for rtagents, the Python heap per session by ``tracemalloc``).

The largest N that meets the targets (lag p99 ≤ 10 ms, no drops, no late frames) is called out
for each worker; escalation stops for a worker once it breaks down (lag p99 over 100 ms, or
fewer than half the expected responses).  Prints tables, writes ``scale.json`` and
``scale.png``.  ``--quick`` runs N = 1 and 10 for a few seconds (CI).  Nothing here asserts a
timing.

Run: ``python -m benchmarks.scale`` (about 15 minutes on 2 cores) or ``--ns 1,10,50``.

What bounds us (py-spy, ``py-spy record --format raw -- python -m benchmarks.scale --worker
rtagents-full --n 100 --url ...``, 2026-12-02, with all of that day's per-frame work in): of the
process's CPU, the link's writer task 23% (trio-websocket's ``send_message`` 20%: wsproto's
framing and masking 8%, the socket ``send`` 10%, most of it the syscall itself), capture 22%
(the fake microphone's pacing 8%, the local VAD 5.5% — 10% before its level moved to the native
kernel — the uplink 5%), timers 12% (``trio.sleep_until``: a cancel scope and a raised-and-caught
``Cancelled`` per wake-up, for the microphone every 20 ms and the paced sink every 10 ms), the
link's reader 9% plus trio-websocket's own reader task 8% (a message crosses a memory channel
between the two), playback 9%, trio's scheduler and cancel-scope bookkeeping most of the rest.
A frame costs us four task steps (the microphone's wake-up, the writer's wake-up,
trio-websocket's send lock, the socket send's schedule point) where the SDK's costs one: asyncio
writes through ``transport.write`` from the sending task.  What would close more of the gap: a
WebSocket client on wsproto without trio-websocket's lock and reader task (one step and one hop
less per message; estimated ≤ 10–15% of our CPU — not done: trio-websocket stays the socket
layer, as the project chose, until such a client is worth its upkeep), and fewer timers (a paced
sink woken per 20 ms instead of per 10 ms would double the barge-in stop bound, so it stays).
The idle session's memory (0.15 MiB RSS) is far under the 2 MiB budget.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _common as common

RATE = 24000
FRAME_S = 0.020
FRAME_BYTES = int(RATE * FRAME_S) * 2
SPEAK_S, QUIET_S = 1.0, 3.0
CYCLE_FRAMES = int((SPEAK_S + QUIET_S) / FRAME_S)
PROBE_S = 0.010
ANSWER = "Here is a short answer."  # 23 characters at 60 ms each: about 1.4 s of audio
LAG_TARGET_MS = 10.0
BROKEN_LAG_MS = 100.0

SETTINGS: dict[str, Any] = {
    "modalities": ["audio"],
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
    },
}


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cycle() -> list[bytes]:
    """One microphone cycle: 1 s of speech-like sound, then 3 s of silence, as 20 ms frames."""
    from rtagents.testing import silence, voice

    pcm = voice(SPEAK_S) + silence(QUIET_S)
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
    }


# -- workers (each runs in its own process) -----------------------------------------------------


class _Books:
    """What one worker counts, shared by its sessions."""

    def __init__(self) -> None:
        self.measuring = False
        self.lag_ms: list[float] = []
        self.late_frames = 0
        self.frames = 0
        self.responses = 0
        self.audio_events = 0


async def _trio_worker(
    kind: str, n: int, url: str, warmup: float, seconds: float
) -> dict[str, Any]:
    import trio

    from rtagents import RealtimeAgent, RealtimeRunner
    from rtagents.audio import NullSink

    books = _Books()
    cycle = _cycle()
    full = kind == "rtagents-full"
    agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.")
    rss_before = _rss_mib()
    sessions: list[Any] = []

    class Microphone:
        """A fake microphone at real time (the session's capture actor reads it)."""

        rate = RATE

        def __init__(self, phase: int) -> None:
            self.phase = phase

        async def frames(self) -> Any:
            start = trio.current_time()
            k = 0
            while True:
                due = start + k * FRAME_S
                await trio.sleep_until(due)
                if books.measuring:
                    books.frames += 1
                    if trio.current_time() - due > FRAME_S:
                        books.late_frames += 1
                yield cycle[(self.phase + k) % CYCLE_FRAMES]
                k += 1

    async def microphone(session: Any, phase: int) -> None:
        """The SDK-style app: one task per session sending frames with send_audio."""
        start = trio.current_time()
        k = 0
        while True:
            due = start + k * FRAME_S
            await trio.sleep_until(due)
            if books.measuring:
                books.frames += 1
                if trio.current_time() - due > FRAME_S:
                    books.late_frames += 1
            await session.send_audio(cycle[(phase + k) % CYCLE_FRAMES])
            k += 1

    async def reader(session: Any) -> None:
        async for event in session:
            if books.measuring:
                if event.type == "agent_end":
                    books.responses += 1
                elif event.type == "audio":
                    books.audio_events += 1

    async def one(phase: int, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        config: dict[str, Any] = {"model_settings": SETTINGS}
        if full:
            config |= {"audio_source": Microphone(phase), "audio_sink": NullSink(RATE)}
        else:
            config |= {"local_vad": False}
        runner = RealtimeRunner(agent, config=config)
        session = await runner.run(model_config={"url": url, "api_key": "sk-local"})
        async with session, trio.open_nursery() as tasks:
            sessions.append(session)
            task_status.started()
            if not full:
                tasks.start_soon(microphone, session, phase)
            await reader(session)

    async def probe() -> None:
        due = trio.current_time()
        while True:
            due += PROBE_S
            await trio.sleep_until(due)
            if books.measuring:
                books.lag_ms.append((trio.current_time() - due) * 1000)
            due = max(due, trio.current_time())

    async with trio.open_nursery() as nursery:
        rng = random.Random(n)
        for _ in range(n):
            await nursery.start(one, rng.randrange(CYCLE_FRAMES))
        nursery.start_soon(probe)
        await trio.sleep(warmup)
        books.measuring = True
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await trio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        books.measuring = False
        rss_after = _rss_mib()
        uplink_drops = playback_drops_ms = 0.0
        for session in sessions:
            stats = session.statistics()
            link = stats.link
            uplink_drops += getattr(link, "audio_dropped", 0) or 0
            inner = getattr(link, "link", None)
            uplink_drops += getattr(inner, "audio_dropped", 0) or 0
            if stats.capture is not None:
                uplink_drops += sum(stats.capture.output_drops)
            if stats.playback is not None:
                playback_drops_ms += stats.playback.dropped_ms
        nursery.cancel_scope.cancel()
    return _result(
        books, n, cpu, wall, rss_before, rss_after, uplink_drops, playback_drops_ms, seconds
    )


async def _asyncio_worker(n: int, url: str, warmup: float, seconds: float) -> dict[str, Any]:
    from agents.realtime import RealtimeAgent, RealtimeRunner

    books = _Books()
    cycle = _cycle()
    loop = asyncio.get_running_loop()
    agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.")
    rss_before = _rss_mib()

    async def microphone(session: Any, phase: int) -> None:
        start = loop.time()
        k = 0
        while True:
            due = start + k * FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))
            if books.measuring:
                books.frames += 1
                if loop.time() - due > FRAME_S:
                    books.late_frames += 1
            await session.send_audio(cycle[(phase + k) % CYCLE_FRAMES])
            k += 1

    async def one(phase: int, ready: asyncio.Event) -> None:
        runner = RealtimeRunner(agent, config={"model_settings": SETTINGS})  # type: ignore[arg-type]
        session = await runner.run(model_config={"url": url, "api_key": "sk-local"})
        async with session, asyncio.TaskGroup() as tasks:
            ready.set()
            tasks.create_task(microphone(session, phase))
            async for event in session:
                if books.measuring:
                    if event.type == "agent_end":
                        books.responses += 1
                    elif event.type == "audio":
                        books.audio_events += 1

    async def probe() -> None:
        due = loop.time()
        while True:
            due += PROBE_S
            await asyncio.sleep(max(0.0, due - loop.time()))
            if books.measuring:
                books.lag_ms.append((loop.time() - due) * 1000)
            due = max(due, loop.time())

    rng = random.Random(n)
    tasks = []
    for _ in range(n):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(one(rng.randrange(CYCLE_FRAMES), ready)))
        await ready.wait()
    tasks.append(asyncio.create_task(probe()))
    await asyncio.sleep(warmup)
    books.measuring = True
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    books.measuring = False
    rss_after = _rss_mib()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return _result(books, n, cpu, wall, rss_before, rss_after, None, None, seconds)


def _result(
    books: _Books,
    n: int,
    cpu: float,
    wall: float,
    rss_before: float,
    rss_after: float,
    uplink_drops: float | None,
    playback_drops_ms: float | None,
    seconds: float,
) -> dict[str, Any]:
    lag = _percentiles(books.lag_ms)
    return {
        "n": n,
        "cpu_ms_per_session_s": cpu * 1000 / n / wall,
        "cpu_share": cpu / wall,
        "lag_ms": lag,
        "frames": books.frames,
        "late_frames": books.late_frames,
        "uplink_drops": uplink_drops,
        "playback_drops_ms": playback_drops_ms,
        "responses": books.responses,
        "expected_responses": n * seconds / (SPEAK_S + QUIET_S),
        "audio_events": books.audio_events,
        "rss_mib_per_session": (rss_after - rss_before) / n,
        "rss_mib": rss_after,
    }


async def _trio_idle(n: int, url: str) -> dict[str, Any]:
    import tracemalloc

    import trio

    from rtagents import RealtimeAgent, RealtimeRunner

    agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.")
    gc.collect()
    rss0 = _rss_mib()
    tracemalloc.start()
    heap0 = tracemalloc.get_traced_memory()[0]

    async def one(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        runner = RealtimeRunner(agent, config={"model_settings": SETTINGS, "local_vad": False})
        session = await runner.run(model_config={"url": url, "api_key": "sk-local"})
        async with session:
            task_status.started()
            async for _ in session:
                pass

    async with trio.open_nursery() as nursery:
        for _ in range(n):
            await nursery.start(one)
        await trio.sleep(2)
        gc.collect()
        heap = tracemalloc.get_traced_memory()[0] - heap0
        tracemalloc.stop()
        rss = _rss_mib() - rss0
        nursery.cancel_scope.cancel()
    return {"n": n, "rss_mib_per_session": rss / n, "heap_mib_per_session": heap / 2**20 / n}


async def _asyncio_idle(n: int, url: str) -> dict[str, Any]:
    from agents.realtime import RealtimeAgent, RealtimeRunner

    agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.")
    gc.collect()
    rss0 = _rss_mib()

    async def one(ready: asyncio.Event) -> None:
        runner = RealtimeRunner(agent, config={"model_settings": SETTINGS})  # type: ignore[arg-type]
        session = await runner.run(model_config={"url": url, "api_key": "sk-local"})
        async with session:
            ready.set()
            async for _ in session:
                pass

    tasks = []
    for _ in range(n):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(one(ready)))
        await ready.wait()
    await asyncio.sleep(2)
    gc.collect()
    rss = _rss_mib() - rss0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"n": n, "rss_mib_per_session": rss / n, "heap_mib_per_session": None}


def _worker_main(args: argparse.Namespace) -> None:
    import trio

    if args.idle:
        if args.worker == "sdk":
            result = asyncio.run(_asyncio_idle(args.n, args.url))
        else:
            result = trio.run(_trio_idle, args.n, args.url)
    elif args.worker == "sdk":
        result = asyncio.run(_asyncio_worker(args.n, args.url, args.warmup, args.seconds))
    else:
        result = trio.run(_trio_worker, args.worker, args.n, args.url, args.warmup, args.seconds)
    print(json.dumps(result))


# -- the driver -------------------------------------------------------------------------------

WORKERS = ("rtagents", "sdk", "rtagents-full")


def _run_worker(worker: str, n: int, url: str, args: argparse.Namespace, idle: bool = False) -> Any:
    command = [
        sys.executable, "-m", "benchmarks.scale", "--worker", worker, "--n", str(n),
        "--url", url, "--warmup", str(args.warmup), "--seconds", str(args.seconds),
    ]  # fmt: skip
    if idle:
        command.append("--idle")
    budget = args.warmup + args.seconds + 120 + n
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired:
        return {"n": n, "failed": "timed out"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {"n": n, "failed": tail[0][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _meets(result: dict[str, Any]) -> bool:
    return (
        "failed" not in result
        and result["lag_ms"]["p99"] <= LAG_TARGET_MS
        and result["late_frames"] == 0
        and not result.get("uplink_drops")
        and not result.get("playback_drops_ms")
    )


def _broken(result: dict[str, Any]) -> bool:
    return (
        "failed" in result
        or result["lag_ms"]["p99"] > BROKEN_LAG_MS
        or result["responses"] < 0.5 * result["expected_responses"]
    )


def _plot(results: dict[str, list[dict[str, Any]]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (cpu_ax, lag_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for worker, rows in results.items():
        ok = [r for r in rows if "failed" not in r]
        ns = [r["n"] for r in ok]
        cpu_ax.plot(ns, [r["cpu_ms_per_session_s"] for r in ok], marker="o", label=worker)
        lag_ax.plot(ns, [r["lag_ms"]["p99"] for r in ok], marker="o", label=worker)
    cpu_ax.set(xlabel="sessions", ylabel="CPU ms per session-second", xscale="log")
    lag_ax.set(xlabel="sessions", ylabel="event-loop lag p99 (ms)", xscale="log", yscale="log")
    lag_ax.axhline(LAG_TARGET_MS, color="grey", linestyle=":")
    for ax in (cpu_ax, lag_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Per-session cost: rtagents vs the OpenAI Agents SDK, one process each")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="N sessions of rtagents beside the SDK's.")
    parser.add_argument("--ns", default="1,10,20,50,100,200")
    parser.add_argument("--workers", default=",".join(WORKERS))
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--idle-n", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="N = 1 and 10, short windows (CI)")
    parser.add_argument("--out", type=Path, default=Path("."))
    # worker mode (internal)
    parser.add_argument("--worker", choices=WORKERS)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--url", default="")
    parser.add_argument("--idle", action="store_true")
    args = parser.parse_args()
    if args.worker:
        _worker_main(args)
        return
    if args.quick:
        args.ns, args.warmup, args.seconds, args.idle_n = "1,10", 2.0, 4.0, 10
    ns = [int(n) for n in args.ns.split(",")]
    workers = [w for w in args.workers.split(",") if w]
    args.out.mkdir(parents=True, exist_ok=True)
    script = args.out / "scale_script.json"
    script.write_text(json.dumps({"rules": [{"say": ANSWER}], "ms_per_char": 60, "chunk_ms": 100}))
    server = subprocess.Popen(
        [sys.executable, "-m", "rtagents", "local-server", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env = common.environment()
    print(f"rtagents scale benchmark — python {env['python']}, {env['platform']}")
    print(
        f"{args.seconds:g} s measured after {args.warmup:g} s warm-up; microphones speak "
        f"{SPEAK_S:g} s in every {SPEAK_S + QUIET_S:g} s; server: rtagents local-server "
        "(scripted responder) in its own process\n"
    )
    results: dict[str, list[dict[str, Any]]] = {w: [] for w in workers}
    idle: dict[str, Any] = {}
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]
        progress = common.Progress(len(ns) * len(workers) + len(workers))
        broken: set[str] = set()
        for n in ns:
            for worker in workers:
                if worker in broken:
                    continue
                progress.step(f"{worker} n={n}")
                result = _run_worker(worker, n, url, args)
                results[worker].append(result)
                if _broken(result):
                    broken.add(worker)
        for worker in workers:
            if worker == "rtagents-full":
                continue
            progress.step(f"{worker} idle n={args.idle_n}")
            idle[worker] = _run_worker(worker, args.idle_n, url, args, idle=True)
        progress.end()
    finally:
        server.terminate()
        server.wait(timeout=30)
    _report(results, idle, args, env)


def _report(
    results: dict[str, list[dict[str, Any]]],
    idle: dict[str, Any],
    args: argparse.Namespace,
    env: dict[str, Any],
) -> None:
    sdk = {r["n"]: r for r in results.get("sdk", []) if "failed" not in r}
    rows = []
    for worker, runs in results.items():
        for r in runs:
            if "failed" in r:
                rows.append([worker, r["n"], f"failed: {r['failed']}"] + [None] * 10)
                continue
            ref = sdk.get(r["n"])
            ratio = r["cpu_ms_per_session_s"] / ref["cpu_ms_per_session_s"] if ref else None
            rows.append(
                [
                    worker,
                    r["n"],
                    r["cpu_ms_per_session_s"],
                    ratio,
                    r["cpu_share"],
                    r["lag_ms"]["p50"],
                    r["lag_ms"]["p99"],
                    r["lag_ms"]["max"],
                    r["late_frames"],
                    r["uplink_drops"],
                    r["playback_drops_ms"],
                    f"{r['responses']}/{r['expected_responses']:.0f}",
                    r["rss_mib_per_session"],
                ]
            )
    headers = [
        *("worker", "N", "CPU ms/sess-s", "× SDK", "CPU share", "lag p50", "lag p99"),
        *("lag max", "late frames", "uplink drops", "playback drop ms", "responses"),
        "RSS MiB/sess",
    ]
    title = "Per-session cost (lag in ms; × SDK: our CPU per session-second ÷ the SDK's, same N)"
    print(common.table(headers, rows, title))
    best = {}
    for worker, runs in results.items():
        good = [r["n"] for r in runs if _meets(r)]
        best[worker] = max(good) if good else None
    print(
        "\nLargest N meeting the targets (lag p99 ≤ 10 ms, no late frames, no drops): "
        + ", ".join(f"{w} {b if b is not None else 'none'}" for w, b in best.items())
    )
    idle_rows = [
        [w, r.get("n"), r.get("rss_mib_per_session"), r.get("heap_mib_per_session")]
        for w, r in idle.items()
        if "failed" not in r
    ]
    if idle_rows:
        print()
        print(
            common.table(
                ["worker", "N", "RSS MiB/session", "Python heap MiB/session"],
                idle_rows,
                "Idle sessions (connected, no audio), RSS delta over N ÷ N",
            )
        )
    data = {"environment": env, "args": vars(args) | {"out": str(args.out)}, "results": results}
    data |= {"idle": idle, "largest_n_meeting_targets": best}
    common.write_json(args.out / "scale.json", data)
    if _plot(results, args.out / "scale.png"):
        print(f"\nwrote {args.out / 'scale.json'} and {args.out / 'scale.png'}")
    failed = [f"{w} n={r['n']}" for w, rs in results.items() for r in rs if "failed" in r]
    failed += [f"{w} idle" for w, r in idle.items() if "failed" in r]
    if failed:  # a worker that crashed is a broken benchmark (a timing never fails it)
        raise SystemExit(f"workers failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
