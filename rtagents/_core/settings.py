"""Model settings as the OpenAI Agents SDK spells them, turned into the GA ``session`` object.

Theory of operation
-------------------
SDK programs describe a session with :class:`RealtimeSessionModelSettings`, a dict with flat keys
(``voice``, ``input_audio_format="pcm16"``, ``turn_detection``, ...) and, since the GA protocol,
an optional nested ``audio`` block.  :func:`session_config_from_settings` maps such a dict to a
:class:`~rtagents.protocol.SessionConfig` the way the SDK does (nested keys win over flat ones,
``output_modalities`` over ``modalities``, camelCase turn-detection keys are accepted, the
beta format strings become GA format objects) and fills what is missing from
:data:`DEFAULT_MODEL_SETTINGS` — so a port keeps the SDK's voice, transcription and semantic VAD
unless it says otherwise.  Attaching to an existing call (``call_id``) leaves the audio formats
alone unless they are given: the call fixed them.

Every key is checked: an unknown key, or a value the GA session cannot carry, raises
``ValueError`` naming it, at the moment the settings are given — never later, inside a session.
:func:`overlay` lays one :class:`SessionConfig` over another field by field (the audio blocks
field by field too), for settings given as protocol objects.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

import attrs

from rtagents import protocol as p

README_TABLE = "see the README, 'Coming from the OpenAI Agents SDK'"

RealtimeModelName: TypeAlias = str
RealtimeReasoningEffort: TypeAlias = Literal["minimal", "low", "medium", "high", "xhigh"] | str
RealtimeAudioFormat: TypeAlias = str | Mapping[str, Any] | p.AudioFormat
RealtimeVoice: TypeAlias = str | Mapping[str, Any]


class RealtimeInputAudioTranscriptionConfig(TypedDict, total=False):
    model: str
    language: str
    prompt: str
    keywords: list[str]
    languages: list[str]
    delay: Literal["minimal", "low", "medium", "high", "xhigh"]


class RealtimeInputAudioNoiseReductionConfig(TypedDict, total=False):
    type: Literal["near_field", "far_field"]


class RealtimeTurnDetectionConfig(TypedDict, total=False):
    type: Literal["semantic_vad", "server_vad"]
    create_response: bool
    eagerness: Literal["auto", "low", "medium", "high"]
    interrupt_response: bool
    prefix_padding_ms: int
    silence_duration_ms: int
    threshold: float
    idle_timeout_ms: int
    model_version: str


class RealtimeAudioInputConfig(TypedDict, total=False):
    format: RealtimeAudioFormat
    noise_reduction: RealtimeInputAudioNoiseReductionConfig | None
    transcription: RealtimeInputAudioTranscriptionConfig
    turn_detection: RealtimeTurnDetectionConfig | None


class RealtimeAudioOutputConfig(TypedDict, total=False):
    format: RealtimeAudioFormat
    voice: RealtimeVoice
    speed: float


class RealtimeAudioConfig(TypedDict, total=False):
    input: RealtimeAudioInputConfig
    output: RealtimeAudioOutputConfig


class RealtimeReasoningConfig(TypedDict, total=False):
    effort: str


class RealtimeModelTracingConfig(TypedDict, total=False):
    workflow_name: str
    group_id: str
    metadata: dict[str, Any]


class RealtimeSessionModelSettings(TypedDict, total=False):
    """The SDK's session settings (every key optional)."""

    model_name: str
    instructions: str
    prompt: Mapping[str, Any]
    modalities: list[Literal["text", "audio"]]
    output_modalities: list[Literal["text", "audio"]]
    audio: RealtimeAudioConfig
    voice: RealtimeVoice
    speed: float
    max_output_tokens: int | Literal["inf"]
    input_audio_format: RealtimeAudioFormat
    output_audio_format: RealtimeAudioFormat
    input_audio_transcription: RealtimeInputAudioTranscriptionConfig
    input_audio_noise_reduction: RealtimeInputAudioNoiseReductionConfig | None
    turn_detection: RealtimeTurnDetectionConfig | None
    tool_choice: Any
    parallel_tool_calls: bool
    reasoning: RealtimeReasoningConfig
    tools: list[Any]
    handoffs: list[Any]
    tracing: RealtimeModelTracingConfig | None


class RealtimeGuardrailsSettings(TypedDict):
    debounce_text_length: NotRequired[int]


class RealtimeToolExecutionConfig(TypedDict):
    pre_approval_tool_input_guardrails: NotRequired[bool]


