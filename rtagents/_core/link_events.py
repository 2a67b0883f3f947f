"""The model link's own events: values that bracket the server's events on a link's stream.

A link delivers one :class:`LinkConnected` when its WebSocket opens and one final
:class:`LinkClosed` saying who closed it and why; in between, server events (or protocol-error
values).  A resilient link (:mod:`rtagents.models._resilient`) may also deliver
:class:`LinkLost` / :class:`LinkRestored` pairs: a connection lost and the conversation resumed
on a new one.  Plain values, so that the sans-IO router can handle them without importing a link.
"""

from __future__ import annotations

from typing import Literal

import attrs


@attrs.frozen(kw_only=True)
class LinkConnected:
    """The WebSocket is open; ``url`` has no secrets (the key travels in a header)."""

    url: str
    type: Literal["link.connected"] = "link.connected"


@attrs.frozen(kw_only=True)
class LinkClosed:
    """The last event of a link: who closed it and why."""

    code: int | None
    reason: str
    by: Literal["peer", "local", "keepalive", "error"]
    type: Literal["link.closed"] = "link.closed"

    @property
    def ended_by(self) -> Literal["app", "server", "error"]:
        """Whose end it was: the app's (closed locally), the server's (a clean close), or an
        error's (anything else)."""
        if self.by == "local":
            return "app"
        return "server" if self.by == "peer" and self.code == 1000 else "error"


@attrs.frozen(kw_only=True)
class LinkLost:
    """A resilient link lost its connection unexpectedly and is reconnecting (not the end: a
    :class:`LinkRestored` or a final :class:`LinkClosed` follows)."""

    code: int | None
    reason: str
    by: Literal["peer", "keepalive", "error"]
    type: Literal["link.lost"] = "link.lost"


@attrs.frozen(kw_only=True)
class LinkRestored:
    """A resilient link is connected again and has resumed the conversation."""

    attempts: int  # connection attempts this outage took
    outage_s: float  # from the loss to the resume
    restored_items: int  # history items re-created on the new connection
    not_restored: tuple[str, ...]  # what could not be restored, and why
    audio_replayed: int  # user audio appends sent again (since the last answer)
    audio_dropped: int  # user audio appends beyond the replay buffer, lost
    type: Literal["link.restored"] = "link.restored"
