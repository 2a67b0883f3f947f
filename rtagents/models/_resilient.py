"""A link that survives its connection: reconnect with backoff, resume, replay the user's audio.

Theory of operation
-------------------
:class:`ResilientLink` has a link's interface (:class:`~rtagents.models.ModelLink`) and runs a
succession of single-use links made by ``open_link()``.  While one is up, sends go straight to
it.  When it ends without being asked to (peer close, network error, keepalive timeout — a dead
peer is noticed within ``keepalive_interval + keepalive_timeout``, 5 s by default), the
resilient link does not pass the ``LinkClosed`` on: it reports :class:`LinkLost` and connects
again after a jittered, growing delay (``ReconnectPolicy``).  Once a new link is up it

1. calls ``on_resume(link)`` — the session sends its configuration and re-creates the
   conversation (:mod:`rtagents._core.restore`) directly on the new link;
2. sends again the user messages the old server never showed in its conversation (each
   message item gets an id of ours when it is sent, so the echo can be matched), then, in
   order, the control events queued during the outage (at most ``control_backlog``; past it a
   send fails with ``ModelLinkError``);
3. sends again the user's audio not answered yet (the **replay buffer**: every
   ``input_audio_buffer.append`` since the audio of the last turn a ``response.done`` answered
   — turns are told apart by the server's ``input_audio_buffer.committed`` — at most
   ``audio_seconds``; past it the oldest appends are dropped and counted) — so a turn cut by the
   outage, committed but unanswered, or spoken during the outage reaches the new server whole;
4. reports :class:`LinkRestored` (attempts, outage, what was and was not restored).

If every attempt of an outage fails (``attempts``), or the session closes the link, the final
``LinkClosed`` is reported and ``run`` returns.  A first connection that fails raises, as a
plain link does.  Deliberate closes never reconnect.
"""

from __future__ import annotations

import collections
import itertools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from rtagents import protocol as p
from rtagents._core.link_events import LinkClosed, LinkLost, LinkRestored
from rtagents.models._link import ModelLink
from rtagents.models._openai import ModelLinkError, _single_exceptions

_ITEM_ECHOES = (p.ConversationItemAdded, p.ConversationItemCreated, p.ConversationItemDone)


