"""function_tool's and FunctionTool's SDK options: each one's effect, and clear errors for bad
values and for SDK options this runtime does not have."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Annotated, Any

import pytest
import trio
import trio.testing

from rtagents.actors import ToolCall, ToolExecutor, ToolResult
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.function_tools import (
    FunctionTool,
    ToolArgumentError,
    ToolSchemaError,
    ToolTimeoutError,
    function_tool,
)

pydantic = pytest.importorskip("pydantic")

from pydantic import BaseModel, field_validator  # noqa: E402
from pydantic import Field as PField  # noqa: E402


def _invoke(tool: FunctionTool, arguments: Any, ctx: Any = None) -> Any:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return trio.run(tool.invoke, ctx, text)


BAD_NAME: Any = 3
BAD_STYLE: Any = "rst"


def weather(city: str, days: int = 1) -> str:
    """Get the weather.

    Args:
        city: The city.
        days: How many days.
    """
    return f"{city}/{days}"


# -- naming and description ------------------------------------------------------------------


def test_name_and_description_overrides_and_our_aliases() -> None:
    tool = function_tool(name_override="forecast", description_override="Forecasts.")(weather)
    assert (tool.name, tool.description) == ("forecast", "Forecasts.")
    assert tool.params_json_schema["title"] == "forecast_args"
    alias = function_tool(name="forecast", description="Forecasts.")(weather)
    assert (alias.name, alias.description) == ("forecast", "Forecasts.")
    # An empty override falls back, as in the SDK; our `name` must be a valid name.
    assert function_tool(name_override="")(weather).name == "weather"
    with pytest.raises(ToolSchemaError, match="invalid tool name"):
        function_tool(name="")
    with pytest.raises(TypeError, match="give name_override or name, not both"):
        function_tool(name="a", name_override="b")
    with pytest.raises(TypeError, match="name_override must be a str"):
        function_tool(name_override=BAD_NAME)


def test_use_docstring_info_false() -> None:
    def f(city: Annotated[str, "From Annotated."], days: int = 1) -> str:
        """Summary.

        Args:
            days: From the docstring.
        """
        return ""

    tool = function_tool(use_docstring_info=False)(f)
    assert tool.description == ""
    properties = tool.params_json_schema["properties"]
    assert properties["city"]["description"] == "From Annotated."  # not from the docstring
    assert "description" not in properties["days"]
    assert function_tool(f).params_json_schema["properties"]["days"]["description"] == (
        "From the docstring."
    )


def test_docstring_style_is_checked_and_used() -> None:
    with pytest.raises(ValueError, match="docstring_style must be 'google', 'numpy', 'sphinx'"):
        function_tool(docstring_style=BAD_STYLE)
    tool = function_tool(docstring_style="sphinx")(weather)
    assert "Args:" in tool.description  # read as Sphinx, the Google section stays text
    assert "description" not in tool.params_json_schema["properties"]["city"]


# -- strict mode -------------------------------------------------------------------------------


def test_strict_mode_shapes_the_schema_and_the_checks() -> None:
    def f(city: str, note: str | None = None, days: int = 2) -> str:
        return f"{city}|{note}|{days}"

    strict, loose = function_tool(f), function_tool(f, strict_mode=False)
    assert strict.strict_json_schema
    assert not loose.strict_json_schema
    assert strict.params_json_schema["required"] == ["city", "note", "days"]
    assert strict.params_json_schema["additionalProperties"] is False
    assert "default" not in strict.params_json_schema["properties"]["note"]  # null dropped
    assert loose.params_json_schema["required"] == ["city"]
    assert "additionalProperties" not in loose.params_json_schema
    # Either way a left-out argument takes its default.
    assert _invoke(strict, {"city": "Oslo"}) == "Oslo|None|2"
    assert _invoke(loose, {"city": "Oslo", "note": None}) == "Oslo|None|2"
    # Keys the schema does not name: refused when strict, ignored when not (as pydantic does).
    with pytest.raises(ToolArgumentError, match="unexpected argument 'extra'"):
        _invoke(strict, {"city": "Oslo", "extra": 1})
    assert _invoke(loose, {"city": "Oslo", "extra": 1}) == "Oslo|None|2"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"strict_mode": "yes"}, TypeError, "strict_mode must be a bool"),
        ({"use_docstring_info": 1}, TypeError, "use_docstring_info must be a bool"),
        ({"cancel_on_interrupt": None}, TypeError, "cancel_on_interrupt must be a bool"),
        ({"is_enabled": "no"}, TypeError, "is_enabled must be a bool or a callable"),
        ({"needs_approval": 3}, TypeError, "needs_approval must be a bool or a callable"),
        ({"failure_error_function": 5}, TypeError, "failure_error_function must be a callable"),
        ({"timeout": -1}, ValueError, "timeout_seconds must be greater than 0"),
        ({"timeout": 0}, ValueError, "timeout_seconds must be greater than 0"),
        ({"timeout": math.inf}, ValueError, "timeout_seconds must be a finite number"),
        ({"timeout": "5"}, TypeError, "timeout_seconds must be a positive number"),
        ({"timeout": True}, TypeError, "timeout_seconds must be a positive number"),
        ({"timeout_behavior": "explode"}, ValueError, "error_as_result, raise_exception"),
        ({"timeout_error_function": 3}, TypeError, "timeout_error_function must be callable"),
        ({"description_override": 1}, TypeError, "description_override must be a str"),
    ],
    ids=lambda x: str(x)[:30],
)
def test_bad_option_values_are_refused(options: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        function_tool(**options)(weather)


UNSUPPORTED = [
    ("tool_input_guardrails", [object()]),
    ("tool_output_guardrails", [object()]),
    ("defer_loading", True),
    ("custom_data_extractor", lambda context: None),
    ("allowed_callers", ["programmatic"]),
    ("output_type", int),
    ("output_json_schema", {"type": "object"}),
]


@pytest.mark.parametrize(("option", "value"), UNSUPPORTED, ids=[o for o, _ in UNSUPPORTED])
def test_unsupported_sdk_options_say_so(option: str, value: Any) -> None:
    default: Any = False if option == "defer_loading" else None
    with pytest.raises(TypeError, match=rf"{option} is not supported.*Coming from the OpenAI"):
        function_tool(**{option: value})
    # At their defaults they are accepted silently.
    assert function_tool(**{option: default})(weather).name == "weather"
    if option != "output_type":
        with pytest.raises(TypeError, match=rf"FunctionTool: {option} is not supported"):
            FunctionTool("t", "", {}, lambda c, a: "", **{option: value})
        FunctionTool("t", "", {}, lambda c, a: "", **{option: default})


# -- FunctionTool the SDK way --------------------------------------------------------------------


def test_function_tool_by_hand() -> None:
    seen: list[Any] = []

    async def on_invoke(ctx: ToolContext[Any], arguments: str) -> str:
        seen.append(json.loads(arguments))
        return "done"

    schema = {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}}
    tool = FunctionTool(
        name="search", description="Searches.", params_json_schema=schema, on_invoke_tool=on_invoke
    )
    # Strict by default: the schema is made strict on construction, as the SDK does.
    assert tool.params_json_schema["required"] == ["q", "n"]
    assert tool.params_json_schema["additionalProperties"] is False
    assert "required" not in schema  # the caller's dict is not modified
    assert (tool.strict_json_schema, tool.is_enabled, tool.needs_approval) == (True, True, False)
    assert (tool.timeout_seconds, tool.timeout, tool.timeout_behavior) == (
        None,
        None,
        "error_as_result",
    )
    assert _invoke(tool, {"q": "x", "n": 1}) == "done"
    assert seen == [{"q": "x", "n": 1}]
    sync = FunctionTool("echo", "", {}, lambda ctx, arguments: arguments, strict_json_schema=False)
    assert _invoke(sync, "{}") == "{}"
    assert sync.params_json_schema == {}


def test_function_tool_timeout_spellings_and_positional_limit() -> None:
    def run(ctx: Any, arguments: str) -> str:
        return ""

    assert FunctionTool("t", "", {}, run, timeout_seconds=5).timeout == 5.0
    assert FunctionTool("t", "", {}, run, timeout=5).timeout_seconds == 5.0
    with pytest.raises(TypeError, match="not both"):
        FunctionTool("t", "", {}, run, timeout=5, timeout_seconds=6)
    with pytest.raises(TypeError, match="positional"):
        FunctionTool("t", "", {}, run, True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="params_json_schema must be a dict"):
        FunctionTool("t", "", "{}", run)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_invoke_tool must be a callable"):
        FunctionTool("t", "", {}, None)  # type: ignore[arg-type]
    with pytest.raises(ToolSchemaError, match="invalid tool name"):
        FunctionTool("no spaces", "", {}, run)


# -- timeouts and failures, through the executor ---------------------------------------------------


async def _run(calls: list[ToolCall]) -> tuple[dict[str, ToolResult], ToolExecutor]:
    done: dict[str, ToolResult] = {}

    async def on_done(result: ToolResult) -> None:
        done[result.call.call_id] = result

    executor = ToolExecutor(on_done)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for call in calls:
            executor.submit_nowait(call)
        await trio.sleep(30)
        nursery.cancel_scope.cancel()
    return done, executor


def _call(tool: FunctionTool, call_id: str, arguments: str = "{}") -> ToolCall:
    ctx = ToolContext(None, tool_name=tool.name, tool_call_id=call_id, tool_arguments=arguments)
    return ToolCall(call_id, tool.name, arguments, tool, ctx)


async def test_timeouts(autojump_clock: trio.testing.MockClock) -> None:
    async def slow() -> str:
        await trio.sleep(10)
        return "never"

    seen: list[Any] = []

    async def explain(ctx: RunContextWrapper[Any], error: Exception) -> str:
        seen.append((type(ctx).__name__, error))
        return "Too slow, try later."

    def broken(ctx: RunContextWrapper[Any], error: Exception) -> str:
        raise RuntimeError("formatter bug")

    plain = function_tool(timeout=2)(slow)
    formatted = function_tool(name="formatted", timeout=2, timeout_error_function=explain)(slow)
    fallback = function_tool(name="fallback", timeout=2.5, timeout_error_function=broken)(slow)
    raising = function_tool(name="raising", timeout=2, timeout_behavior="raise_exception")(slow)
    unlimited = function_tool(name="unlimited")(slow)
    tools = [plain, formatted, fallback, raising, unlimited]
    done, executor = await _run([_call(t, t.name) for t in tools])
    assert (done["slow"].status, done["slow"].text) == (
        "timeout",
        "Tool 'slow' timed out after 2 seconds.",
    )
    assert isinstance(done["slow"].error, ToolTimeoutError)
    assert done["formatted"].text == "Too slow, try later."
    ((ctx_type, error),) = seen
    assert ctx_type == "ToolContext"
    assert isinstance(error, ToolTimeoutError)
    assert (error.tool_name, error.timeout_seconds) == ("formatted", 2.0)
    assert done["fallback"].text == "Tool 'fallback' timed out after 2.5 seconds."
    assert done["raising"].status == "error"
    assert isinstance(done["raising"].error, ToolTimeoutError)
    assert done["raising"].text == "Tool raising failed: Tool 'raising' timed out after 2 seconds."
    assert (done["unlimited"].status, done["unlimited"].text) == ("completed", "never")
    stats = executor.statistics()
    assert (stats.timed_out, stats.failed, stats.completed) == (4, 0, 1)


def test_sync_functions_can_time_out_too() -> None:
    # The SDK refuses a timeout on a sync function (ValueError); sync tools run in a worker
    # thread here, abandoned at the timeout (rtagents.actors.tools), so the timeout is kept.
    tool = function_tool(timeout=1)(weather)
    assert (tool.timeout_seconds, tool.runs_in_thread) == (1.0, True)


async def test_failure_error_functions(autojump_clock: trio.testing.MockClock) -> None:
    def fail(key: str) -> str:
        raise KeyError(key)

    async def explain(ctx: RunContextWrapper[Any], error: Exception) -> str:
        return f"no such key: {error}"

    default = function_tool(fail)
    custom = function_tool(name="custom", failure_error_function=explain)(fail)
    bare = function_tool(name="bare", failure_error_function=None)(fail)
    done, _ = await _run([_call(t, t.name, '{"key": "k"}') for t in (default, custom, bare)])
    assert done["fail"].text == "An error occurred while running the tool. Please try again."
    assert done["custom"].text == "no such key: 'k'"
    assert done["bare"].text == "Tool bare failed: KeyError"
    assert all(r.status == "error" and isinstance(r.error, KeyError) for r in done.values())


# -- pydantic parameters -------------------------------------------------------------------------


class Stop(BaseModel):
    city: str
    nights: int = PField(1, ge=1)

    @field_validator("city")
    @classmethod
    def known(cls, value: str) -> str:
        if value == "Atlantis":
            raise ValueError("no such city")
        return value


class Trip(BaseModel):
    """A trip."""

    name: str
    stops: list[Stop]
    back: Stop | None = None


def test_pydantic_arguments_become_models() -> None:
    seen: list[Any] = []

    @function_tool
    def plan(
        trip: Trip, extra: list[Stop] | None = None, days: Annotated[int, PField(ge=1)] = 1
    ) -> str:
        """Plans."""
        seen.append((trip, extra, days))
        return "ok"

    args = {
        "trip": {"name": "T", "stops": [{"city": "Oslo", "nights": 2}]},
        "extra": [{"city": "Rome"}],
    }
    assert _invoke(plan, args) == "ok"
    trip, extra, days = seen[0]
    assert trip == Trip(name="T", stops=[Stop(city="Oslo", nights=2)])
    assert extra == [Stop(city="Rome", nights=1)]
    assert days == 1
    schema = plan.params_json_schema
    assert schema["properties"]["trip"] == {"$ref": "#/$defs/Trip"}
    assert set(schema["$defs"]) == {"Trip", "Stop"}
    assert schema["properties"]["days"]["minimum"] == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"trip": {"name": "T"}}, r"^trip.stops: Field required$"),
        (
            {"trip": {"name": "T", "stops": [{"city": "Atlantis"}]}},
            r"trip.stops\[0\].city: .*no such city",
        ),
        (
            {"trip": {"name": "T", "stops": [{"city": "X", "nights": 0}]}},
            r"stops\[0\].nights: .*greater than or equal to 1",
        ),
        ({"trip": {"name": 5, "stops": []}, "days": 0}, r"trip.name: .*valid string"),
        (
            {"trip": {"name": "T", "stops": []}, "days": 0},
            r"^days: Input should be greater than or equal to 1",
        ),
        ({"trip": "T"}, r"trip: .*valid dictionary"),
    ],
)
def test_pydantic_validation_errors_are_bad_arguments(arguments: Any, message: str) -> None:
    @function_tool
    def plan(trip: Trip, days: Annotated[int, PField(ge=1)] = 1) -> str:
        return "ok"

    with pytest.raises(ToolArgumentError, match=message):
        _invoke(plan, arguments)


def test_pydantic_field_defaults() -> None:
    seen: list[Any] = []

    @function_tool
    def f(
        a: int = PField(3, description="Ay"),
        b: list[int] = PField(default_factory=lambda: [7]),  # noqa: B008 (pydantic's idiom)
        c: Annotated[str, PField(description="See")] = "c",
    ) -> str:
        seen.append((a, b, c))
        return ""

    _invoke(f, {})
    assert seen == [(3, [7], "c")]
    properties = f.params_json_schema["properties"]
    assert properties["a"] == {"default": 3, "description": "Ay", "title": "A", "type": "integer"}
    assert "default" not in properties["b"]  # a factory's value is not shown, as in pydantic
    assert properties["c"]["description"] == "See"


class Opaque:
    pass


class Holder(BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    thing: Opaque


def test_a_model_pydantic_cannot_describe_is_refused_at_definition() -> None:
    def f(holder: Holder) -> str:
        return ""

    with pytest.raises(
        ToolSchemaError, match="parameter 'holder' of tool f: pydantic cannot describe"
    ):
        function_tool(f)


def _local_point() -> type:
    @dataclasses.dataclass
    class Point:  # the same name as the module's, another class
        label: str

    return Point


@dataclasses.dataclass
class Point:
    x: int


# A pydantic model named Point too: pydantic's own definition is renamed where it clashes.
PydanticPoint: Any = pydantic.create_model("Point", y=(float, ...))


def test_types_of_the_same_name_get_distinct_definitions() -> None:
    import jsonschema

    Other = _local_point()
    seen: list[Any] = []

    def f(a: Point, b: Other, c: PydanticPoint) -> str:  # type: ignore[valid-type]
        seen.append((a, b, c))
        return ""

    f.__annotations__ = {"a": Point, "b": Other, "c": PydanticPoint, "return": str}
    tool = function_tool(f)
    schema = tool.params_json_schema
    assert len(schema["$defs"]) == 3
    assert "Point" in schema["$defs"]
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {"a": {"x": 1}, "b": {"label": "l"}, "c": {"y": 2.5}}
    assert jsonschema.Draft202012Validator(schema).is_valid(good)
    for swapped in ({**good, "a": {"label": "l"}}, {**good, "b": {"x": 1}}):
        assert not jsonschema.Draft202012Validator(schema).is_valid(swapped)
    _invoke(tool, good)
    assert seen == [(Point(1), Other("l"), PydanticPoint(y=2.5))]
