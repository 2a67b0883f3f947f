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
from rtagents._core.schema import Field, ObjectNode, json_schema
from rtagents._core.schema_compile import compile_type
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


def _obj(title: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A strict parameters object, as function_tool (and the OpenAI Agents SDK) writes it."""
    return {
        **extra,
        "properties": properties,
        "required": list(properties),
        "title": title,
        "type": "object",
        "additionalProperties": False,
    }


UNIT = {"title": "Unit", "enum": ["celsius", "fahrenheit"], "type": "string"}

# What the model is told (strict, the default).  The same signatures, where the SDK accepts
# them, are compared with the SDK's own output in test_sdk_tools_parity.py.
SCHEMAS: dict[Any, dict[str, Any]] = {
    f_plain: _obj(
        "f_plain_args",
        {
            "city": {"type": "string", "title": "City"},
            "days": {"type": "integer", "title": "Days"},
            "detailed": {"type": "boolean", "title": "Detailed"},
            "ratio": {"type": "number", "title": "Ratio"},
        },
    ),
    f_defaults: _obj(
        "f_defaults_args",
        {
            "city": {"type": "string", "title": "City"},
            "days": {"type": "integer", "title": "Days", "default": 3},
            "unit": {**UNIT, "default": "celsius"},  # a $ref with a default is inlined
        },
        **{"$defs": {"Unit": UNIT}},
    ),
    f_literal: _obj(
        "f_literal_args",
        {
            "mode": {"enum": ["fast", "slow"], "type": "string", "title": "Mode"},
            "level": {"$ref": "#/$defs/Level"},
        },
        **{"$defs": {"Level": {"title": "Level", "enum": [1, 2], "type": "integer"}}},
    ),
    f_lists: _obj(
        "f_lists_args",
        {
            "cities": {"items": {"type": "string"}, "type": "array", "title": "Cities"},
            "scores": {
                "additionalProperties": {"type": "number"},
                "type": "object",
                "title": "Scores",
            },
            "tags": {"items": {"type": "string"}, "type": "array", "title": "Tags", "default": []},
        },
    ),
    f_optional: _obj(
        "f_optional_args",
        {  # required, but nullable; default None is dropped (and still applies)
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Note"},
            "count": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Count"},
        },
    ),
    f_union: _obj(
        "f_union_args",
        {"value": {"anyOf": [{"type": "integer"}, {"type": "string"}], "title": "Value"}},
    ),
    f_nested: _obj(
        "f_nested_args",
        {"trip": {"$ref": "#/$defs/Trip"}, "address": {"$ref": "#/$defs/Address"}},
        **{
            "$defs": {
                "Stop": _obj(
                    "Stop",
                    {
                        "city": {"type": "string", "title": "City"},
                        "nights": {"type": "integer", "title": "Nights", "default": 1},
                    },
                ),
                "Trip": _obj(
                    "Trip",
                    {
                        "name": {"type": "string", "title": "Name"},
                        "stops": {
                            "items": {"$ref": "#/$defs/Stop"},
                            "type": "array",
                            "title": "Stops",
                        },
                        "budget": {
                            "anyOf": [{"type": "number"}, {"type": "null"}],
                            "title": "Budget",
                        },
                    },
                    description="A trip with stops.",
                ),
                "Address": _obj(
                    "Address",
                    {
                        "street": {"type": "string", "title": "Street"},
                        "number": {"type": "integer", "title": "Number"},
                    },
                ),
            }
        },
    ),
    f_annotated: _obj(
        "f_annotated_args",
        {
            "city": {"type": "string", "description": "The city, e.g. Paris", "title": "City"},
            "raw": {"title": "Raw"},
        },
    ),
    f_context: _obj("f_context_args", {"city": {"type": "string", "title": "City"}}),
    f_tool_context: _obj("f_tool_context_args", {"city": {"type": "string", "title": "City"}}),
    f_positional: _obj(
        "f_positional_args",
        {
            "city": {"type": "string", "title": "City"},
            "days": {"type": "integer", "title": "Days", "default": 1},
        },
    ),
    f_nothing: _obj("f_nothing_args", {}),
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

    More detail, also part of the description.

    Args:
        city (str): The city.
            Continued on a second line.
        days: How many days.
    """
    sphinx = """Look up the weather.

    More detail, also part of the description.

    :param city: The city.
        Continued on a second line.
    :param int days: How many days.
    :returns: text
    """
    numpy = """Look up the weather.

    More detail, also part of the description.

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
        assert description == "Look up the weather.\n\nMore detail, also part of the description."
        assert params == {
            "city": "The city.\nContinued on a second line.",
            "days": "How many days.",
        }
    assert parse_docstring(None) == ("", {})
    # The wrong style: what griffe does — no parameters, the sections left in the description.
    description, params = parse_docstring(google, "sphinx")
    assert params == {}
    assert "Args:" in description


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
    loose = function_tool(func, strict_mode=False)
    strict = function_tool(func)
    loose_validator = jsonschema.Draft202012Validator(loose.params_json_schema)
    strict_validator = jsonschema.Draft202012Validator(strict.params_json_schema)
    hints = typing.get_type_hints(func, include_extras=True)
    hints.pop("return", None)
    node = ObjectNode([Field(name, compile_type(t, name), True) for name, t in hints.items()])
    # Arbitrary JSON: non-strict, accepted by us exactly when the reference validator accepts
    # it.  Strict: whatever the strict schema allows is accepted, and what we accept fits the
    # non-strict schema (a left-out optional argument still takes its default).
    value = data.draw(st.dictionaries(st.sampled_from([*hints, "other"]), json_values))
    assert _accepts(loose, value) == loose_validator.is_valid(value), value
    if strict_validator.is_valid(value):
        assert _accepts(strict, value), value
    if _accepts(strict, value):
        assert loose_validator.is_valid(value), value
    # Values of the annotated types: accepted by both, and converted back to what they were.
    typed = {
        name: data.draw(json_values if t is Any else st.from_type(t).filter(_survives_json))
        for name, t in hints.items()
    }
    wire = json.loads(json.dumps(_to_json(typed)))
    assert strict_validator.is_valid(wire)
    converted = node.convert(wire, "")
    assert _to_json(converted) == _to_json(wire)


def _accepts(tool: Any, value: Any) -> bool:
    try:
        tool.on_invoke_tool(None, json.dumps(value))
    except ToolArgumentError:
        return False
    return True


def _survives_json(value: Any) -> bool:
    try:
        plain = _to_json(value)
        return bool(plain == json.loads(json.dumps(plain)))
    except (TypeError, ValueError):
        return False


# -- property: strict schemas are strict ---------------------------------------------------------

_counter = iter(range(10**9))
_scalar_types = st.sampled_from([str, int, float, bool, Any, Literal["a", "b"], Unit, Level])


def _composite(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def record(types: list[Any], defaults: list[bool]) -> type:
        fields = [
            (f"f{i}", t, dataclasses.field(default=None)) if d else (f"f{i}", t)
            for i, (t, d) in enumerate(zip(types, defaults, strict=False))
        ]
        fields.sort(key=len)  # the ones without a default first
        return dataclasses.make_dataclass(f"Record{next(_counter)}", fields)

    return st.one_of(
        st.builds(lambda t: list[t], inner),  # type: ignore[valid-type]
        st.builds(lambda t: t | None, inner),
        st.builds(lambda t: dict[str, t], inner),  # type: ignore[valid-type]
        st.builds(record, st.lists(inner, min_size=1, max_size=3), st.lists(st.booleans())),
    )


@settings(max_examples=150, deadline=None)
@given(types=st.lists(st.recursive(_scalar_types, _composite, max_leaves=6), max_size=4))
def test_strict_schemas_close_every_object(types: list[Any]) -> None:
    node = ObjectNode([Field(f"p{i}", compile_type(t, f"p{i}"), True) for i, t in enumerate(types)])
    schema = json_schema(node, title="f_args")
    jsonschema.Draft202012Validator.check_schema(schema)
    _assert_strict(schema)


def _assert_strict(schema: Any) -> None:
    if isinstance(schema, dict):
        if "properties" in schema:
            assert schema["additionalProperties"] is False
            assert schema["required"] == list(schema["properties"])
        if schema.get("type") == "object" and "properties" not in schema:
            assert schema["additionalProperties"] is not None  # a map: open on purpose
        assert "default" not in schema or schema["default"] is not None
        assert not ("$ref" in schema and len(schema) > 1)  # no $ref with siblings
        for value in schema.values():
            _assert_strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _assert_strict(value)