@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """How a session reconnects.  Delays grow ``first_delay`` × 2ⁿ up to ``max_delay``, each
    shortened at random by up to ``jitter`` of itself (so many sessions do not reconnect in
    step).  ``audio_seconds`` of user audio are kept for replay (20 ms frames)."""

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    first_delay: float = attrs.field(default=0.25, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=4.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    audio_seconds: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    control_backlog: int = attrs.field(default=64, validator=attrs.validators.ge(1))

    def delay(self, attempt: int, rng: random.Random) -> float:
        base: float = min(self.max_delay, self.first_delay * 2.0**attempt)
        return base * (1 - self.jitter * rng.random())


@attrs.frozen(kw_only=True)
class ResilientStatistics:
    state: str
    connections: int  # links opened successfully
    outages: int
    reconnect_attempts: int
    audio_replayed: int
    audio_dropped: int  # appends beyond the replay buffer (lost)
    backlog_sent: int
    link: Any  # the current link's statistics (None while down)


class ResilientLink:
    """See the module docstring."""

    def __init__(
        self,
        open_link: Callable[[], ModelLink],
        policy: ReconnectPolicy,
        on_resume: Callable[[ModelLink], Awaitable[Any]],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._open_link = open_link
        self.policy = policy
        self._on_resume = on_resume
        self._rng = rng or random.Random()
        self._session_tag = f"{self._rng.getrandbits(32):08x}"
        self._handler: Callable[[Any], None] | None = None
        self._link: ModelLink | None = None  # the link sends go to; None while down
        self._closing = False
        self._lost: LinkClosed | None = None  # how the current link ended, if unexpectedly
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._backlog: collections.deque[tuple[p.ClientEvent | str, bool]] = collections.deque()
        frames = int(policy.audio_seconds * 50)
        # (turn, append): every append since the audio of the last answered turn; `turn` counts
        # the server's commits (the turn an append belongs to).
        self._replay: collections.deque[tuple[int, int, p.ClientEvent | str]] = collections.deque(
            maxlen=frames
        )
        self._appends = itertools.count()  # sequence numbers of the appends in the buffer
        # Messages sent but not yet seen in the server's conversation: sent again after a
        # resume (the old server may never have had them).  Each gets an id of ours to match.
        self._unconfirmed: dict[str, p.ConversationItemCreate] = {}
        self._ids = itertools.count(1)
        self._turn = 0  # appends go to this turn until the server commits it
        self._answering = 0  # the running response answers the turns before this one
        self._state = "new"
        self._counts = dict.fromkeys(
            (
                "connections",
                "outages",
                "reconnect_attempts",
                "audio_replayed",
                "audio_dropped",
                "backlog_sent",
            ),
            0,
        )

    @property
    def closing(self) -> bool:
        """The session asked the link to close (it will not reconnect)."""
        return self._closing

    @property
    def replay_pending(self) -> bool:
        """User audio since the last answer waits to be sent again on the new connection."""
        return bool(self._replay)

    @property
    def lost(self) -> LinkClosed | None:
        """How the current link ended, if it ended unexpectedly."""
        return self._lost

    # -- the link interface -------------------------------------------------------------------

    def set_handler(self, handler: Callable[[Any], None]) -> None:
        self._handler = handler

    async def run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        first = True
        failures = 0
        lost_at = 0.0
        try:
            with trio.CancelScope() as self._scope:
                while not self.closing:
                    link = self._open_link()
                    link.set_handler(self._on_event)
                    self._lost = None
                    try:
                        with _single_exceptions(), trio.CancelScope():
                            async with trio.open_nursery() as nursery:
                                await nursery.start(link.run)
                                self._counts["connections"] += 1
                                if not first:
                                    await self._resume(link, failures + 1, lost_at)
                                self._link = link
                                self._state = "open"
                                if first:
                                    first = False
                                    task_status.started(self)
                    except ModelLinkError as exc:
                        if first:
                            raise
                        failures += 1
                        if failures >= self.policy.attempts:
                            self._publish(LinkClosed(code=None, reason=str(exc), by="error"))
                            return
                        await trio.sleep(self.policy.delay(failures, self._rng))
                        continue
                    finally:
                        self._link = None
                    lost = self.lost  # set by _on_event when the link ended unexpectedly
                    if self.closing or lost is None:
                        return  # closed by us, or the link ended cleanly: it said LinkClosed
                    self._state = "reconnecting"
                    self._counts["outages"] += 1
                    failures = 0
                    lost_at = trio.current_time()
                    by = lost.by if lost.by != "local" else "error"
                    self._publish(LinkLost(code=lost.code, reason=lost.reason, by=by))
                    await trio.sleep(self.policy.delay(0, self._rng))
        finally:
            self._state = "closed"
            self._done.set()

    async def _resume(self, link: ModelLink, attempts: int, lost_at: float) -> None:
        """On a new link: the session's configuration and conversation, then what waited."""
        self._counts["reconnect_attempts"] += attempts
        report = await self._on_resume(link)
        for create in list(self._unconfirmed.values()):
            await link.send(create)
        while self._backlog:
            event, _ = self._backlog.popleft()
            await link.send(event)
            self._counts["backlog_sent"] += 1
        # Through the waiting lane: a burst of replay must not overflow the audio lane (which
        # drops its oldest), and the outbox keeps the order either way.
        replayed = 0
        last = -1  # the sequence number of the last append sent again
        while self._replay and self._replay[-1][1] > last:
            _, seq, append = next(e for e in self._replay if e[1] > last)
            await link.send(append)
            last = seq
            replayed += 1
        self._counts["audio_replayed"] += replayed
        restored, skipped = report if report is not None else (0, ())
        self._publish(
            LinkRestored(
                attempts=attempts,
                outage_s=trio.current_time() - lost_at,
                restored_items=restored,
                not_restored=tuple(skipped),
                audio_replayed=replayed,
                audio_dropped=self._counts["audio_dropped"],
            )
        )

    def _on_event(self, event: Any) -> None:
        if isinstance(event, LinkClosed):
            if self._closing or event.by == "local":
                self._publish(event)  # the end, as asked
            elif event.code == 1000 and event.by == "peer":
                self._publish(event)  # the server ended the session on purpose: not a fault
            else:
                self._lost = event  # run() reconnects
            return
        if isinstance(event, _ITEM_ECHOES):
            self._unconfirmed.pop(getattr(event.item, "id", None) or "", None)
        elif isinstance(event, p.InputAudioBufferCommitted):
            self._turn += 1
        elif isinstance(event, p.ResponseCreated):
            self._answering = self._turn
        elif isinstance(event, p.ResponseDone):
            # The turns it answered are in the history now: their audio need not be replayed
            # (what the user says meanwhile belongs to later turns, and stays).
            replay = self._replay
            while replay and replay[0][0] < self._answering:
                replay.popleft()
        self._publish(event)

    def _publish(self, event: Any) -> None:
        if self._handler is not None:
            self._handler(event)

    def _track(self, event: p.ClientEvent | str) -> p.ClientEvent | str:
        """A message item gets an id of ours and is kept until the server shows it."""
        if isinstance(event, p.ConversationItemCreate) and isinstance(event.item, p.MessageItem):
            item_id = event.item.id
            if item_id is None:
                item_id = f"rtmsg_{self._session_tag}_{next(self._ids)}"
                event = attrs.evolve(event, item=attrs.evolve(event.item, id=item_id))
            self._unconfirmed[item_id] = event
            while len(self._unconfirmed) > self.policy.control_backlog:
                self._unconfirmed.pop(next(iter(self._unconfirmed)))
        return event

    # A connection that has just ended refuses sends (``ModelLinkError``) before ``run``
    # notices and reconnects: until the session closes the link, such a send is queued for the
    # next connection like any send while down (audio: the replay buffer has it).

    async def send(self, event: p.ClientEvent | str) -> None:
        event = self._track(event)
        link = self._link
        if link is not None:
            try:
                await link.send(event)
                return
            except ModelLinkError:
                if self._closing:
                    raise
        self._queue(event)
        await trio.lowlevel.checkpoint()

    def send_nowait(self, event: p.ClientEvent | str) -> None:
        event = self._track(event)
        link = self._link
        if link is not None:
            try:
                link.send_nowait(event)
                return
            except ModelLinkError:
                if self._closing:
                    raise
        self._queue(event)

    def send_audio_nowait(self, event: p.ClientEvent | str) -> None:
        link = self._link
        if link is not None:
            try:
                link.send_audio_nowait(event)
            except ModelLinkError:
                if self._closing:
                    raise
                link = None  # it has just ended: sent again from the replay buffer
        elif self._closing or self._state == "closed":
            raise ModelLinkError("the model link is closed")
        self._keep_audio(event, sent=link is not None)

    async def send_audio(self, event: p.ClientEvent | str) -> None:
        """The app's audio: backpressure from the connection's audio lane while up; while
        down it goes to the replay buffer, like a captured frame."""
        link = self._link
        if link is not None:
            try:
                await link.send_audio(event)
            except ModelLinkError:
                if self._closing:
                    raise
                link = None  # it has just ended: sent again from the replay buffer
        elif self._closing or self._state == "closed":
            raise ModelLinkError("the model link is closed")
        if link is None:
            # Down: a schedule point, so that a sender in a tight loop lets the reconnect run.
            await trio.lowlevel.checkpoint()
        self._keep_audio(event, sent=link is not None)

    def _keep_audio(self, event: p.ClientEvent | str, *, sent: bool) -> None:
        """Keep an append for replay after a reconnect (its turn: dropped once answered)."""
        replay = self._replay
        if replay.maxlen:
            if not sent and len(replay) == replay.maxlen:
                self._counts["audio_dropped"] += 1  # down, and past the buffer: lost
            replay.append((self._turn, next(self._appends), event))

    def _queue(self, event: p.ClientEvent | str) -> None:
        if self._closing or self._state == "closed":
            raise ModelLinkError("the model link is closed")
        if len(self._backlog) >= self.policy.control_backlog:
            raise ModelLinkError("the model link is down and its backlog is full")
        self._backlog.append((event, False))

    async def aclose(self) -> None:
        self._closing = True
        link = self._link
        if link is not None:
            await link.aclose()
        if self._scope is not None and self._state != "open":
            self._scope.cancel()  # waiting to reconnect: stop now
        reconnecting = self._state == "reconnecting"
        if self._state != "new":
            with trio.move_on_after(5):
                await self._done.wait()
        if reconnecting:  # no link to say it: the end, as asked
            self._publish(LinkClosed(code=1000, reason="client closed", by="local"))
        self._state = "closed"

    def statistics(self) -> ResilientStatistics:
        link = self._link
        return ResilientStatistics(
            state=self._state,
            link=link.statistics() if link is not None else None,
            **self._counts,
        )


def open_model_link(
    model: Any,
    config: Any,
    reconnect: ReconnectPolicy | None,
    on_resume: Callable[[ModelLink], Awaitable[Any]],
) -> Any:
    """The link a session runs: a :class:`ResilientLink` over ``model.open_link(config)`` when
    `reconnect` is given and the model can open fresh connections, else one plain link."""
    if reconnect is not None and getattr(model, "supports_reconnect", True):
        return ResilientLink(lambda: model.open_link(config), reconnect, on_resume)
    return model.open_link(config)
