"""What the local server says: the responder interface and a deterministic scripted responder.

A responder turns the conversation so far into response parts: :class:`Say` (a piece of the
answer's text, with the PCM16 24 kHz audio that speaks it, or none in text-only responses) and
:class:`CallTool`.  The server turns the parts into the GA event sequence and the session's audio
format.  :class:`ScriptedResponder` is rule-based and deterministic, for tests and examples: it
answers from the last user text (typed, or a transcript when one exists), calls a tool when a
rule says so, and after a tool's output speaks a template filled with that output.  Its "voice"
is a synthetic, speech-like signal (a gliding harmonic tone with a 4 Hz syllable rhythm), not
speech; real speech synthesis is a separate component.

Responders stream: a part is made when the server asks for the next one, so a long answer costs
memory and time per part, never for the whole answer at once (the server stops asking once a
response has said all it may, see ``_response_builder.MAX_OUTPUT_TOKENS``).  The scripted voice
synthesizes each ``chunk_ms`` piece of its signal as it is sent (:meth:`ScriptedResponder.stream`),
sample for sample the signal :func:`synthetic_voice` makes whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from rtagents import protocol as p

OUTPUT_RATE = 24000


@attrs.frozen
class Say:
    text: str
    audio: bytes | None = attrs.field(default=None, repr=lambda a: f"<{len(a or b'')} bytes>")


@attrs.frozen
class CallTool:
    name: str
    arguments: str  # JSON text


ResponsePart = Say | CallTool


class ResponderError(Exception):
    """A responder could not produce its response (e.g. its language model is unreachable).

    The server ends the response with ``status: "failed"`` and this message as the reason's
    detail; the connection and the conversation go on.
    """


def _no_mark(what: str) -> None:
    pass


@attrs.frozen
class ResponseContext:
    """What a responder answers from.  ``mark(what)`` notes a moment of the response on the
    server's timeline (e.g. a brain's first text), for latency breakdowns."""

    conversation: tuple[p.ConversationItem, ...]
    session: p.SessionConfig
    params: p.ResponseParams | None
    audio_output: bool
    mark: Callable[[str], None] = attrs.field(default=_no_mark, eq=False, repr=False)


class Responder(Protocol):
    def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]: ...


def last_user_text(conversation: Sequence[p.ConversationItem]) -> str:
    """The text of the newest user message: typed text, or its transcript if it has one."""
    for item in reversed(conversation):
        if isinstance(item, p.MessageItem) and item.role == "user":
            pieces = []
            for part in item.content:
                text = getattr(part, "text", None) or getattr(part, "transcript", None)
                if text:
                    pieces.append(text)
            return " ".join(pieces)
    return ""


def synthetic_voice(seconds: float, seed: int = 0) -> np.ndarray:
    """A deterministic speech-like signal at 24 kHz (float, peak ≈ 0.3 FS)."""
    signal = _VoiceSignal(seconds, seed)
    return signal.take(signal.samples)


class _VoiceSignal:
    """:func:`synthetic_voice`, made piece by piece (the same samples, bit for bit)."""

    def __init__(self, seconds: float, seed: int) -> None:
        self.samples = max(1, int(OUTPUT_RATE * seconds))
        self._seed = seed
        self._made = 0
        self._phase_sum = 0.0  # the running sum of f0 (the phase, up to a factor)

    def take(self, count: int) -> np.ndarray:
        """The next `count` samples (fewer at the end)."""
        start, end = self._made, min(self.samples, self._made + count)
        self._made = end
        t = np.arange(start, end) / OUTPUT_RATE
        f0 = 120 + 100 * (0.5 + 0.5 * np.sin(2 * math.pi * (0.7 + 0.1 * self._seed) * t))
        # cumsum from the carried sum: the same additions, in the same order, as one cumsum
        sums = np.cumsum(np.concatenate(([self._phase_sum], f0)))[1:]
        if len(sums):
            self._phase_sum = float(sums[-1])
        phase = 2 * math.pi * sums / OUTPUT_RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 6))
        syllables = 0.55 + 0.45 * np.sin(2 * math.pi * 4.0 * t - math.pi / 2)
        last = (self.samples - 1) / OUTPUT_RATE
        fade = np.minimum(1.0, np.minimum(t, last - t) / 0.01)
        return np.asarray(0.3 * 32767 * voice / 2.3 * syllables * fade, dtype=np.float64)


@attrs.frozen
class Rule:
    """If the last user text contains `when` (case-insensitive; None matches anything), then
    call tool `call` with `arguments` if the session has that tool, else say `say`."""

    when: str | None = None
    say: str = "Hello from the local model."
    call: str | None = None
    arguments: dict[str, object] = attrs.field(factory=dict)
    after_tool: str = "The result is {output}."


@attrs.define
class ScriptedResponder:
    rules: Sequence[Rule] = (Rule(),)
    ms_per_char: int = 60
    chunk_ms: int = 100

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        conversation = context.conversation
        last = conversation[-1] if conversation else None
        if isinstance(last, p.FunctionCallOutputItem):
            rule = self._rule_for_call(conversation, last.call_id)
            text = rule.after_tool.format(output=last.output)
            for part in self.stream(text, context.audio_output):
                yield part
            return
        rule = self._match(last_user_text(conversation))
        tools = {
            getattr(t, "name", None)
            for t in (
                context.params.tools
                if context.params and context.params.tools
                else context.session.tools or ()
            )
        }
        if rule.call is not None and rule.call in tools:
            yield CallTool(name=rule.call, arguments=json.dumps(rule.arguments))
            return
        for part in self.stream(rule.say, context.audio_output):
            yield part

    def _match(self, text: str) -> Rule:
        lowered = text.lower()
        for rule in self.rules:
            if rule.when is None or rule.when.lower() in lowered:
                return rule
        return Rule()

    def _rule_for_call(self, conversation: Sequence[p.ConversationItem], call_id: str) -> Rule:
        for item in reversed(conversation):
            if isinstance(item, p.FunctionCallItem) and item.call_id == call_id:
                for rule in self.rules:
                    if rule.call == item.name:
                        return rule
        return Rule()

    @classmethod
    def from_script(cls, script: Mapping[str, object]) -> ScriptedResponder:
        """Build from a JSON-like script (what ``rtagents local-server --script FILE`` reads)::

            {"rules": [{"when": "weather", "call": "get_weather",
                        "arguments": {"city": "Paris"}, "after_tool": "It is {output}."},
                       {"say": "Hello from the local model."}],
             "ms_per_char": 60, "chunk_ms": 100}

        Unknown keys and wrong types raise :class:`ValueError` naming the offending key.
        """
        if not isinstance(script, Mapping):
            raise ValueError("a script is a JSON object")
        _check_keys("script", script, {"rules", "ms_per_char", "chunk_ms"})
        raw_rules = script.get("rules", [{}])
        if not isinstance(raw_rules, list) or not raw_rules:
            raise ValueError("script.rules must be a non-empty list of objects")
        rules = []
        for i, raw in enumerate(raw_rules):
            where = f"script.rules[{i}]"
            if not isinstance(raw, Mapping):
                raise ValueError(f"{where} must be an object")
            _check_keys(where, raw, {"when", "say", "call", "arguments", "after_tool"})
            fields: dict[str, Any] = {}
            for key in ("when", "say", "call", "after_tool"):
                if key in raw:
                    value = raw[key]
                    nullable = key in ("when", "call")
                    if not (isinstance(value, str) or (nullable and value is None)):
                        raise ValueError(f"{where}.{key} must be a string")
                    fields[key] = value
            if "arguments" in raw:
                if not isinstance(raw["arguments"], Mapping):
                    raise ValueError(f"{where}.arguments must be an object")
                fields["arguments"] = dict(raw["arguments"])
            rules.append(Rule(**fields))
        numbers: dict[str, int] = {}
        for key in ("ms_per_char", "chunk_ms"):
            if key in script:
                value = script[key]
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError(f"script.{key} must be a positive integer")
                numbers[key] = value
        return cls(rules=tuple(rules), **numbers)

    def speak(self, text: str, audio: bool) -> list[Say]:
        """`text` as chunks of `chunk_ms` audio, each with its share of the text (all of them:
        for short texts; a response streams them with :meth:`stream`)."""
        return list(self.stream(text, audio))

    def stream(self, text: str, audio: bool) -> Iterator[Say]:
        """The parts of :meth:`speak`, each synthesized when it is asked for."""
        if not audio:
            words = text.split(" ")
            for i, word in enumerate(words):
                yield Say(word + (" " if i < len(words) - 1 else ""))
            return
        signal = _VoiceSignal(len(text) * self.ms_per_char / 1000, seed=len(text) % 7)
        step = OUTPUT_RATE * self.chunk_ms // 1000  # samples per chunk
        count = -(-signal.samples // step)
        for i in range(count):
            pcm = np.rint(signal.take(step)).astype("<i2").tobytes()
            yield Say(text[len(text) * i // count : len(text) * (i + 1) // count], pcm)


def _check_keys(where: str, raw: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(allowed)}"
        )
