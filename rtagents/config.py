"""How a session runs: :class:`RealtimeRunConfig`, the SDK's settings dicts, and what a tool
error formatter receives.

The OpenAI Agents SDK spells its configuration as ``TypedDict`` s; so may a port.
``RealtimeRunner(agent, config={...})`` takes the SDK's ``RealtimeRunConfig`` keys as a dict
(checked at once: an unknown key raises ``ValueError`` naming it) and our own keys beside them;
:class:`RealtimeRunConfig` is the same thing as a typed, frozen object.  The settings dicts
(:class:`RealtimeSessionModelSettings`, :class:`RealtimeTurnDetectionConfig`, ...) and
:data:`DEFAULT_MODEL_SETTINGS` are the SDK's; ``rtagents._core.settings`` maps them to the GA
session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, NotRequired, TypedDict

import attrs

from rtagents import protocol as p
from rtagents._core.echo import EchoGateSettings
from rtagents._core.settings import (
    DEFAULT_MODEL_SETTINGS,
    README_TABLE,
    RealtimeAudioConfig,
    RealtimeAudioFormat,
    RealtimeAudioInputConfig,
    RealtimeAudioOutputConfig,
    RealtimeGuardrailsSettings,
    RealtimeInputAudioNoiseReductionConfig,
    RealtimeInputAudioTranscriptionConfig,
    RealtimeModelName,
    RealtimeModelTracingConfig,
    RealtimeReasoningConfig,
    RealtimeReasoningEffort,
    RealtimeSessionModelSettings,
    RealtimeToolExecutionConfig,
    RealtimeTurnDetectionConfig,
    RealtimeVoice,
    check_keys,
    overlay,
    session_config_from_settings,
)
from rtagents._core.vad import Detector
from rtagents.agent import ResolvedAgent
from rtagents.audio import AudioSink, AudioSource
from rtagents.context import RunContextWrapper
from rtagents.guardrails import GuardrailsSettings, OutputGuardrail
from rtagents.hooks import RealtimeRunHooks
from rtagents.models import OpenAIRealtimeConfig, ReconnectPolicy

__all__ = [
    "DEFAULT_MODEL_SETTINGS",
    "EchoGateSettings",
    "LocalVad",
    "RealtimeAudioConfig",
    "RealtimeAudioFormat",
    "RealtimeAudioInputConfig",
    "RealtimeAudioOutputConfig",
    "RealtimeClientMessage",
    "RealtimeGuardrailsSettings",
    "RealtimeInputAudioNoiseReductionConfig",
    "RealtimeInputAudioTranscriptionConfig",
    "RealtimeModelName",
    "RealtimeModelTracingConfig",
    "RealtimeReasoningConfig",
    "RealtimeReasoningEffort",
    "RealtimeRunConfig",
    "RealtimeSessionModelSettings",
    "RealtimeToolExecutionConfig",
    "RealtimeTurnDetectionConfig",
    "RealtimeUserInput",
    "RealtimeUserInputImage",
    "RealtimeUserInputMessage",
    "RealtimeUserInputText",
    "RealtimeVoice",
    "SessionSettings",
    "ToolErrorFormatter",
    "ToolErrorFormatterArgs",
    "user_message_item",
]


class RealtimeClientMessage(TypedDict):
    """A raw client event: ``type`` plus ``other_data`` merged into its body."""

    type: str
    other_data: NotRequired[dict[str, Any]]


class RealtimeUserInputText(TypedDict):
    type: Literal["input_text"]
    text: str


class RealtimeUserInputImage(TypedDict, total=False):
    type: Literal["input_image"]
    image_url: str
    detail: str


class RealtimeUserInputMessage(TypedDict):
    type: Literal["message"]
    role: Literal["user"]
    content: list[RealtimeUserInputText | RealtimeUserInputImage]


RealtimeUserInput = str | RealtimeUserInputMessage


@attrs.frozen
class ToolErrorFormatterArgs:
    """What ``tool_error_formatter`` receives.  ``kind``: ``approval_rejected``,
    ``tool_not_found`` and ``tool_exception`` as in the SDK, and ours: ``timeout``,
    ``bad_arguments``, ``cancelled``.  ``run_context`` is the SDK's name of ``context``."""

    kind: str
    tool_name: str
    call_id: str
    default_message: str
    error: BaseException | None
    context: RunContextWrapper[Any]
    tool_type: Literal["function"] = "function"

    @property
    def run_context(self) -> RunContextWrapper[Any]:
        return self.context


