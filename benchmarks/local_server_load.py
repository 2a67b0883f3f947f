"""Load test of ``rtagents local-server``: hostile clients next to well-behaved ones.

The server runs as ``python -m rtagents local-server`` in a subprocess (the scripted responder)
and this script is its only client, on loopback.  Three phases:

1. **before**: a few well-behaved clients take normal turns (a short typed question, then
   ``response.create``, read to ``response.done``): their latency without an attack, and the
   server's resident memory (RSS) once warmed up;
2. **attack**: the hostile clients of the reliability issue, all at once, while the
   well-behaved clients keep taking turns:

   * *huge tool output*: a 100,000-character function output, then ``response.create``;
   * *slow reader*: asks for that long answer, then keeps asking for the 100 KB item again
     (``conversation.item.retrieve``) while reading nothing, and vanishes (TCP reset);
   * *silence*: 200 MiB of appended silence, 1 MiB an append;
   * *item creates*: 10,000 ``conversation.item.create``, then ``response.create``;
   * *half-open*: 50 TCP connections that never complete the WebSocket handshake (half of
     them send part of the HTTP request);

3. **after**: the hostile clients are gone; the well-behaved clients take turns again, and the
   server's RSS is read once more.

Reported: whether the server stayed alive (and stopped with status 0 on SIGINT), each hostile
client's outcome, the well-behaved turns' latency (``response.create`` → first audio, and →
``response.done``) per phase, and the server's RSS before, at its peak during the attack, and
after.  Prints tables and writes ``local_server_load.json``.  ``--quick`` shrinks every size (for
CI).  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import trio
from trio_websocket import open_websocket_url
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from benchmarks import _common as common
from rtagents import protocol as p

MIB = 2**20


@attrs.frozen
class Sizes:
    tool_chars: int = 100_000
    silence_mib: int = 200
    creates: int = 10_000
    half_open: int = 50
    slow_reader_s: float = 15.0  # longer than the server's patience (10 s)
    well_behaved: int = 3
    turns: int = 8  # per client, in the before and after phases


QUICK = Sizes(
    tool_chars=20_000, silence_mib=24, creates=1_000, half_open=10, slow_reader_s=3.0, turns=4
)


class Server:
    """``rtagents local-server`` in a subprocess."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rtagents", "local-server"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split()[-1]
        host, port = self.url.split("/")[2].split(":")
        self.host, self.port = host, int(port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def memory_mib(self, field: str = "VmRSS") -> float | None:
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def stop(self) -> tuple[int, str]:
        if self.alive():
            self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


def _now() -> float:
    return trio.current_time()


# -- well-behaved clients -----------------------------------------------------------------------


@attrs.define
class Turns:
    first_audio: list[float] = attrs.field(factory=list)  # response.create → first audio (s)
    done: list[float] = attrs.field(factory=list)  # response.create → response.done (s)
    failed: int = 0


async def take_turns(url: str, turns: Turns, count: int | None, until: trio.Event) -> None:
    """Turns one after another: `count` of them, or until `until` is set."""
    try:
        async with open_websocket_url(url) as ws:
            await ws.get_message()  # session.created
            n = 0
            while (count is not None and n < count) or (count is None and not until.is_set()):
                n += 1
                item = p.MessageItem.user_text(f"hello, question {n}")
                await ws.send_message(p.ConversationItemCreate(item=item).to_json())
                started = _now()
                await ws.send_message(p.ResponseCreate().to_json())
                first = None
                while True:
                    kind = json.loads(await ws.get_message())["type"]
                    if kind == "response.output_audio.delta" and first is None:
                        first = _now() - started
                    if kind == "response.done":
                        turns.done.append(_now() - started)
                        turns.first_audio.append(first if first is not None else float("nan"))
                        break
                await trio.sleep(0.2)  # a person takes a moment before the next question
    except Exception:
        turns.failed += 1


async def well_behaved(url: str, clients: int, count: int | None, until: trio.Event) -> Turns:
    turns = Turns()
    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(take_turns, url, turns, count, until)
    return turns


# -- hostile clients ----------------------------------------------------------------------------


async def huge_tool_output(url: str, chars: int) -> dict[str, Any]:
    started = _now()
    output = ("All work and no play makes a dull answer. " * (chars // 42 + 1))[:chars]
    item = p.FunctionCallOutputItem(call_id="call_big", output=output)
    async with open_websocket_url(url, max_message_size=2**30) as ws:
        await ws.send_message(p.ConversationItemCreate(item=item).to_json())
        await ws.send_message(p.ResponseCreate().to_json())
        while True:
            event = json.loads(await ws.get_message())
            if event["type"] == "response.done":
                response = event["response"]
                return {
                    "outcome": f"response {response['status']}, "
                    f"{response['usage']['output_tokens']} output tokens",
                    "seconds": _now() - started,
                }


async def _raw_connect(host: str, port: int) -> tuple[trio.SocketStream, WSConnection]:
    """A WebSocket of our own making (wsproto): it reads only when told to."""
    stream = await trio.open_tcp_stream(host, port)
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host=f"{host}:{port}", target="/v1/realtime")))
    while True:
        ws.receive_data(await stream.receive_some(65536))
        if any(isinstance(event, AcceptConnection) for event in ws.events()):
            return stream, ws


