"""Response sequencing, sans-IO: one ``response.create`` at a time, never during a response.

Theory of operation
-------------------
The Realtime API refuses a ``response.create`` while a response runs
(``conversation_already_has_active_response``).  :class:`ResponseSequencer` asks for responses
on the session's behalf: :meth:`request` returns the event to send now, or ``None`` when a
response runs or a create is already in flight — then the request is remembered, and any number
of them coalesce into *one* response for everything queued, created when the running response
is done (:meth:`on_done`) or when the server refused the create in flight (:meth:`on_error`).
An app's own ``response.create`` (with its own instructions, say) is not coalesced: it waits its
turn in order, at most :data:`MAX_WAITING` of them.
Each create carries an ``event_id`` of ours, so an ``error`` naming it is recognised.
"""

from __future__ import annotations

import attrs

from rtagents import protocol as p

CREATE_ID = "rtagents_response_create_"


#: Manual creates (with their own parameters) that may wait at once; more is an app bug.
MAX_WAITING = 16


@attrs.define
class ResponseSequencer:
    active: bool = False  # a response runs: response.created seen, response.done not yet
    in_flight: str | None = None  # event_id of the create sent and not yet answered
    created: int = 0  # creates sent so far
    # Waiting requests, in order: None is the session's own (they coalesce into one), a
    # ResponseCreate is the app's own create with its parameters (sent as given, in turn).
    _waiting: list[p.ResponseCreate | None] = attrs.field(factory=list)

    @property
    def pending(self) -> bool:
        """A request waits for the running response to end."""
        return bool(self._waiting)

    def request(self, manual: p.ResponseCreate | None = None) -> p.ResponseCreate | None:
        """A response is wanted (``manual``: the app's own ``response.create``): the create to
        send now, or None (it will come later, in order)."""
        if self.active or self.in_flight is not None:
            if manual is None:
                if None not in self._waiting:
                    self._waiting.append(None)
            elif sum(w is not None for w in self._waiting) >= MAX_WAITING:
                raise ValueError(f"more than {MAX_WAITING} response.create events wait already")
            else:
                self._waiting.append(manual)
            return None
        return self._create(manual)

    def on_created(self) -> None:
        self.active = True
        self.in_flight = None

    def on_done(self) -> p.ResponseCreate | None:
        self.active = False
        return self._pending_create()

    def give_up(self) -> p.ResponseCreate | None:
        """The session stopped waiting for the running response (or the create in flight):
        go on with what waits."""
        self.active = False
        self.in_flight = None
        return self._pending_create()

    def on_error(self, event_id: str | None) -> p.ResponseCreate | None:
        """An ``error`` event: if it refused our create in flight, go on with a pending one."""
        if self.in_flight is None or event_id != self.in_flight:
            return None
        self.in_flight = None
        return None if self.active else self._pending_create()

    def _pending_create(self) -> p.ResponseCreate | None:
        if not self._waiting:
            return None
        return self._create(self._waiting.pop(0))

    def _create(self, manual: p.ResponseCreate | None) -> p.ResponseCreate:
        self.created += 1
        if manual is not None and manual.event_id:
            self.in_flight = manual.event_id
            return manual
        event_id = f"{CREATE_ID}{self.created}"
        self.in_flight = event_id
        if manual is not None:
            return attrs.evolve(manual, event_id=event_id)
        return p.ResponseCreate(event_id=event_id)
