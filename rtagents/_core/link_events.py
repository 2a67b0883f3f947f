"""The model link's own events: values that bracket the server's events on a link's stream.

A link delivers one :class:`LinkConnected` when its WebSocket opens and one final
:class:`LinkClosed` saying who closed it and why; in between, server events (or protocol-error
values).  Plain values, so that the sans-IO router can handle them without importing a link.
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