async def slow_reader(host: str, port: int, chars: int, seconds: float) -> dict[str, Any]:
    started = _now()
    stream, ws = await _raw_connect(host, port)
    output = ("All work and no play makes a dull answer. " * (chars // 42 + 1))[:chars]
    item = p.FunctionCallOutputItem(id="item_big", call_id="call_big", output=output)
    sent = 0
    try:
        for event in (p.ConversationItemCreate(item=item), p.ResponseCreate()):
            await stream.send_all(ws.send(TextMessage(data=event.to_json())))
        retrieve = ws.send(
            TextMessage(data=p.ConversationItemRetrieve(item_id="item_big").to_json())
        )
        with trio.move_on_after(seconds):
            while True:  # each retrieval asks for the 100 KB item: nobody reads it
                await stream.send_all(retrieve)
                sent += 1
                await trio.sleep(0.05)
        outcome = f"read nothing for {seconds:g} s ({sent} retrievals), then vanished"
    except trio.BrokenResourceError:
        outcome = f"cut off by the server after {_now() - started:.1f} s ({sent} retrievals)"
    # Vanish: a TCP reset, no close handshake.
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await stream.aclose()
    return {"outcome": outcome, "seconds": _now() - started}


async def silence(url: str, mib: int) -> dict[str, Any]:
    started = _now()
    codes: dict[str, int] = {}
    chunk = p.InputAudioBufferAppend(audio=bytes(MIB)).to_json()
    async with open_websocket_url(url) as ws:

        async def read() -> None:
            while True:
                event = json.loads(await ws.get_message())
                if event["type"] == "error":
                    code = event["error"]["code"]
                    codes[code] = codes.get(code, 0) + 1
                if event["type"] == "input_audio_buffer.cleared":
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            for _ in range(mib):
                await ws.send_message(chunk)
            await ws.send_message(p.InputAudioBufferClear().to_json())
    errors = ", ".join(f"{n} {code}" for code, n in codes.items()) or "no errors"
    return {"outcome": f"{mib} MiB appended ({errors})", "seconds": _now() - started}


async def item_creates(url: str, count: int) -> dict[str, Any]:
    started = _now()
    async with open_websocket_url(url) as ws:
        added = 0

        async def read() -> str:
            nonlocal added
            while True:
                event = json.loads(await ws.get_message())
                if event["type"] == "conversation.item.added":
                    added += 1
                if event["type"] == "response.done":
                    return str(event["response"]["status"])

        result: list[str] = []

        async def reader() -> None:
            result.append(await read())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            for n in range(count):
                item = p.MessageItem.user_text(f"note {n}")
                await ws.send_message(p.ConversationItemCreate(item=item).to_json())
            await ws.send_message(p.ResponseCreate().to_json())
    outcome = f"{added - 1} items created, response {result[0] if result else '?'}"
    return {"outcome": outcome, "seconds": _now() - started}


async def half_open(host: str, port: int, count: int) -> dict[str, Any]:
    started = _now()
    closed_after: list[float] = []

    async def one(n: int) -> None:
        stream = await trio.open_tcp_stream(host, port)
        opened = _now()
        if n % 2:
            await stream.send_all(b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\n")
        with trio.move_on_after(120):
            try:
                while await stream.receive_some(4096):
                    pass
            except trio.BrokenResourceError:
                pass
            closed_after.append(_now() - opened)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(one, n)
    longest = max(closed_after) if closed_after else float("nan")
    outcome = f"{len(closed_after)}/{count} closed by the server, after {longest:.1f} s at most"
    return {"outcome": outcome, "seconds": _now() - started}


# -- the run ------------------------------------------------------------------------------------


async def run(sizes: Sizes) -> dict[str, Any]:
    server = Server()
    rss: list[tuple[float, float]] = []
    phases: dict[str, float] = {}
    t0 = _now()

    async def sample() -> None:
        while True:
            value = server.memory_mib()
            if value is not None:
                rss.append((_now() - t0, value))
            await trio.sleep(0.1)

    never = trio.Event()
    hostile: dict[str, dict[str, Any]] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample)
        before = await well_behaved(server.url, sizes.well_behaved, sizes.turns, never)
        await trio.sleep(1.0)
        rss_before = server.memory_mib()
        phases["attack"] = _now() - t0
        attack_over = trio.Event()

        async def attack() -> None:
            async def keep(name: str, job: Any) -> None:
                try:
                    hostile[name] = await job
                except Exception as exc:
                    hostile[name] = {"outcome": f"client error {type(exc).__name__}: {exc}"}

            async with trio.open_nursery() as attackers:
                attackers.start_soon(
                    keep, "huge tool output", huge_tool_output(server.url, sizes.tool_chars)
                )
                attackers.start_soon(
                    keep,
                    "slow reader",
                    slow_reader(server.host, server.port, sizes.tool_chars, sizes.slow_reader_s),
                )
                attackers.start_soon(keep, "silence", silence(server.url, sizes.silence_mib))
                attackers.start_soon(keep, "item creates", item_creates(server.url, sizes.creates))
                attackers.start_soon(
                    keep, "half-open", half_open(server.host, server.port, sizes.half_open)
                )
            attack_over.set()

        async with trio.open_nursery() as both:
            both.start_soon(attack)
            during_task: list[Turns] = []

            async def measure() -> None:
                during_task.append(
                    await well_behaved(server.url, sizes.well_behaved, None, attack_over)
                )

            both.start_soon(measure)
        during = during_task[0]
        phases["after"] = _now() - t0
        await trio.sleep(3.0)  # connections torn down, handshakes timed out
        after = await well_behaved(server.url, sizes.well_behaved, sizes.turns, never)
        await trio.sleep(1.0)
        rss_after = server.memory_mib()
        nursery.cancel_scope.cancel()
    alive = server.alive()
    peak = max((v for t, v in rss if phases["attack"] <= t <= phases["after"]), default=None)
    returncode, stderr = server.stop()
    return {
        "sizes": attrs.asdict(sizes),
        "alive": alive,
        "exit": {"status": returncode, "stderr": stderr[-2000:]},
        "hostile": hostile,
        "turns": {"before": before, "during": during, "after": after},
        "rss_mib": {"before": rss_before, "peak during": peak, "after": rss_after},
        "rss_series": rss,
        "phases": phases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hostile clients against rtagents local-server.")
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    opts = parser.parse_args(argv)
    sizes = QUICK if opts.quick else Sizes()
    env = common.environment()
    print(f"rtagents local-server load test — python {env['python']}, {env['platform']}")
    print(f"sizes: {attrs.asdict(sizes)}\n")
    wall = time.perf_counter()
    result = trio.run(run, sizes)
    result["wall_seconds"] = time.perf_counter() - wall

    status = result["exit"]["status"]
    print(f"server alive through the attack: {'yes' if result['alive'] else 'NO'}")
    print(f"server stopped by SIGINT: status {status}, stderr {result['exit']['stderr']!r}\n")
    rows = [[name, r.get("outcome"), r.get("seconds")] for name, r in result["hostile"].items()]
    print(common.table(["hostile client", "outcome", "s"], rows, "Hostile clients"), "\n")
    rows = []
    for phase, turns in result["turns"].items():
        first, done = common.summary(turns.first_audio), common.summary(turns.done)
        rows.append(
            [
                phase,
                done["n"],
                turns.failed,
                *(1000 * first.get(k, float("nan")) for k in ("p50", "p95", "max")),
                *(1000 * done.get(k, float("nan")) for k in ("p50", "p95", "max")),
            ]
        )
        result["turns"][phase] = {
            "first_audio_s": first,
            "done_s": done,
            "failed": turns.failed,
        }
    headers = ["phase", "turns", "failed", "1st audio p50 ms", "p95", "max", "done p50 ms"]
    print(common.table([*headers, "p95", "max"], rows, "Well-behaved turns"), "\n")
    memory = result["rss_mib"]
    rows = [[name, value] for name, value in memory.items()]
    print(common.table(["server RSS", "MiB"], rows, "Server memory"), "\n")
    result["environment"] = env
    path = opts.out / "local_server_load.json"
    common.write_json(path, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
