"""The turn table's vocabulary: its inputs, its actions and its states, as frozen values.

See :mod:`rtagents._core.turns` for the machine that maps one to the other.
"""

from __future__ import annotations

import enum
from typing import Literal, TypeAlias

import attrs

# -- inputs ------------------------------------------------------------------------------------


@attrs.frozen
class UserSpeechStarted:
    source: Literal["local", "server"]


@attrs.frozen
class UserSpeechStopped:
    source: Literal["local", "server"]


@attrs.frozen
class UserInputSent:
    """A message or a committed audio buffer that the model will answer."""


@attrs.frozen
class ResponseStarted:
    response_id: str


@attrs.frozen
class AudioReceived:
    response_id: str
    item_id: str
    content_index: int
    ms: float  # duration of the chunk


@attrs.frozen
class ResponseFinished:
    response_id: str
    status: str = "completed"


@attrs.frozen
class PlaybackProgressed:
    """``played_ms`` of (item_id, content_index) has reached the sink; None: playback is idle."""

    item_id: str | None
    content_index: int = 0
    played_ms: float = 0.0

    @classmethod
    def idle(cls) -> PlaybackProgressed:
        return cls(None)


@attrs.frozen
class ToolCallStarted:
    call_id: str


@attrs.frozen
class ToolCallFinished:
    call_id: str


@attrs.frozen
class InterruptRequested:
    """The app asked to interrupt (``session.interrupt()``), or a guardrail stopped response
    ``response_id``: then only that response is stopped, and only if it is the running one or
    its audio is still playing with no newer response running."""

    response_id: str | None = None


@attrs.frozen
class Tick:
    """The deadline passed (or the session just wants the clock looked at)."""


TurnInput: TypeAlias = (
    UserSpeechStarted
    | UserSpeechStopped
    | UserInputSent
    | ResponseStarted
    | AudioReceived
    | ResponseFinished
    | PlaybackProgressed
    | ToolCallStarted
    | ToolCallFinished
    | InterruptRequested
    | Tick
)

# -- actions -----------------------------------------------------------------------------------


@attrs.frozen
class PlayAudio:
    item_id: str
    content_index: int


@attrs.frozen
class DropAudio:
    item_id: str
    ms: float
    reason: Literal["interrupted"] = "interrupted"


@attrs.frozen
class StopPlayback:
    """Flush playback now (with a short fade)."""


@attrs.frozen
class CancelResponse:
    response_id: str


@attrs.frozen
class CancelInterruptibleTools:
    """The user barged in: cancel the running tool calls whose tools opted in."""


@attrs.frozen
class TruncateItem:
    item_id: str
    content_index: int
    audio_end_ms: int


@attrs.frozen
class DeleteItem:
    """Nothing of this assistant item was heard: remove it rather than truncate at 0 ms."""

    item_id: str


@attrs.frozen
class AudioInterrupted:
    item_id: str
    content_index: int


@attrs.frozen
class TurnTimedOut:
    """The machine gave up waiting in ``state``; ``response_id`` is the response it gave up on
    (the session ends it for the app and lets the next request through)."""

    state: TurnState
    reason: str
    response_id: str | None = None


@attrs.frozen
class Unexpected:
    """An input that makes no sense in the current state (a protocol-level oddity)."""

    state: TurnState
    input: TurnInput


TurnAction: TypeAlias = (
    PlayAudio
    | DropAudio
    | StopPlayback
    | CancelResponse
    | CancelInterruptibleTools
    | TruncateItem
    | DeleteItem
    | AudioInterrupted
    | TurnTimedOut
    | Unexpected
)


class TurnState(enum.Enum):
    IDLE = "idle"
    USER_SPEAKING = "user_speaking"
    AWAITING_RESPONSE = "awaiting_response"
    AGENT_SPEAKING = "agent_speaking"
    INTERRUPTED = "interrupted"


S = TurnState