#: What the SDK sends when a program says nothing: voice ``ash``, audio out, PCM16 both ways,
#: ``gpt-4o-mini-transcribe`` transcription of the user, semantic VAD that interrupts.
DEFAULT_MODEL_SETTINGS: RealtimeSessionModelSettings = {
    "voice": "ash",
    "modalities": ["audio"],
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
    "turn_detection": {"type": "semantic_vad", "interrupt_response": True},
}

SETTINGS_KEYS = frozenset(RealtimeSessionModelSettings.__annotations__)
_AUDIO_KEYS = frozenset(("input", "output"))
_INPUT_KEYS = frozenset(RealtimeAudioInputConfig.__annotations__)
_OUTPUT_KEYS = frozenset(RealtimeAudioOutputConfig.__annotations__)
_TURN_KEYS = frozenset(RealtimeTurnDetectionConfig.__annotations__)
_CAMEL = {
    "createResponse": "create_response",
    "interruptResponse": "interrupt_response",
    "prefixPaddingMs": "prefix_padding_ms",
    "silenceDurationMs": "silence_duration_ms",
    "idleTimeoutMs": "idle_timeout_ms",
    "modelVersion": "model_version",
}
_BETA_FORMATS = {
    "pcm16": p.AudioFormat.pcm,
    "audio/pcm": p.AudioFormat.pcm,
    "g711_ulaw": p.AudioFormat.pcmu,
    "audio/pcmu": p.AudioFormat.pcmu,
    "pcmu": p.AudioFormat.pcmu,
    "g711_alaw": p.AudioFormat.pcma,
    "audio/pcma": p.AudioFormat.pcma,
    "pcma": p.AudioFormat.pcma,
}


def check_keys(given: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    """``ValueError`` naming the first unknown key of `given`."""
    if not isinstance(given, Mapping):
        raise TypeError(f"{what} must be a dict, not {type(given).__name__}")
    for key in given:
        if key not in known:
            raise ValueError(
                f"unknown {what} key {key!r} (known: {', '.join(sorted(known))}; {README_TABLE})"
            )


def audio_format(value: object, where: str) -> p.AudioFormat:
    """A GA format from any spelling the SDK accepts: ``"pcm16"``, ``"g711_ulaw"``,
    ``"audio/pcmu"``, ``{"type": "audio/pcm", "rate": 24000}``, or a format object."""
    if isinstance(value, p.AudioFormat):
        return value
    if isinstance(value, str):
        make = _BETA_FORMATS.get(value)
        if make is None:
            raise ValueError(
                f"{where}: unknown audio format {value!r} "
                "(pcm16, g711_ulaw, g711_alaw, audio/pcm, audio/pcmu, audio/pcma)"
            )
        return make()
    if isinstance(value, Mapping):
        kind = value.get("type")
        if not isinstance(kind, str):
            raise ValueError(f"{where}: an audio format object needs a 'type'")
        fmt = audio_format(kind, where)
        rate = value.get("rate")
        if rate is not None and (fmt.type != "audio/pcm" or rate != 24000):
            raise ValueError(f"{where}: {kind} at {rate} Hz is not a Realtime format")
        return fmt
    kind = getattr(value, "type", None)  # the openai package's format objects
    if isinstance(kind, str):
        return audio_format(kind, where)
    raise ValueError(f"{where}: cannot read an audio format from {type(value).__name__}")


def format_name(fmt: p.AudioFormat) -> str:
    """The SDK's name of a format, as ``RealtimePlaybackTracker.set_audio_format`` receives it."""
    return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}[fmt.type]


