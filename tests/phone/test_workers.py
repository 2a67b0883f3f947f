"""``rtagents serve twilio --workers N``: the option, the command line a worker gets, the restart
policy (pure), the worker header, one-line errors before any worker starts, and the supervisor
against real processes: two workers on one port both answer, a killed worker is started again,
SIGTERM stops them all, and workers never outlive a supervisor that was killed."""

from __future__ import annotations

import argparse
import os
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import trio

from rtagents.apps.cli import main as rtagents_main
from rtagents.apps.workers import (
    MAX_WORKERS,
    RestartLimits,
    RestartPolicy,
    Supervisor,
    WorkerError,
    argv_of,
    describe_exit,
    with_worker_header,
)
from rtagents.phone import add_arguments
from rtagents.phone import cli as phone_cli
from tests._processes import rtagents_process

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # real processes on a shared machine: generous
NO_MODEL = "ws://127.0.0.1:1/v1/realtime"  # nothing listens: fine for the HTTP routes


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtagents serve twilio")
    add_arguments(parser)
    return parser


# -- the option ---------------------------------------------------------------------------------


def test_workers_defaults_to_one_and_the_internal_flag_is_hidden() -> None:
    args = parser().parse_args([])
    assert (args.workers, args.supervised_worker) == (1, False)
    assert parser().parse_args(["--workers", "4"]).workers == 4
    assert "--workers N" in parser().format_help()
    assert "supervised" not in parser().format_help()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "must be from 1 to 64 (processes on this machine), not 0"),
        ("-3", "not -3"),
        (str(MAX_WORKERS + 1), f"not {MAX_WORKERS + 1}"),
        ("two", "must be a whole number, not 'two'"),
    ],
)
def test_a_bad_worker_count_is_refused_clearly(
    value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["--workers", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --workers: " in err
    assert says in err


def test_a_worker_gets_the_same_command_line() -> None:
    p = parser()
    given = [
        "--port",
        "0",
        "--host",
        "::1",
        "--public-url",
        "https://x.ngrok.app",
        "--model-url",
        "ws://h:1/v1/realtime",
        "--record",
        "calls dir",
        "--stats",
        "--open-vocabulary",
        "--workers",
        "3",
        "a.py:agent",
    ]
    args = p.parse_args(given)
    argv = argv_of(p, args, port=4321, workers=1, supervised_worker=True)
    assert argv[-2:] == ["--", "a.py:agent"]
    assert "--workers" not in argv  # 1, the default: left out
    again = p.parse_args(argv)
    expected = {**vars(args), "port": 4321, "workers": 1, "supervised_worker": True}
    assert vars(again) == expected
    assert argv_of(p, p.parse_args([])) == []  # nothing given, nothing said


# -- the restart policy (pure) ------------------------------------------------------------------


def test_restarts_back_off_doubling_up_to_the_cap() -> None:
    policy = RestartPolicy(RestartLimits(first_delay=0.5, max_delay=4.0, per_minute=100))
    now, delays = 0.0, []
    for _ in range(6):
        delay = policy.delay(now=now, ran_for=1.0)
        delays.append(delay)
        now += delay + 1.0
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.restarts == 6


def test_a_stable_run_forgives_the_past() -> None:
    policy = RestartPolicy(RestartLimits(first_delay=0.5, stable_after=60.0, per_minute=100))
    assert [policy.delay(now=t, ran_for=1.0) for t in (0.0, 10.0, 20.0)] == [0.5, 1.0, 2.0]
    assert policy.delay(now=100.0, ran_for=75.0) == 0.5
    assert policy.failures == 1


def test_never_more_than_per_minute_restarts_in_any_minute() -> None:
    limits = RestartLimits(first_delay=0.0, max_delay=0.0, per_minute=3)
    policy = RestartPolicy(limits)
    now, starts = 0.0, []
    for _ in range(10):  # it dies at once, every time
        now += policy.delay(now=now, ran_for=0.0)
        starts.append(now)
    assert starts[:3] == [0.0, 0.0, 0.0]
    assert starts[3] == 60.0
    for i, start in enumerate(starts):
        assert sum(start <= s < start + 60.0 for s in starts[i:]) <= 3


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="bad restart limits"):
        RestartLimits(per_minute=0)
    with pytest.raises(ValueError, match="bad restart limits"):
        RestartLimits(first_delay=5.0, max_delay=1.0)
    with pytest.raises(ValueError, match="count must be from 1"):
        Supervisor(["x"], 0)


def test_exit_statuses_are_said_plainly() -> None:
    assert describe_exit(0) == "exited with status 0"
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"


# -- the worker header --------------------------------------------------------------------------


async def test_every_http_answer_names_the_worker() -> None:
    sent: list[dict[str, Any]] = []
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]})
            await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "lifespan.startup"}

    wrapped = with_worker_header(app, pid=4242)
    await wrapped({"type": "http"}, receive, send)
    await wrapped({"type": "lifespan"}, receive, send)
    assert seen == ["http", "lifespan"]
    assert sent[0]["headers"] == [(b"a", b"1"), (b"x-rtagents-worker", b"4242")]
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}


