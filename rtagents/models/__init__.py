"""Model links: connections to a Realtime model (OpenAI's, or anything speaking its protocol)."""

from rtagents._core.link_events import LinkClosed as LinkClosed
from rtagents._core.link_events import LinkConnected as LinkConnected

from ._link import ModelLink as ModelLink
from ._model import LinkFactoryModel as LinkFactoryModel
from ._model import OpenAIRealtimeSIPModel as OpenAIRealtimeSIPModel
from ._model import OpenAIRealtimeWebSocketModel as OpenAIRealtimeWebSocketModel
from ._model import RealtimeModel as RealtimeModel
from ._model import RealtimeModelConfig as RealtimeModelConfig
from ._model import RealtimeModelListener as RealtimeModelListener
from ._model import TransportConfig as TransportConfig
from ._model import connection_config as connection_config
from ._openai import DEFAULT_MODEL as DEFAULT_MODEL
from ._openai import DEFAULT_URL as DEFAULT_URL
from ._openai import Connector as Connector
from ._openai import LinkEvent as LinkEvent
from ._openai import LinkStatistics as LinkStatistics
from ._openai import ModelLinkError as ModelLinkError
from ._openai import OpenAIRealtimeConfig as OpenAIRealtimeConfig
from ._openai import OpenAIRealtimeLink as OpenAIRealtimeLink
from ._openai import get_api_key as get_api_key
from ._openai import open_openai_realtime as open_openai_realtime
from ._resilient import ReconnectPolicy as ReconnectPolicy
from ._resilient import ResilientLink as ResilientLink
from ._resilient import ResilientStatistics as ResilientStatistics
from ._resilient import open_model_link as open_model_link
from ._tracker import RealtimePlaybackState as RealtimePlaybackState
from ._tracker import RealtimePlaybackTracker as RealtimePlaybackTracker

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_URL",
    "Connector",
    "LinkClosed",
    "LinkConnected",
    "LinkEvent",
    "LinkFactoryModel",
    "LinkStatistics",
    "ModelLink",
    "ModelLinkError",
    "OpenAIRealtimeConfig",
    "OpenAIRealtimeLink",
    "OpenAIRealtimeSIPModel",
    "OpenAIRealtimeWebSocketModel",
    "RealtimeModel",
    "RealtimeModelConfig",
    "RealtimeModelListener",
    "RealtimePlaybackState",
    "RealtimePlaybackTracker",
    "ReconnectPolicy",
    "ResilientLink",
    "ResilientStatistics",
    "TransportConfig",
    "connection_config",
    "get_api_key",
    "open_model_link",
    "open_openai_realtime",
]
