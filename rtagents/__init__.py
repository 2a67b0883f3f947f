"""rtagents: a trio-native realtime voice-agent runtime.

The public API is the OpenAI Agents SDK's realtime API (``agents.realtime``), name for name, so
SDK programs port by changing imports and asyncio for trio::

    from rtagents import RealtimeAgent, RealtimeRunner, function_tool

    runner = RealtimeRunner(agent, config={"model_settings": {"voice": "ash"}})
    async with await runner.run() as session:
        async for event in session: ...

Agents carry instructions, function tools (:func:`function_tool`), handoffs
(:func:`realtime_handoff`), output guardrails (:func:`output_guardrail`) and hooks; the session
runs them off the audio path.  Beside the SDK's names: :func:`open_session` (the trio-first
entry point), audio sources and sinks run inside the session with local barge-in
(:class:`RealtimeRunConfig`), ``session.statistics()``, :class:`TurnState`.

Layers below it (docs/architecture.md): :mod:`rtagents.native` (G.711 and the streaming
resampler), :mod:`rtagents.protocol` (the sans-IO Realtime GA codec), ``rtagents._core`` (the
sans-IO insides of a session: turn table, event router, response sequencer, history, settings),
:mod:`rtagents.audio` (sources, sinks, converters), :mod:`rtagents.actors` (capture, uplink,
VAD, playback, tools), :mod:`rtagents.models` (the model and its link), :mod:`rtagents.local`
(the embedded Realtime server), :mod:`rtagents.apps` (the ``rtagents`` command) and
:mod:`rtagents.testing` (fakes).
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from rtagents._agency.statistics import SessionStatistics
from rtagents._core.turns import TurnState
from rtagents.agent import FunctionTool, RealtimeAgent, function_tool
from rtagents.config import (
    DEFAULT_MODEL_SETTINGS,
    RealtimeAudioFormat,
    RealtimeClientMessage,
    RealtimeGuardrailsSettings,
    RealtimeInputAudioNoiseReductionConfig,
    RealtimeInputAudioTranscriptionConfig,
    RealtimeModelName,
    RealtimeModelTracingConfig,
    RealtimeReasoningConfig,
    RealtimeReasoningEffort,
    RealtimeRunConfig,
    RealtimeSessionModelSettings,
    RealtimeToolExecutionConfig,
    RealtimeTurnDetectionConfig,
    RealtimeUserInput,
    RealtimeUserInputMessage,
    RealtimeUserInputText,
    ToolErrorFormatterArgs,
)
from rtagents.context import RunContextWrapper, ToolContext, Usage
from rtagents.events import (
    ErrorInfo,
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudio,
    RealtimeAudioEnd,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeEventInfo,
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
from rtagents.function_tools import (
    ToolArgumentError,
    ToolSchemaError,
    ToolTimeoutError,
    default_tool_error_function,
)
from rtagents.guardrails import (
    GuardrailFunctionOutput,
    GuardrailsSettings,
    OutputGuardrail,
    OutputGuardrailResult,
    output_guardrail,
)
from rtagents.handoffs import Handoff, realtime_handoff
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks
from rtagents.items import (
    AssistantAudio,
    AssistantMessageItem,
    AssistantText,
    InputAudio,
    InputImage,
    InputText,
    RealtimeItem,
    RealtimeMessageItem,
    RealtimeResponse,
    RealtimeToolCallItem,
    SystemMessageItem,
    UserMessageItem,
)
from rtagents.model_events import (
    RealtimeConnectionStatus,
    RealtimeModelAudioDoneEvent,
    RealtimeModelAudioEvent,
    RealtimeModelAudioInterruptedEvent,
    RealtimeModelCachedTokensDetails,
    RealtimeModelConnectionStatusEvent,
    RealtimeModelEndOfStreamEvent,
    RealtimeModelErrorEvent,
    RealtimeModelEvent,
    RealtimeModelExceptionEvent,
    RealtimeModelInputAudioTimeoutTriggeredEvent,
    RealtimeModelInputAudioTranscriptionCompletedEvent,
    RealtimeModelInputTokensDetails,
    RealtimeModelItemDeletedEvent,
    RealtimeModelItemUpdatedEvent,
    RealtimeModelOtherEvent,
    RealtimeModelOutputTextDeltaEvent,
    RealtimeModelOutputTokensDetails,
    RealtimeModelRawServerEvent,
    RealtimeModelToolCallEvent,
    RealtimeModelTranscriptDeltaEvent,
    RealtimeModelTurnEndedEvent,
    RealtimeModelTurnStartedEvent,
    RealtimeModelUsageEvent,
)
from rtagents.model_inputs import (
    RealtimeModelInputTextContent,
    RealtimeModelRawClientMessage,
    RealtimeModelSendAudio,
    RealtimeModelSendEvent,
    RealtimeModelSendInterrupt,
    RealtimeModelSendRawMessage,
    RealtimeModelSendSessionUpdate,
    RealtimeModelSendToolOutput,
    RealtimeModelSendUserInput,
    RealtimeModelUserInput,
    RealtimeModelUserInputMessage,
)
from rtagents.models import (
    OpenAIRealtimeConfig,
    OpenAIRealtimeSIPModel,
    OpenAIRealtimeWebSocketModel,
    RealtimeModel,
    RealtimeModelConfig,
    RealtimeModelListener,
    RealtimePlaybackState,
    RealtimePlaybackTracker,
    get_api_key,
)
from rtagents.runner import RealtimeRunner, open_session
from rtagents.session import RealtimeSession

__all__ = [
    "DEFAULT_MODEL_SETTINGS",
    "AssistantAudio",
    "AssistantMessageItem",
    "AssistantText",
    "ErrorInfo",
    "FunctionTool",
    "GuardrailFunctionOutput",
    "GuardrailsSettings",
    "Handoff",
    "InputAudio",
    "InputImage",
    "InputText",
    "OpenAIRealtimeConfig",
    "OpenAIRealtimeSIPModel",
    "OpenAIRealtimeWebSocketModel",
    "OutputGuardrail",
    "OutputGuardrailResult",
    "RealtimeAgent",
    "RealtimeAgentEndEvent",
    "RealtimeAgentHooks",
    "RealtimeAgentStartEvent",
    "RealtimeAudio",
    "RealtimeAudioEnd",
    "RealtimeAudioFormat",
    "RealtimeAudioInterrupted",
    "RealtimeClientMessage",
    "RealtimeConnectionStatus",
    "RealtimeError",
    "RealtimeEventInfo",
    "RealtimeGuardrailTripped",
    "RealtimeGuardrailsSettings",
    "RealtimeHandoffEvent",
    "RealtimeHistoryAdded",
    "RealtimeHistoryUpdated",
    "RealtimeInputAudioNoiseReductionConfig",
    "RealtimeInputAudioTimeoutTriggered",
    "RealtimeInputAudioTranscriptionConfig",
    "RealtimeItem",
    "RealtimeMessageItem",
    "RealtimeModel",
    "RealtimeModelAudioDoneEvent",
    "RealtimeModelAudioEvent",
    "RealtimeModelAudioInterruptedEvent",
    "RealtimeModelCachedTokensDetails",
    "RealtimeModelConfig",
    "RealtimeModelConnectionStatusEvent",
    "RealtimeModelEndOfStreamEvent",
    "RealtimeModelErrorEvent",
    "RealtimeModelEvent",
    "RealtimeModelExceptionEvent",
    "RealtimeModelInputAudioTimeoutTriggeredEvent",
    "RealtimeModelInputAudioTranscriptionCompletedEvent",
    "RealtimeModelInputTextContent",
    "RealtimeModelInputTokensDetails",
    "RealtimeModelItemDeletedEvent",
    "RealtimeModelItemUpdatedEvent",
    "RealtimeModelListener",
    "RealtimeModelName",
    "RealtimeModelOtherEvent",
    "RealtimeModelOutputTextDeltaEvent",
    "RealtimeModelOutputTokensDetails",
    "RealtimeModelRawClientMessage",
    "RealtimeModelRawServerEvent",
    "RealtimeModelSendAudio",
    "RealtimeModelSendEvent",
    "RealtimeModelSendInterrupt",
    "RealtimeModelSendRawMessage",
    "RealtimeModelSendSessionUpdate",
    "RealtimeModelSendToolOutput",
    "RealtimeModelSendUserInput",
    "RealtimeModelToolCallEvent",
    "RealtimeModelTracingConfig",
    "RealtimeModelTranscriptDeltaEvent",
    "RealtimeModelTurnEndedEvent",
    "RealtimeModelTurnStartedEvent",
    "RealtimeModelUsageEvent",
    "RealtimeModelUserInput",
    "RealtimeModelUserInputMessage",
    "RealtimePlaybackState",
    "RealtimePlaybackTracker",
    "RealtimeRawModelEvent",
    "RealtimeReasoningConfig",
    "RealtimeReasoningEffort",
    "RealtimeResponse",
    "RealtimeRunConfig",
    "RealtimeRunHooks",
    "RealtimeRunner",
    "RealtimeSession",
    "RealtimeSessionEvent",
    "RealtimeSessionModelSettings",
    "RealtimeToolApprovalRequired",
    "RealtimeToolCallItem",
    "RealtimeToolEnd",
    "RealtimeToolExecutionConfig",
    "RealtimeToolStart",
    "RealtimeTurnDetectionConfig",
    "RealtimeUserInput",
    "RealtimeUserInputMessage",
    "RealtimeUserInputText",
    "RunContextWrapper",
    "SessionStatistics",
    "SystemMessageItem",
    "ToolArgumentError",
    "ToolContext",
    "ToolErrorFormatterArgs",
    "ToolSchemaError",
    "ToolTimeoutError",
    "TurnState",
    "Usage",
    "UserMessageItem",
    "__version__",
    "default_tool_error_function",
    "function_tool",
    "get_api_key",
    "open_session",
    "output_guardrail",
    "realtime_handoff",
]