def _turn_detection(value: object, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a dict or None")
    turn: dict[str, Any] = {_CAMEL.get(str(k), str(k)): v for k, v in value.items()}
    check_keys(turn, _TURN_KEYS, where)
    turn.setdefault("type", "server_vad")
    if turn["type"] == "semantic_vad":
        for key in ("prefix_padding_ms", "silence_duration_ms", "threshold", "idle_timeout_ms"):
            if key in turn:
                raise ValueError(f"{where}: {key} applies to server_vad, not semantic_vad")
    elif "eagerness" in turn:
        raise ValueError(f"{where}: eagerness applies to semantic_vad, not server_vad")
    turn.pop("model_version", None)  # a backend hint the GA session does not carry
    return turn


def _voice(value: object) -> object:
    if isinstance(value, Mapping):
        return {"id": value["id"]} if "id" in value else dict(value)
    return value


def _section(settings: Mapping[str, Any], key: str, known: frozenset[str]) -> Mapping[str, Any]:
    audio = settings.get("audio") or {}
    check_keys(audio, _AUDIO_KEYS, "model_settings['audio']")
    section = audio.get(key) or {}
    check_keys(section, known, f"model_settings['audio'][{key!r}]")
    return section


def session_config_from_settings(
    settings: Mapping[str, Any], *, attach_to_call: bool = False, defaults: bool = True
) -> p.SessionConfig:
    """The GA session for SDK `settings` (see the module docstring).  ``tools``, ``handoffs``,
    ``instructions`` and ``prompt`` are taken as given; a session adds the agent's."""
    check_keys(settings, SETTINGS_KEYS, "model_settings")
    base: Mapping[str, Any] = DEFAULT_MODEL_SETTINGS if defaults else {}

    def pick(nested: Mapping[str, Any], key: str, flat: str, *, default: bool = True) -> Any:
        if key in nested:
            return nested[key]
        if flat in settings:
            return settings[flat]
        return base.get(flat, p.UNSET) if default else p.UNSET

    inp = _section(settings, "input", _INPUT_KEYS)
    out = _section(settings, "output", _OUTPUT_KEYS)
    audio_in: dict[str, Any] = {}
    audio_out: dict[str, Any] = {}
    fmt = pick(inp, "format", "input_audio_format", default=not attach_to_call)
    if fmt is not p.UNSET and fmt is not None:
        audio_in["format"] = audio_format(fmt, "input audio format").to_wire()
    noise = pick(inp, "noise_reduction", "input_audio_noise_reduction")
    if noise is not p.UNSET:
        audio_in["noise_reduction"] = None if noise is None else dict(noise)
    transcription = pick(inp, "transcription", "input_audio_transcription")
    if transcription is not p.UNSET:
        audio_in["transcription"] = None if transcription is None else dict(transcription)
    turn = pick(inp, "turn_detection", "turn_detection")
    if turn is not p.UNSET:
        audio_in["turn_detection"] = _turn_detection(turn, "turn_detection")
    fmt = pick(out, "format", "output_audio_format", default=not attach_to_call)
    if fmt is not p.UNSET and fmt is not None:
        audio_out["format"] = audio_format(fmt, "output audio format").to_wire()
    voice = out.get("voice") or settings.get("voice") or base.get("voice")
    if voice is not None:
        audio_out["voice"] = _voice(voice)
    speed = pick(out, "speed", "speed")
    if speed is not p.UNSET:
        audio_out["speed"] = speed

    wire: dict[str, Any] = {"type": "realtime"}
    modalities = (
        settings.get("output_modalities") or settings.get("modalities") or base.get("modalities")
    )
    if modalities:
        wire["output_modalities"] = list(modalities)
    if settings.get("model_name"):
        wire["model"] = settings["model_name"]
    audio: dict[str, Any] = {}
    if audio_in:
        audio["input"] = audio_in
    if audio_out:
        audio["output"] = audio_out
    if audio:
        wire["audio"] = audio
    for key in ("instructions", "max_output_tokens", "parallel_tool_calls", "reasoning"):
        if key in settings and settings[key] is not None:
            wire[key] = settings[key]
    if "prompt" in settings:
        prompt = settings["prompt"]
        wire["prompt"] = {k: v for k, v in dict(prompt).items() if v is not None}
    if "tool_choice" in settings:
        choice = settings["tool_choice"]
        known = ("auto", "none", "required")
        wire["tool_choice"] = (
            choice
            if choice in known or not isinstance(choice, str)
            else {"type": "function", "name": choice}
        )
    if "tracing" in settings:
        tracing = settings["tracing"]
        wire["tracing"] = None if tracing is None else dict(tracing)
    try:
        config: p.SessionConfig = p.SessionConfig.from_wire(wire, strict=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"model_settings cannot be sent as a GA session: {exc}") from None
    if settings.get("tools") or settings.get("handoffs"):
        raise ValueError(
            "model_settings 'tools'/'handoffs': give tools and handoffs to the agent "
            f"(RealtimeAgent(tools=..., handoffs=...)); {README_TABLE}"
        )
    return config


def overlay(base: p.SessionConfig, top: p.SessionConfig) -> p.SessionConfig:
    """`base` with every field `top` sets (not None, not UNSET) replaced; ``audio`` and its
    ``input``/``output`` blocks are laid over field by field."""
    result: p.SessionConfig = _overlay(base, top)
    return result


def _overlay(base: Any, top: Any) -> Any:
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(top)):
        if field.name == "raw":
            continue
        value = getattr(top, field.name)
        if value is None or value is p.UNSET:
            continue
        current = getattr(base, field.name)
        nested = isinstance(value, p.AudioConfig | p.AudioInputConfig | p.AudioOutputConfig)
        if nested and type(current) is type(value):
            value = _overlay(current, value)
        changes[field.name] = value
    return attrs.evolve(base, **changes)
