"""How a session runs: :class:`RealtimeRunConfig` and what its tool error formatter receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from rtagents import protocol as p
from rtagents.audio import AudioSink, AudioSource
from rtagents.context import RunContextWrapper
from rtagents.guardrails import GuardrailsSettings, OutputGuardrail
from rtagents.hooks import RealtimeRunHooks
from rtagents.models import OpenAIRealtimeConfig


@attrs.frozen
class ToolErrorFormatterArgs:
    """What ``RealtimeRunConfig.tool_error_formatter`` receives.  ``kind`` is one of
    ``approval_rejected``, ``error``, ``timeout``, ``bad_arguments``, ``cancelled``."""

    kind: str
    tool_name: str
    call_id: str
    default_message: str
    error: BaseException | None
    context: RunContextWrapper[Any]


ToolErrorFormatter = Callable[[ToolErrorFormatterArgs], str | Awaitable[str | None] | None]


@attrs.frozen
class RealtimeRunConfig:
    """How a session runs.

    ``model_settings`` is merged over what the starting agent gives (instructions, tools); on a
    handoff or ``update_agent`` everything but instructions, tools and prompt is kept from it,
    so audio formats, voice and turn detection survive agent switches.  ``output_guardrails``
    apply to every agent (besides each agent's own); ``hooks`` see the whole run;
    ``tool_error_formatter`` rewrites what the model reads when a call fails or is rejected.
    ``link_factory`` makes the model link (default: :class:`OpenAIRealtimeLink` on ``model``);
    ``rtagents.testing.ScriptedModel`` plugs in here.

    Queue sizes: ``event_queue_size`` events for the app (full: the oldest droppable event —
    audio, raw, history snapshot — goes first, then the oldest event; every drop counted);
    ``uplink_queue_frames`` captured frames waiting for the socket (full: the oldest frame is
    dropped and counted).
    """

    model: OpenAIRealtimeConfig = attrs.field(factory=OpenAIRealtimeConfig)
    model_settings: p.SessionConfig | None = None
    audio_source: AudioSource | None = None
    audio_sink: AudioSink | None = None
    local_vad: bool = True
    event_queue_size: int = 512
    uplink_queue_frames: int = 50  # 1 s of 20 ms frames
    raw_events: bool = True
    link_factory: Callable[[OpenAIRealtimeConfig], Any] | None = None
    output_guardrails: Sequence[OutputGuardrail] = ()
    guardrails_settings: GuardrailsSettings = attrs.field(factory=GuardrailsSettings)
    hooks: RealtimeRunHooks | None = None
    tool_error_formatter: ToolErrorFormatter | None = None
