"""One WebSocket connection of the local server: the tasks around a :class:`ServerSession`.

Theory of operation
-------------------
A :class:`Connection` runs these tasks in its own nursery:

* the **reader** loop: frame in → the :class:`~._limits.Budget` (a client over its event or
  byte budget waits, with one ``rate_limit_exceeded`` error now and then) → ``session.receive``
  → events queued for sending, and the outcome's action (start or cancel a response) carried
  out.  An exception from the core (a bug) becomes a ``server_error`` event, not the end of
  the connection;
* the **writer**, the only task that writes to the socket, fed by the :class:`Outbox`: a queue
  of batches bounded in batches and bytes.  The events one step of the core produced travel as
  one batch, and producers enter the queue in the order they built their events, so another
  task's events never land in the middle of them and event ids stay in order on the wire;
* one **response** task at a time, iterating the responder inside its own cancel scope, with a
  checkpoint after every part so that ``response.cancel`` or a barge-in stops it promptly, and
  other connections get the CPU between parts.  It first waits for the transcripts of the
  user's speech (when there are ears), stops asking for parts once the response has said all
  it may (``session.response_limit_reached()``: the response ends ``incomplete``), and always
  ends with ``session.finish_response`` → ``response.done``.  A responder that raises
  :class:`ResponderError` fails its response (``failed``, with its message); any other
  exception does too, after an ``error`` event (code ``responder_failed``) naming it;
* with a :class:`Transcriber`, the **ears** task (see _transcriber.py);
* with a turn model (a :class:`TurnJudge`), the **judge** task: it answers the session's
  newest :class:`~._turns.TurnQuery` (a ``semantic_vad`` candidate end) by running the model on a
  worker thread — one decision at a time per connection, and a newer query replaces one still
  waiting, so a connection never queues more than one — and hands the probability back to the
  session, whose outcome may end the turn and start a response.

The server never waits on one client forever.  A **watchdog** task gives up on a client
whose socket has not taken a message for ``slow_client_timeout`` seconds (it reads nothing),
and a producer gives up when the queue stayed full that long (it reads too slowly).  Giving up
stops everything but the frame in flight: a frame is never cut in half by the connection's
teardown, it gets ``close_timeout`` more seconds to go out, then the close frame follows (1008,
with the reason), so a client that reads again in time learns why.  When the writer stops (the
client is gone), every other task of the connection is cancelled too, so nothing stays parked
on a queue nobody drains.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from rtagents import protocol as p
from rtagents.audio.threads import virtual_time_stands_still

from ._common import StartResponse, StopResponse
from ._core import Outcome, ServerSession
from ._limits import Budget, Limits
from ._responders import CallTool, Responder, ResponderError, ResponseContext
from ._timeline import Timeline
from ._transcriber import Ears, Transcriber
from ._turns import TurnQuery

logger = logging.getLogger("rtagents.local")

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011


@attrs.define(eq=False)
class Outbox:
    """The events waiting for the writer: at most `max_batches` batches and `max_bytes`
    characters (one bigger batch still passes alone).  Producers wait for room in the order
    they arrived; once closed, :meth:`put` drops and :meth:`get` ends."""

    max_batches: int
    max_bytes: int
    _batches: deque[tuple[list[str], int]] = attrs.field(init=False, factory=deque)
    _bytes: int = attrs.field(init=False, default=0)
    _closed: bool = attrs.field(init=False, default=False)
    _turn: trio.StrictFIFOLock = attrs.field(init=False, factory=trio.StrictFIFOLock)
    _room: trio.lowlevel.ParkingLot = attrs.field(init=False, factory=trio.lowlevel.ParkingLot)
    _ready: trio.lowlevel.ParkingLot = attrs.field(init=False, factory=trio.lowlevel.ParkingLot)

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def _full(self, size: int) -> bool:
        return bool(self._batches) and (
            len(self._batches) >= self.max_batches or self._bytes + size > self.max_bytes
        )

    async def put(self, batch: list[str]) -> None:
        size = sum(len(text) for text in batch)
        async with self._turn:
            while not self._closed and self._full(size):
                await self._room.park()
            if self._closed:
                return
            self._batches.append((batch, size))
            self._bytes += size
            self._ready.unpark_all()

    async def get(self) -> list[str]:
        while not self._batches:
            if self._closed:
                raise trio.EndOfChannel
            await self._ready.park()
        batch, size = self._batches.popleft()
        self._bytes -= size
        self._room.unpark_all()
        return batch

    def close(self) -> None:
        self._closed = True
        self._batches.clear()
        self._bytes = 0
        self._room.unpark_all()
        self._ready.unpark_all()


class TurnJudge(Protocol):
    """A turn-completion model (e.g. smart-turn): the probability that the user has finished,
    from PCM16 at ``rate`` (blocking: it runs on a worker thread)."""

    def probability(self, pcm16: bytes, rate: int) -> float: ...


@attrs.define(eq=False)
class Connection:
    ws: WebSocketConnection
    session: ServerSession
    responder: Responder
    pace: float | None
    transcriber: Transcriber | None = None
    timeline: Timeline = attrs.field(factory=Timeline)
    limits: Limits = attrs.field(factory=Limits)
    judge: TurnJudge | None = None
    judge_limiter: trio.CapacityLimiter | None = None  # shared by a server's connections
    #: How the connection is to be closed (1000 unless the server gave up on the client).
    close_code: int = attrs.field(init=False, default=1000)
    close_reason: str | None = attrs.field(init=False, default=None)
    _ears: Ears | None = attrs.field(init=False, default=None)
    _outbox: Outbox = attrs.field(init=False)
    _scope: trio.CancelScope = attrs.field(init=False, factory=trio.CancelScope)
    _response_scope: trio.CancelScope | None = attrs.field(init=False, default=None)
    _cancel_reason: str = attrs.field(init=False, default="client_cancelled")
    # The watchdog's view of the writer: since when the frame in flight has been sending.
    _sending_since: float | None = attrs.field(init=False, default=None)
    _send_started: trio.Event = attrs.field(init=False, factory=trio.Event)
    _query: TurnQuery | None = attrs.field(init=False, default=None)  # the newest, unjudged
    _query_ready: trio.Event = attrs.field(init=False, factory=trio.Event)

    def __attrs_post_init__(self) -> None:
        self._outbox = Outbox(self.limits.send_queue_batches, self.limits.send_queue_bytes)

    async def run(self) -> None:
        with self._scope:
            async with trio.open_nursery() as nursery:
                try:
                    nursery.start_soon(self._writer)
                    nursery.start_soon(self._watchdog)
                    if self.transcriber is not None:
                        self._ears = Ears(
                            self.session, self.transcriber, self._send, self.timeline.mark
                        )
                        await nursery.start(self._ears.run)
                    if self.judge is not None:
                        nursery.start_soon(self._judge, nursery)
                    await self._send(self.session.opened())
                    await self._read(nursery)
                except ConnectionClosed:
                    pass
                finally:
                    self._stop()

    def _stop(self) -> None:
        """End every task of the connection (nothing may stay parked on the outbox)."""
        self._outbox.close()
        self._scope.cancel()

    def _give_up(self, reason: str) -> None:
        if self.close_code == 1000:
            self.close_code, self.close_reason = POLICY_VIOLATION, reason
            logger.info("closing a connection: %s", reason)
        self._stop()

    async def _read(self, nursery: trio.Nursery) -> None:
        budget = Budget(self.limits)
        while True:
            message = await self.ws.get_message()
            delay = budget.delay(len(message))
            if delay:
                if budget.should_warn():
                    await self._send(
                        self.session.error(
                            f"this connection exceeds its budget of {budget.describe()}; "
                            "the server reads from it more slowly",
                            code="rate_limit_exceeded",
                            kind="invalid_request_error",
                        )
                    )
                await trio.sleep(delay)
            budget.spend(len(message))
            try:
                outcome = self.session.receive(message)
            except Exception as exc:  # a bug in the core: say so, keep the connection
                logger.exception("the session failed on a client event")
                await self._send(
                    self.session.error(f"{type(exc).__name__}: {exc}", code="internal_error")
                )
                continue
            await self._carry_out(outcome, nursery)

    async def _carry_out(self, outcome: Outcome, nursery: trio.Nursery) -> None:
        """Send an outcome's events and do what it asks: transcribe, judge, respond, stop."""
        for event in outcome.events:
            if isinstance(event, p.InputAudioBufferSpeechStarted):
                self.timeline.mark("speech_started", event.item_id)
            elif isinstance(event, p.InputAudioBufferSpeechStopped):
                self.timeline.mark("speech_stopped", event.item_id)
        await self._send(outcome.events)
        if outcome.user_audio and self._ears is not None:
            await self._ears.put(outcome.user_audio)
        if outcome.turn_queries and self.judge is not None:
            self._query = outcome.turn_queries[-1]  # (replaces one still waiting)
            self._query_ready.set()
        action = outcome.action
        if isinstance(action, StartResponse):
            await self._send(self.session.begin_response(action))
            nursery.start_soon(self._respond)
        elif isinstance(action, StopResponse) and self._response_scope is not None:
            was_speech = any(isinstance(e, p.InputAudioBufferSpeechStarted) for e in outcome.events)
            self._cancel_reason = "turn_detected" if was_speech else "client_cancelled"
            self._response_scope.cancel()

    async def _judge(self, nursery: trio.Nursery) -> None:
        """Answer the newest turn query with the model's probability (see the docstring)."""
        judge = self.judge
        assert judge is not None
        limiter = self.judge_limiter or trio.CapacityLimiter(1)
        while True:
            await self._query_ready.wait()
            self._query_ready = trio.Event()
            query, self._query = self._query, None
            if query is None:
                continue
            try:
                with virtual_time_stands_still():  # (a mock clock waits for the model)
                    probability = await trio.to_thread.run_sync(
                        judge.probability, query.pcm16, query.rate, limiter=limiter
                    )
            except Exception:  # a failing model: the turn ends at the longest wait instead
                logger.exception("the turn model failed")
                continue
            self.timeline.mark("turn_judged", f"{probability:.3f}")
            await self._carry_out(self.session.turn_verdict(query.seq, probability), nursery)

    async def _send(self, events: list[p.WireEvent]) -> None:
        if not events:
            return
        batch = [event.to_json() for event in events]
        timeout = self.limits.slow_client_timeout
        with trio.move_on_after(timeout) as waited:
            await self._outbox.put(batch)
        if waited.cancelled_caught:
            self._give_up(f"the client read nothing for {timeout:g} s (its queue stayed full)")

    async def _writer(self) -> None:
        limits = self.limits
        try:
            while True:
                for text in await self._outbox.get():
                    # Never cut a frame in half (the client would only see garbage): teardown
                    # waits for it, the watchdog gives up on it, this deadline ends it.
                    with trio.CancelScope(shield=True) as frame:
                        now = trio.current_time()
                        frame.deadline = now + limits.slow_client_timeout + limits.close_timeout
                        self._sending_since = now
                        self._send_started.set()
                        await self.ws.send_message(text)
                    self._sending_since = None
                    if frame.cancelled_caught:
                        return
        except (ConnectionClosed, trio.EndOfChannel):
            pass
        finally:
            self._stop()  # the client is gone or given up on: so is the connection

    async def _watchdog(self) -> None:
        """Give up on a client whose socket has taken nothing for slow_client_timeout."""
        timeout = self.limits.slow_client_timeout
        while True:
            since = self._sending_since
            if since is None:
                self._send_started = trio.Event()
                await self._send_started.wait()
            elif trio.current_time() >= since + timeout:
                self._give_up(f"the client read nothing for {timeout:g} s")
                return
            else:
                await trio.sleep_until(since + timeout)

    async def _respond(self) -> None:
        session = self.session
        active = session.active
        assert active is not None
        response_id = active.id

        def mark(what: str) -> None:
            self.timeline.mark(what, response_id)

        failure: str | None = None
        limited = False
        with trio.CancelScope() as scope:
            self._response_scope = scope
            mark("response_started")
            if self._ears is not None:
                await self._ears.wait_transcripts()
            context = ResponseContext(
                conversation=session.conversation(),
                session=session.config,
                params=active.params,
                audio_output="audio" in session.output_modalities(active.params),
                mark=mark,
            )
            try:
                limited = await self._produce(context, mark)
            except ResponderError as exc:
                failure = str(exc) or type(exc).__name__
            except Exception as exc:  # any responder failure ends its response, nothing more
                logger.exception("the responder failed")
                failure = f"the responder failed: {type(exc).__name__}: {exc}"
                await self._send(session.error(failure, code="responder_failed"))
        self._response_scope = None
        mark("response_done")
        if scope.cancelled_caught:
            events = session.finish_response("cancelled", self._cancel_reason)
        elif failure is not None:
            events = session.finish_response("failed", failure)
        elif limited:
            events = session.finish_response("incomplete", "max_output_tokens")
        else:
            events = session.finish_response("completed")
        with trio.CancelScope(shield=True):
            await self._send(events)

    async def _produce(self, context: ResponseContext, mark: Callable[[str], None]) -> bool:
        """Send the responder's parts; True when it was stopped at the response's limit."""
        session = self.session
        first_audio = first_text = True
        async with contextlib.aclosing(self.responder.respond(context)) as parts:  # type: ignore[type-var]
            async for part in parts:
                if isinstance(part, CallTool):
                    mark("tool_call")
                    await self._send(session.response_function_call(part.name, part.arguments))
                else:
                    events = session.response_text(part.text) if part.text else []
                    if part.audio:
                        events += session.response_audio(part.audio)
                    await self._send(events)
                    if first_text and part.text:
                        first_text = False
                        mark("first_text_sent")
                    if first_audio and part.audio:
                        first_audio = False
                        mark("first_audio_sent")
                if session.response_limit_reached():
                    return True
                if self.pace:
                    await trio.sleep(self.pace)
                else:
                    await trio.lowlevel.checkpoint()
        return False
