"""``rtagents serve twilio [AGENT]``: your agent answering a Twilio phone number.

Theory of operation
-------------------
:func:`serve_twilio` does what the command does, as a trio task (like
:func:`rtagents.web.cli.serve_web`): it imports ``AGENT`` (the demo agent when none is given)
and, for a factory, builds one agent to check it; picks the model — ``--model-url`` (any
Realtime endpoint, e.g. a running ``rtagents local-server``) when given, else OpenAI's Realtime
API with ``OPENAI_API_KEY`` set (or ``--model openai``), else the embedded offline speech model
of ``rtagents web``; builds :func:`rtagents.phone.app.create_twilio_app` (signatures checked with
``TWILIO_AUTH_TOKEN`` from the environment when it is set) and serves it with hypercorn's trio
worker.  Its first line on `out` is ``listening on http://HOST:PORT`` (benchmarks and scripts
parse it); then the webhook URL to give Twilio and what model answers.  It reports
:class:`PhoneServer` through ``task_status``.

:func:`main` runs it for the command line: Ctrl-C or SIGTERM stops it with status 0; a bad
``AGENT`` (or anything else the user can fix) is one line on stderr and status 2.

With ``--workers N`` (N > 1) :func:`main` runs :func:`supervise_twilio` instead: the AGENT
checked, the port held and the model started once (the local model's one server, its URL given
to every worker as ``--model-url``), then N processes of this same command, each serving the
app on the same port with ``SO_REUSEPORT``, kept running by
:class:`~rtagents.apps.workers.Supervisor` (why ``SO_REUSEPORT``, restarts, stopping: there).
Its output is the same lines, once every worker listens, then ``workers: N on port P (pids
...)``.  With ``--stats`` each worker's HTTP answers carry ``X-Rtagents-Worker: <pid>``.
"""

from __future__ import annotations

import argparse
import io
import os
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
from rtagents.apps.workers import (
    Supervisor,
    add_worker_arguments,
    argv_of,
    exit_with_supervisor,
    reserve_port,
    with_worker_header,
)

PROG = "rtagents serve twilio"


@attrs.frozen
class PhoneServer:
    """A running ``rtagents serve twilio``: its base URL (``http://HOST:PORT``), the webhook
    URL for Twilio, the app, and its local model's server (None otherwise)."""

    url: str
    webhook: str
    app: Any  # the Starlette app; app.state.rtagents_phone holds the calls
    local_server: Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rtagents serve twilio``'s options."""
    from rtagents.apps.local_model import add_speech_arguments

    add_server_arguments(parser, factory_gets="the call's CallInfo")
    add_worker_arguments(parser)
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="where Twilio reaches this server, e.g. https://<your ngrok host> (default: "
        "each request's Host / X-Forwarded-Host and X-Forwarded-Proto)",
    )
    parser.add_argument(
        "--model",
        choices=("local", "openai"),
        help="local (default; offline) or openai (the default when OPENAI_API_KEY is set)",
    )
    parser.add_argument(
        "--model-url",
        metavar="URL",
        help="any Realtime endpoint (e.g. ws://127.0.0.1:PORT/v1/realtime of a running "
        "`rtagents local-server`); overrides --model",
    )
    parser.add_argument("--record", metavar="DIR", help="record each call as a stereo WAV in DIR")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="serve GET /twilio/stats: each call's statistics as JSON (call sids included: "
        "only where the operator alone can reach it; benchmarks/phone.py uses it)",
    )
    parser.add_argument(
        "--audio",
        choices=("pcmu", "pcm16"),
        default="pcmu",
        help="the calls' session audio: pcmu (default; Twilio's μ-law 8 kHz passed through, no "
        "transcoding) or pcm16 (PCM16 24 kHz through the fused native kernels, for an agent "
        "that needs wideband PCM: local VAD, recording, a model without μ-law)",
    )
    add_speech_arguments(parser)


def add_serve_arguments(servers: Any) -> None:
    """Add ``twilio`` to the sub-commands of ``rtagents serve`` (an ``add_subparsers()``)."""
    twilio = servers.add_parser(
        "twilio",
        help="answer a Twilio phone number with AGENT (Media Streams; rtagents[web])",
        description="Serve AGENT to phone calls: Twilio's voice webhook at POST /twilio/voice "
        "and its Media Streams at /twilio/media.  Set TWILIO_AUTH_TOKEN to check signatures.",
    )
    add_arguments(twilio)
    twilio.set_defaults(run=main)


