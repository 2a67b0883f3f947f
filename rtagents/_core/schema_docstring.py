"""Docstrings as tool descriptions: the summary text and each parameter's description.

Theory of operation
-------------------
:func:`parse_docstring` reads a docstring the way the OpenAI Agents SDK does (it uses griffe; this
is a dependency-free reading of the same three styles, giving the same strings for the forms
tools use): the style is ``"google"`` (``Args:``), ``"numpy"`` (``Parameters`` over a dashed
line) or ``"sphinx"`` (``:param x:``), or ``None`` to detect it with the SDK's own scoring
(:func:`detect_docstring_style`).  The description is the docstring's first text section — every
line before the first section, paragraphs and line breaks kept; a parameter's description keeps
its continuation lines, joined by newlines.  Parsing with the wrong style gives what griffe
gives: no parameters, and the sections left in the description.
"""

from __future__ import annotations

import inspect
import re
from typing import Literal

DocstringStyle = Literal["google", "numpy", "sphinx"]
STYLES: tuple[DocstringStyle, ...] = ("google", "numpy", "sphinx")

_GOOGLE_PARAMS = {"args", "arguments", "params", "parameters"}
_GOOGLE_SECTIONS = _GOOGLE_PARAMS | {
    *("keyword args", "keyword arguments", "other args", "other arguments", "other params"),
    *("other parameters", "type args", "type arguments", "type params", "type parameters"),
    *("raises", "exceptions", "returns", "yields", "receives", "examples", "attributes"),
    *("functions", "methods", "classes", "type aliases", "modules", "warns", "warnings"),
}
_ADMONITION = re.compile(r"^(?P<type>[\w][\s\w-]*):(\s+(?P<title>[^\s].*))?\s*$", re.I)
_GOOGLE_HEADER = re.compile(r"^(args|arguments|params|parameters):\s*$", re.I)
_NUMPY_PARAM = re.compile(
    r"(?P<names>\*{0,2}[_a-z][_a-z0-9]*(?:,\s\*{0,2}[_a-z][_a-z0-9]*)*)", re.I
)
_SPHINX_PARAMS = (":param", ":parameter", ":arg", ":argument", ":key", ":keyword")
_SPHINX_FIELDS = (
    *(":type", ":var", ":ivar", ":cvar", ":vartype", *_SPHINX_PARAMS),
    *(":raises", ":raise", ":except", ":exception", ":returns", ":return", ":rtype"),
)


def detect_docstring_style(doc: str) -> DocstringStyle:
    """The SDK's guess: the style with the most telltale lines (ties: sphinx, numpy, google)."""
    sphinx = (r"^:param\s", r"^:type\s", r"^:return:", r"^:rtype:")
    numpy = (r"^Parameters\s*\n\s*-{3,}", r"^Returns\s*\n\s*-{3,}", r"^Yields\s*\n\s*-{3,}")
    google = (r"^(Args|Arguments):", r"^(Returns):", r"^(Raises):")
    scores: dict[DocstringStyle, int] = {
        style: sum(bool(re.search(p, doc, re.M)) for p in patterns)
        for style, patterns in zip(STYLES, (google, numpy, sphinx), strict=True)
    }
    best = max(scores.values())
    if best == 0:
        return "google"
    return next(s for s in STYLES[::-1] if scores[s] == best)


def parse_docstring(
    doc: str | None, style: DocstringStyle | None = None
) -> tuple[str, dict[str, str]]:
    """The description and the parameter descriptions of a docstring (see the module doc)."""
    if not doc:
        return "", {}
    if style is not None and style not in STYLES:
        raise ValueError(f"docstring_style must be one of {', '.join(STYLES)} or None: {style!r}")
    text = inspect.cleandoc(doc)
    style = style or detect_docstring_style(text)
    if style == "sphinx":
        return _sphinx(text.split("\n"))
    if style == "numpy":
        return _numpy(text.split("\n"))
    return _google(_blank_line_before_args(text.split("\n")))


def _empty(line: str) -> bool:
    return not line or line.isspace()


def _joined(lines: list[str]) -> str:
    return "\n".join(lines).rstrip("\n")


def _blank_line_before_args(lines: list[str]) -> list[str]:
    # The SDK inserts one before an ``Args:`` header that directly follows text.
    out: list[str] = []
    for index, line in enumerate(lines):
        if (
            index > 0
            and _GOOGLE_HEADER.match(line)
            and out
            and out[-1].strip()
            and index + 1 < len(lines)
            and lines[index + 1].startswith((" ", "\t"))
        ):
            out.append("")
        out.append(line)
    return out


def _google_items(lines: list[str], offset: int) -> tuple[list[list[str]], int]:
    """The indented items after a section header, and the offset of the block's last line."""
    if offset >= len(lines):
        return [], offset
    while offset < len(lines) - 1 and _empty(lines[offset]):
        offset += 1
    first = lines[offset]
    indent = len(first) - len(first.lstrip())
    if indent == 0:
        return [], offset - 1
    items = [[first[indent:]]]
    offset += 1
    while offset < len(lines):
        line = lines[offset]
        if _empty(line):
            items[-1].append("")
        elif line.startswith(" " * indent * 2):
            items[-1].append(line[indent * 2 :])
        elif line.startswith(" " * (indent + 1)):
            items[-1].append(line.lstrip())
        elif line.startswith(" " * indent):
            items.append([line[indent:]])
        else:
            break
        offset += 1
    return items, offset - 1


