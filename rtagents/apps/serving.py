"""What the server commands (``rtagents web``, ``rtagents serve twilio``) share.

Theory of operation
-------------------
A server command imports ``AGENT`` and, for a factory, builds one agent to check it
(:func:`check_agent`); picks its model (:func:`open_model`: a given Realtime URL, OpenAI's API
with ``OPENAI_API_KEY`` or ``--model openai``, else the embedded offline speech model of
``rtagents demo`` started in the command's nursery — heard with the open vocabulary for any
agent but the demo's); serves its ASGI app with hypercorn's trio worker on a socket it bound
itself, so a busy port is a one-line error (:func:`serve_app`); and runs until Ctrl-C or
SIGTERM (:func:`run_until_signal`: status 0, or 2 with one line on stderr for what the user can
fix).  Nothing from Starlette or hypercorn is imported until a command runs.  ``--workers N``
(N processes on one port) is :mod:`rtagents.apps.workers`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import trio

#: The web extra's packages, named in the error when they are missing.
EXTRA = "pip install 'rtagents[web]'"


def add_server_arguments(parser: argparse.ArgumentParser, *, factory_gets: str | None) -> None:
    """The options every server command has: ``AGENT`` (what a factory is given, if anything:
    `factory_gets`), ``--host`` and ``--port``."""
    given = f"given {factory_gets}; " if factory_gets else ""
    parser.add_argument(
        "agent",
        nargs="?",
        metavar="AGENT",
        help="module:attribute or path/to/file.py:attribute naming a RealtimeAgent or a "
        f"function returning one ({given}default: the demo agent)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")


class ServeError(Exception):
    """Something the user can fix; printed as one line, status 2."""


async def check_agent(spec: str | None) -> Any:
    """The agent or factory ``spec`` names (the demo agent for None), a factory called once
    now so that one that fails says so at start.  Raises ``AgentLoadError``."""
    from rtagents.apps.loader import build_agent, resolve_agent

    source = resolve_agent(spec)
    await build_agent(source, None, spec or "the demo agent")
    return source


async def open_model(
    nursery: trio.Nursery, args: argparse.Namespace, out: TextIO, *, url: str | None = None
) -> tuple[Any, Any]:
    """The connection config of the command's model and the local model's server (None unless
    the offline model was started in ``nursery``); says which on ``out``."""
    from rtagents.apps.loader import DEMO_AGENT
    from rtagents.apps.local_model import LocalModelError, start_local_model
    from rtagents.models import OpenAIRealtimeConfig

    key = os.environ.get("OPENAI_API_KEY")
    if url is not None:
        print(f"model:   {url}", file=out, flush=True)
        return OpenAIRealtimeConfig(url=url, api_key=key or "local"), None
    if args.model == "openai" or (args.model is None and key):
        if not key:
            raise ServeError("--model openai needs OPENAI_API_KEY in the environment")
        print("model:   OpenAI Realtime API", file=out, flush=True)
        return OpenAIRealtimeConfig(), None
    if args.agent not in (None, DEMO_AGENT) and not args.open_vocabulary:
        # The demo's grammar knows only the demo's questions (as in `rtagents console`).
        args = argparse.Namespace(**{**vars(args), "open_vocabulary": True})
        print(
            "model:   not the demo agent: the local model hears with the open vocabulary "
            "(less accurate than the demo's grammar)",
            file=out,
            flush=True,
        )
    try:
        server, _ = await start_local_model(nursery, args, out, False)
    except LocalModelError as exc:
        raise ServeError(str(exc)) from exc
    return OpenAIRealtimeConfig(url=server.url, api_key="local"), server


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening; with `reuse_port`, one of the
    ``SO_REUSEPORT`` sockets sharing the port (``--workers``).  Raises ``OSError`` (and leaves
    nothing open) when it cannot be."""
    family, kind, _, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def page_url(bound: str, host: str) -> str:
    """The URL to open: hypercorn's bound address, with a wildcard host made reachable."""
    scheme, _, rest = bound.partition("://")
    address, _, port = rest.rpartition(":")
    if address in ("0.0.0.0", "[::]", "::"):
        address = "127.0.0.1" if address == "0.0.0.0" else "[::1]"
    elif ":" in host and not address.startswith("["):
        address = f"[{address}]"
    return f"{scheme}://{address}:{port}/"


async def serve_app(
    nursery: trio.Nursery, app: Any, host: str, port: int, *, reuse_port: bool = False
) -> str:
    """Serve ``app`` (ASGI) with hypercorn's trio worker in ``nursery``; returns its URL.
    `reuse_port`: share the port with the other workers of ``--workers``."""
    try:
        from hypercorn.config import Config
        from hypercorn.trio import serve
    except ImportError as exc:  # pragma: no cover - the [web] extra is missing
        raise ServeError(f"{exc.name or exc} is missing: {EXTRA}") from exc
    try:
        sock = listening_socket(host, port, reuse_port=reuse_port)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    hyper = Config()
    hyper.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) it from here
    hyper.graceful_timeout = 1.0  # Ctrl-C: open connections get a second to go
    hyper.loglevel = "WARNING"  # the command prints its URL itself
    binds = await nursery.start(serve, app, hyper)
    return page_url(binds[0], host)


def first_exception(group: BaseExceptionGroup[Any]) -> BaseException:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


def run_until_signal(
    serve: Callable[..., Awaitable[Any]], args: argparse.Namespace, prog: str
) -> int:
    """Run ``serve(args, task_status=...)`` until Ctrl-C or SIGTERM: status 0; a bad AGENT
    or a :class:`ServeError` is one line on stderr and status 2."""
    from rtagents.apps.loader import AgentLoadError

    async def run() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as stop:
            async with trio.open_nursery() as nursery:
                await nursery.start(serve, args)
                async for _ in stop:  # Ctrl-C or SIGTERM: the normal way to stop
                    nursery.cancel_scope.cancel()
                    break

    status = 0
    try:
        trio.run(run)
    except* (AgentLoadError, ServeError) as group:
        print(f"{prog}: {first_exception(group)}", file=sys.stderr)
        status = 2
    except* KeyboardInterrupt:  # a Ctrl-C before the signal receiver was open
        pass
    return status
