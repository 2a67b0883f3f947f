"""``--workers N``: N processes of a server command on one port, and the supervisor that keeps
them running.

Theory of operation
-------------------
The supervisor (:class:`Supervisor`) is the command the user started.  It reserves the port
(:func:`reserve_port`: a socket bound with ``SO_REUSEPORT`` that never listens — for ``--port 0``
this is where the real port comes from; while it is held no other user's process can take the
port, even while every worker is restarting; a busy port is the command's one-line error before
any worker starts) and starts N worker processes: the same command line (:func:`argv_of`
rebuilds it from the parsed arguments) plus a hidden flag saying "you are supervised", each in
its own session so a terminal's Ctrl-C reaches the supervisor alone.  Each worker binds its own
listening socket to the same port with ``SO_REUSEPORT``, prints its ``listening on`` line, and
watches its stdin, a pipe from the supervisor (:func:`exit_with_supervisor`): when that ends
(the supervisor is gone, even killed with SIGKILL) the worker stops as on SIGTERM, so no worker
outlives its supervisor.

Why ``SO_REUSEPORT`` rather than one listening socket handed to every worker (``pass_fds``):
the kernel hashes each new connection to one of the listening sockets, so connections spread
evenly over the workers (with one shared accept queue, whichever worker's event loop wakes first
takes it: on Linux that piles connections on the least busy process, and calls are long-lived);
and a worker is an ordinary ``rtagents serve ...`` process that owns its socket, not a fork that
must inherit descriptors.  The price: connections waiting in the accept queue of a worker that
dies are reset (a caller's retry lands on another worker), and only Linux spreads connections
(macOS and the BSDs accept the option but give each connection to one socket; Windows has none
and ``--workers`` is refused there).

The supervisor says ``listening`` only once every worker has.  Stopping it (Ctrl-C, SIGTERM:
the nursery's cancellation) sends every worker SIGTERM, waits ``stop_timeout`` for them, then
kills what is left; every child is reaped before the supervisor returns.  A worker that exits
while nothing asked it to is logged with its exit status and started again after a delay from
its slot's :class:`RestartPolicy` (pure: the times are passed in): doubling from
``first_delay`` to ``max_delay``, reset by a run of ``stable_after`` seconds, and never more than
``per_minute`` starts of one slot in any 60 seconds.  A worker that fails before its first
``listening`` line makes the whole command fail (:class:`WorkerError`: the same error would
greet every restart).

Calls share nothing across workers: each worker holds its own calls and statistics (with
``--stats`` every HTTP answer carries the worker's pid in ``X-Rtagents-Worker``,
:func:`with_worker_header`), so more machines behind any L4 load balancer scale the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import attrs
import trio

from rtagents.apps.serving import ServeError, listening_socket

log = logging.getLogger("rtagents.workers")

#: The hidden flag that makes a server command a supervised worker.
SUPERVISED_FLAG = "--supervised-worker"
#: Upper bound of ``--workers``: processes are not free, and a typo should not fork a thousand.
MAX_WORKERS = 64
#: The response header naming the worker process that answered (``--stats``).
WORKER_HEADER = b"x-rtagents-worker"
LISTENING = "listening on "
_LINE_LIMIT = 64 * 1024  # a worker's first lines, read until `listening on`


class WorkerError(ServeError):
    """A worker could not start; the message says which and how it ended."""


def worker_count(text: str) -> int:
    """``--workers``'s type: a whole number from 1 to :data:`MAX_WORKERS`."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"must be from 1 to {MAX_WORKERS} (processes on this machine), not {count}"
        )
    return count


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` and the hidden flag a worker is started with."""
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="N",
        help="N processes serving the same port (SO_REUSEPORT: the kernel spreads connections "
        "over them; one that dies is restarted); default 1.  Calls share nothing, so more "
        "machines behind any L4 load balancer scale the same way",
    )
    parser.add_argument(SUPERVISED_FLAG, action="store_true", help=argparse.SUPPRESS)


def argv_of(
    parser: argparse.ArgumentParser, args: argparse.Namespace, **overrides: Any
) -> list[str]:
    """The command line that parses (with `parser`) back to `args` with `overrides` applied:
    options left at their default are left out, positionals come last after ``--``."""
    values = {**vars(args), **overrides}
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:  # argparse has no public list of them
        if action.dest == argparse.SUPPRESS or action.dest not in values:
            continue
        value = values[action.dest]
        if not action.option_strings:
            if value is not None:
                positionals.extend(map(str, value) if isinstance(value, list) else [str(value)])
            continue
        if value is None or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:  # store_true/false/const; count: the flag once per count
            options.extend([flag] * (value if type(value) is int else 1))
        elif isinstance(value, list) and action.nargs is None:  # action="append"
            for item in value:
                options.extend([flag, str(item)])
        elif isinstance(value, list):
            options.extend([flag, *map(str, value)])
        else:
            options.extend([flag, str(value)])
    return [*options, "--", *positionals] if positionals else options


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with ``SO_REUSEPORT`` that never listens: it holds the
    port (and finds one for port 0) for workers that bind it too.  Raises ``OSError``."""
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - Windows
        raise OSError("this system has no SO_REUSEPORT: run one process (--workers 1)")
    return listening_socket(host, port, reuse_port=True)


def describe_exit(returncode: int) -> str:
    """``exited with status 1``, ``killed by SIGKILL``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


@attrs.frozen
class RestartLimits:
    """How a dead worker is started again: the delay doubles from `first_delay` up to
    `max_delay` while it keeps dying, a run of `stable_after` seconds forgives the past, and one
    slot starts at most `per_minute` times in any 60 seconds."""

    first_delay: float = 0.5
    max_delay: float = 30.0
    stable_after: float = 60.0
    per_minute: int = 5

    def __attrs_post_init__(self) -> None:
        if self.per_minute < 1 or not 0 <= self.first_delay <= self.max_delay:
            raise ValueError(f"bad restart limits: {self!r}")


@attrs.define
class RestartPolicy:
    """One worker slot's restarts, as a pure machine: :meth:`delay` says how long to wait
    before starting the worker again."""

    limits: RestartLimits = RestartLimits()
    failures: int = 0  # consecutive deaths, forgiven by a stable run
    restarts: int = 0
    _starts: deque[float] = attrs.field(init=False)  # when the last per_minute restarts happen

    def __attrs_post_init__(self) -> None:
        self._starts = deque(maxlen=self.limits.per_minute)

    def delay(self, *, now: float, ran_for: float) -> float:
        """Seconds to wait before starting again a worker that died at `now` after running
        `ran_for` seconds; that restart is counted at ``now + delay``."""
        limits = self.limits
        if ran_for >= limits.stable_after:
            self.failures = 0
        self.failures += 1
        wait = min(limits.first_delay * 2.0 ** (self.failures - 1), limits.max_delay)
        if len(self._starts) == limits.per_minute:  # a full minute's worth: the oldest must age
            wait = max(wait, self._starts[0] + 60.0 - now)
        self._starts.append(now + wait)
        self.restarts += 1
        return wait


@attrs.frozen
class WorkerStatistics:
    """A slot's worker now (pid None while it is being restarted) and its restarts so far."""

    slot: int
    pid: int | None
    restarts: int


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
        while await stream.receive_some(_LINE_LIMIT):
            pass


async def _listening_url(stream: trio.abc.ReceiveStream) -> str | None:
    """The URL of the worker's ``listening on URL`` line; None if its stdout ended first."""
    buffer = b""
    while len(buffer) < _LINE_LIMIT:
        line, newline, rest = buffer.partition(b"\n")
        if newline:
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(LISTENING):
                return text[len(LISTENING) :]
            buffer = rest
            continue
        chunk = await stream.receive_some(_LINE_LIMIT)
        if not chunk:
            return None
        buffer += chunk
    return None


@attrs.define(eq=False)
class Supervisor:
    """N workers, each running `argv` (which must include :data:`SUPERVISED_FLAG`) with `env`.
    :meth:`run` reports the workers' URL once all are listening and runs until cancelled."""

    argv: Sequence[str]
    count: int
    env: Mapping[str, str] | None = None
    limits: RestartLimits = RestartLimits()
    ready_timeout: float = 120.0  # a worker's start: imports, the agent's check
    stop_timeout: float = 10.0  # after SIGTERM, before SIGKILL
    _pids: list[int | None] = attrs.field(init=False)
    _policies: list[RestartPolicy] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.count <= MAX_WORKERS:
            raise ValueError(f"count must be from 1 to {MAX_WORKERS}, not {self.count}")
        self._pids = [None] * self.count
        self._policies = [RestartPolicy(self.limits) for _ in range(self.count)]

    @property
    def pids(self) -> list[int]:
        """The workers running now."""
        return [pid for pid in self._pids if pid is not None]

    def statistics(self) -> list[WorkerStatistics]:
        return [
            WorkerStatistics(slot, pid, policy.restarts)
            for slot, (pid, policy) in enumerate(zip(self._pids, self._policies, strict=True))
        ]

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the workers (all at once), report their URL when all listen, keep them running
        until cancelled.  Raises :class:`WorkerError` when one fails to start."""
        urls: list[str] = []
        async with trio.open_nursery() as slots:

            async def start(slot: int) -> None:
                urls.append(await slots.start(self._keep, slot))

            async with trio.open_nursery() as starting:
                for slot in range(self.count):
                    starting.start_soon(start, slot)
            task_status.started(urls[0])

    async def _keep(self, slot: int, *, task_status: trio.TaskStatus[str]) -> None:
        """Slot `slot`'s worker, started again whenever it dies."""
        policy = self._policies[slot]
        started = False
        while True:
            began = trio.current_time()
            pid, returncode = await self._run_one(slot, task_status if not started else None)
            started = True
            now = trio.current_time()
            wait = policy.delay(now=now, ran_for=now - began)
            status = describe_exit(returncode)
            log.warning(
                "worker %d (pid %d) %s; starting it again in %.1f s", slot, pid, status, wait
            )
            await trio.sleep(wait)

    async def _run_one(self, slot: int, first: trio.TaskStatus[str] | None) -> tuple[int, int]:
        """Run one worker process to its end: its pid and exit status.  `first`: the slot's first
        start, reported when it listens (a failure before that is a :class:`WorkerError`)."""
        process = await trio.lowlevel.open_process(
            list(self.argv),
            stdin=subprocess.PIPE,  # its end is the worker's sign that we are gone
            stdout=subprocess.PIPE,
            env=None if self.env is None else dict(self.env),
            start_new_session=True,  # a terminal's Ctrl-C is ours; we stop the workers
        )
        self._pids[slot] = process.pid
        try:
            assert process.stdout is not None
            url = None
            with trio.move_on_after(self.ready_timeout) as waiting:
                url = await _listening_url(process.stdout)
            if url is None:
                if waiting.cancelled_caught:
                    process.kill()  # not listening in time: counted as a death
                returncode = await process.wait()
                if first is not None:
                    raise WorkerError(
                        f"worker {slot} was not listening after {self.ready_timeout:g} s"
                        if waiting.cancelled_caught
                        else f"worker {slot} {describe_exit(returncode)} before listening"
                    )
                return process.pid, returncode
            if first is not None:
                first.started(url)
            else:
                log.warning("worker %d started again: pid %d", slot, process.pid)
            async with trio.open_nursery() as reading:
                reading.start_soon(_drain, process.stdout)  # what else it says: not needed
                returncode = await process.wait()
                reading.cancel_scope.cancel()  # a grandchild may hold the pipe open
            return process.pid, returncode
        finally:
            self._pids[slot] = None
            with trio.CancelScope(shield=True):
                await self._stop(process)

    async def _stop(self, process: trio.Process) -> None:
        """SIGTERM, `stop_timeout` to go, then SIGKILL; reaped and its pipes closed."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with trio.move_on_after(self.stop_timeout):
                await process.wait()
            if process.returncode is None:
                log.warning("worker pid %d did not stop in time: killed", process.pid)
                process.kill()
        await process.wait()  # reaped
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                await pipe.aclose()


async def exit_with_supervisor() -> None:
    """In a worker: wait for stdin (the supervisor's pipe) to end, then stop this process as
    SIGTERM would (status 0).  Returns at once when stdin is not a pipe."""
    try:
        is_pipe = os.fstat(0).st_mode & 0o170000 == 0o010000  # S_ISFIFO
    except OSError:
        return
    if not is_pipe:
        return
    async with trio.lowlevel.FdStream(os.dup(0)) as stdin:
        await _drain(stdin)
    os.kill(os.getpid(), signal.SIGTERM)


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def with_worker_header(app: ASGIApp, pid: int | None = None) -> ASGIApp:
    """`app` with ``X-Rtagents-Worker: <pid>`` on every HTTP response (this process's pid)."""
    header = (WORKER_HEADER, str(os.getpid() if pid is None else pid).encode())

    async def wrapped(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return

        async def send_with_pid(message: Any) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        await app(scope, receive, send_with_pid)

    return wrapped
