"""A turn's latency, split into stages, from the local server's :class:`Timeline`.

One turn, as the server's marks tell it (all times on the trio clock)::

    end of speech ─ turn detection ─▶ speech_stopped (the end-of-turn decision)
      ─ recognition ─▶ transcribed
      ─ brain ─▶ tool_call … (the client runs the tool) … response_started ─ brain ─▶
      brain_first_text ─ synthesis ─▶ synth_first_audio ─ send ─▶ first_audio_sent

The end of speech is not a server mark: the caller gives it when it knows it (a file's last
voiced sample), otherwise it is estimated as the decision minus the VAD's silence duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ._timeline import Mark


@attrs.frozen
class TurnLatency:
    """Times (trio clock seconds) of one turn's stages; None where a stage did not happen."""

    item_id: str
    end_of_speech: float
    decision: float
    transcribed: float | None
    tool_call: float | None
    speaking_response: str | None
    response_started: float | None
    brain_first_text: float | None
    synth_first_audio: float | None
    first_audio_sent: float | None
    client_first_audio: float | None = None

    def stages(self) -> dict[str, float | None]:
        """Durations in milliseconds, in order; they add up to the total."""

        def ms(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else (b - a) * 1000

        brain: float | None
        tool: float | None = None
        if self.tool_call is not None:
            tool = ms(self.tool_call, self.response_started)
            first = ms(self.transcribed, self.tool_call)
            second = ms(self.response_started, self.brain_first_text)
            brain = None if first is None or second is None else first + second
        else:
            brain = ms(self.transcribed, self.brain_first_text)
        return {
            "turn detection": ms(self.end_of_speech, self.decision),
            "recognition": ms(self.decision, self.transcribed),
            "brain": brain,
            "tool round trip": tool,
            "synthesis": ms(self.brain_first_text, self.synth_first_audio),
            "send": ms(self.synth_first_audio, self.first_audio_sent),
            "to the client": ms(self.first_audio_sent, self.client_first_audio),
        }

    @property
    def decision_to_first_audio_ms(self) -> float | None:
        """The end-of-turn decision to the first audio leaving the server."""
        if self.first_audio_sent is None:
            return None
        return (self.first_audio_sent - self.decision) * 1000

    @property
    def total_ms(self) -> float | None:
        """End of speech to the first agent audio (at the client when known)."""
        last = self.client_first_audio or self.first_audio_sent
        return None if last is None else (last - self.end_of_speech) * 1000


def turn_latencies(
    marks: Iterable[Mark],
    *,
    speech_ends: Sequence[float] = (),
    silence_ms: float = 500,
    client_audio: Sequence[float] = (),
) -> list[TurnLatency]:
    """One :class:`TurnLatency` per end of turn in `marks`.

    `speech_ends` are the true ends of the user's speech, in order (else estimated);
    `client_audio` the times the client received audio (the first after each turn's first
    audio sent is that turn's).
    """
    ordered = sorted(marks, key=lambda m: m.t)
    received = sorted(client_audio)
    decisions = [m for m in ordered if m.what == "speech_stopped"]
    turns = []
    for n, decision in enumerate(decisions):
        until = decisions[n + 1].t if n + 1 < len(decisions) else float("inf")
        window = [m for m in ordered if decision.t <= m.t < until]

        def first(what: str, ref: str | None = None, pool: list[Mark] = window) -> Mark | None:
            return next((m for m in pool if m.what == what and ref in (None, m.ref)), None)

        transcribed = first("transcribed", decision.ref)
        tool = first("tool_call")
        speaking = first("first_audio_sent")
        ref = speaking.ref if speaking is not None else None
        started = first("response_started", ref) if ref else None
        brain = first("brain_first_text", ref) if ref else None
        synth = first("synth_first_audio", ref) if ref else None
        client = None
        if speaking is not None:
            client = next((t for t in received if t >= speaking.t), None)
        end = speech_ends[n] if n < len(speech_ends) else decision.t - silence_ms / 1000
        turns.append(
            TurnLatency(
                item_id=decision.ref,
                end_of_speech=end,
                decision=decision.t,
                transcribed=transcribed.t if transcribed else None,
                tool_call=tool.t if tool and (speaking is None or tool.t <= speaking.t) else None,
                speaking_response=ref,
                response_started=started.t if started else None,
                brain_first_text=brain.t if brain else None,
                synth_first_audio=synth.t if synth else None,
                first_audio_sent=speaking.t if speaking else None,
                client_first_audio=client,
            )
        )
    return turns


def format_turn(turn: TurnLatency) -> str:
    """A few lines for a terminal: each stage and the totals."""
    lines = []
    for name, value in turn.stages().items():
        if value is not None:
            lines.append(f"    {name:<30}{value:8.1f} ms")
    decision = turn.decision_to_first_audio_ms
    if decision is not None:
        lines.append(f"    {'decision → first audio sent':<30}{decision:8.1f} ms")
    if turn.total_ms is not None:
        lines.append(f"    {'end of speech → first audio':<30}{turn.total_ms:8.1f} ms")
    return "\n".join(lines)
