"""The local server's session configuration: the defaults, ``session.update`` merging, and the
effective settings the other parts of the core read from a config.

Theory of operation
-------------------
A session starts from :data:`DEFAULT_SESSION` (server VAD with OpenAI's defaults, PCM16 at
24 kHz both ways, audio output).  ``session.update`` carries a partial config; :func:`merge`
applies it field by field, recursively: what the update leaves out keeps its value.  Nullable
fields (``turn_detection``, ``transcription``, ``noise_reduction``, ``tracing``) tell an absent
key (:data:`~rtagents.protocol.UNSET`: keep) from an explicit ``null`` (``None``: switch off);
an audio format is replaced whole.

The accessors (:func:`input_format`, :func:`output_format`, :func:`turn_detection`,
:func:`transcription_enabled`, :func:`output_modalities`) answer what a config means when a
field is missing, so the rest of the core never looks into optional nesting itself.  Pure
functions of immutable values.
"""

from __future__ import annotations

from typing import Any, cast

import attrs

from rtagents import protocol as p

DEFAULT_SERVER_VAD = p.ServerVad(
    threshold=0.5,
    prefix_padding_ms=300,
    silence_duration_ms=500,
    create_response=True,
    interrupt_response=True,
)
DEFAULT_SESSION = p.SessionConfig(
    model="rtagents-local",
    instructions="",
    output_modalities=("audio",),
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcm(),
            transcription=None,
            noise_reduction=None,
            turn_detection=DEFAULT_SERVER_VAD,
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcm(), voice="marin", speed=1.0),
    ),
    tools=(),
    tool_choice="auto",
    max_output_tokens="inf",
)


def merge(old: object, new: object) -> object:
    """Field-wise update of attrs config values: what `new` leaves unset keeps `old`'s value.

    A field that can be UNSET tells "absent" (UNSET: keep) from an explicit ``null`` (None:
    turn it off, e.g. ``turn_detection: null``); a field whose default is None cannot, so
    None keeps the old value there.
    """
    if new is None or new is p.UNSET:
        return old
    if attrs.has(type(new)) and type(new) is type(old) and not isinstance(new, p.AudioFormat):
        changes: dict[str, object] = {}
        for f in attrs.fields(cast(Any, type(new))):
            if f.name == "raw":
                continue
            value = getattr(new, f.name)
            if value is None and f.default is p.UNSET:
                changes[f.name] = None
            else:
                changes[f.name] = merge(getattr(old, f.name), value)
        return attrs.evolve(old, **changes)  # type: ignore[misc]
    return new


def merge_session(old: p.SessionConfig, update: p.SessionConfig) -> p.SessionConfig:
    """The session after ``session.update`` with ``update``."""
    merged = merge(old, update)
    assert isinstance(merged, p.SessionConfig)
    return merged


def input_format(config: p.SessionConfig) -> p.AudioFormat:
    audio = config.audio
    fmt = audio.input.format if audio and audio.input else None
    return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()


def output_format(config: p.SessionConfig) -> p.AudioFormat:
    audio = config.audio
    fmt = audio.output.format if audio and audio.output else None
    return fmt if isinstance(fmt, p.AudioFormat) else p.AudioFormat.pcm()


def turn_detection(config: p.SessionConfig) -> p.ServerVad | p.SemanticVad | None:
    audio = config.audio
    detection = audio.input.turn_detection if audio and audio.input else None
    return None if detection is p.UNSET else detection


def transcription_enabled(config: p.SessionConfig) -> bool:
    """Whether the client asked for input transcription events."""
    audio = config.audio
    transcription = audio.input.transcription if audio and audio.input else None
    return isinstance(transcription, p.Transcription)


def output_modalities(config: p.SessionConfig, params: p.ResponseParams | None) -> tuple[str, ...]:
    """What a response produces: its own ``output_modalities``, else the session's."""
    chosen = params.output_modalities if params and params.output_modalities else None
    return tuple(chosen or config.output_modalities or ("audio",))
