"""Reading a session's event stream in tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtagents.events import RealtimeRawModelEvent


def server_events(events: Iterable[Any]) -> list[RealtimeRawModelEvent]:
    """The ``raw_model_event`` s that carry a server message itself (one per message, in
    order; ``.wire`` is the decoded GA event), without the SDK-style events derived from it."""
    return [
        e
        for e in events
        if getattr(e, "type", None) == "raw_model_event" and e.data.type == "raw_server_event"
    ]
