"""The echo gate, sans-IO: is what the microphone hears explained by the agent's own voice?

Theory of operation
-------------------
A speaker and a microphone in one room: the agent's audio comes back into the microphone some
tens of milliseconds after it was played (device latencies, the room), quieter by the acoustic
*coupling* between the two.  A local VAD would take that echo for the user and barge in on the
agent.  :class:`EchoGate` is a Geigel-style double-talk test on levels (no adaptive filter):

* The playback side reports the *reference*: what it hands to the sink, as RMS levels (dBFS) of
  consecutive 10 ms pieces (:func:`pcm_levels`) with the time the first one starts playing
  (:meth:`EchoGate.played`).  The last ``history_ms`` are kept (a bounded deque).
* For each captured piece of audio spanning ``[a, b]`` (times on the same clock),
  :meth:`EchoGate.filter` takes the loudest reference piece that played within
  ``[a - max_delay_ms, b]``: any echo in the piece comes from there.  Echo is at most that level
  plus ``coupling_db`` (an assumed worst case, −6 dB by default, as Geigel's classic 0.5): a
  piece not louder than that plus ``margin_db`` is *explained by echo* and handed on as silence;
  a louder one is near-end speech and passes untouched.  A piece of echo mixes reference pieces
  of the window, so its power is at most their maximum times the coupling whatever the exact
  delay: the test needs no delay estimate.

So only near-end speech louder than the worst-case echo of what was just played can start a
barge-in while the agent talks.  With ``suppress_uplink`` (the default) the same test runs on
the captured audio sent to the model, so the server's VAD does not hear the echo either: an
echo suppressor, as speakerphones had before adaptive cancellers — what the user says more
softly than the agent's echo while the agent talks is not sent.  With nothing played in the
window (the agent silent, or no sink) :meth:`EchoGate.filter` costs one comparison and changes
nothing.  Pure: time comes in as
arguments, no clock, no I/O.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from rtagents import native
from rtagents._core.levels import dbfs

__all__ = ["PIECE_MS", "EchoGate", "EchoGateSettings", "pcm_levels"]

PIECE_MS = 10


def _finite(lo: float, hi: float) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if not isinstance(value, int | float) or not lo <= value <= hi:
            raise ValueError(f"echo gate {attribute.name} must be a number in [{lo}, {hi}]")

    return check


@attrs.frozen(kw_only=True)
class EchoGateSettings:
    """How the echo gate judges the microphone (``RealtimeRunConfig(echo_gate=...)``).

    ``coupling_db``: the loudest the agent's echo is assumed to reach the microphone, relative
    to what was played (−6 dB: a speaker near a microphone at a moderate volume; raise it toward
    0 dB or above for a loud speaker beside the microphone, lower it for a headset-like setup to
    let softer speech barge in).  ``margin_db``: how much louder than that near-end speech must
    be (headroom for level-estimation error and noise).  ``max_delay_ms``: the longest delay
    from handing audio to the sink to hearing it back (output and input device latency plus the
    room), up to 1000 ms.  ``history_ms``: the reference kept (at least ``max_delay_ms``; longer
    lets longer microphone chunks be judged whole).  ``suppress_uplink``: also send the model
    silence for the captured pieces explained by echo (else the server's VAD hears the echo and
    may take it for the user: an interrupted agent, or an answer to itself)."""

    coupling_db: float = attrs.field(default=-6.0, validator=_finite(-60.0, 20.0))
    margin_db: float = attrs.field(default=1.0, validator=_finite(0.0, 40.0))
    max_delay_ms: int = attrs.field(default=250, validator=_finite(0, 1000))
    history_ms: int = attrs.field(default=1000, validator=_finite(PIECE_MS, 10_000))
    suppress_uplink: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.history_ms < self.max_delay_ms:
            raise ValueError("echo gate history_ms must be at least max_delay_ms")

    @classmethod
    def coerce(cls, value: object) -> EchoGateSettings | None:
        """``True`` (the defaults), ``False``/``None`` (no gate), settings, or a dict of them."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {f.name for f in attrs.fields(cls)})
            if unknown:
                raise ValueError(
                    f"echo_gate: unknown key(s) {', '.join(map(str, unknown))}; allowed: "
                    "coupling_db, margin_db, max_delay_ms, history_ms, suppress_uplink"
                )
            return cls(**value)
        raise TypeError(
            "echo_gate must be True, False, an EchoGateSettings or a dict of its fields, "
            f"not {type(value).__name__}"
        )


