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
import sys
from typing import Any, TextIO

import attrs
import trio

from rtagents.apps.serving import (
    EXTRA,
    ServeError,
    add_server_arguments,
    check_agent,
    open_model,
    run_until_signal,
    serve_app,
)


@attrs.frozen
class WebServer:
    """A running ``rtagents web``: where it listens, its app, and its local model's server (or
    None with OpenAI)."""

    url: str
    app: Any  # the Starlette app; app.state.rtagents holds the connections
    local_server: Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rtagents web``'s options."""
    from rtagents.apps.local_model import add_speech_arguments

    add_server_arguments(parser, factory_gets=None)
    parser.add_argument(
        "--model",
        choices=("local", "openai"),
        help="local (default; offline) or openai (the default when OPENAI_API_KEY is set)",
    )
    add_speech_arguments(parser)


async def serve_web(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    task_status: trio.TaskStatus[WebServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``rtagents web`` until cancelled.  Raises ``AgentLoadError`` for a bad AGENT,
    :class:`~rtagents.apps.serving.ServeError` for what else the user can fix."""
    source = await check_agent(args.agent)
    try:
        from rtagents.web.app import DEFAULT_SETTINGS, create_app
    except ImportError as exc:  # pragma: no cover - the [web] extra is missing
        raise ServeError(f"{exc.name or exc} is missing: {EXTRA}") from exc
    from rtagents.config import RealtimeRunConfig

    async with trio.open_nursery() as nursery:
        model, local_server = await open_model(nursery, args, out)
        config = RealtimeRunConfig(model=model, model_settings=DEFAULT_SETTINGS)
        app = create_app(source, config=config)
        url = await serve_app(nursery, app, args.host, args.port)
        print(f"rtagents web: open {url} (Ctrl-C to stop)", file=out, flush=True)
        task_status.started(WebServer(url, app, local_server))


def main(args: argparse.Namespace) -> int:
    """``rtagents web``: 0 after Ctrl-C or SIGTERM, 2 for a bad AGENT or missing extra."""
    return run_until_signal(serve_web, args, "rtagents web")
