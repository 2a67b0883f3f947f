"""Server events about the session as a whole: ``error``, ``session.*``, ``rate_limits.updated``.

:class:`ErrorEvent` reports that something failed, usually a client event named by
``error.event_id``; the session goes on (a server builds one for a refused client frame with
:meth:`ErrorEvent.for_client_error`).  :class:`SessionCreated` is the first event on a
connection and :class:`SessionUpdated` answers ``session.update``; both carry the whole
effective :class:`SessionConfig`.  :class:`RateLimitsUpdated` reports the remaining limits.
"""

from __future__ import annotations

import attrs

from ._client_events import ClientProtocolError
from ._event_values import ErrorDetails, RateLimit
from ._frames import WireEvent
from ._json import JSONObject
from ._session_config import SessionConfig


@attrs.frozen(kw_only=True)
class ErrorEvent(WireEvent):
    """Something failed; often a client event (``error.event_id``).  The session goes on."""

    _wire_tag = "error"

    event_id: str
    error: ErrorDetails
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def for_client_error(cls, problem: ClientProtocolError, *, event_id: str) -> ErrorEvent:
        """The ``error`` a server sends back for a client frame it could not accept."""
        return cls(
            event_id=event_id,
            error=ErrorDetails(
                type="invalid_request_error",
                code=problem.code,
                message=problem.reason,
                param=problem.param,
                event_id=problem.event_id,
            ),
        )


@attrs.frozen(kw_only=True)
class SessionCreated(WireEvent):
    """The first event on a new connection."""

    _wire_tag = "session.created"

    event_id: str
    session: SessionConfig
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class SessionUpdated(WireEvent):
    """The answer to ``session.update``: the whole session as it now stands."""

    _wire_tag = "session.updated"

    event_id: str
    session: SessionConfig
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RateLimitsUpdated(WireEvent):
    _wire_tag = "rate_limits.updated"

    event_id: str
    rate_limits: tuple[RateLimit, ...]
    raw: JSONObject | None = attrs.field(default=None, eq=False, repr=False)