async def serve_twilio(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    task_status: trio.TaskStatus[PhoneServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``rtagents serve twilio`` until cancelled.  Raises ``AgentLoadError`` for a bad
    AGENT, :class:`~rtagents.apps.serving.ServeError` for what else the user can fix."""
    source = await check_agent(args.agent)
    try:
        from rtagents.phone.app import create_twilio_app
    except ImportError as exc:  # pragma: no cover - the [web] extra is missing
        raise ServeError(f"{exc.name or exc} is missing: {EXTRA}") from exc
    from rtagents.config import RealtimeRunConfig

    public_url = _public_url(args)
    later = io.StringIO()  # what is said before the `listening on` line, printed after it
    async with trio.open_nursery() as nursery:
        model, local_server = await open_model(nursery, args, later, url=args.model_url)
        token = os.environ.get("TWILIO_AUTH_TOKEN") or None
        app = create_twilio_app(
            source,
            config=RealtimeRunConfig(model=model),
            auth_token=token,
            public_url=public_url,
            recording_dir=args.record,
            stats=args.stats,
            audio=args.audio,
        )
        if args.record:
            os.makedirs(args.record, exist_ok=True)
        supervised = getattr(args, "supervised_worker", False)  # one of --workers N
        served = with_worker_header(app) if supervised and args.stats else app
        url = await serve_app(nursery, served, args.host, args.port, reuse_port=supervised)
        url = url.rstrip("/")
        if supervised:
            nursery.start_soon(exit_with_supervisor)
        webhook = _announce(out, url, public_url, later.getvalue(), token)
        task_status.started(PhoneServer(url, webhook, app, local_server))


def _public_url(args: argparse.Namespace) -> str | None:
    public_url: str | None = args.public_url.rstrip("/") if args.public_url else None
    if public_url and not public_url.startswith(("https://", "http://")):
        raise ServeError(f"--public-url must be an https:// URL, not {args.public_url!r}")
    return public_url


def _announce(out: TextIO, url: str, public_url: str | None, model: str, token: Any) -> str:
    """The command's lines, ``listening on`` first; returns the webhook URL."""
    from rtagents.phone.app import VOICE_PATH

    webhook = f"{public_url or 'https://<your public host>'}{VOICE_PATH}"
    print(f"listening on {url}", file=out, flush=True)
    print(f"{PROG}: set the number's voice webhook to POST {webhook}", file=out)
    if public_url is None:
        print(f"{PROG}: give --public-url https://<host> (e.g. ngrok's)", file=out)
    print(model, end="", file=out)
    checked = "checked" if token else "NOT checked (set TWILIO_AUTH_TOKEN)"
    print(f"signatures: {checked}", file=out, flush=True)
    return webhook


async def supervise_twilio(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED,
) -> None:
    """``--workers N``: check AGENT and start the model once here (the local model's one
    server: every worker gets its ``--model-url``), hold the port, run N workers of this
    command on it (:class:`~rtagents.apps.workers.Supervisor`) until cancelled; the usual lines
    once all listen, ``listening on`` first."""
    await check_agent(args.agent)
    public_url = _public_url(args)
    try:
        held = reserve_port(args.host, args.port)  # a busy port fails before the model starts
    except OSError as exc:
        reason = exc.strerror or exc
        raise ServeError(f"cannot listen on {args.host}:{args.port}: {reason}") from exc
    later = io.StringIO()
    env = dict(os.environ)  # TWILIO_AUTH_TOKEN reaches the workers here, not on their argv
    with held:
        port = held.getsockname()[1]  # --port 0: the real one, for every worker
        changes: dict[str, Any] = {"workers": 1, "supervised_worker": True, "port": port}
        async with trio.open_nursery() as nursery:
            _, local_server = await open_model(nursery, args, later, url=args.model_url)
            if local_server is not None:
                changes["model_url"] = local_server.url
                env.pop("OPENAI_API_KEY", None)  # the workers talk to our local model only
            parser = argparse.ArgumentParser(add_help=False)
            add_arguments(parser)
            argv = [sys.executable, "-m", "rtagents", "serve", "twilio"]
            supervisor = Supervisor([*argv, *argv_of(parser, args, **changes)], args.workers, env)
            url = await nursery.start(supervisor.run)  # every worker listening
            _announce(out, url, public_url, later.getvalue(), os.environ.get("TWILIO_AUTH_TOKEN"))
            pids = " ".join(map(str, supervisor.pids))
            print(f"workers: {args.workers} on port {port} (pids {pids})", file=out)
            out.flush()
            task_status.started(supervisor)
            await trio.sleep_forever()


def main(args: argparse.Namespace) -> int:
    """``rtagents serve twilio``: 0 after Ctrl-C or SIGTERM, 2 for a bad AGENT; with
    ``--workers N`` (N > 1) the supervisor of N worker processes."""
    if getattr(args, "workers", 1) > 1 and not getattr(args, "supervised_worker", False):
        return run_until_signal(supervise_twilio, args, PROG)
    return run_until_signal(serve_twilio, args, PROG)
