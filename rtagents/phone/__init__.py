"""Phone calls: Twilio Media Streams onto a :class:`~rtagents.session.RealtimeSession`.

* :class:`TwilioCall` (:mod:`.bridge`) — one call's adapter;
* :func:`create_twilio_app` (:mod:`.app`) — the ASGI app (Starlette): Twilio's voice webhook
  at ``POST /twilio/voice`` and the calls' Media Streams at ``/twilio/media``;
* :func:`connect_stream_twiml` (:mod:`.twiml`) — the TwiML that connects a call to a stream;
* :func:`add_arguments` / :func:`main` / :func:`serve_twilio` (:mod:`.cli`) — the
  ``rtagents serve twilio [AGENT]`` command;
* SIP calls through OpenAI: :class:`SipService` / :class:`SipCall` / :class:`SipCallInfo`
  (:mod:`.sip`: the ``realtime.call.incoming`` webhook, accept or reject, a session on the
  call's ``?call_id=`` socket), :class:`CallsClient` (:mod:`.calls`: the Calls API over httpx),
  :func:`create_sip_app` (:mod:`.sip_app`) and ``rtagents serve sip`` (:mod:`.sip_cli`).

Importing this package imports neither Starlette, hypercorn nor httpx: the names that need them
are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import AUDIO_MODES as AUDIO_MODES
from .bridge import PHONE_PCM_SETTINGS as PHONE_PCM_SETTINGS
from .bridge import PHONE_SETTINGS as PHONE_SETTINGS
from .bridge import AudioMode as AudioMode
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
    from .calls import CallsAPIError as CallsAPIError
    from .calls import CallsClient as CallsClient
    from .sip import SipCall as SipCall
    from .sip import SipCallInfo as SipCallInfo
    from .sip import SipService as SipService
    from .sip_app import create_sip_app as create_sip_app

_LAZY = {
    "create_twilio_app": "app",
    "CallsAPIError": "calls",
    "CallsClient": "calls",
    "SipCall": "sip",
    "SipCallInfo": "sip",
    "SipService": "sip",
    "create_sip_app": "sip_app",
}

__all__ = [
    "AUDIO_MODES",
    "PHONE_PCM_SETTINGS",
    "PHONE_SETTINGS",
    "AudioMode",
    "CallInfo",
    "CallOptions",
    "CallSocket",
    "CallStatistics",
    "CallsAPIError",
    "CallsClient",
    "SipCall",
    "SipCallInfo",
    "SipService",
    "TrioWebSocketCallSocket",
    "TwilioCall",
    "add_arguments",
    "connect_stream_twiml",
    "create_sip_app",
    "create_twilio_app",
    "main",
    "serve_twilio",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
