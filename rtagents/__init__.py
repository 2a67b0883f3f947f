"""rtagents: a trio-native realtime voice-agent runtime.

The public API, mirroring the OpenAI Agents SDK's realtime names::

    from rtagents import RealtimeAgent, RealtimeRunConfig, open_session, function_tool

Layers below it: :mod:`rtagents.native` (G.711 and the streaming resampler),
:mod:`rtagents.protocol` (the sans-IO Realtime GA codec), :mod:`rtagents.models` (the model
link), :mod:`rtagents.turns` (turn taking), :mod:`rtagents.actors` (capture, VAD, playback,
tools), :mod:`rtagents.local` (a local Realtime server) and :mod:`rtagents.testing`.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from rtagents.agent import FunctionTool, RealtimeAgent, function_tool
from rtagents.events import (
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudio,
    RealtimeAudioEnd,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeGuardrailTripped,
    RealtimeHandoffEvent,
    RealtimeHistoryAdded,
    RealtimeHistoryUpdated,
    RealtimeInputAudioTimeoutTriggered,
    RealtimeRawModelEvent,
    RealtimeSessionEvent,
    RealtimeToolApprovalRequired,
    RealtimeToolEnd,
    RealtimeToolStart,
)
from rtagents.models import OpenAIRealtimeConfig
from rtagents.session import (
    RealtimeRunConfig,
    RealtimeRunner,
    RealtimeSession,
    SessionStatistics,
    open_session,
)

__all__ = [
    "FunctionTool",
    "OpenAIRealtimeConfig",
    "RealtimeAgent",
    "RealtimeAgentEndEvent",
    "RealtimeAgentStartEvent",
    "RealtimeAudio",
    "RealtimeAudioEnd",
    "RealtimeAudioInterrupted",
    "RealtimeError",
    "RealtimeGuardrailTripped",
    "RealtimeHandoffEvent",
    "RealtimeHistoryAdded",
    "RealtimeHistoryUpdated",
    "RealtimeInputAudioTimeoutTriggered",
    "RealtimeRawModelEvent",
    "RealtimeRunConfig",
    "RealtimeRunner",
    "RealtimeSession",
    "RealtimeSessionEvent",
    "RealtimeToolApprovalRequired",
    "RealtimeToolEnd",
    "RealtimeToolStart",
    "SessionStatistics",
    "__version__",
    "function_tool",
    "open_session",
]
