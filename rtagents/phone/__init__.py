"""Phone calls: Twilio Media Streams onto a :class:`~rtagents.session.RealtimeSession`.

:class:`TwilioCall` (:mod:`.bridge`) is one call's adapter; the ASGI server around it and the
``rtagents serve`` command come with it as they are built.
"""

from .bridge import PHONE_SETTINGS as PHONE_SETTINGS
from .bridge import CallInfo as CallInfo
from .bridge import CallOptions as CallOptions
from .bridge import CallSocket as CallSocket
from .bridge import CallStatistics as CallStatistics
from .bridge import TrioWebSocketCallSocket as TrioWebSocketCallSocket
from .bridge import TwilioCall as TwilioCall

__all__ = [
    "PHONE_SETTINGS",
    "CallInfo",
    "CallOptions",
    "CallSocket",
    "CallStatistics",
    "TrioWebSocketCallSocket",
    "TwilioCall",
]
