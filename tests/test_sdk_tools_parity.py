"""SDK parity: the same function through the OpenAI Agents SDK's function_tool and ours gives the
same schema and description; the defaults, messages, field and method names are the SDK's.

The SDK (``openai-agents``, the ``interop`` extra) is the reference: every test here imports it.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import itertools
import json
import typing
from typing import Annotated, Any, Literal, Optional

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

agents = pytest.importorskip("agents")
pydantic = pytest.importorskip("pydantic")

from agents import function_tool as sdk_function_tool  # noqa: E402
from agents.function_schema import generate_func_documentation  # noqa: E402
from agents.run_context import RunContextWrapper as SdkRunContextWrapper  # noqa: E402
from agents.strict_schema import ensure_strict_json_schema as sdk_strict  # noqa: E402
from agents.tool_context import ToolContext as SdkToolContext  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic import Field as PField  # noqa: E402
from typing_extensions import TypedDict  # noqa: E402

from rtagents._core.schema_strict import ensure_strict_json_schema  # noqa: E402
from rtagents.agent import RealtimeAgent  # noqa: E402
from rtagents.context import RunContextWrapper, ToolContext  # noqa: E402
from rtagents.function_tools import (  # noqa: E402
    FunctionTool,
    ToolTimeoutError,
    default_tool_error_function,
    default_tool_timeout_error_message,
    function_tool,
    parse_docstring,
)
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks  # noqa: E402

# -- the signatures ----------------------------------------------------------------------------


class Color(enum.Enum):
    """Colours."""

    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 2


class Address(BaseModel):
    """A postal address.

    Two paragraphs."""

    city: str
    zip: str | None = None


class Person(BaseModel):
    name: str = PField(description="Full name")
    age: int = PField(ge=0)
    addresses: list[Address]
    home: Address | None = None


@dataclasses.dataclass
class Point:
    """A point."""

    x: int
    y: int = 0
    label: Color = Color.RED


class Box(TypedDict, total=False):
    """A box."""

    width: float
    depth: float


def plain(city: str, days: int, detailed: bool, ratio: float) -> str:
    """Plain types."""
    return ""


def optional_defaults(
    city: str,
    days: int = 3,
    note: str | None = None,
    count: Optional[int] = None,  # noqa: UP045 (the SDK's users write both)
    ratio: float = 1,
    flag: bool = False,
) -> str:
    """Defaults and optionals."""
    return ""


def literals(
    mode: Literal["fast", "slow"],
    one: Literal["only"],
    mixed: Literal[1, "a"] = 1,
    nullable: Literal["x", None] = None,
    level: Literal[1, 2] = 2,
) -> str:
    return ""


def lists(
    cities: list[str],
    points: tuple[int, ...] = (),
    anything: list = [],  # type: ignore[type-arg]  # noqa: B006 (a bare list, never mutated)
    nested: list[list[float]] | None = None,
) -> str:
    """Lists.

    Args:
        cities: Where.
        points: Some numbers.
    """
    return ""


def enums(color: Color, size: Size = Size.L, maybe: Color | None = None) -> str:
    return ""


def models(person: Person, people: list[Person], best: Optional[Address] = None) -> str:  # noqa: UP045
    """Pydantic models.

    Args:
        person: Who.
        best: The best address.
    """
    return ""


def records(point: Point, box: Box, points: list[Point] | None = None) -> str:
    return ""


def annotated(
    city: Annotated[str, "The city"],
    n: Annotated[int, PField(description="How many", ge=1, le=5)] = 2,
    m: int = PField(3, description="Em"),
    k: Annotated[float, PField(description="Kay")] = 0.5,
) -> str:
    """Annotated.

    Args:
        city: The docstring wins over Annotated.
    """
    return ""


def field_options(
    a: Annotated[int, PField(title="Custom A")],
    b: Annotated[str, "first", "second"],
    c: Literal[Color.RED] = Color.RED,
    d: Optional[Color] = Color.RED,  # noqa: UP045
    e: list[Annotated[int, PField(ge=0)]] = [],  # noqa: B006 (never mutated)
    f: Annotated[int, PField(examples=[1, 2])] = 1,
    g: int = PField(default=5, ge=1, description="Five"),
    h: Annotated[int, PField(default=2)] = 2,
) -> str:
    return ""


def with_context(ctx: RunContextWrapper[Any], city: str) -> str:
    return ""


def with_tool_context(ctx: ToolContext[Any], city: str, /, days: int = 1) -> str:
    return ""


def sdk_with_context(ctx: SdkRunContextWrapper[Any], city: str) -> str:
    return ""


def sdk_with_tool_context(ctx: SdkToolContext[Any], city: str, /, days: int = 1) -> str:
    return ""


# The context parameter is the SDK's own class for the SDK.
sdk_with_context.__name__ = with_context.__name__
sdk_with_tool_context.__name__ = with_tool_context.__name__
SDK_VERSIONS = {with_context: sdk_with_context, with_tool_context: sdk_with_tool_context}


def nothing() -> str:
    """Takes nothing."""
    return ""


def union(value: int | str, values: list[int | None] | None = None, any_value: Any = None) -> str:
    return ""


def maps(table: dict[str, int], loose: dict[str, Any] | None = None) -> str:
    return ""


def numpy_style(city: str, days: int = 1) -> str:
    """Numpy style.

    Parameters
    ----------
    city : str
        The city
        name.
    days : int
        Days.

    Returns
    -------
    str
    """
    return ""


def sphinx_style(city: str, days: int = 1) -> str:
    """Sphinx style.

    :param city: The city
        name.
    :param int days: Days.
    :returns: x
    """
    return ""


def google_style(city: str, days: int = 1) -> str:
    """Get the weather
    for a city.

    More text here.

    Args:
        city: The city
            name, long.
        days (int): Days.

    Returns:
        text
    """
    return ""


SIGNATURES = [
    plain,
    optional_defaults,
    literals,
    lists,
    enums,
    models,
    records,
    annotated,
    field_options,
    with_context,
    with_tool_context,
    nothing,
    union,
    numpy_style,
    sphinx_style,
    google_style,
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "loose"])
@pytest.mark.parametrize("func", SIGNATURES, ids=lambda f: f.__name__)
def test_same_schema_and_description_as_the_sdk(func: Any, strict: bool) -> None:
    theirs = sdk_function_tool(SDK_VERSIONS.get(func, func), strict_mode=strict)
    ours = function_tool(func, strict_mode=strict)
    assert ours.params_json_schema == theirs.params_json_schema
    assert ours.description == theirs.description
    assert ours.name == theirs.name
    assert ours.strict_json_schema == theirs.strict_json_schema


def test_maps_match_the_sdk_when_not_strict() -> None:
    # Strict, the SDK refuses open objects; we keep them (the Realtime API has no strict mode).
    theirs = sdk_function_tool(maps, strict_mode=False)
    assert function_tool(maps, strict_mode=False).params_json_schema == theirs.params_json_schema
    with pytest.raises(agents.UserError):
        sdk_function_tool(maps)
    strict = function_tool(maps).params_json_schema
    assert strict["properties"]["table"]["additionalProperties"] == {"type": "integer"}


@pytest.mark.parametrize(
    "options",
    [
        {"name_override": "lookup"},
        {"description_override": "Overridden."},
        {"use_docstring_info": False},
        {"docstring_style": "sphinx"},
        {"docstring_style": "numpy"},
        {"docstring_style": "google"},
        {"name_override": "x", "use_docstring_info": False, "strict_mode": False},
    ],
    ids=str,
)
@pytest.mark.parametrize("func", [google_style, sphinx_style, numpy_style, annotated, models])
def test_same_as_the_sdk_with_options(func: Any, options: dict[str, Any]) -> None:
    theirs = sdk_function_tool(func, **options)
    ours = function_tool(func, **options)
    assert (ours.name, ours.description) == (theirs.name, theirs.description)
    assert ours.params_json_schema == theirs.params_json_schema


DOCSTRINGS = [
    None,
    "",
    "One line.",
    "Summary.\n\nDetails\nover lines.\n\nArgs:\n    a: A.\n    b (int): B,\n        continued.\n",
    "Summary.\nArgs:\n    a: No blank line above the header.\n",
    "Summary.\n\nNote:\n    An admonition.\n\nArgs:\n    a: A.\n\nMore text after.",
    "Summary.\n\nReturns:\n    Something.\n\nArgs:\n    a: A.\n",
    "Summary.\n\n```\nArgs:\n    a: inside a code fence\n```\n",
    "Args:\n    a: Only a section.\n",
    "Summary.\n\nArgs:\n\n    a: Blank line below the header.\n",
    "Summary.\n\nParameters\n----------\na, b : int\n    Both.\nc\n    No type.\n\n"
    "Notes\n-----\nA note.",
    "Summary.\n\nParameters\n----------\na : int\n    A.\n\nReturns\n-------\nint\n    The result.",
    ":param a: Only fields.\n:type a: int\n:param str b: Typed,\n    continued.\n:rtype: str",
    "Summary.\n\n:param a: A.\n:param a: Duplicate.\n:raises ValueError: never\nTail line.",
    "Summary.\n\n:unknown: field\n:param a: A.",
]


@pytest.mark.parametrize("style", [None, "google", "numpy", "sphinx"])
@pytest.mark.parametrize("doc", DOCSTRINGS)
def test_docstrings_read_as_the_sdk_reads_them(doc: str | None, style: Any) -> None:
    def f(a: int, b: int, c: int) -> None:
        pass

    f.__doc__ = doc
    theirs = generate_func_documentation(f, style)
    description, params = parse_docstring(doc, style)
    assert description == (theirs.description or "")
    assert params == {k: v for k, v in (theirs.param_descriptions or {}).items() if v}


# -- strict schemas: ours is the SDK's, on schemas the SDK accepts -----------------------------

_leaf = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer", "default": 3},
        {"type": "null"},
        {"enum": ["a", "b"]},
        {"type": "number", "default": None},
        {"$ref": "#/$defs/D"},
        {"$ref": "#/$defs/D", "description": "described"},
        {},
    ]
)


def _schemas(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["a", "b", "c"])
    return st.one_of(
        st.builds(lambda i: {"type": "array", "items": i}, inner),
        st.builds(lambda v: {"anyOf": v}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda v: {"oneOf": v}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda p: {"properties": p}, st.dictionaries(names, inner, max_size=3)),
        st.builds(
            lambda p, d: {"type": "object", "properties": p, "description": d},
            st.dictionaries(names, inner, max_size=3),
            st.text(max_size=3),
        ),
    )


_nodes = st.recursive(_leaf, _schemas, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(properties=st.dictionaries(st.sampled_from(["x", "y", "z"]), _nodes, max_size=3))
def test_strict_conversion_is_the_sdks(properties: dict[str, Any]) -> None:
    schema = {
        "$defs": {"D": {"type": "object", "properties": {"v": {"type": "string"}}}},
        "type": "object",
        "properties": properties,
    }
    original = json.dumps(schema)
    ours = ensure_strict_json_schema(schema)
    assert json.dumps(schema) == original  # the input is not modified
    theirs = sdk_strict(json.loads(original))
    assert ours == theirs
    assert json.dumps(ours) == json.dumps(theirs)  # "required" in the same order, too


# -- random signatures: the same schema as the SDK, strict and not ------------------------------

_counter = itertools.count()
_scalars = st.sampled_from([str, int, float, bool, Any, Literal["p", "q"], Literal[7], Color])


def _types(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda t: list[t], inner),  # type: ignore[valid-type]
        st.builds(lambda t: Optional[t], inner),  # noqa: UP045
        st.builds(lambda a, b: a | b, st.sampled_from([int, str]), st.sampled_from([float, None])),
        st.builds(_dataclass, st.lists(inner, min_size=1, max_size=3)),
        st.builds(_model, st.lists(inner, min_size=1, max_size=3)),
    )


def _dataclass(field_types: list[Any]) -> type:
    fields = [(f"f{i}", t) for i, t in enumerate(field_types)]
    return dataclasses.make_dataclass(f"Data{next(_counter)}", fields)


def _model(field_types: list[Any]) -> type:
    fields: dict[str, Any] = {f"m{i}": (t, ...) for i, t in enumerate(field_types)}
    return pydantic.create_model(f"Model{next(_counter)}", **fields)  # type: ignore[no-any-return]


_annotations = st.recursive(_scalars, _types, max_leaves=5)


@settings(max_examples=120, deadline=None)
@given(
    params=st.lists(st.tuples(_annotations, st.booleans()), max_size=4),
    strict=st.booleans(),
)
def test_random_signatures_match_the_sdk(params: list[tuple[Any, bool]], strict: bool) -> None:
    parameters = []
    for i, (annotation, optional) in enumerate(params):
        default = None if optional else inspect.Parameter.empty
        parameters.append(
            inspect.Parameter(
                f"p{i}", inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )

    def func(**kwargs: Any) -> str:
        return ""

    func.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in parameters}
    theirs = sdk_function_tool(func, strict_mode=strict)
    ours = function_tool(func, strict_mode=strict)
    assert ours.params_json_schema == theirs.params_json_schema
    if strict:
        _assert_strict(ours.params_json_schema)


def _assert_strict(schema: Any) -> None:
    """Every object with properties is closed and requires all of them."""
    if isinstance(schema, dict):
        if "properties" in schema:
            assert schema["additionalProperties"] is False
            assert schema["required"] == list(schema["properties"])
        assert schema.get("default", 0) is not None
        assert not ("$ref" in schema and len(schema) > 1)
        for value in schema.values():
            _assert_strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _assert_strict(value)


# -- defaults, messages and names ---------------------------------------------------------------


def test_default_messages_are_the_sdks() -> None:
    from agents.exceptions import ToolTimeoutError as SdkTimeout
    from agents.tool import default_tool_error_function as sdk_error
    from agents.tool import default_tool_timeout_error_message as sdk_timeout

    ctx = RunContextWrapper(None)
    assert default_tool_error_function(ctx, ValueError("x")) == sdk_error(ctx, ValueError("x"))  # type: ignore[arg-type]
    for seconds in (2.0, 0.5, 30, 1e-3):
        ours = default_tool_timeout_error_message("slow", seconds)
        assert ours == sdk_timeout(tool_name="slow", timeout_seconds=seconds)
        assert str(ToolTimeoutError("slow", seconds)) == str(SdkTimeout("slow", seconds))


def test_function_tool_defaults_are_the_sdks() -> None:
    sdk_sig = inspect.signature(sdk_function_tool)
    ours_sig = inspect.signature(function_tool)
    for name, param in sdk_sig.parameters.items():
        assert name in ours_sig.parameters, name
        if name == "failure_error_function":  # the SDK's sentinel means its default function
            assert ours_sig.parameters[name].default is default_tool_error_function
        elif name != "func":
            assert ours_sig.parameters[name].default == param.default, name

    async def fetch(city: str) -> str:
        return city

    theirs, ours = sdk_function_tool(fetch), function_tool(fetch)
    for name in ("strict_json_schema", "is_enabled", "needs_approval", "timeout_seconds"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert (ours.timeout_behavior, ours.timeout_error_function) == ("error_as_result", None)


def test_function_tool_fields_are_the_sdks() -> None:
    unsupported = {
        "tool_input_guardrails",
        "tool_output_guardrails",
        "defer_loading",
        "custom_data_extractor",
        "allowed_callers",
        "output_json_schema",
    }
    sdk_fields = [f.name for f in dataclasses.fields(agents.FunctionTool) if f.name[0] != "_"]
    ours = inspect.signature(FunctionTool).parameters
    ours_fields = {a.name for a in attrs.fields(FunctionTool)}
    for name in sdk_fields:
        assert name in ours, name
        assert name in ours_fields or name in unsupported, name
    # The first four are positional in both; the SDK's positional order after them is not ours,
    # so ours are keyword-only: passing more positionally fails instead of meaning another field.
    sdk_positional = list(inspect.signature(agents.FunctionTool).parameters)[:4]
    assert [n for n, p in ours.items() if p.kind is p.POSITIONAL_OR_KEYWORD] == sdk_positional


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
        {"properties": {"a": {"oneOf": [{"type": "string"}, {"type": "null"}], "default": None}}},
        {
            "$defs": {"P": {"type": "object", "properties": {"x": {"type": "number"}}}},
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/P", "description": "A p."}},
        },
        {
            "type": "object",
            "properties": {"q": {"allOf": [{"$ref": "#/$defs/Q"}]}},
            "$defs": {"Q": {"type": "string"}},
        },
        {},
    ],
)
def test_hand_made_tools_are_made_strict_like_the_sdks(schema: dict[str, Any]) -> None:
    async def invoke(ctx: Any, arguments: str) -> str:
        return arguments

    theirs = agents.FunctionTool("t", "d", json.loads(json.dumps(schema)), invoke)
    ours = FunctionTool("t", "d", json.loads(json.dumps(schema)), invoke)
    assert ours.params_json_schema == theirs.params_json_schema
    loose = FunctionTool("t", "d", schema, invoke, strict_json_schema=False)
    assert loose.params_json_schema == schema


def test_realtime_agent_fields_are_the_sdks_in_the_sdks_order() -> None:
    from agents.realtime import RealtimeAgent as SdkAgent

    sdk = [f.name for f in dataclasses.fields(SdkAgent)]
    assert [a.name for a in attrs.fields(RealtimeAgent)] == sdk
    assert list(inspect.signature(RealtimeAgent).parameters) == sdk
    # Positional use means the same thing.
    assert RealtimeAgent("x", "y").handoff_description == SdkAgent("x", "y").handoff_description
    assert RealtimeAgent[dict[str, int]](name="x").name == SdkAgent[dict[str, int]](name="x").name


@pytest.mark.parametrize(
    ("ours", "theirs_name"),
    [(RealtimeRunHooks, "RealtimeRunHooks"), (RealtimeAgentHooks, "RealtimeAgentHooks")],
)
def test_hooks_have_the_sdks_methods_and_parameters(ours: type, theirs_name: str) -> None:
    import agents.realtime as sdk_realtime

    theirs = typing.get_origin(getattr(sdk_realtime, theirs_name))
    methods = [m for m in vars(theirs) if m.startswith("on_")]
    assert sorted(methods) == sorted(m for m in vars(ours) if m.startswith("on_"))
    for method in methods:
        sdk_params = list(inspect.signature(getattr(theirs, method)).parameters)
        assert list(inspect.signature(getattr(ours, method)).parameters) == sdk_params, method
    assert typing.cast(Any, ours)[dict] is not None  # subscriptable, as the SDK's
