"""Phone calls: Twilio Media Streams onto a :class:`~rtagents.session.RealtimeSession`.

* :class:`TwilioCall` (:mod:`.bridge`) — one call's adapter;
* :func:`create_twilio_app` (:mod:`.app`) — the ASGI app (Starlette): Twilio's voice webhook
  at ``POST /twilio/voice`` and the calls' Media Streams at ``/twilio/media``;
* :func:`connect_stream_twiml` (:mod:`.twiml`) — the TwiML that connects a call to a stream;
* :func:`add_arguments` / :func:`main` / :func:`serve_twilio` (:mod:`.cli`) — the
  ``rtagents serve twilio [AGENT]`` command.

Importing this package imports neither Starlette nor hypercorn: :func:`create_twilio_app` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import PHONE_SETTINGS as PHONE_SETTINGS
from .bridge import CallInfo as CallInfo
from .bridge import CallOptions as CallOptions
from .bridge import CallSocket as CallSocket
from .bridge import CallStatistics as CallStatistics
from .bridge import TrioWebSocketCallSocket as TrioWebSocketCallSocket
from .bridge import TwilioCall as TwilioCall
from .cli import add_arguments as add_arguments
from .cli import main as main
from .cli import serve_twilio as serve_twilio
from .twiml import connect_stream_twiml as connect_stream_twiml

if TYPE_CHECKING:
    from .app import create_twilio_app as create_twilio_app

__all__ = [
    "PHONE_SETTINGS",
    "CallInfo",
    "CallOptions",
    "CallSocket",
    "CallStatistics",
    "TrioWebSocketCallSocket",
    "TwilioCall",
    "add_arguments",
    "connect_stream_twiml",
    "create_twilio_app",
    "main",
    "serve_twilio",
]


def __getattr__(name: str) -> Any:
    if name == "create_twilio_app":
        from .app import create_twilio_app

        return create_twilio_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
