"""``rtagents serve sip [AGENT]``: your agent answering a SIP trunk through OpenAI's SIP calls.

Theory of operation
-------------------
The trunk (e.g. Twilio Elastic SIP Trunking, origination URI
``sip:<project id>@sip.api.openai.com;transport=tls``) sends calls to OpenAI, which tells this
server through the project's ``realtime.call.incoming`` webhook; the server accepts each call
with the agent's session and attaches a session to it (:mod:`rtagents.phone.sip`).  So this
command needs OpenAI: ``OPENAI_API_KEY`` (the Calls API and the call's WebSocket) and
``OPENAI_WEBHOOK_SECRET`` (the webhook's signing secret, ``whsec_...``); without either it says
so in one line and exits with status 2.  ``--api-base`` points both at another
OpenAI-compatible endpoint (its ``https`` becomes ``wss`` for the WebSocket).  The first stdout
line is ``listening on http://HOST:PORT``, then the webhook URL to register.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

import attrs
import trio

from rtagents.apps.serving import (
    EXTRA,
    ServeError,
    add_server_arguments,
    check_agent,
    run_until_signal,
    serve_app,
)

PROG = "rtagents serve sip"
DEFAULT_API_BASE = "https://api.openai.com/v1"


@attrs.frozen
class SipServer:
    """A running ``rtagents serve sip``: its base URL, the webhook path and the app."""

    url: str
    webhook_path: str
    app: Any  # the Starlette app; app.state.rtagents_sip is the SipService


def add_serve_arguments(servers: Any) -> None:
    """Add ``sip`` to the sub-commands of ``rtagents serve`` (an ``add_subparsers()``)."""
    sip = servers.add_parser(
        "sip",
        help="answer a SIP trunk with AGENT through OpenAI's SIP calls (rtagents[web])",
        description="Serve AGENT to SIP calls that OpenAI terminates: its realtime.call.incoming "
        "webhook at POST /openai/webhook.  Needs OPENAI_API_KEY and OPENAI_WEBHOOK_SECRET.",
    )
    add_server_arguments(sip, factory_gets="the call's SipCallInfo")
    sip.add_argument(
        "--greeting", metavar="TEXT", help="what the agent says first (default: its own words)"
    )
    sip.add_argument(
        "--max-calls", type=int, default=100, help="calls at once; more are rejected busy (486)"
    )
    sip.add_argument(
        "--api-base",
        default=DEFAULT_API_BASE,
        metavar="URL",
        help=f"the Calls API and Realtime endpoint base (default {DEFAULT_API_BASE})",
    )
    sip.add_argument(
        "--stats",
        action="store_true",
        help="serve GET /openai/stats: the calls' statistics as JSON (call ids included: only "
        "where the operator alone can reach it)",
    )
    sip.set_defaults(run=main)


def realtime_url(api_base: str) -> str:
    """The Realtime WebSocket below an API base: ``https://h/v1`` -> ``wss://h/v1/realtime``."""
    parts = urlsplit(api_base)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ServeError(f"--api-base must be an https:// URL, not {api_base!r}")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/realtime"


async def serve_sip(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    task_status: trio.TaskStatus[SipServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``rtagents serve sip`` until cancelled.  Raises ``AgentLoadError`` for a bad
    AGENT, :class:`~rtagents.apps.serving.ServeError` for what else the user can fix."""
    if args.max_calls < 1:
        raise ServeError("--max-calls must be at least 1")
    key = os.environ.get("OPENAI_API_KEY")
    secret = os.environ.get("OPENAI_WEBHOOK_SECRET")
    if not key:
        raise ServeError("OPENAI_API_KEY is not set: OpenAI answers SIP calls, so this needs a key")
    if not secret:
        raise ServeError(
            "OPENAI_WEBHOOK_SECRET is not set: the webhook's signing secret (whsec_...) from the "
            "project's webhook settings"
        )
    ws_url = realtime_url(args.api_base)
    source = await check_agent(args.agent)
    try:
        from rtagents.phone.calls import CallsClient
        from rtagents.phone.sip_app import WEBHOOK_PATH, create_sip_app
    except ImportError as exc:  # pragma: no cover - the [web] extra is missing
        raise ServeError(f"{exc.name or exc} is missing: {EXTRA}") from exc
    from rtagents.config import RealtimeRunConfig
    from rtagents.models import OpenAIRealtimeConfig

    try:
        app = create_sip_app(
            source,
            webhook_secret=secret,
            client=CallsClient(key, base_url=args.api_base),
            config=RealtimeRunConfig(model=OpenAIRealtimeConfig(url=ws_url, api_key=key)),
            greeting=args.greeting,
            max_calls=args.max_calls,
            stats=args.stats,
        )
    except ValueError as exc:  # e.g. a secret that is not whsec_ + base64
        raise ServeError(f"OPENAI_WEBHOOK_SECRET: {exc}") from None
    async with trio.open_nursery() as nursery:
        url = (await serve_app(nursery, app, args.host, args.port)).rstrip("/")
        print(f"listening on {url}", file=out, flush=True)
        print(
            f"{PROG}: add a webhook for realtime.call.incoming at https://<public host>"
            f"{WEBHOOK_PATH} in the OpenAI project's settings",
            file=out,
        )
        print(
            f"{PROG}: point the SIP trunk at sip:<project id>@sip.api.openai.com;transport=tls",
            file=out,
        )
        print(f"calls:   {args.api_base} (signatures checked)", file=out, flush=True)
        task_status.started(SipServer(url, WEBHOOK_PATH, app))


def main(args: argparse.Namespace) -> int:
    """``rtagents serve sip``: 0 after Ctrl-C or SIGTERM, 2 for what the user can fix."""
    return run_until_signal(serve_sip, args, PROG)