def _google_block(lines: list[str], offset: int) -> tuple[str, int]:
    if offset >= len(lines):
        return "", offset - 1
    start = offset
    while offset < len(lines) - 1 and _empty(lines[offset]):
        offset += 1
    indent = len(lines[offset]) - len(lines[offset].lstrip())
    if indent == 0:
        return "", start - 1
    block = [lines[offset].lstrip()]
    offset += 1
    while offset < len(lines) and (lines[offset].startswith(" " * indent) or _empty(lines[offset])):
        block.append(lines[offset][indent:])
        offset += 1
    return _joined(block), offset - 1


def _google_header(lines: list[str], offset: int) -> bool:
    """griffe's test: an indented line below (or one blank then indented: not a header), and a
    blank line above."""

    def indented(index: int) -> bool:
        return index < len(lines) and not _empty(lines[index]) and lines[index].startswith(" ")

    blank_above = offset == 0 or _empty(lines[offset - 1])
    blank_below = offset + 1 < len(lines) and _empty(lines[offset + 1])
    one, two = indented(offset + 1), indented(offset + 2)
    return (one or two) and blank_above and not (two and blank_below)


def _google(lines: list[str]) -> tuple[str, dict[str, str]]:
    texts: list[str] = []
    params: dict[str, str] = {}
    current: list[str] = []
    in_code = False
    offset = 0

    def flush() -> None:
        if any(current):
            texts.append(_joined(current))
        current.clear()

    while offset < len(lines):
        line = lines[offset]
        fence = line.lstrip(" ").startswith("```")
        match = _ADMONITION.match(line) if ":" in line and not in_code and not fence else None
        if fence or in_code or match is None:
            in_code = in_code != fence
            current.append(line)
            offset += 1
            continue
        kind = match.group("type").lower()
        if not _google_header(lines, offset):
            current.append(line)
            offset += 1
            continue
        if kind in _GOOGLE_SECTIONS:
            flush()
            items, offset = _google_items(lines, offset + 1)
            if kind in _GOOGLE_PARAMS:
                for item in items:
                    if ":" not in item[0]:
                        continue
                    name, first = item[0].split(":", 1)
                    if "(" in name and name.endswith(")"):
                        name = name.split("(", 1)[0].strip()
                    params[name.lstrip("*")] = _joined([first.lstrip(), *item[1:]])
        else:
            contents, offset = _google_block(lines, offset + 1)
            if contents:
                flush()
            elif offset < len(lines):
                current.append(lines[offset])
        offset += 1
    flush()
    return (texts[0] if texts else ""), {k: v for k, v in params.items() if v}


def _dashes(line: str) -> bool:
    return "-" in line and _empty(line.replace("-", ""))


def _numpy(lines: list[str]) -> tuple[str, dict[str, str]]:
    texts: list[str] = []
    params: dict[str, str] = {}
    current: list[str] = []
    admonition = False
    in_code = False
    offset = 0

    def flush() -> None:
        if not admonition and any(current):
            texts.append(_joined(current))
        current.clear()

    while offset < len(lines):
        line = lines[offset]
        fence = line.lstrip(" ").startswith("```")
        if in_code or fence:
            in_code = in_code != fence
            current.append(line)
        elif _empty(line):
            current.append("")
        elif offset == len(lines) - 1:
            current.append(line)
        elif _dashes(lines[offset + 1]):
            flush()
            admonition = line.lower() not in _NUMPY_SECTIONS
            if admonition:
                offset += 1
            else:
                items, offset = _numpy_items(lines, offset + 2)
                if line.lower() == "parameters":
                    for item in items:
                        match = _NUMPY_PARAM.match(item[0])
                        if match is not None:
                            description = "\n".join(item[1:]).rstrip()
                            for name in match.group("names").split(", "):
                                params[name.lstrip("*")] = description
        else:
            current.append(line)
        offset += 1
    flush()
    return (texts[0] if texts else ""), {k: v for k, v in params.items() if v}


_NUMPY_SECTIONS = {
    *("deprecated", "parameters", "other parameters", "type parameters", "returns", "yields"),
    *("receives", "raises", "warns", "examples", "attributes", "functions", "methods"),
    *("classes", "type aliases", "modules"),
}


def _numpy_items(lines: list[str], offset: int) -> tuple[list[list[str]], int]:
    if offset >= len(lines):
        return [], offset
    while offset < len(lines) - 1 and _empty(lines[offset]):
        offset += 1
    items = [[lines[offset]]]
    offset += 1
    while offset < len(lines):
        line = lines[offset]
        if _empty(line):
            items[-1].append("")
        elif line.startswith("    "):
            items[-1].append(line[4:])
        elif line.startswith(" "):
            items[-1].append(line.lstrip())
        elif offset + 1 < len(lines) and _dashes(lines[offset + 1]):
            break
        else:
            items.append([line])
        offset += 1
    return items, offset - 1


def _sphinx(lines: list[str]) -> tuple[str, dict[str, str]]:
    description: list[str] = []
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith(_SPHINX_FIELDS):
            description.append(line)
            index += 1
            continue
        block = [line.lstrip()]
        index += 1
        while index < len(lines) and not lines[index].startswith(":"):
            block.append(lines[index])
            index += 1
        field = inspect.cleandoc("\n".join(block)).rstrip("\n")
        parts = field.split(":", 2)
        if len(parts) < 3:
            continue
        directive = parts[1].split(" ")
        if line.startswith(_SPHINX_PARAMS) and not line.startswith(":type") and len(directive) > 1:
            params.setdefault(directive[-1], parts[2].strip())
    while description and _empty(description[-1]):
        description.pop()
    while description and _empty(description[0]):
        description.pop(0)
    return "\n".join(description), {k: v for k, v in params.items() if v}