ToolErrorFormatter = Callable[[ToolErrorFormatterArgs], str | Awaitable[str | None] | None]


def _check_settings(_: Any, __: Any, value: object) -> None:
    if value is None or isinstance(value, p.SessionConfig):
        return
    if not isinstance(value, Mapping):
        raise TypeError("model_settings must be a dict of the SDK's settings or a SessionConfig")
    session_config_from_settings(value)  # raises naming the offending key


def _guardrails_settings(value: object) -> GuardrailsSettings:
    if isinstance(value, GuardrailsSettings):
        return value
    if isinstance(value, Mapping):
        check_keys(value, frozenset({"debounce_text_length"}), "guardrails_settings")
        return GuardrailsSettings(**value)
    raise TypeError("guardrails_settings must be a dict or GuardrailsSettings")


def _reconnect(value: object) -> ReconnectPolicy | None:
    if value is None or value is False:
        return None
    if value is True:
        return ReconnectPolicy()
    if isinstance(value, ReconnectPolicy):
        return value
    if isinstance(value, Mapping):
        check_keys(value, frozenset(f.name for f in attrs.fields(ReconnectPolicy)), "reconnect")
        return ReconnectPolicy(**value)
    raise TypeError("reconnect must be a ReconnectPolicy, a dict of its fields, True or False")


#: ``RealtimeRunConfig.local_vad``: on/off, a detector by name, or a detector.
LocalVad = bool | Literal["energy", "silero"] | Detector

_LOCAL_VADS = "True, False, 'energy', 'silero' or a Detector (an object with rate and feed)"


def _check_local_vad(_: Any, __: Any, value: object) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        if value in ("energy", "silero"):
            return
        raise ValueError(f"local_vad must be {_LOCAL_VADS}, not {value!r}")
    rate = getattr(value, "rate", None)
    if not callable(getattr(value, "feed", None)) or isinstance(rate, bool):
        raise TypeError(f"local_vad must be {_LOCAL_VADS}, not {type(value).__name__}")
    if not isinstance(rate, int) or not 8000 <= rate <= 96000 or rate * 10 % 1000:
        raise ValueError(
            f"local_vad detector rate must be 8000–96000 Hz in whole 10 ms, not {rate!r}"
        )


def _echo_gate(value: object) -> EchoGateSettings | None:
    return EchoGateSettings.coerce(value)