def pcm_levels(pcm16: bytes, rate: int, piece_ms: int = PIECE_MS) -> list[float]:
    """RMS levels (dBFS) of consecutive ``piece_ms`` pieces of PCM16 at ``rate``, the last
    possibly shorter (one pass of the native kernel for the whole pieces)."""
    if len(pcm16) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")
    step = max(1, rate * piece_ms // 1000)
    levels = [dbfs(m) for m in native.mean_squares(pcm16, step)]
    tail = len(pcm16) // 2 % step
    if tail:
        (m,) = native.mean_squares(pcm16[len(pcm16) - 2 * tail :], tail)
        levels.append(dbfs(m))
    return levels


class EchoGate:
    """Gates microphone audio explained by echo of recently played audio; see the module
    docstring.  ``played`` and ``filter`` take times on one clock (seconds)."""

    __slots__ = (
        "_history",
        "_judged",
        "_last_end",
        "_threshold_db",
        "gated_ms",
        "gated_pieces",
        "settings",
    )

    def __init__(self, settings: EchoGateSettings | None = None) -> None:
        self.settings = settings if settings is not None else EchoGateSettings()
        self._threshold_db = self.settings.coupling_db + self.settings.margin_db
        # (start, end, level) of reference pieces, oldest first; bounded
        self._history: collections.deque[tuple[float, float, float]] = collections.deque(
            maxlen=max(1, self.settings.history_ms // PIECE_MS)
        )
        self._last_end = -float("inf")
        # The last frame judged and the verdict: (pcm, rate, end, audio out, pieces, ms).
        self._judged: tuple[bytes, int, float, bytes, int, float] | None = None
        self.gated_pieces = 0  #: microphone pieces handed on as silence so far
        self.gated_ms = 0.0

    def played(self, start: float, levels: Sequence[float], piece_ms: int = PIECE_MS) -> None:
        """The reference: ``levels`` of consecutive ``piece_ms`` pieces, the first starting to
        play at ``start`` (a shorter last piece may be counted whole: that only widens it)."""
        step = piece_ms / 1000
        for i, level in enumerate(levels):
            begin = start + i * step
            self._history.append((begin, begin + step, level))
        if levels:
            self._last_end = max(self._last_end, start + len(levels) * step)

    def active(self, start: float) -> bool:
        """Whether anything played recently enough to be echoed in audio from ``start`` on."""
        return self._last_end > start - self.settings.max_delay_ms / 1000

    def echo_limit(self, start: float, end: float) -> float | None:
        """The loudest level (dBFS) echo can have in microphone audio spanning ``[start, end]``
        plus the margin; ``None`` when nothing played in its window."""
        earliest = start - self.settings.max_delay_ms / 1000
        loudest: float | None = None
        for begin, finish, level in reversed(self._history):
            if finish <= earliest:
                break  # oldest first: everything further back is older still
            if begin < end and (loudest is None or level > loudest):
                loudest = level
        return None if loudest is None else loudest + self._threshold_db

    def filter(
        self, pcm16: bytes, rate: int, end: float, *, count: bool = True
    ) -> tuple[bytes, int]:
        """Microphone PCM16 at ``rate`` whose last sample was captured at ``end``: the same audio
        with each 10 ms piece explained by echo replaced by silence, and how many were (added to
        ``gated_pieces`` / ``gated_ms`` when ``count``).  The same frame (the same bytes object,
        rate and time) asked about again — the uplink and the VAD each hand it on — gets the
        verdict already made, not a second judgement."""
        judged = self._judged
        if judged is not None and judged[0] is pcm16 and judged[1:3] == (rate, end):
            out, gated, ms = judged[3:]
        else:
            out, gated, ms = self._judge(pcm16, rate, end)
            self._judged = (pcm16, rate, end, out, gated, ms)
        if count:
            self.gated_pieces += gated
            self.gated_ms += ms
        return out, gated

    def _judge(self, pcm16: bytes, rate: int, end: float) -> tuple[bytes, int, float]:
        duration = len(pcm16) / 2 / rate
        start = end - duration
        if not self.active(start):
            return pcm16, 0, 0.0
        step = max(1, rate * PIECE_MS // 1000)
        out: bytearray | None = None
        gated = 0
        ms = 0.0
        for i, level in enumerate(pcm_levels(pcm16, rate)):
            a = start + i * step / rate
            b = min(end, a + step / rate)
            limit = self.echo_limit(a, b)
            if limit is None or level > limit:
                continue
            if out is None:
                out = bytearray(pcm16)
            lo = 2 * i * step
            hi = min(len(pcm16), lo + 2 * step)
            out[lo:hi] = bytes(hi - lo)
            gated += 1
            ms += (b - a) * 1000
        return (pcm16 if out is None else bytes(out)), gated, ms
