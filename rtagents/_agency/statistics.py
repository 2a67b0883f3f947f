"""What ``RealtimeSession.statistics()`` returns: the session's counters and each actor's."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class SessionStatistics:
    state: str
    events_emitted: int
    events_dropped: dict[str, int]
    event_queue_peak: int
    agent_audio_dropped_ms: float
    sends_failed: int  # control events that found the link's queue and its reserve full
    calls_after_close: int  # the app's calls after the session (or its link) closed: ignored
    turn_timeouts: int
    unexpected_inputs: int
    tool_calls: int
    tools: Any
    pending_approvals: int
    hooks_called: int
    hooks_failed: int
    hooks_dropped: int  # oldest waiting hook calls dropped because hooks fell behind
    guardrail_checks: int
    guardrail_trips: int
    last_barge_in_at: float | None  # trio time playback was last stopped for the user
    link: Any
    uplink: Any
    capture: Any
    vad: Any
    playback: Any
    recording: Any  # the call recorder's (recording_path), else None
    listeners: Any  # session.model's listeners (delivered, failed, dropped)
