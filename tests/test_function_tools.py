"""function_tool: schemas from signatures, checked against JSON Schema and the API's tool type;
argument conversion agrees with a reference JSON Schema validator."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from typing import Annotated, Any, Literal, TypedDict

import attrs
import jsonschema
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import protocol as p
from rtagents._core.schema import Field, ObjectNode, compile_type
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.function_tools import (
    ToolArgumentError,
    ToolSchemaError,
    function_tool,
    parse_docstring,
    tool_output_text,
)
from tests.protocol.oracle import assert_valid_client_event


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Stop:
    city: str
    nights: int = 1


@attrs.define
class Trip:
    """A trip with stops."""

    name: str
    stops: list[Stop]
    budget: float | None = None


class Address(TypedDict):
    street: str
    number: int


def f_plain(city: str, days: int, detailed: bool, ratio: float) -> str:
    return ""


def f_defaults(city: str, days: int = 3, unit: Unit = Unit.C) -> str:
    return ""


def f_literal(mode: Literal["fast", "slow"], level: Level) -> str:
    return ""


def f_lists(cities: list[str], scores: dict[str, float], tags: tuple[str, ...] = ()) -> str:
    return ""


def f_optional(note: str | None = None, count: int | None = None) -> str:
    return ""


def f_union(value: int | str) -> str:
    return ""


def f_nested(trip: Trip, address: Address) -> str:
    return ""


def f_annotated(city: Annotated[str, "The city, e.g. Paris"], raw: Any = None) -> str:
    return ""


def f_context(ctx: RunContextWrapper[Any], city: str) -> str:
    return ""


def f_tool_context(ctx: ToolContext[Any], city: str) -> str:
    return ""


def f_positional(city: str, /, days: int = 1) -> str:
    return ""


def f_nothing() -> str:
    return ""


SCHEMAS: dict[Any, dict[str, Any]] = {
    f_plain: {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "detailed": {"type": "boolean"},
            "ratio": {"type": "number"},
        },
        "required": ["city", "days", "detailed", "ratio"],
        "additionalProperties": False,
    },
    f_defaults: {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "default": 3},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    f_literal: {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["fast", "slow"]},
            "level": {"type": "integer", "enum": [1, 2]},
        },
        "required": ["mode", "level"],
        "additionalProperties": False,
    },
    f_lists: {
        "type": "object",
        "properties": {
            "cities": {"type": "array", "items": {"type": "string"}},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        },
        "required": ["cities", "scores"],
        "additionalProperties": False,
    },
    f_optional: {
        "type": "object",
        "properties": {
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "count": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "required": [],
        "additionalProperties": False,
    },
    f_union: {
        "type": "object",
        "properties": {"value": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
        "required": ["value"],
        "additionalProperties": False,
    },
    f_nested: {
        "type": "object",
        "properties": {
            "trip": {
                "type": "object",
                "description": "A trip with stops.",
                "properties": {
                    "name": {"type": "string"},
                    "stops": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "city": {"type": "string"},
                                "nights": {"type": "integer", "default": 1},
                            },
                            "required": ["city"],
                            "additionalProperties": False,
                        },
                    },
                    "budget": {
                        "anyOf": [{"type": "number"}, {"type": "null"}],
                        "default": None,
                    },
                },
                "required": ["name", "stops"],
                "additionalProperties": False,
            },
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string"}, "number": {"type": "integer"}},
                "required": ["street", "number"],
                "additionalProperties": False,
            },
        },
        "required": ["trip", "address"],
        "additionalProperties": False,
    },
    f_annotated: {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, e.g. Paris"},
            "raw": {"default": None},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    f_context: {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    f_tool_context: {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    f_positional: {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1}},
        "required": ["city"],
        "additionalProperties": False,
    },
    f_nothing: {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
}


@pytest.mark.parametrize("func", list(SCHEMAS), ids=lambda f: f.__name__)
def test_schema_table(func: Any) -> None:
    tool = function_tool(func)
    assert tool.params_json_schema == SCHEMAS[func]
    # A valid JSON Schema (2020-12), an object at the top as function calling requires...
    jsonschema.Draft202012Validator.check_schema(tool.params_json_schema)
    assert tool.params_json_schema["type"] == "object"
    # ...and accepted by the API's own tool type inside a session.update.
    update = p.SessionUpdate(session=p.SessionConfig(tools=(tool.to_protocol(),)))
    assert_valid_client_event(json.loads(update.to_json()))


def _bad_varargs(*cities: str) -> str:
    return ""


def _bad_kwargs(**options: str) -> str:
    return ""


def _bad_unannotated(city) -> str:
    return ""


def _bad_bytes(data: bytes) -> str:
    return ""


def _bad_set(tags: set[str]) -> str:
    return ""


def _bad_tuple(point: tuple[int, int]) -> str:
    return ""


def _bad_keys(table: dict[int, str]) -> str:
    return ""


def _bad_class(thing: RunContextWrapper[Any] | int) -> str:
    return ""


def _bad_context_not_first(city: str, ctx: RunContextWrapper[Any]) -> str:
    return ""


class Opaque:
    pass


def _bad_opaque(thing: Opaque) -> str:
    return ""


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node]


def _bad_recursive(tree: Node) -> str:
    return ""


def _bad_literal(x: Literal[b"raw"]) -> str:
    return ""


class Mixed(enum.Enum):
    A = 1.5


def _bad_enum(x: Mixed) -> str:
    return ""


REJECTED = [
    (_bad_varargs, r"'cities'.*\*args and \*\*kwargs"),
    (_bad_kwargs, r"'options'.*\*args and \*\*kwargs"),
    (_bad_unannotated, r"'city'.*no type annotation.*typing.Any"),
    (_bad_bytes, r"'data'.*type bytes cannot be sent as JSON"),
    (_bad_set, r"'tags'.*cannot be sent as JSON"),
    (_bad_tuple, r"'point'.*fixed-length tuples"),
    (_bad_keys, r"'table'.*dict keys must be str"),
    (_bad_class, r"'thing'.*RunContextWrapper.*cannot be sent as JSON"),
    (_bad_context_not_first, r"'ctx'.*context parameter must come first"),
    (_bad_opaque, r"'thing'.*type Opaque cannot be sent as JSON"),
    (_bad_recursive, r"'tree'.*recursive type Node"),
    (_bad_literal, r"'x'.*Literal values must be JSON scalars"),
    (_bad_enum, r"'x'.*enum Mixed must have str or int values"),
]


@pytest.mark.parametrize(("func", "message"), REJECTED, ids=lambda x: getattr(x, "__name__", ""))
def test_rejected_signatures_say_why(func: Any, message: str) -> None:
    with pytest.raises(ToolSchemaError, match=message):
        function_tool(func)


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dots.not.ok", "naïve"])
def test_rejected_tool_names(name: str) -> None:
    with pytest.raises(ToolSchemaError, match="invalid tool name"):
        function_tool(name=name)(f_plain)


def test_docstring_styles() -> None:
    google = """Look up the weather.

    More detail that is not part of the description.

    Args:
        city (str): The city.
            Continued on a second line.
        days: How many days.
    """
    sphinx = """Look up the weather.

    :param city: The city.
        Continued on a second line.
    :param int days: How many days.
    :returns: text
    """
    numpy = """Look up the weather.

    Parameters
    ----------
    city : str
        The city.
        Continued on a second line.
    days : int
        How many days.

    Returns
    -------
    str
        Never described.
    """
    for doc in (google, sphinx, numpy):
        description, params = parse_docstring(doc)
        assert description == "Look up the weather."
        assert params == {"city": "The city. Continued on a second line.", "days": "How many days."}
    assert parse_docstring(None) == ("", {})


def _invoke(tool: Any, arguments: Any, ctx: Any = None) -> Any:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return trio.run(tool.invoke, ctx, text)


def test_arguments_are_converted_to_python_values() -> None:
    seen: list[Any] = []

    @function_tool
    def plan(trip: Trip, unit: Unit = Unit.C, level: Level = Level.LOW) -> str:
        """Plan a trip."""
        seen.append((trip, unit, level))
        return "ok"

    args = {"trip": {"name": "T", "stops": [{"city": "Oslo"}], "budget": 10}, "level": 2.0}
    assert _invoke(plan, args) == "ok"
    trip, unit, level = seen[0]
    assert trip == Trip("T", [Stop("Oslo", 1)], 10.0)
    assert isinstance(trip.budget, float)
    assert unit is Unit.C
    assert level is Level.HIGH


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({}, "trip: missing required argument"),
        ({"trip": {"name": "T", "stops": [{"city": 5}]}}, r"trip.stops\[0\].city: expected string"),
        ({"trip": {"name": "T", "stops": []}, "unit": "kelvin"}, "unit: 'kelvin' is not one of"),
        ({"trip": {"name": "T", "stops": []}, "extra": 1}, "unexpected argument 'extra'"),
        ({"trip": {"name": True, "stops": []}}, "trip.name: expected string, got boolean"),
        ({"trip": {"name": "T", "stops": [], "budget": "lots"}}, "trip.budget: matches no"),
    ],
)
def test_bad_arguments_get_a_clear_message(arguments: Any, message: str) -> None:
    @function_tool
    def plan(trip: Trip, unit: Unit = Unit.C) -> str:
        """Plan a trip."""
        return "ok"

    with pytest.raises(ToolArgumentError, match=message):
        _invoke(plan, arguments)


def test_context_and_positional_only_parameters() -> None:
    seen: list[Any] = []

    @function_tool
    async def where(ctx: ToolContext[dict[str, str]], city: str, /, days: int = 1) -> str:
        """Async, with the context."""
        seen.append((ctx.context["user"], ctx.tool_call_id, city, days))
        return "ok"

    ctx = ToolContext({"user": "ann"}, tool_name="where", tool_call_id="c1")
    assert _invoke(where, {"city": "Rome"}, ctx) == "ok"
    assert seen == [("ann", "c1", "Rome", 1)]


def test_output_text() -> None:
    assert tool_output_text("plain") == "plain"
    assert tool_output_text({"a": 1}) == '{"a": 1}'
    assert tool_output_text(Stop("Oslo")) == '{"city": "Oslo", "nights": 1}'
    assert tool_output_text(Trip("T", [])) == '{"name": "T", "stops": [], "budget": null}'
    assert tool_output_text(Unit.C) == '"Unit.C"'


# -- property: conversion agrees with a reference validator -------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["city", "days", "trip", "name", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _to_json(v) for k, v in dataclasses.asdict(value).items()}
    if attrs.has(type(value)):
        return {k: _to_json(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("func", [f for f in SCHEMAS if f not in (f_context, f_tool_context)])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_conversion_agrees_with_jsonschema(func: Any, data: st.DataObject) -> None:
    tool = function_tool(func)
    validator = jsonschema.Draft202012Validator(tool.params_json_schema)
    hints = typing.get_type_hints(func, include_extras=True)
    hints.pop("return", None)
    node = ObjectNode([Field(name, compile_type(t, name), True) for name, t in hints.items()])
    # Arbitrary JSON: accepted by us exactly when the reference validator accepts it.
    value = data.draw(st.dictionaries(st.sampled_from([*hints, "other"]), json_values))
    try:
        tool.on_invoke_tool(None, json.dumps(value))  # type: ignore[arg-type]
        ours = True
    except ToolArgumentError:
        ours = False
    assert ours == validator.is_valid(value), (value, ours)
    # Values of the annotated types: accepted by both, and converted back to what they were.
    typed = {
        name: data.draw(json_values if t is Any else st.from_type(t).filter(_survives_json))
        for name, t in hints.items()
    }
    wire = json.loads(json.dumps(_to_json(typed)))
    assert validator.is_valid(wire)
    converted = node.convert(wire, "")
    assert _to_json(converted) == _to_json(wire)


def _survives_json(value: Any) -> bool:
    try:
        plain = _to_json(value)
        return bool(plain == json.loads(json.dumps(plain)))
    except (TypeError, ValueError):
        return False
