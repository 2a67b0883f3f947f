"""Response sequencing, sans-IO: one ``response.create`` at a time, never during a response.

Theory of operation
-------------------
The Realtime API refuses a ``response.create`` while a response runs
(``conversation_already_has_active_response``).  :class:`ResponseSequencer` asks for responses
on the session's behalf: :meth:`request` returns the event to send now, or ``None`` when a
response runs or a create is already in flight — then the request is remembered, and any number
of them coalesce into *one* response for everything queued, created when the running response
is done (:meth:`on_done`) or when the server refused the create in flight (:meth:`on_error`).
Each create carries an ``event_id`` of ours, so an ``error`` naming it is recognised.
"""

from __future__ import annotations

import attrs

from rtagents import protocol as p

CREATE_ID = "rtagents_response_create_"


@attrs.define
class ResponseSequencer:
    active: bool = False  # a response runs: response.created seen, response.done not yet
    in_flight: str | None = None  # event_id of the create sent and not yet answered
    pending: bool = False  # a request waits for the running response to end
    created: int = 0  # creates sent so far

    def request(self) -> p.ResponseCreate | None:
        """A response is wanted: the create to send now, or None (it will come later)."""
        if self.active or self.in_flight is not None:
            self.pending = True
            return None
        return self._create()

    def on_created(self) -> None:
        self.active = True
        self.in_flight = None

    def on_done(self) -> p.ResponseCreate | None:
        self.active = False
        return self._pending_create()

    def on_error(self, event_id: str | None) -> p.ResponseCreate | None:
        """An ``error`` event: if it refused our create in flight, go on with a pending one."""
        if self.in_flight is None or event_id != self.in_flight:
            return None
        self.in_flight = None
        return None if self.active else self._pending_create()

    def _pending_create(self) -> p.ResponseCreate | None:
        if not self.pending:
            return None
        self.pending = False
        return self._create()

    def _create(self) -> p.ResponseCreate:
        self.created += 1
        event_id = f"{CREATE_ID}{self.created}"
        self.in_flight = event_id
        return p.ResponseCreate(event_id=event_id)
