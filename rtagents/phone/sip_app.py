"""``create_sip_app``: the webhook endpoint of OpenAI SIP calls, as an ASGI app (Starlette) on
trio.

``POST /openai/webhook`` takes OpenAI's deliveries (the raw body goes to
:meth:`~rtagents.phone.sip.SipService.webhook`, which checks the signature before reading it:
400 for a forged, stale or malformed delivery, 2xx for a duplicate or another event type, 502
when the Calls API failed so OpenAI delivers it again); ``GET /`` answers ``ok`` for a load
balancer's health check; ``GET /openai/stats`` (opt-in) the calls' statistics as JSON.  The
app's lifespan runs the :class:`~rtagents.phone.sip.SipService` (``app.state.rtagents_sip``),
whose nursery holds every call: a server like hypercorn runs it; a test runs
``service.run`` itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from rtagents.apps.loader import AgentLike, resolve_agent
from rtagents.config import RealtimeRunConfig
from rtagents.models import RealtimeModel
from rtagents.phone.calls import CallsClient
from rtagents.phone.sip import SipCall, SipService

WEBHOOK_PATH = "/openai/webhook"
SIP_STATS_PATH = "/openai/stats"


def create_sip_app(
    agent: AgentLike = None,
    *,
    webhook_secret: str,
    client: CallsClient | None = None,
    config: RealtimeRunConfig | Mapping[str, Any] | None = None,
    model: Callable[[], RealtimeModel] | None = None,
    greeting: str | None = None,
    max_calls: int = 100,
    stats: bool = False,
    on_event: Callable[[SipCall, Any], None] | None = None,
) -> Starlette:
    """The webhook app for `agent` (a spec, a ``RealtimeAgent`` or a factory given each call's
    :class:`~rtagents.phone.sip.SipCallInfo`; None: the demo agent).  `webhook_secret` is the
    project's (``whsec_...``, ``OPENAI_WEBHOOK_SECRET``); `client` the Calls API (default:
    OpenAI's, with ``OPENAI_API_KEY``); `config` each call's run config; `model` makes each
    call's model (default ``OpenAIRealtimeSIPModel``); `greeting` what the agent says first (None:
    its instructions decide); `max_calls` open at once (more are rejected busy)."""
    if not webhook_secret:
        raise ValueError("a webhook secret is required (OPENAI_WEBHOOK_SECRET)")
    service = SipService(
        resolve_agent(agent),
        webhook_secret,
        client or CallsClient(),
        config=RealtimeRunConfig.coerce(config),
        model=model,
        greeting=greeting,
        max_calls=max_calls,
        on_event=on_event,
    )

    async def webhook(request: Request) -> Response:
        answer = await service.webhook(await request.body(), request.headers)
        return Response(answer.json(), status_code=answer.status, media_type="application/json")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def calls(request: Request) -> Response:
        return JSONResponse(service.statistics())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            yield
            nursery.cancel_scope.cancel()

    routes: list[Any] = [
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        Route("/", health, methods=["GET"]),
    ]
    if stats:
        routes.append(Route(SIP_STATS_PATH, calls, methods=["GET"]))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.rtagents_sip = service
    return app
