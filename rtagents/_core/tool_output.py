"""A tool's result as the text the model reads, sans-IO: any Python value, never a crash.

Theory of operation
-------------------
:func:`convert_tool_output` turns whatever a tool returned into text: a ``str`` as is; other
values as JSON, built value by value with a guard around each (so one value whose ``str()``
raises, a circular reference, a structure deeper than :data:`MAX_OUTPUT_DEPTH`, dict keys that
are not strings, NaN or a set each become something readable instead of an exception), bounded
in depth and in length: the text is cut at :data:`MAX_OUTPUT_CHARS` with a note the model reads,
and conversion stops once it is past that.  What could not be shown as it was is listed in
``problems`` for the session to report.  When nothing can be converted the text says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import re
from typing import Any

import attrs

#: The most characters of text the model reads for one call's output (see the module docstring).
MAX_OUTPUT_CHARS = 100_000
#: How deep a result's structure is followed before the rest reads ``"..."``.
MAX_OUTPUT_DEPTH = 64
_MAX_PROBLEMS = 5  # what ToolOutputText.problems lists at most (then how many more there were)
_SURROGATES = re.compile("[\ud800-\udfff]")


@attrs.frozen
class ToolOutputText:
    """A tool's result as the text the model reads (:func:`convert_tool_output`)."""

    text: str
    #: The text was longer than the limit and was cut (it ends with a note saying so).
    cut: bool = False
    #: What could not be shown as it was (a value whose ``str()`` raised, a circular
    #: reference, a structure too deep...), for the session to report.
    problems: tuple[str, ...] = ()
    #: False when nothing of the value could be converted: ``text`` only says so.
    converted: bool = True


def tool_output_text(result: Any, *, limit: int = MAX_OUTPUT_CHARS) -> str:
    """How a tool's result is shown to the model: see the module docstring.  Never raises; the
    text has at most `limit` characters."""
    return convert_tool_output(result, limit=limit).text


def convert_tool_output(result: Any, *, limit: int = MAX_OUTPUT_CHARS) -> ToolOutputText:
    """:func:`tool_output_text`, saying also whether the text was cut and what could not be
    converted."""
    limit = max(1, int(limit))
    if isinstance(result, str):
        text = result if type(result) is str else str.__str__(result)
        partial, problems, converted = False, [], True
    else:
        to_json = _ToJSON(limit)
        try:
            value = to_json.value(result, 0, top=True)
            if value is _UNCONVERTIBLE:
                text, converted = _unconvertible(result), False
            else:
                text, converted = json.dumps(value, allow_nan=False), True
            partial = to_json.stopped
        except Exception as exc:  # beyond the per-value guards (a MemoryError...)
            text, converted, partial = _fallback(result, limit), False, False
            to_json.problem(f"the {_type_name(result)} could not be converted ({_describe(exc)})")
        problems = to_json.problems
    text, cut = cap_output_text(text, limit, partial=partial)
    return ToolOutputText(text, cut, tuple(problems), converted)


def cap_output_text(
    text: str, limit: int = MAX_OUTPUT_CHARS, *, partial: bool = False
) -> tuple[str, bool]:
    """`text`, sendable and at most `limit` characters: cut with a closing note if longer
    (`partial`: `text` is only the beginning of a longer output, so cut in any case), with lone
    surrogates replaced.  Returns the text and whether it was cut."""
    limit = max(1, limit)
    cut = partial or len(text) > limit
    if cut:
        if partial:
            note = f"\n[Output cut to {limit:,} characters; it was longer.]"
        else:
            note = f"\n[Output cut to {limit:,} characters from {len(text):,}.]"
        keep = limit - len(note)
        text = text[:keep] + note if keep > 0 else text[:limit]
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    return text, cut


_UNCONVERTIBLE: Any = object()


def _type_name(value: object) -> str:
    try:
        return str(type(value).__qualname__)
    except Exception:
        return "object"


def _describe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:200]
    except Exception:
        return type(exc).__name__


def _unconvertible(value: object) -> str:
    return f"The tool returned a {_type_name(value)}, which could not be converted to text."


def _fallback(value: object, limit: int) -> str:
    """A bounded repr of `value`, or a sentence saying it could not be converted."""
    try:
        import reprlib

        shown = reprlib.Repr()
        shown.maxlevel, shown.maxstring, shown.maxother = 6, limit, limit
        return str(shown.repr(value))
    except Exception:
        return _unconvertible(value)