# -- errors before any worker starts ------------------------------------------------------------


@pytest.fixture
def no_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a worker was about to start")

    monkeypatch.setattr(phone_cli, "Supervisor", refuse)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.usefixtures("no_supervisor")
def test_a_bad_agent_is_one_line_and_status_2_before_any_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["serve", "twilio", "./missing.py:agent", "--workers", "2", "--port", "0"]
    assert rtagents_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("rtagents serve twilio: ")
    assert "no file './missing.py'" in err


@pytest.mark.usefixtures("no_supervisor")
def test_a_busy_port_is_one_line_and_status_2_before_any_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = ["serve", "twilio", "--workers", "2", "--port", port, "--model-url", NO_MODEL]
        assert rtagents_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"rtagents serve twilio: cannot listen on 127.0.0.1:{port}: ")


async def test_a_worker_that_fails_to_start_fails_the_command() -> None:
    failing = Supervisor([sys.executable, "-c", "import sys; sys.exit(3)"], 1)
    says = "^worker 0 exited with status 3 before listening$"
    with (
        pytest.RaisesGroup(pytest.RaisesExc(WorkerError, match=says), flatten_subgroups=True),
        trio.fail_after(TIMEOUT),
    ):
        async with trio.open_nursery() as nursery:
            await nursery.start(failing.run)
    assert failing.pids == []


# -- the supervisor with real workers -----------------------------------------------------------


class Lines:
    """A process's output, line by line, waited for with a timeout (a reader thread)."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, matches: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        while True:
            line = self._queue.get(timeout=timeout)  # queue.Empty: it never came
            if line is None:
                raise AssertionError(f"the output ended; it said {self.seen}")
            self.seen.append(line)
            if matches(line):
                return line

    def rest(self, timeout: float = TIMEOUT) -> list[str]:
        """Every line to the end of the output."""
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.seen.append(line)
        return self.seen


def answered_by(base: str) -> int:
    """POST /twilio/voice over a fresh connection: the pid of the worker that answered."""
    request = urllib.request.Request(f"{base}/twilio/voice", data=b"CallSid=CA1")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        assert response.status == 200
        assert b"<Stream" in response.read()
        return int(response.headers["X-Rtagents-Worker"])


def gone(pidfd: int, timeout: float = TIMEOUT) -> bool:
    """Whether the process of `pidfd` has ended (within `timeout`)."""
    return bool(select.select([pidfd], [], [], timeout)[0])


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_API_KEY", None)
    env.pop("TWILIO_AUTH_TOKEN", None)
    argv = ["serve", "twilio", "--workers", "2", "--port", "0", "--model-url", NO_MODEL, "--stats"]
    with rtagents_process(argv, env=env, cwd=tmp_path) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            yield process, Lines(process.stdout), Lines(process.stderr)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def started(out: Lines) -> tuple[str, list[int]]:
    """The supervisor's URL (its first line) and its workers' pids."""
    first = out.expect(lambda line: True)
    assert first.startswith("listening on http://127.0.0.1:"), first
    pids = out.expect(lambda line: line.startswith("workers: "))
    return first.split()[-1], [int(p) for p in re.findall(r"\d+", pids.split("pids")[1])]


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits for processes with pidfds")
def test_two_workers_answer_a_dead_one_comes_back_sigterm_stops_all(
    supervisor: tuple[subprocess.Popen[str], Lines, Lines],
) -> None:
    process, out, err = supervisor
    base, pids = started(out)
    assert len(set(pids)) == 2
    assert process.pid not in pids
    watched = {pid: os.pidfd_open(pid) for pid in pids}
    try:
        answered = [answered_by(base) for _ in range(40)]
        assert set(answered) == set(pids)  # the kernel spread the connections over both

        dead = pids[0]
        os.kill(dead, signal.SIGKILL)
        said = err.expect(lambda line: "killed by SIGKILL" in line)
        assert re.fullmatch(
            rf"worker [01] \(pid {dead}\) killed by SIGKILL; starting it again in 0\.5 s", said
        )
        again = err.expect(lambda line: "started again: pid" in line)
        new = int(again.split()[-1])
        assert new not in pids
        assert gone(watched[dead])
        watched[new] = os.pidfd_open(new)
        for _ in range(200):  # fresh connections until the new worker answers one
            if answered_by(base) == new:
                break
        else:
            raise AssertionError(f"the new worker {new} never answered")

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
        assert all(gone(fd) for fd in watched.values())  # no worker left behind
        assert not any("Traceback" in line for line in err.rest())
    finally:
        for fd in watched.values():
            os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits for processes with pidfds")
def test_workers_do_not_outlive_a_killed_supervisor(
    supervisor: tuple[subprocess.Popen[str], Lines, Lines],
) -> None:
    process, out, _ = supervisor
    _, pids = started(out)
    watched = [os.pidfd_open(pid) for pid in pids]
    try:
        process.kill()  # no chance to stop them: their stdin ends
        process.wait(timeout=TIMEOUT)
        assert all(gone(fd) for fd in watched)
    finally:
        for fd in watched:
            os.close(fd)
