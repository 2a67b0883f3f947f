"""What the parts of the local server's core share: ids, refusals and the adapter's actions.

Theory of operation
-------------------
The core is split by job (``_config``, ``_input``, ``_conversation``, ``_response_builder``,
coordinated by ``_core.ServerSession``), but the wire sees one session, so the parts share:

* one :class:`IdSource`, from which every event, item, response and call id is drawn, so ids
  form one increasing sequence (``event_000001``, ``item_000002``, ...) in the order the events
  are built;
* :class:`ClientError`, which a part raises when a client event cannot be carried out (an
  unknown item, an empty buffer, ...).  ``ServerSession.receive`` catches it at the dispatch
  boundary and answers with an ``error`` event naming the client's ``event_id``
  (:func:`error_event`), so bad client input never escapes as an exception;
* the *actions* a step can ask of the adapter, which runs responses as tasks:
  :class:`StartResponse` and :class:`StopResponse`.

Pure values and counters: no I/O, no clock, no trio.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TypeAlias

import attrs

from rtagents import protocol as p


@attrs.define
class IdSource:
    """The session's ids: ``<prefix>_<n>`` with one counter for every prefix."""

    _counter: Callable[[], int] = attrs.field(factory=lambda: itertools.count(1).__next__)

    def new(self, prefix: str) -> str:
        return f"{prefix}_{self._counter():06d}"

    def event(self) -> str:
        return self.new("event")


class ClientError(Exception):
    """A client event the session refuses; becomes an ``error`` event (see the module doc)."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


def error_event(ids: IdSource, problem: ClientError, *, event_id: str | None) -> p.ErrorEvent:
    """The ``error`` answering the client event ``event_id`` that raised ``problem``."""
    return p.ErrorEvent(
        event_id=ids.event(),
        error=p.ErrorDetails(
            type="invalid_request_error",
            code=problem.code,
            message=problem.message,
            param=problem.param,
            event_id=event_id,
        ),
    )


@attrs.frozen
class StartResponse:
    """Run a response (``params`` from ``response.create``, None for a turn the VAD ended)."""

    response_id: str
    params: p.ResponseParams | None


@attrs.frozen
class StopResponse:
    """Cancel the running response (``response.cancel``, or a barge-in)."""

    response_id: str


Action: TypeAlias = StartResponse | StopResponse
