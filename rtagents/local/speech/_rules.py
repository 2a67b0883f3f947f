"""The default brain: deterministic rules standing in for a language model (it is not one).

Theory of operation
-------------------
:class:`RuleBrain` is a text-only :class:`~rtagents.local.Responder`: it reads the conversation
the local server holds and answers with :class:`~rtagents.local.Say` text (another component
speaks it) or :class:`~rtagents.local.CallTool`.  What it can do is small and predictable:

* **Tools.**  Each tool offered in the session gets keywords: the words of its name (weight 2)
  and of its description (weight 1), minus common words.  The user's words (lower-cased, as a
  recognizer gives them; a trailing "s" ignored) are scored against them and the best tool with
  a name word, or two description words, is called.  Arguments come from the words after the
  last "in / for / at / about / of / to" (minus trailing fillers like "today"), from numbers
  said (digits or number words), or from enum values heard; a required argument it cannot fill
  makes it ask for it instead of calling.
* **After tools.**  When the conversation ends with tool outputs, it says them: text as it is,
  JSON objects as "key: value" phrases.
* **Small talk.**  Greetings, thanks, goodbyes and "stop" get a short answer; anything else is
  echoed with a note of what it can do.

No randomness and no clock: the same conversation always gets the same answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence

import attrs

from rtagents import protocol as p
from rtagents.local._responders import CallTool, ResponseContext, ResponsePart, Say, last_user_text


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP = _set(
    """a an the of for to in on at by with and or is are be it its this that what whats
    which who how when where get gets give tell me my you your i we us our can could would will
    please some any from as if then than do does did about current"""
)
_PREPOSITIONS = ("in", "for", "at", "about", "of", "to", "called", "named")
_FILLERS = _set("today tonight now tomorrow please right currently like there here")
_NUMBER_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty"""
_NUMBERS = {w: i for i, w in enumerate(_NUMBER_WORDS.split())}
_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("'s", ""))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return _words(spaced)


@attrs.frozen
class _Tool:
    name: str
    keywords: Mapping[str, int]
    parameters: Mapping[str, object]


def _tools(context: ResponseContext) -> list[_Tool]:
    params = context.params
    offered: Sequence[object] = context.session.tools or ()
    if params is not None and params.tools is not None:
        offered = params.tools
    tools = []
    for tool in offered:
        if not isinstance(tool, p.FunctionTool):
            continue
        keywords: dict[str, int] = {}
        for word in _words(tool.description or ""):
            if word not in _STOP:
                keywords[_stem(word)] = 1
        for word in _name_words(tool.name):
            if word not in _STOP:
                keywords[_stem(word)] = 2
        schema = tool.parameters if isinstance(tool.parameters, Mapping) else {}
        tools.append(_Tool(tool.name, keywords, schema))
    return tools


def _phrase_after_preposition(words: list[str]) -> str | None:
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _PREPOSITIONS:
            tail = words[i + 1 :]
            while tail and (tail[-1] in _FILLERS or tail[-1] in _STOP):
                tail.pop()
            while tail and tail[0] in ("the", "a", "an"):
                tail.pop(0)
            if tail:
                return " ".join(tail)
    return None


def _number(words: list[str]) -> int | None:
    for word in words:
        if word.isdigit():
            return int(word)
        if word in _NUMBERS:
            return _NUMBERS[word]
    return None


@attrs.define
class RuleBrain:
    """A deterministic rule-based stand-in for a language model.  See the module docstring."""

    name: str = "the local demo model"

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        for part in self.answer(context):
            yield part

    def answer(self, context: ResponseContext) -> list[ResponsePart]:
        """The whole answer at once (the rules need no waiting)."""
        conversation = context.conversation
        outputs = _trailing_outputs(conversation)
        if outputs:
            return [Say(" ".join(_say_output(o) for o in outputs))]
        text = last_user_text(conversation)
        words = _words(text)
        if not words:
            return [Say("Sorry, I did not catch that. Could you say it again?")]
        tools = _tools(context)
        chosen = self._choose(words, tools)
        if chosen is not None:
            arguments, missing = self._arguments(words, chosen)
            if missing:
                return [Say(f"Which {missing.replace('_', ' ')} do you mean?")]
            return [CallTool(chosen.name, json.dumps(arguments))]
        return [Say(self._small_talk(words, text, tools))]

    def _choose(self, words: list[str], tools: list[_Tool]) -> _Tool | None:
        heard = {_stem(w) for w in words if w not in _STOP}
        best: tuple[int, _Tool] | None = None
        for tool in tools:
            name_hits = sum(1 for k, w in tool.keywords.items() if w == 2 and k in heard)
            score = sum(w for k, w in tool.keywords.items() if k in heard)
            if (name_hits or score >= 2) and (best is None or score > best[0]):
                best = (score, tool)
        return best[1] if best else None

    def _arguments(self, words: list[str], tool: _Tool) -> tuple[dict[str, object], str | None]:
        properties = tool.parameters.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = tool.parameters.get("required")
        required = set(required) if isinstance(required, list) else set()
        arguments: dict[str, object] = {}
        for name, schema in properties.items():
            schema = schema if isinstance(schema, Mapping) else {}
            value = self._value(words, schema)
            if value is not None:
                arguments[name] = value
            elif name in required and "default" not in schema and not _nullable(schema):
                # (strict schemas list optional parameters as required, with their default)
                return {}, name
        return arguments, None

    def _value(self, words: list[str], schema: Mapping[str, object]) -> object | None:
        enum = schema.get("enum")
        if isinstance(enum, list):
            for option in enum:
                if isinstance(option, str) and all(w in words for w in _words(option)):
                    return option
            return None
        kind = schema.get("type")
        if kind in ("integer", "number"):
            return _number(words)
        if kind == "string" or kind is None:
            phrase = _phrase_after_preposition(words)
            return phrase.title() if phrase else None
        return None

    def _small_talk(self, words: list[str], text: str, tools: list[_Tool]) -> str:
        heard = set(words)
        if heard & {"hello", "hi", "hey", "morning", "evening"}:
            return f"Hello! I am {self.name}. " + self._offer(tools)
        if heard & {"thank", "thanks"}:
            return "You are welcome."
        if heard & {"bye", "goodbye"}:
            return "Goodbye!"
        if heard & {"stop", "wait", "cancel"} or "never mind" in " ".join(words):
            return "Okay."
        return f"You said: {text.strip()}. " + self._offer(tools)

    @staticmethod
    def _offer(tools: list[_Tool]) -> str:
        if not tools:
            return "I am a simple rule-based model and have no tools in this session."
        names = [" ".join(_name_words(t.name)) for t in tools]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"You can ask me to {listed}."


def _trailing_outputs(conversation: Sequence[p.ConversationItem]) -> list[str]:
    """The outputs of the tool calls that end the conversation, in order."""
    outputs: list[str] = []
    for item in reversed(conversation):
        if isinstance(item, p.FunctionCallOutputItem):
            outputs.append(item.output)
        elif isinstance(item, p.FunctionCallItem):
            continue
        else:
            break
    return outputs[::-1]


def _say_output(output: str) -> str:
    try:
        value = json.loads(output)
    except ValueError:
        return output.strip()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        return ", ".join(f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items()) + "."
    return _plain(value) + "."


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _nullable(schema: Mapping[str, object]) -> bool:
    """Whether a (strict) schema lets the value be null: an optional parameter."""
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    options = schema.get("anyOf")
    return isinstance(options, list) and any(
        isinstance(o, Mapping) and o.get("type") == "null" for o in options
    )
