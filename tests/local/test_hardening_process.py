"""``rtagents local-server`` as a process: it survives what used to end it, and stops cleanly.

Reproductions from the reliability issue, on the real clock (each test runs the server in a
subprocess): a 100,000-character tool output followed by ``response.create`` exited the process,
a connection that never completes its handshake was held 60 s, and Ctrl-C ended the server
with a traceback and status 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from trio_websocket import open_websocket_url

from rtagents import protocol as p

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for memory")


class Server:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rtagents", "local-server"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), line
        self.url = line.split()[-1]
        self.host, port = self.url.split("/")[2].split(":")
        self.port = int(port)

    def memory_kib(self, field: str) -> int:
        """``VmRSS`` (now) or ``VmHWM`` (the peak) of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field}")  # pragma: no cover

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_the_server_quietly_with_status_0(server: Server, sig: int) -> None:
    returncode, stderr = server.stop(sig)
    assert (returncode, stderr) == (0, "")


async def test_a_huge_tool_output_neither_kills_nor_bloats_the_server(server: Server) -> None:
    output = ("All work and no play makes a dull answer. " * 2400)[:100_000]
    events: list[object] = []
    with trio.fail_after(60):
        async with open_websocket_url(server.url, max_message_size=2**30) as ws:
            item = p.FunctionCallOutputItem(call_id="call_big", output=output)
            await ws.send_message(p.ConversationItemCreate(item=item).to_json())
            await ws.send_message(p.ResponseCreate().to_json())
            while not isinstance(events[-1:] and events[-1], p.ResponseDone):
                events.append(p.decode_server_event(await ws.get_message()))
    assert server.process.poll() is None  # alive
    peak_mib = server.memory_kib("VmHWM") // 1024
    assert peak_mib < 400  # the whole answer's signal at once: gigabytes
    done = events[-1]
    assert isinstance(done, p.ResponseDone)
    assert done.response.status == "incomplete"  # at the response's length limit
    # ...and it still serves.
    with trio.fail_after(30):
        async with open_websocket_url(server.url) as ws:
            assert json.loads(await ws.get_message())["type"] == "session.created"
    assert server.stop() == (0, "")


async def test_a_connection_without_a_handshake_is_closed_after_a_few_seconds(
    server: Server,
) -> None:
    stream = await trio.open_tcp_stream(server.host, server.port)
    started = trio.current_time()
    with trio.fail_after(20):  # it was 60 s
        assert await stream.receive_some() == b""
    assert 4 <= trio.current_time() - started <= 8
    await stream.aclose()
