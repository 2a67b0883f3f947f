"""Playback progress reported by the app: :class:`RealtimePlaybackTracker` (the SDK's name).

An app that plays agent audio itself — through its own audio callback, a browser, a phone line —
tells the session what was actually heard by calling ``on_play_bytes`` / ``on_play_ms`` as it
plays, from any thread (the state is one tuple, replaced whole, so a reader never sees half an
update).  The session reads :meth:`get_state` when it needs a position (a barge-in, an
interrupt, a turn deadline) and truncates the interrupted item exactly there, as it does with
its own sinks; it calls ``on_interrupted`` after a barge-in and ``set_audio_format`` when the
session's output format is known.  Durations: G.711 at 8,000 bytes a second, PCM16 at 24 kHz
otherwise (the SDK's rule).
"""

from __future__ import annotations

from typing import Any, TypedDict

from rtagents._core.settings import audio_format


class RealtimePlaybackState(TypedDict):
    current_item_id: str | None
    current_item_content_index: int | None
    elapsed_ms: float | None


_IDLE: RealtimePlaybackState = {
    "current_item_id": None,
    "current_item_content_index": None,
    "elapsed_ms": None,
}


def audio_length_ms(fmt: Any, data: bytes) -> float:
    """How long `data` plays in format `fmt` (any spelling; unknown: PCM16 at 24 kHz)."""
    try:
        bytes_per_ms = audio_format(fmt, "format").bytes_per_second / 1000
    except ValueError:
        bytes_per_ms = 48.0
    return len(data) / bytes_per_ms


class RealtimePlaybackTracker:
    """See the module docstring.  Subclass it to report positions another way; the session
    only calls the methods below."""

    def __init__(self) -> None:
        self._format: Any = None
        # (item_id, content_index, elapsed_ms), replaced whole on each report
        self._state: tuple[str, int, float] | None = None

    def on_play_bytes(self, item_id: str, item_content_index: int, bytes: bytes) -> None:
        """`bytes` of the item's audio have been played."""
        self.on_play_ms(item_id, item_content_index, audio_length_ms(self._format, bytes))

    def on_play_ms(self, item_id: str, item_content_index: int, ms: float) -> None:
        """`ms` more of the item's audio have been played (a new item starts from `ms`)."""
        state = self._state
        if state is not None and state[0] == item_id and state[1] == item_content_index:
            self._state = (item_id, item_content_index, state[2] + ms)
        else:
            self._state = (item_id, item_content_index, ms)

    def on_interrupted(self) -> None:
        """Called by the session when playback was cut off: nothing is playing now."""
        self._state = None

    def set_audio_format(self, format: Any) -> None:
        """Called by the session with the output format (``"pcm16"``, ``"g711_ulaw"``, ...)."""
        self._format = format

    def get_state(self) -> RealtimePlaybackState:
        state = self._state
        if state is None:
            return dict(_IDLE)  # type: ignore[return-value]
        return {
            "current_item_id": state[0],
            "current_item_content_index": state[1],
            "elapsed_ms": state[2],
        }
