"""rtagents: a trio-native realtime voice-agent runtime.

The public API, mirroring the OpenAI Agents SDK's realtime names::

    from rtagents import RealtimeAgent, RealtimeRunConfig, open_session, function_tool

Agents carry instructions, function tools (:func:`function_tool`), handoffs
(:func:`realtime_handoff`), output guardrails (:func:`output_guardrail`) and hooks; the session
runs them off the audio path.

Layers below it (docs/architecture.md): :mod:`rtagents.native` (G.711 and the streaming
resampler), :mod:`rtagents.protocol` (the sans-IO Realtime GA codec), ``rtagents._core`` (the
sans-IO insides of a session: turn table, event router, response sequencer, history),
:mod:`rtagents.audio` (sources, sinks, converters), :mod:`rtagents.actors` (capture, uplink,
VAD, playback, tools), :mod:`rtagents.models` (the model link), :mod:`rtagents.local` (the
embedded Realtime server), :mod:`rtagents.apps` (the ``rtagents`` command) and
:mod:`rtagents.testing` (fakes).
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from rtagents._core.turns import TurnState
from rtagents.agent import FunctionTool, RealtimeAgent, function_tool
from rtagents.config import RealtimeRunConfig, ToolErrorFormatterArgs
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
from rtagents.runner import RealtimeRunner, open_session
from rtagents.session import RealtimeSession, SessionStatistics

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
    "TurnState",
    "Usage",
    "__version__",
    "function_tool",
    "open_session",
    "output_guardrail",
    "realtime_handoff",
]
