"""The ``session`` object of ``session.update`` / ``session.created`` / ``session.updated``.

Theory of operation
-------------------
Each class here is one nested object of the GA realtime session, with the same field names as
the wire, so the official reference reads straight across.  All fields are optional; a field left
at ``None`` is not sent, which leaves the server's current value alone.  Four fields treat
``null`` as a setting of its own: ``tracing`` (off), and ``audio.input.transcription``,
``noise_reduction`` and ``turn_detection`` (off; with ``turn_detection=None`` the client must
commit the buffer and ask for responses itself).  They default to :data:`UNSET`, and ``None``
sends ``null``.

The union aliases (:data:`TurnDetection`, :data:`Tool`, :data:`ToolChoice`, :data:`Tracing`,
:data:`Truncation`, :data:`Voice`, :data:`MaxOutputTokens`) are the shapes a field can take;
objects inside them are told apart by their ``type`` key.

Only ``type: "realtime"`` sessions are modelled.  Transcription-only sessions
(``type: "transcription"``) are rejected when read.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
from attrs import validators as v

from ._audio_formats import AudioFormat
from ._codec import WireValue
from ._json import UNSET, JSONObject, JSONValue, Unset

_non_negative = v.optional(v.ge(0))
_unit_interval = v.optional([v.ge(0.0), v.le(1.0)])

Eagerness: TypeAlias = Literal["low", "medium", "high", "auto"]
NoiseReductionType: TypeAlias = Literal["near_field", "far_field"]
TranscriptionDelay: TypeAlias = Literal["minimal", "low", "medium", "high", "xhigh"]
ReasoningEffort: TypeAlias = Literal["minimal", "low", "medium", "high", "xhigh"]
Modality: TypeAlias = Literal["text", "audio"]
SessionInclude: TypeAlias = Literal["item.input_audio_transcription.logprobs"]


# -- audio input ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ServerVad(WireValue):
    """Turn detection by silence: a turn ends after ``silence_duration_ms`` of quiet."""

    _wire_tag = "server_vad"

    threshold: float | None = attrs.field(default=None, validator=_unit_interval)
    prefix_padding_ms: int | None = attrs.field(default=None, validator=_non_negative)
    silence_duration_ms: int | None = attrs.field(default=None, validator=_non_negative)
    #: Answer on its own (and commit the silence) after this long without speech.
    idle_timeout_ms: int | None = attrs.field(default=None, validator=_non_negative)
    #: Start a response automatically when a turn ends.
    create_response: bool | None = None
    #: Cancel the running response when speech starts (barge-in).
    interrupt_response: bool | None = None


@attrs.frozen(kw_only=True)
class SemanticVad(WireValue):
    """Turn detection by a model that judges whether the speaker has finished."""

    _wire_tag = "semantic_vad"

    eagerness: Eagerness | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection: TypeAlias = ServerVad | SemanticVad


@attrs.frozen(kw_only=True)
class Transcription(WireValue):
    """Transcription of the caller's audio (arrives as ``input_audio_transcription`` events)."""

    model: str | None = None
    #: ISO-639-1 code, e.g. ``"en"``.
    language: str | None = None
    prompt: str | None = None
    languages: tuple[str, ...] | None = None
    keywords: tuple[str, ...] | None = None
    delay: TranscriptionDelay | None = None


@attrs.frozen(kw_only=True)
class NoiseReduction(WireValue):
    """Input noise reduction: ``near_field`` for headsets, ``far_field`` for room microphones."""

    type: NoiseReductionType | None = None
    strength: float | None = None

    @classmethod
    def near_field(cls) -> NoiseReduction:
        return cls(type="near_field")

    @classmethod
    def far_field(cls) -> NoiseReduction:
        return cls(type="far_field")


@attrs.frozen(kw_only=True)
class AudioInputConfig(WireValue):
    """``session.audio.input``."""

    format: AudioFormat | None = None
    transcription: Transcription | Unset | None = UNSET
    noise_reduction: NoiseReduction | Unset | None = UNSET
    turn_detection: TurnDetection | Unset | None = UNSET


# -- audio output --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CustomVoice(WireValue):
    """A custom voice, by its ``voice_...`` id."""

    id: str


#: A built-in voice name (``"marin"``, ``"cedar"``, ``"alloy"``, ...) or a custom voice.
Voice: TypeAlias = str | CustomVoice