class _ToJSON:
    """A result as plain JSON values (dicts with str keys, lists, str, finite numbers, bools,
    None), guarded value by value, bounded in depth and in the text it makes."""

    def __init__(self, limit: int) -> None:
        # A lower bound of the characters of JSON made so far counts down from limit + 1: at
        # 0 the text is surely over the limit, and what is left need not be looked at.
        self.left = limit + 1
        self.stopped = False  # values were left out because the text was over the limit
        self.problems: list[str] = []
        self._more = 0
        self._path: set[int] = set()  # containers being converted (a circular reference)

    def problem(self, text: str) -> None:
        if text in self.problems:
            return
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
            return
        self._more += 1
        self.problems[-1] = f"{self._more + 1} more values could not be converted either"

    def value(self, value: Any, depth: int, *, top: bool = False) -> Any:
        if self.left <= 0:
            self.stopped = True
            return None
        left, stopped = self.left, self.stopped
        try:
            return self._value(value, depth, top)
        except Exception as exc:  # a RecursionError, a __getattr__ or model_dump that raised...
            name = _type_name(value)
            self.problem(f"a {name} could not be converted ({_describe(exc)})")
            if top:
                return _UNCONVERTIBLE
            # What was made of it is dropped.
            self.left, self.stopped = left - (len(name) + 32), stopped
            return f"<a {name} that could not be converted>"

    def _value(self, value: Any, depth: int, top: bool) -> Any:
        if value is None or value is True or value is False:
            self.left -= 5 if value is False else 4  # null, true, false
            return value
        if isinstance(value, str):
            return self._text(value if type(value) is str else str.__str__(value))
        if isinstance(value, int):
            return self._int(int(value))
        if isinstance(value, float):
            number = float(value)
            self.left -= 3
            if math.isfinite(number):
                return number
            return "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"
        if isinstance(value, list | tuple | dict | set | frozenset) or (
            not isinstance(value, type)
            and (
                attrs.has(type(value))
                or dataclasses.is_dataclass(value)
                or callable(getattr(type(value), "model_dump", None))
            )
        ):
            if depth >= MAX_OUTPUT_DEPTH:
                self.problem(f"the value is nested deeper than {MAX_OUTPUT_DEPTH} levels: cut")
                self.left -= 5
                return "..."
            if id(value) in self._path:
                self.problem(f"a {_type_name(value)} contains itself: cut")
                self.left -= 22
                return "<circular reference>"
            self._path.add(id(value))
            try:
                return self._container(value, depth + 1)
            finally:
                self._path.discard(id(value))
        return self._leaf(value, top)

    def _int(self, number: int) -> Any:
        try:
            text = str(number)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            digits = int(number.bit_length() * math.log10(2)) + 1
            self.problem(f"an integer of about {digits:,} digits is too long to print")
            text = f"an integer of about {digits:,} digits"
            self.left -= len(text) + 2
            return text
        self.left -= len(text)
        return number

    def _container(self, value: Any, depth: int) -> Any:
        self.left -= 2
        if isinstance(value, dict):
            return self._object(value.items(), depth)
        if isinstance(value, list | tuple):
            return self._array(value, depth)
        if isinstance(value, set | frozenset):
            items = list(itertools.islice(value, max(self.left, 0)))
            with contextlib.suppress(Exception):  # not comparable: kept in the set's order
                items.sort()
            if len(items) < len(value):
                self.stopped = True
            return self._array(items, depth)
        kind = type(value)
        if attrs.has(kind):
            names = [a.name for a in attrs.fields(kind)]
            return self._object(((n, getattr(value, n)) for n in names), depth)
        if dataclasses.is_dataclass(value):
            names = [f.name for f in dataclasses.fields(value)]
            return self._object(((n, getattr(value, n)) for n in names), depth)
        try:
            dumped = value.model_dump(mode="json")
        except Exception:
            dumped = value.model_dump()
        self.left += 2
        return self.value(dumped, depth)

    def _array(self, items: Any, depth: int) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if self.left <= 0:
                self.stopped = True
                break
            if out:
                self.left -= 2
            out.append(self.value(item, depth))
        return out

    def _object(self, pairs: Any, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        again: dict[str, int] = {}  # keys that read the same ({1: .., "1": ..}): numbered
        for key, item in pairs:
            if self.left <= 0:
                self.stopped = True
                break
            name = self._key(key)
            while name in out:
                again[name] = again.get(name, 1) + 1
                name = f"{name} ({again[name]})"
            self.left -= len(name) + (6 if out else 4)
            out[name] = self.value(item, depth)
        return out

    def _key(self, key: Any) -> str:
        """A dict key as a str (the caller counts its length)."""
        if isinstance(key, str):
            text = key if type(key) is str else str.__str__(key)
        elif key is None or key is True or key is False:
            text = json.dumps(key)
        elif isinstance(key, float):
            number = float(key)
            if math.isfinite(number):
                text = json.dumps(number)
            else:
                text = "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"
        elif isinstance(key, int):
            try:
                text = str(int(key))
            except ValueError:  # more digits than sys.get_int_max_str_digits()
                text = "<an integer too long to print>"
        else:
            shown = self._leaf_text(key)
            text = shown if shown is not None else f"<a {_type_name(key)}>"
        if len(text) > self.left + 1:
            text = text[: self.left + 1]
            self.stopped = True
        return text

    def _leaf(self, value: Any, top: bool) -> Any:
        """Any other object: its str() (bytes too, as before: "b'...'"), else its repr()."""
        text = self._leaf_text(value)
        if text is None:
            if top:
                return _UNCONVERTIBLE
            text = f"<a {_type_name(value)} that could not be converted>"
        return self._text(text)

    def _leaf_text(self, value: Any) -> str | None:
        if isinstance(value, bytes | bytearray) and len(value) > self.left + 1:
            value = bytes(value[: self.left + 1])
            self.stopped = True
        try:
            return str(value)
        except Exception as exc:
            try:
                return repr(value)
            except Exception:
                self.problem(f"str() and repr() of a {_type_name(value)} failed ({_describe(exc)})")
                return None

    def _text(self, text: str) -> str:
        if len(text) > self.left + 1:  # enough to be over the limit: the rest is not needed
            text = text[: self.left + 1]
            self.stopped = True
        self.left -= len(text) + 2
        return text
