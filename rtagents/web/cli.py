"""``rtagents web [AGENT] --host --port``: your agent in a browser.

Theory of operation
-------------------
:func:`serve_web` does what the command does, as a trio task: it imports ``AGENT`` (the demo
agent when none is given) and, for a factory, builds one agent to check it; picks the model —
OpenAI's Realtime API with ``OPENAI_API_KEY`` set (or ``--model openai``), else the embedded
offline speech model of ``rtagents demo`` (the local Realtime server on a loopback port, with
pocketsphinx, a rule-based or chat-completions brain and espeak-ng; another agent than the
demo's is heard with the open vocabulary, as in ``rtagents console``); builds the page's app
(:func:`rtagents.web.create_app`) and serves it with hypercorn's trio worker.  It reports
:class:`WebServer` (the URL, the app, the local model's server) through ``task_status``.

:func:`main` runs it for the command line: it prints the URL, stops on Ctrl-C or SIGTERM with
status 0, and turns a bad ``AGENT`` (or a missing speech extra) into one line on stderr and
status 2.  Nothing from Starlette or hypercorn is imported until the command runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from typing import Any, TextIO

import attrs
import trio

#: The web extra's packages, named in the error when they are missing.
EXTRA = "pip install 'rtagents[web]'"


class WebError(Exception):
    """Something the user can fix; printed as one line, status 2."""


@attrs.frozen
class WebServer:
    """A running ``rtagents web``: where it listens, its app, and its local model's server (or
    None with OpenAI)."""

    url: str
    app: Any  # the Starlette app; app.state.rtagents holds the connections
    local_server: Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rtagents web``'s options."""
    from rtagents.apps.demo import add_speech_arguments

    parser.add_argument(
        "agent",
        nargs="?",
        metavar="AGENT",
        help="module:attribute or path/to/file.py:attribute naming a RealtimeAgent or a "
        "function returning one (default: the demo agent)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")
    parser.add_argument(
        "--model",
        choices=("local", "openai"),
        help="local (default; offline) or openai (the default when OPENAI_API_KEY is set)",
    )
    add_speech_arguments(parser)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening.  Raises ``OSError`` (and leaves
    nothing open) when it cannot be."""
    family, kind, _, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _page_url(bound: str, host: str) -> str:
    """The URL to open: hypercorn's bound address, with a wildcard host made reachable."""
    scheme, _, rest = bound.partition("://")
    address, _, port = rest.rpartition(":")
    if address in ("0.0.0.0", "[::]", "::"):
        address = "127.0.0.1" if address == "0.0.0.0" else "[::1]"
    elif ":" in host and not address.startswith("["):
        address = f"[{address}]"
    return f"{scheme}://{address}:{port}/"


async def serve_web(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    task_status: trio.TaskStatus[WebServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``rtagents web`` until cancelled.  Raises ``AgentLoadError`` for a bad AGENT,
    :class:`WebError` for what else the user can fix."""
    from rtagents.apps.loader import build_agent
    from rtagents.web.app import resolve_agent

    try:
        from hypercorn.config import Config
        from hypercorn.trio import serve

        from rtagents.web.app import create_app
    except ImportError as exc:  # pragma: no cover - the [web] extra is missing
        raise WebError(f"{exc.name or exc} is missing: {EXTRA}") from exc

    source = resolve_agent(args.agent)
    await build_agent(source, None, args.agent or "the demo agent")  # a factory that fails: now
    use_openai = args.model == "openai" or (args.model is None and os.environ.get("OPENAI_API_KEY"))
    if use_openai and not os.environ.get("OPENAI_API_KEY"):
        raise WebError("--model openai needs OPENAI_API_KEY in the environment")

    from rtagents.apps.demo import DemoError, Printer, _start_local_model
    from rtagents.apps.loader import DEMO_AGENT
    from rtagents.config import RealtimeRunConfig
    from rtagents.models import OpenAIRealtimeConfig
    from rtagents.web.app import DEFAULT_SETTINGS

    async with trio.open_nursery() as nursery:
        local_server = None
        model = OpenAIRealtimeConfig()
        if use_openai:
            print("model:   OpenAI Realtime API", file=out, flush=True)
        else:
            if args.agent not in (None, DEMO_AGENT) and not args.open_vocabulary:
                # The demo's grammar knows only the demo's questions (as `rtagents console`).
                args = argparse.Namespace(**{**vars(args), "open_vocabulary": True})
                print(
                    "model:   not the demo agent: the local model hears with the open vocabulary "
                    "(less accurate than the demo's grammar)",
                    file=out,
                    flush=True,
                )
            try:
                local_server, _ = await _start_local_model(nursery, args, Printer(out), False)
            except DemoError as exc:
                raise WebError(str(exc)) from exc
            model = OpenAIRealtimeConfig(url=local_server.url, api_key="local")
        config = RealtimeRunConfig(model=model, model_settings=DEFAULT_SETTINGS)
        app = create_app(source, config=config)
        try:
            sock = listening_socket(args.host, args.port)
        except OSError as exc:
            where = f"{args.host}:{args.port}"
            raise WebError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        hyper = Config()
        hyper.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) it from here
        hyper.graceful_timeout = 1.0  # Ctrl-C: open pages get a second to go
        hyper.loglevel = "WARNING"  # the URL is printed below
        binds = await nursery.start(serve, app, hyper)
        url = _page_url(binds[0], args.host)
        print(f"rtagents web: open {url} (Ctrl-C to stop)", file=out, flush=True)
        task_status.started(WebServer(url, app, local_server))


def main(args: argparse.Namespace) -> int:
    """``rtagents web``: 0 after Ctrl-C or SIGTERM, 2 for a bad AGENT or missing extra."""
    from rtagents.apps.loader import AgentLoadError

    async def run() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as stop:
            async with trio.open_nursery() as nursery:
                await nursery.start(serve_web, args)
                async for _ in stop:  # Ctrl-C or SIGTERM: the normal way to stop
                    nursery.cancel_scope.cancel()
                    break

    status = 0
    try:
        trio.run(run)
    except* (AgentLoadError, WebError) as group:
        print(f"rtagents web: {_first(group)}", file=sys.stderr)
        status = 2
    except* KeyboardInterrupt:  # a Ctrl-C before the signal receiver was open
        pass
    return status


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first