def _tool_execution(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("tool_execution must be a dict")
    check_keys(value, frozenset({"pre_approval_tool_input_guardrails"}), "tool_execution")
    if value.get("pre_approval_tool_input_guardrails"):
        raise ValueError(
            "tool_execution['pre_approval_tool_input_guardrails']: tool input guardrails are "
            f"not supported ({README_TABLE})"
        )
    return dict(value)


@attrs.frozen
class RealtimeRunConfig:
    """How a session runs.

    The OpenAI Agents SDK's keys: ``model_settings`` (the SDK's settings dict, or a
    :class:`~rtagents.protocol.SessionConfig`; merged over what the agent gives — instructions,
    tools, prompt — and, for dicts, over :data:`DEFAULT_MODEL_SETTINGS`; on a handoff or
    ``update_agent`` only instructions, tools and prompt change, so formats, voice and turn
    detection survive agent switches), ``output_guardrails`` (for every agent, besides each
    agent's own), ``guardrails_settings``, ``tracing_disabled`` (no ``tracing`` in the session),
    ``async_tool_calls`` (True: calls run concurrently off the event path; False: one at a
    time, in arrival order), ``tool_execution`` and ``tool_error_formatter`` (rewrites what the
    model reads when a call fails or is rejected).

    Ours: ``model`` (where and how to connect; ``RealtimeRunner.run(model_config=...)`` is laid
    over it), ``audio_source`` / ``audio_sink`` (capture and playback run inside the session),
    ``local_vad`` (barge-in decided locally, within a frame: ``True`` or ``"energy"`` for the
    energy detector, ``"silero"`` for Silero VAD — the ``turns`` extra and ``rtagents
    fetch-models``; without them the energy detector, with one warning —, a
    :class:`~rtagents._core.vad.Detector` for your own (one session's: it keeps state), or
    ``False``), ``echo_gate`` (with a sink, the local VAD does not take the agent's own voice
    coming back through the speaker into the microphone for the user: ``True``, ``False``, or
    :class:`~rtagents._core.echo.EchoGateSettings` or a dict of its fields — ``coupling_db``, the
    loudest echo assumed relative to what was played, −6 dB by default, ``margin_db``,
    ``max_delay_ms``, ``suppress_uplink``; near-end speech must be louder than that echo to barge
    in while the agent talks, and by default the echoed pieces are sent to the model as silence
    so its VAD does not hear the echo either), ``hooks`` (run hooks),
    ``link_factory`` (makes the model link; ``RealtimeRunner(model=...)`` is the SDK's
    spelling), ``raw_events``, ``reconnect`` (a :class:`~rtagents.models.ReconnectPolicy`, a
    dict of its fields, or ``False``: when the model link is lost, reconnect with backoff and
    resume the conversation; the SDK has no such thing), and the queue sizes:
    ``event_queue_size`` events for the app (full: the oldest droppable event — audio, raw,
    history snapshot — goes first, then the oldest event; every drop counted);
    ``uplink_queue_frames`` audio frames waiting for the socket (full: a captured frame pushes
    out the oldest, counted; the app's ``send_audio`` waits for room instead);
    ``recording_path``: write the conversation to this stereo WAV as it happens (user left —
    captured and ``send_audio`` audio at its capture time —, agent right as its sink played it;
    see :class:`~rtagents.audio.CallRecorder`) at ``recording_rate`` Hz.

    :meth:`coerce` accepts this object, a dict of the same keys, or ``None``.
    """

    model: OpenAIRealtimeConfig = attrs.field(factory=OpenAIRealtimeConfig)
    model_settings: RealtimeSessionModelSettings | p.SessionConfig | None = attrs.field(
        default=None, validator=_check_settings
    )
    audio_source: AudioSource | None = None
    audio_sink: AudioSink | None = None
    local_vad: LocalVad = attrs.field(default=True, validator=_check_local_vad)
    echo_gate: EchoGateSettings | None = attrs.field(factory=EchoGateSettings, converter=_echo_gate)
    event_queue_size: int = 512
    uplink_queue_frames: int = 50  # 1 s of 20 ms frames
    raw_events: bool = True
    link_factory: Callable[[OpenAIRealtimeConfig], Any] | None = None
    output_guardrails: Sequence[OutputGuardrail] = ()
    guardrails_settings: GuardrailsSettings = attrs.field(
        factory=GuardrailsSettings, converter=_guardrails_settings
    )
    hooks: RealtimeRunHooks | None = None
    tool_error_formatter: ToolErrorFormatter | None = None
    tracing_disabled: bool = False
    async_tool_calls: bool = True
    tool_execution: Mapping[str, Any] = attrs.field(factory=dict, converter=_tool_execution)
    reconnect: ReconnectPolicy | None = attrs.field(factory=ReconnectPolicy, converter=_reconnect)
    recording_path: str | PathLike[str] | None = None
    recording_rate: int = 24000

    @classmethod
    def keys(cls) -> frozenset[str]:
        return frozenset(f.name for f in attrs.fields(cls))

    @classmethod
    def coerce(cls, config: RealtimeRunConfig | Mapping[str, Any] | None) -> RealtimeRunConfig:
        """The config for `config`: this class, a dict of its keys (the SDK's
        ``RealtimeRunConfig`` keys among them), or ``None`` for the defaults."""
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        if not isinstance(config, Mapping):
            raise TypeError(
                f"config must be a dict or RealtimeRunConfig, not {type(config).__name__}"
            )
        check_keys(config, cls.keys(), "RealtimeRunConfig")
        values = dict(config)
        if "output_guardrails" in values:
            values["output_guardrails"] = tuple(values["output_guardrails"] or ())
        return cls(**values)

    def settings_dict(self) -> Mapping[str, Any]:
        """``model_settings`` when given as the SDK's dict (else empty)."""
        settings = self.model_settings
        return settings if isinstance(settings, Mapping) else {}


@attrs.frozen
class SessionSettings:
    """What a session tells the model, besides the agent: built once per session from the run
    config and the connection's ``initial_model_settings``.

    ``base``: the SDK's settings dicts (the run's, then the connection's initial ones) over
    :data:`DEFAULT_MODEL_SETTINGS`, then a ``SessionConfig`` given as ``model_settings`` laid
    over field by field; ``tracing`` as the SDK sends it (``"auto"`` unless configured, nothing
    when ``tracing_disabled`` or ``None``).  :meth:`for_agent` adds an agent's part.
    """

    base: p.SessionConfig
    given: p.SessionConfig | None  # model_settings as a SessionConfig, if so given
    initial_instructions: str | None  # initial_model_settings["instructions"], if any

    @classmethod
    def build(
        cls,
        config: RealtimeRunConfig,
        initial: Mapping[str, Any],
        *,
        attach_to_call: bool = False,
    ) -> SessionSettings:
        merged = {**config.settings_dict(), **initial}
        merged.pop("instructions", None)  # the agent's (see for_agent)
        base = session_config_from_settings(merged, attach_to_call=attach_to_call)
        given = (
            config.model_settings if isinstance(config.model_settings, p.SessionConfig) else None
        )
        if given is not None:
            base = overlay(base, given)
        if config.tracing_disabled or base.tracing is None:
            base = attrs.evolve(base, tracing=p.UNSET)  # the SDK's None: send nothing
        elif base.tracing is p.UNSET and "tracing" not in merged:
            base = attrs.evolve(base, tracing="auto")
        return cls(base, given, initial.get("instructions"))

    def for_agent(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig:
        """The ``session.update`` for an agent: its instructions, tools and prompt over
        :attr:`base`.  The first update also carries ``tracing`` (it cannot change later) and
        lets the settings override the agent, as the SDK does: a ``SessionConfig``'s
        instructions/tools/prompt, or ``initial_model_settings['instructions']``."""
        agent_part: dict[str, Any] = {
            "instructions": resolved.instructions,
            "tools": resolved.protocol_tools(),
            "prompt": resolved.agent.prompt or self.base.prompt,
        }
        if initial:
            if self.given is not None:
                for name in agent_part:
                    if getattr(self.given, name) is not None:
                        agent_part[name] = getattr(self.given, name)
            if self.initial_instructions is not None:
                agent_part["instructions"] = self.initial_instructions
        else:
            agent_part["tracing"] = p.UNSET
        return attrs.evolve(self.base, **agent_part)


def user_message_item(message: RealtimeUserInput | p.MessageItem) -> p.MessageItem:
    """The protocol item for a user message: text, the SDK's message dict (``input_text`` and
    ``input_image`` parts, images as ``data:`` or ``https:`` URLs), or an item as is.  A part
    the GA protocol cannot carry raises ``ValueError`` naming it."""
    if isinstance(message, p.MessageItem):
        return message
    if isinstance(message, str):
        return p.MessageItem.user_text(message)
    if not isinstance(message, Mapping):
        raise TypeError(f"a user message is a str or a dict, not {type(message).__name__}")
    check_keys(message, frozenset({"type", "role", "content"}), "user message")
    if message.get("type", "message") != "message" or message.get("role", "user") != "user":
        raise ValueError("a user message dict has type 'message' and role 'user'")
    parts: list[dict[str, Any]] = []
    content: Any = message.get("content") or ()
    for index, part in enumerate(content):
        where = f"user message content[{index}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "input_text":
            if not isinstance(part.get("text"), str):
                raise ValueError(f"{where}: input_text needs a string 'text'")
            parts.append({"type": "input_text", "text": part["text"]})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                raise ValueError(f"{where}: input_image needs an 'image_url' (data: or https:)")
            image: dict[str, Any] = {"type": "input_image", "image_url": url}
            if part.get("detail") is not None:
                if part["detail"] not in ("auto", "low", "high"):
                    raise ValueError(f"{where}: detail must be auto, low or high")
                image["detail"] = part["detail"]
            parts.append(image)
        else:
            raise ValueError(f"{where}: unsupported part type {kind!r} (input_text, input_image)")
    if not parts:
        raise ValueError("a user message needs at least one input_text or input_image part")
    wire = {"type": "message", "role": "user", "content": parts}
    return p.MessageItem.from_wire(wire, strict=True)
