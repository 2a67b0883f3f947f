"""SIP calls through OpenAI: your agent answering a SIP trunk (e.g. Twilio Elastic SIP Trunking)
that points at ``sip:<project>@sip.api.openai.com``.

Theory of operation
-------------------
The call's audio never passes through us: OpenAI terminates the SIP leg and runs the model next
to it.  We see the call three ways:

1. a **webhook** (``realtime.call.incoming``), which :meth:`SipService.webhook` checks —
   Standard Webhooks signature with the project's webhook secret, timestamp within the
   tolerance, a ``webhook-id`` seen before answered 2xx and otherwise ignored (a replay, or a
   retry of a delivery we handled) — and reads (:mod:`rtagents.protocol.calls`);
2. the **Calls API**: the webhook's handler builds the agent for the call (a factory gets a
   :class:`SipCallInfo`) and accepts with the session a run of that agent starts with
   (:func:`rtagents.runner.build_initial_session_payload`: instructions, tools, voice, turn
   detection; no audio formats), or rejects — 486 Busy when ``max_calls`` are open, 500 when
   the agent cannot be built.  A call already running (the same ``call_id`` delivered twice) is
   not accepted again.  A 404 means the caller hung up first: nothing to do.  An API failure
   answers the webhook 502, so OpenAI delivers it again;
3. a **control WebSocket**, ``wss://.../v1/realtime?call_id=...``: a :class:`SipCall` runs a
   normal :class:`~rtagents.RealtimeSession` on it (``model_config={"call_id": ...}``: the
   SDK's ``OpenAIRealtimeSIPModel``), greets the caller with a ``response.create`` (the agent's
   own words, or ``greeting``), and from then on tools, handoffs, guardrails, transcripts and
   key presses (:class:`~rtagents.events.RealtimeDtmf`) work as in any session.  The server
   plays the agent's audio and truncates it at what the caller heard; the session sends no
   truncation of its own.  The call ends when OpenAI closes the socket (the caller hung up),
   the session ends, or :meth:`SipCall.hang_up`.

Every call runs in the service's nursery (:meth:`SipService.run`), so the webhook answers as soon
as the call is accepted; calls share nothing but the agent source and the API client.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio

from rtagents.apps.loader import build_agent
from rtagents.apps.loader import one_line as _one_line
from rtagents.config import RealtimeRunConfig
from rtagents.events import RealtimeDtmf, RealtimeError
from rtagents.model_inputs import RealtimeModelSendRawMessage
from rtagents.models import OpenAIRealtimeSIPModel, RealtimeModel
from rtagents.phone.calls import CallsAPIError, CallsClient
from rtagents.protocol import calls as c
from rtagents.protocol.webhooks import (
    SignatureError,
    StandardWebhookVerifier,
    WebhookReplay,
)
from rtagents.runner import build_initial_session_payload, open_session
from rtagents.session import RealtimeSession

log = logging.getLogger("rtagents.phone")

#: SIP statuses of a reject.
BUSY = 486
SERVER_ERROR = 500


@attrs.frozen
class SipCallInfo:
    """Who is calling: what an agent factory is given (one agent per call).  The SIP headers
    are the caller's trunk's to choose: treat them as untrusted."""

    call_id: str
    sip_headers: tuple[tuple[str, str], ...]
    caller: str | None
    callee: str | None

    @classmethod
    def from_incoming(cls, call: c.IncomingCall) -> SipCallInfo:
        return cls(call.call_id, call.sip_headers, call.caller, call.callee)


@attrs.frozen(kw_only=True)
class SipCallStatistics:
    call_id: str
    started_at: float  # trio.current_time() when accepted
    duration_s: float
    user_turns: int
    agent_turns: int
    dtmf: int
    errors: int
    ended_by: str | None  # "caller", "agent", "error", "server" ...


class SipCall:
    """One accepted call's control session; see the module docstring."""

    def __init__(
        self,
        info: SipCallInfo,
        agent: Any,
        *,
        config: RealtimeRunConfig,
        model: Callable[[], RealtimeModel] | None,
        greeting: str | None,
        on_event: Callable[[SipCall, Any], None] | None = None,
    ) -> None:
        self.info = info
        self.agent = agent
        self.config = config
        self.model = model
        self.greeting = greeting
        self.on_event = on_event
        self.session: RealtimeSession | None = None
        self.started_at = trio.current_time()
        self.ended_at: float | None = None
        self.ended_by: str | None = None
        self._counts = collections.Counter[str]()
        self._scope = trio.CancelScope()

    async def run(self) -> None:
        """Attach to the call and run it to its end."""
        model = self.model() if self.model is not None else OpenAIRealtimeSIPModel()
        try:
            with self._scope:
                async with open_session(
                    self.agent,
                    self.config,
                    context=self.info,
                    model=model,
                    model_config={"call_id": self.info.call_id},
                ) as session:
                    self.session = session
                    await session.model.send_event(greeting_event(self.greeting))
                    async for event in session:
                        self._count(event)
                        if self.on_event is not None:
                            self.on_event(self, event)
                    self.ended_by = self.ended_by or _ended_by(session.ended_by)
        finally:
            self.ended_at = trio.current_time()
            if self._scope.cancelled_caught and self.ended_by is None:
                self.ended_by = "agent"

    def hang_up(self) -> None:
        """End our side of the call now (the service then hangs up through the API)."""
        self.ended_by = self.ended_by or "agent"
        self._scope.cancel()

    def _count(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if isinstance(event, RealtimeDtmf):
            self._counts["dtmf"] += 1
        elif isinstance(event, RealtimeError):
            self._counts["errors"] += 1
        elif kind == "history_added":
            role = getattr(getattr(event, "item", None), "role", None)
            if role in ("user", "assistant"):
                self._counts[role] += 1

    def statistics(self) -> SipCallStatistics:
        end = self.ended_at if self.ended_at is not None else trio.current_time()
        return SipCallStatistics(
            call_id=self.info.call_id,
            started_at=self.started_at,
            duration_s=end - self.started_at,
            user_turns=self._counts["user"],
            agent_turns=self._counts["assistant"],
            dtmf=self._counts["dtmf"],
            errors=self._counts["errors"],
            ended_by=self.ended_by,
        )


def _ended_by(session_ended_by: str | None) -> str:
    return {"server": "caller", None: "caller"}.get(session_ended_by, session_ended_by or "caller")


def greeting_event(greeting: str | None) -> RealtimeModelSendRawMessage:
    """The raw ``response.create`` that greets the caller: the agent's own opening (its
    instructions decide), or `greeting` said as given."""
    event: dict[str, Any] = {"type": "response.create"}
    if greeting:
        instructions = f"Greet the caller by saying exactly this, then listen: {greeting}"
        event["other_data"] = {"response": {"instructions": instructions}}
    return RealtimeModelSendRawMessage(event)  # type: ignore[arg-type]


@attrs.frozen
class WebhookAnswer:
    """What the webhook endpoint answers: an HTTP status and a short JSON body."""

    status: int
    body: Mapping[str, Any]

    def json(self) -> bytes:
        return json.dumps(self.body).encode()


@attrs.define(eq=False)
class SipService:
    """The calls of one server (``app.state.rtagents_sip``): the webhook's logic, the open
    calls (by ``call_id``), the statistics of the last 16 that ended, and what was refused.

    ``agent`` is a ``RealtimeAgent`` or a factory (given the :class:`SipCallInfo`); ``secret``
    the project's webhook secret (``whsec_...``); ``client`` the Calls API; ``model`` makes a
    call's model (default ``OpenAIRealtimeSIPModel``); ``clock`` gives Unix time for the
    signature's timestamp check."""

    agent: Any
    secret: str = attrs.field(repr=False)
    client: CallsClient
    config: RealtimeRunConfig = attrs.field(factory=RealtimeRunConfig)
    model: Callable[[], RealtimeModel] | None = None
    greeting: str | None = None
    max_calls: int = 100
    tolerance: float = 300.0
    clock: Callable[[], float] = time.time
    on_event: Callable[[SipCall, Any], None] | None = None
    calls: dict[str, SipCall] = attrs.field(factory=dict)
    recent: collections.deque[SipCallStatistics] = attrs.field(
        factory=lambda: collections.deque(maxlen=16)
    )
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    _verifier: StandardWebhookVerifier = attrs.field(init=False, repr=False)
    _nursery: trio.Nursery | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if self.max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self._verifier = StandardWebhookVerifier(self.secret, tolerance=self.tolerance)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the calls' nursery until cancelled (an ASGI lifespan, or a test's nursery)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            await self.client.aclose()

    def _refuse(self, what: str, reason: str) -> WebhookAnswer:
        self.counts[what] += 1
        log.warning("refused a webhook: %s", reason)
        return WebhookAnswer(400, {"error": reason})

    async def webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        """Handle one delivery to the webhook endpoint (raw body, its headers)."""
        if self._nursery is None:
            return WebhookAnswer(503, {"error": "not running"})
        try:
            self._verifier.verify(body, headers, self.clock())
        except WebhookReplay:
            self.counts["duplicate"] += 1
            log.info("a webhook delivered again: ignored")
            return WebhookAnswer(200, {"ignored": "delivered before"})
        except SignatureError as exc:
            return self._refuse("forged", str(exc))
        event = c.parse_webhook(body)
        if isinstance(event, c.MalformedWebhook):
            return self._refuse("malformed", event.reason)
        if isinstance(event, c.OtherWebhook):
            self.counts["other"] += 1
            return WebhookAnswer(200, {"ignored": event.type})
        return await self._incoming(event)

    async def _incoming(self, event: c.IncomingCall) -> WebhookAnswer:
        call_id = event.call_id
        if call_id in self.calls:
            self.counts["duplicate"] += 1
            return WebhookAnswer(200, {"ignored": "call already running"})
        try:
            if len(self.calls) >= self.max_calls:
                self.counts["busy"] += 1
                log.warning("call %s rejected: %d calls are open", call_id, len(self.calls))
                await self.client.reject(call_id, BUSY)
                return WebhookAnswer(200, {"rejected": BUSY})
            info = SipCallInfo.from_incoming(event)
            try:
                agent = await build_agent(self.agent, info, "AGENT")
                payload = await build_initial_session_payload(
                    agent, context=info, run_config=self.config
                )
            except Exception as exc:  # the agent's fault: this call is refused, never the server
                self.counts["agent_failed"] += 1
                log.error("call %s rejected: %s", call_id, _one_line(exc))
                await self.client.reject(call_id, SERVER_ERROR)
                return WebhookAnswer(200, {"rejected": SERVER_ERROR})
            if not await self.client.accept(call_id, payload):
                self.counts["gone"] += 1
                log.info("call %s ended before it was accepted", call_id)
                return WebhookAnswer(200, {"ignored": "call gone"})
        except CallsAPIError as exc:
            self.counts["api_failed"] += 1
            log.error("call %s: %s", call_id, exc)
            return WebhookAnswer(502, {"error": str(exc)})
        call = SipCall(
            info,
            agent,
            config=self.config,
            model=self.model,
            greeting=self.greeting,
            on_event=self.on_event,
        )
        self.calls[call_id] = call
        self.counts["accepted"] += 1
        assert self._nursery is not None
        self._nursery.start_soon(self._run_call, call)
        return WebhookAnswer(200, {"accepted": call_id})

    async def _run_call(self, call: SipCall) -> None:
        try:
            await call.run()
        except Exception as exc:  # one call failing is that call's end, not the server's
            call.ended_by = "error"
            log.warning("call %s failed: %s", call.info.call_id, _one_line(exc))
        finally:
            del self.calls[call.info.call_id]
            self.recent.append(call.statistics())
            if call.ended_by in ("agent", "error"):  # our side ended it: end the SIP leg too
                with trio.move_on_after(5) as scope:
                    scope.shield = True
                    try:
                        await self.client.hangup(call.info.call_id)
                    except CallsAPIError as exc:
                        log.warning("call %s: %s", call.info.call_id, exc)

    def statistics(self) -> dict[str, Any]:
        """Open and recently ended calls, and the webhook's counts, as JSON-ready data."""
        calls = [*self.recent, *(call.statistics() for call in self.calls.values())]
        return {
            "open": len(self.calls),
            "counts": dict(self.counts),
            "calls": [attrs.asdict(s) for s in calls],
        }
