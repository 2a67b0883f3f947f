"""Model links: connections to a Realtime model (OpenAI's, or anything speaking its protocol)."""

from rtagents._core.link_events import LinkClosed as LinkClosed
from rtagents._core.link_events import LinkConnected as LinkConnected

from ._link import ModelLink as ModelLink
from ._openai import DEFAULT_MODEL as DEFAULT_MODEL
from ._openai import DEFAULT_URL as DEFAULT_URL
from ._openai import Connector as Connector
from ._openai import LinkEvent as LinkEvent
from ._openai import LinkStatistics as LinkStatistics
from ._openai import ModelLinkError as ModelLinkError
from ._openai import OpenAIRealtimeConfig as OpenAIRealtimeConfig
from ._openai import OpenAIRealtimeLink as OpenAIRealtimeLink
from ._openai import open_openai_realtime as open_openai_realtime

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_URL",
    "Connector",
    "LinkClosed",
    "LinkConnected",
    "LinkEvent",
    "LinkStatistics",
    "ModelLink",
    "ModelLinkError",
    "OpenAIRealtimeConfig",
    "OpenAIRealtimeLink",
    "open_openai_realtime",
]
