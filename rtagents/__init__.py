"""rtagents: a trio-native realtime voice-agent runtime.

The public API, mirroring the OpenAI Agents SDK's realtime names::

    from rtagents import RealtimeAgent, RealtimeRunConfig, open_session, function_tool

Agents carry instructions, function tools (:func:`function_tool`), handoffs
(:func:`realtime_handoff`), output guardrails (:func:`output_guardrail`) and hooks; the session
runs them off the audio path.

Layers below it: :mod:`rtagents.native` (G.711 and the streaming resampler),
:mod:`rtagents.protocol` (the sans-IO Realtime GA codec), :mod:`rtagents.models` (the model
link), :mod:`rtagents._core.turns` (turn taking), :mod:`rtagents.actors` (capture, VAD, playback,
tools), :mod:`rtagents.local` (a local Realtime server) and :mod:`rtagents.testing`.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from rtagents.agent import FunctionTool, RealtimeAgent, function_tool
from rtagents.config import ToolErrorFormatterArgs
from rtagents.context import RunContextWrapper, ToolContext, Usage
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
from rtagents.function_tools import ToolArgumentError, ToolSchemaError
from rtagents.guardrails import (
    GuardrailFunctionOutput,
    GuardrailsSettings,
    OutputGuardrail,
    OutputGuardrailResult,
    output_guardrail,
)
from rtagents.handoffs import Handoff, realtime_handoff
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks
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
    "GuardrailFunctionOutput",
    "GuardrailsSettings",
    "Handoff",
    "OpenAIRealtimeConfig",
    "OutputGuardrail",
    "OutputGuardrailResult",
    "RealtimeAgent",
    "RealtimeAgentEndEvent",
    "RealtimeAgentHooks",
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
    "RealtimeRunHooks",
    "RealtimeRunner",
    "RealtimeSession",
    "RealtimeSessionEvent",
    "RealtimeToolApprovalRequired",
    "RealtimeToolEnd",
    "RealtimeToolStart",
    "RunContextWrapper",
    "SessionStatistics",
    "ToolArgumentError",
    "ToolContext",
    "ToolErrorFormatterArgs",
    "ToolSchemaError",
    "Usage",
    "__version__",
    "function_tool",
    "open_session",
    "output_guardrail",
    "realtime_handoff",
]