@attrs.frozen(kw_only=True)
class AudioOutputConfig(WireValue):
    """``session.audio.output``.  The voice cannot change once the model has spoken."""

    format: AudioFormat | None = None
    voice: Voice | None = None
    speed: float | None = attrs.field(default=None, validator=v.optional([v.ge(0.25), v.le(1.5)]))


@attrs.frozen(kw_only=True)
class AudioConfig(WireValue):
    """``session.audio``."""

    input: AudioInputConfig | None = None
    output: AudioOutputConfig | None = None


# -- tools ---------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FunctionTool(WireValue):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    _wire_tag = "function"

    name: str
    description: str | None = None
    parameters: JSONObject | None = attrs.field(default=None, hash=False)


@attrs.frozen(kw_only=True)
class McpTool(WireValue):
    """A remote MCP server the model may use.  The filter fields pass through as JSON."""

    _wire_tag = "mcp"

    server_label: str
    server_url: str | None = None
    server_description: str | None = None
    connector_id: str | None = None
    authorization: str | None = attrs.field(default=None, repr=False)
    headers: dict[str, str] | None = attrs.field(default=None, repr=False, hash=False)
    #: A list of tool names or a filter object.
    allowed_tools: JSONValue | None = attrs.field(default=None, hash=False)
    #: ``"always"``, ``"never"`` or a filter object.
    require_approval: JSONValue | None = attrs.field(default=None, hash=False)
    allowed_callers: tuple[Literal["direct", "programmatic"], ...] | None = None
    defer_loading: bool | None = None
    tunnel_id: str | None = None


Tool: TypeAlias = FunctionTool | McpTool


@attrs.frozen(kw_only=True)
class FunctionToolChoice(WireValue):
    """Force a call to the named function."""

    _wire_tag = "function"

    name: str


@attrs.frozen(kw_only=True)
class McpToolChoice(WireValue):
    """Force a call to a tool on the labelled MCP server."""

    _wire_tag = "mcp"

    server_label: str
    name: str | None = None


ToolChoice: TypeAlias = Literal["none", "auto", "required"] | FunctionToolChoice | McpToolChoice


# -- the rest of the session ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TracingConfig(WireValue):
    """Named tracing (``tracing="auto"`` uses defaults).  Cannot change once enabled."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: JSONObject | None = attrs.field(default=None, hash=False)


Tracing: TypeAlias = Literal["auto"] | TracingConfig


@attrs.frozen(kw_only=True)
class TokenLimits(WireValue):
    post_instructions: int | None = attrs.field(default=None, validator=_non_negative)


@attrs.frozen(kw_only=True)
class RetentionRatioTruncation(WireValue):
    """When the context overflows, keep this fraction of the conversation."""

    _wire_tag = "retention_ratio"

    retention_ratio: float = attrs.field(validator=[v.ge(0.0), v.le(1.0)])
    token_limits: TokenLimits | None = None


Truncation: TypeAlias = Literal["auto", "disabled"] | RetentionRatioTruncation


@attrs.frozen(kw_only=True)
class Prompt(WireValue):
    """A stored prompt template.  Variable values are strings or input-content objects."""

    id: str
    version: str | None = None
    variables: JSONObject | None = attrs.field(default=None, hash=False)


@attrs.frozen(kw_only=True)
class Reasoning(WireValue):
    effort: ReasoningEffort | None = None


#: At most 4096 tokens, or ``"inf"`` for the model's maximum.
MaxOutputTokens: TypeAlias = int | Literal["inf"]


def check_max_output_tokens(_: object, __: object, value: MaxOutputTokens | None) -> None:
    if isinstance(value, int) and not 1 <= value <= 4096:
        raise ValueError(f"max_output_tokens must be 1..4096 or 'inf', not {value}")


@attrs.frozen(kw_only=True)
class SessionConfig(WireValue):
    """A GA realtime session (``type: "realtime"``)."""

    _wire_tag = "realtime"

    model: str | None = None
    instructions: str | None = None
    #: ``("audio",)`` (audio plus its transcript, the default) or ``("text",)``.
    output_modalities: tuple[Modality, ...] | None = None
    max_output_tokens: MaxOutputTokens | None = attrs.field(
        default=None, validator=check_max_output_tokens
    )
    audio: AudioConfig | None = None
    tools: tuple[Tool, ...] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    tracing: Tracing | Unset | None = UNSET
    truncation: Truncation | None = None
    prompt: Prompt | None = None
    include: tuple[SessionInclude, ...] | None = None
