"""A scripted model link: a fake of :class:`rtagents.models.OpenAIRealtimeLink` for tests.

It has the link's interface (:class:`rtagents.models.ModelLink`: ``set_handler``, ``run``,
``send``, ``send_nowait``, ``send_audio_nowait``, ``send_audio``, ``receive``/``async for``,
``aclose``, ``statistics``), so a session runs on it unchanged
(``RealtimeRunConfig(link_factory=model.link_factory)``).  Tests script it two ways:

* **steps**: each client event the session sends must match the next :class:`Step`'s
  ``expect`` (an event type, an equal event, or a predicate); the step's ``emit`` events are then
  delivered as if the server had sent them.  With ``strict=False``, unmatched sends are only
  recorded.  Mismatches are recorded, never raised inside the session; ``assert_complete()``
  raises them (and reports unconsumed steps) at the end of the test.
* **emit(...)**: deliver server events at any time.

Server events are delivered through a bounded channel (``capacity``); every sent client event
is checked against the official client-event schema by the codec (it is encoded to JSON and
decoded again), so a test catches wire-format mistakes as the real server would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import attrs
import trio

from rtagents import protocol as p
from rtagents.models import (
    LinkClosed,
    LinkConnected,
    ModelLinkError,
    OpenAIRealtimeConfig,
    RealtimeModel,
)

Expectation: TypeAlias = type | p.WireEvent | Callable[[p.WireEvent], bool]


@attrs.frozen
class Step:
    expect: Expectation
    emit: tuple[Any, ...] = ()


class UnexpectedSend(AssertionError):
    pass


@attrs.frozen(kw_only=True)
class ScriptedStatistics:
    state: str
    messages_sent: int
    messages_received: int
    remaining_steps: int


class ScriptedModel(RealtimeModel):
    """See the module docstring.  It is its own single link, so a session does not reconnect
    to it."""

    supports_reconnect = False

    def __init__(
        self,
        steps: Sequence[Step] = (),
        *,
        strict: bool = True,
        connect_events: Sequence[Any] = (),
        capacity: int = 1024,
    ) -> None:
        self.steps = list(steps)
        self.strict = strict
        self.sent: list[p.WireEvent] = []
        self.failures: list[str] = []
        self.config: OpenAIRealtimeConfig | None = None
        self._connect_events = list(connect_events)
        self._tx, self._rx = trio.open_memory_channel[Any](capacity)
        self._state = "new"
        self._received = 0
        self._ended = False
        self._handler: Callable[[Any], None] | None = None

    def open_link(self, config: OpenAIRealtimeConfig) -> ScriptedModel:
        """The model is its own (single) link."""
        self.config = config
        return self

    link_factory = open_link

    # -- the link's interface ----------------------------------------------------------------

    def set_handler(self, handler: Callable[[Any], None]) -> None:
        """Deliver events to ``handler`` from ``run``'s task (as the real link's reader does)."""
        self._handler = handler

    async def run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        self._state = "open"
        self.emit(LinkConnected(url="scripted://model"), *self._connect_events)
        task_status.started(self)
        if self._handler is None:
            return  # the consumer reads with receive() / async for
        async for event in self:
            self._handler(event)

    def send_audio_nowait(self, event: p.WireEvent | str) -> None:
        self.send_nowait(event)

    async def send_audio(self, event: p.WireEvent | str) -> None:
        await self.send(event)  # (never full: nothing to wait for)

    async def send(self, event: p.WireEvent | str) -> None:
        await trio.lowlevel.checkpoint()
        self.send_nowait(event)

    def send_nowait(self, event: p.WireEvent | str) -> None:
        if self._state == "closed":
            raise ModelLinkError("the model link is closed")  # as the real link says it
        text = event if isinstance(event, str) else event.to_json()
        decoded = p.decode_client_event(text)
        if isinstance(decoded, p.ClientProtocolError):
            self.failures.append(f"invalid client event {text[:200]}: {decoded}")
            return
        self.sent.append(decoded)
        self._match(decoded)

    async def receive(self) -> Any:
        event = await self._rx.receive()
        self._received += 1
        return event

    def __aiter__(self) -> ScriptedModel:
        return self

    async def __anext__(self) -> Any:
        if self._ended:
            raise StopAsyncIteration
        try:
            event = await self.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(event, LinkClosed):
            self._ended = True
        return event

    async def aclose(self) -> None:
        if self._state != "closed":
            self._state = "closed"
            with contextlib.suppress(trio.WouldBlock):
                self._tx.send_nowait(LinkClosed(code=1000, reason="closed", by="local"))
            self._tx.close()
        await trio.lowlevel.checkpoint()

    def statistics(self) -> ScriptedStatistics:
        return ScriptedStatistics(
            state=self._state,
            messages_sent=len(self.sent),
            messages_received=self._received,
            remaining_steps=len(self.steps),
        )

    # -- scripting ---------------------------------------------------------------------------

    def emit(self, *events: Any) -> None:
        """Deliver server events (protocol events, or link events such as ``LinkClosed``)."""
        for event in events:
            self._tx.send_nowait(event)

    def close_from_server(self, code: int = 1000, reason: str = "") -> None:
        self.emit(LinkClosed(code=code, reason=reason, by="peer"))

    def sent_of(self, kind: type) -> list[Any]:
        return [e for e in self.sent if isinstance(e, kind)]

    def assert_complete(self) -> None:
        problems = list(self.failures)
        if self.steps:
            problems.append(f"{len(self.steps)} step(s) never happened: {self.steps}")
        if problems:
            raise UnexpectedSend("; ".join(problems))

    def _match(self, event: p.WireEvent) -> None:
        if not self.steps:
            if self.strict:
                self.failures.append(f"unexpected send (no steps left): {event!r}")
            return
        expect = self.steps[0].expect
        if isinstance(expect, type):
            ok = isinstance(event, expect)
        elif isinstance(expect, p.WireEvent):
            ok = _same(expect, event)
        else:
            ok = bool(expect(event))
        if not ok:
            if self.strict:
                self.failures.append(f"expected {expect!r}, got {event!r}")
            return
        step = self.steps.pop(0)
        self.emit(*step.emit)


def _same(expected: p.WireEvent, actual: p.WireEvent) -> bool:
    """Equal on the wire, ignoring ``event_id`` unless the expectation sets one."""
    a = expected.to_wire()
    b = actual.to_wire()
    if "event_id" not in a:
        b.pop("event_id", None)
    return a == b
