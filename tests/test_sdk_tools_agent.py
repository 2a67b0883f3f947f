"""RealtimeAgent the SDK way: generic in the context, SDK field order, is_enabled honoured when the
agent is resolved, MCP servers' tools as function tools; hooks generic with the SDK's methods."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from rtagents import protocol as p
from rtagents.agent import RealtimeAgent, function_tool, mcp_tools
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.function_tools import FunctionTool, ToolArgumentError, ToolSchemaError
from rtagents.handoffs import realtime_handoff
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks
from rtagents.local import CallTool, ResponseContext, ResponsePart, Say
from tests.test_agent_features import Script, last_item, of, run_session, say, server_outputs


@attrs.define
class Account:
    user: str
    admin: bool = False


@function_tool
def lookup(ctx: RunContextWrapper[Account], key: str) -> str:
    """Looks up a key."""
    return f"{ctx.context.user}:{key}"


def test_generic_in_the_context_and_positional_like_the_sdk() -> None:
    async def instructions(ctx: RunContextWrapper[Account], agent: RealtimeAgent[Account]) -> str:
        return f"Help {ctx.context.user}."

    agent = RealtimeAgent[Account](name="A", instructions=instructions, tools=[lookup])
    assert isinstance(agent, RealtimeAgent)
    resolved = trio.run(agent.resolve, RunContextWrapper(Account("ann")))
    assert resolved.instructions == "Help ann."
    # name, handoff_description, tools, mcp_servers, mcp_config, instructions...: the SDK's order.
    positional = RealtimeAgent("B", "Handles billing.", [lookup], [], {}, "Be brief.")
    assert positional.handoff_description == "Handles billing."
    assert positional.instructions == "Be brief."
    assert positional.clone(name="C").tools == [lookup]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"handoff_description": 3}, "handoff_description must be a string"),
        ({"mcp_servers": "server"}, "mcp_servers must be a list"),
        ({"mcp_servers": [object()]}, "mcp_servers cannot hold object"),
        ({"mcp_config": []}, "mcp_config must be a dict"),
        ({"mcp_config": {"strict": True}}, r"unknown keys \['strict'\]"),
        ({"mcp_config": {"include_server_in_tool_names": True}}, "Coming from the OpenAI"),
        ({"mcp_config": {"convert_schemas_to_strict": "yes"}}, "must be a bool"),
        ({"mcp_config": {"failure_error_function": 1}}, "must be callable or None"),
        ({"tools": [lambda: None]}, "tools cannot hold function"),
        ({"instructions": 42}, "instructions must be a string"),
    ],
)
def test_bad_agent_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        RealtimeAgent("A", **fields)


# -- is_enabled ----------------------------------------------------------------------------------


async def test_disabled_tools_are_not_shown() -> None:
    seen: list[Any] = []

    def admins_only(ctx: RunContextWrapper[Account], agent: Any) -> bool:
        seen.append(agent.name)
        return ctx.context.admin

    async def later(ctx: RunContextWrapper[Account], agent: Any) -> bool:
        await trio.lowlevel.checkpoint()
        return False

    @function_tool(is_enabled=admins_only)
    def wipe() -> str:
        return ""

    @function_tool(is_enabled=False)
    def hidden() -> str:
        return ""

    # A disabled tool may share its name with a handoff: only what is shown must be unique.
    @function_tool(is_enabled=later)
    def transfer_to_other() -> str:
        return ""

    other = RealtimeAgent("Other")
    agent = RealtimeAgent("A", tools=[lookup, wipe, hidden, transfer_to_other], handoffs=[other])
    user = await agent.resolve(RunContextWrapper(Account("ann")))
    assert list(user.tools) == ["lookup"]
    assert list(user.handoffs) == ["transfer_to_other"]
    admin = await agent.resolve(RunContextWrapper(Account("bob", admin=True)))
    assert list(admin.tools) == ["lookup", "wipe"]
    assert seen == ["A", "A"]
    assert [t.name for t in await agent.get_all_tools(RunContextWrapper(Account("x")))] == [
        "lookup"
    ]
    assert [t.name for t in admin.protocol_tools()] == ["lookup", "wipe", "transfer_to_other"]


async def test_is_enabled_on_a_live_session(autojump_clock: trio.testing.MockClock) -> None:
    @function_tool(is_enabled=lambda ctx, agent: ctx.context["admin"])
    def wipe() -> str:
        return "wiped"

    def respond(context: ResponseContext) -> list[ResponsePart]:
        names = [getattr(t, "name", None) for t in context.session.tools or ()]
        return say(f"I can use {names}", context)

    session, _, _ = await run_session(
        RealtimeAgent("A", tools=[lookup, wipe]), Script(respond), context={"admin": False}
    )
    answers = [i for i in session.history if getattr(i, "role", None) == "assistant"]
    assert "['lookup']" in str(answers[-1])


# -- MCP -----------------------------------------------------------------------------------------


@attrs.define
class FakeServer:
    """What an MCP server looks like to an agent: list_tools() and call_tool(name, arguments)."""

    tools: list[Any]
    calls: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)
    listed: int = 0

    async def list_tools(self) -> list[Any]:
        await trio.lowlevel.checkpoint()
        self.listed += 1
        return self.tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        await trio.lowlevel.checkpoint()
        self.calls.append((name, arguments))
        if name == "add":
            total = arguments["a"] + arguments["b"]
            return SimpleNamespace(content=[SimpleNamespace(type="text", text=str(total))])
        if name == "split":
            parts = [SimpleNamespace(type="text", text=w) for w in arguments["text"].split()]
            return SimpleNamespace(content=parts)
        return SimpleNamespace(isError=True, content=[SimpleNamespace(text=f"no tool {name}")])


def mcp_tool(
    name: str, schema: dict[str, Any] | None = None, description: str | None = None
) -> Any:
    return SimpleNamespace(name=name, description=description, inputSchema=schema)


ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 0}},
    "required": ["a"],
}


async def test_mcp_tools_become_function_tools() -> None:
    server = FakeServer([mcp_tool("add", ADD_SCHEMA, "Adds."), mcp_tool("split"), mcp_tool("gone")])
    agent = RealtimeAgent("A", tools=[lookup], mcp_servers=[server])
    ctx = RunContextWrapper(Account("ann"))
    resolved = await agent.resolve(ctx)
    assert list(resolved.tools) == ["add", "split", "gone", "lookup"]  # MCP first, as in the SDK
    add = resolved.tools["add"]
    assert (add.description, add.params_json_schema, add.strict_json_schema) == (
        "Adds.",
        ADD_SCHEMA,
        False,
    )
    assert resolved.tools["split"].params_json_schema == {"properties": {}}
    tool_ctx = ToolContext(ctx.context, tool_name="add", tool_call_id="c1")
    assert await add.invoke(tool_ctx, '{"a": 1, "b": 2}') == '{"type": "text", "text": "3"}'
    split = await resolved.tools["split"].invoke(tool_ctx, '{"text": "a b"}')
    assert json.loads(split) == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert (
        await resolved.tools["gone"].invoke(tool_ctx, "{}")
        == '{"type": "text", "text": "no tool gone"}'
    )
    assert server.calls == [("add", {"a": 1, "b": 2}), ("split", {"text": "a b"}), ("gone", {})]
    with pytest.raises(ToolArgumentError, match="not valid JSON"):
        await add.invoke(tool_ctx, "{")
    await agent.resolve(ctx)
    assert server.listed == 2  # listed again each time the agent is resolved


async def test_mcp_config() -> None:
    def explain(ctx: Any, error: Exception) -> str:
        return "MCP failed"

    broken_ref = {"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope", "title": "X"}}}
    server = FakeServer([mcp_tool("add", ADD_SCHEMA), mcp_tool("odd", broken_ref)])
    config = {"convert_schemas_to_strict": True, "failure_error_function": explain}
    tools = await RealtimeAgent("A", mcp_servers=[server], mcp_config=config).get_mcp_tools(
        RunContextWrapper(None)
    )
    add, odd = tools
    assert add.strict_json_schema
    assert add.params_json_schema["required"] == ["a", "b"]
    assert add.params_json_schema["additionalProperties"] is False
    assert not odd.strict_json_schema
    assert odd.params_json_schema == broken_ref  # kept as given
    assert add.failure_error_function is explain


async def test_mcp_name_clashes_and_bad_names() -> None:
    ctx = RunContextWrapper(None)
    one, two = FakeServer([mcp_tool("add")]), FakeServer([mcp_tool("add")])
    with pytest.raises(ValueError, match="duplicate tool names across MCP servers: 'add'"):
        await mcp_tools([one, two], ctx)
    with pytest.raises(ValueError, match="two tools are named 'lookup'"):
        await RealtimeAgent(
            "A", tools=[lookup], mcp_servers=[FakeServer([mcp_tool("lookup")])]
        ).resolve(ctx)
    with pytest.raises(ToolSchemaError, match=r"invalid tool name 'get\.time'"):
        await mcp_tools([FakeServer([mcp_tool("get.time")])], ctx)


async def test_an_mcp_tool_on_a_live_session(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([mcp_tool("add", ADD_SCHEMA, "Adds.")])

    def respond(context: ResponseContext) -> list[ResponsePart]:
        item = last_item(context)
        if isinstance(item, p.FunctionCallOutputItem):
            return [Say(f"The tool said {item.output}")]
        return [CallTool("add", '{"a": 2, "b": 3}')]

    _, events, model_server = await run_session(
        RealtimeAgent("A", mcp_servers=[server]), Script(respond)
    )
    assert server.calls == [("add", {"a": 2, "b": 3})]
    assert list(server_outputs(model_server).values()) == ['{"type": "text", "text": "5"}']
    assert [e.tool.name for e in of(events, "tool_end")] == ["add"]


# -- hooks, handoffs, optional pydantic ---------------------------------------------------------


async def test_hooks_are_generic_with_the_sdks_methods() -> None:
    calls: list[str] = []

    class Hooks(RealtimeRunHooks[Account]):
        async def on_tool_end(
            self,
            context: RunContextWrapper[Account],
            agent: RealtimeAgent[Account],
            tool: FunctionTool,
            result: object,
        ) -> None:
            calls.append(f"{context.context.user} {tool.name} {result}")

    class AgentHooks(RealtimeAgentHooks[Account]):
        pass

    ctx = RunContextWrapper(Account("ann"))
    agent = RealtimeAgent[Account]("A", hooks=AgentHooks())
    await Hooks().on_tool_end(ctx, agent, lookup, "ok")
    assert calls == ["ann lookup ok"]
    for hooks in (Hooks(), AgentHooks()):  # declared for SDK code; never called by the session
        await hooks.on_llm_start(ctx, agent, "prompt", [])
        await hooks.on_llm_end(ctx, agent, None)


async def test_a_pydantic_model_as_handoff_input() -> None:
    pytest.importorskip("pydantic")
    from pydantic import BaseModel

    class Reason(BaseModel):
        topic: str

    got: list[Any] = []
    handoff = realtime_handoff(
        RealtimeAgent("B"), input_type=Reason, on_handoff=lambda ctx, r: got.append(r)
    )
    assert handoff.input_json_schema == {
        "properties": {"topic": {"title": "Topic", "type": "string"}},
        "required": ["topic"],
        "title": "Reason",
        "type": "object",
        "additionalProperties": False,
    }
    await handoff.on_invoke_handoff(RunContextWrapper(None), '{"topic": "refund"}')
    assert got == [Reason(topic="refund")]


def test_pydantic_is_not_imported_by_the_tool_machinery() -> None:
    code = (
        "import sys, dataclasses\n"
        "import rtagents.function_tools, rtagents.agent, rtagents._core.schema_strict\n"
        "from rtagents.function_tools import function_tool\n"
        "@dataclasses.dataclass\nclass P:\n    x: int\n"
        "@function_tool\ndef f(p: P, n: int = 1) -> str:\n    return ''\n"
        'f.on_invoke_tool(None, \'{"p": {"x": 1}}\')\n'
        "print(sorted(m for m in sys.modules if m.startswith('pydantic')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_timeout_behaviors_on_a_live_session(autojump_clock: trio.testing.MockClock) -> None:
    async def slow() -> str:
        await trio.sleep(10)
        return "never"

    as_result = function_tool(name="as_result", timeout=1)(slow)
    raising = function_tool(name="raising", timeout=1, timeout_behavior="raise_exception")(slow)
    calls = iter([CallTool("as_result", "{}"), CallTool("raising", "{}")])

    def respond(context: ResponseContext) -> list[ResponsePart]:
        return [next(calls, Say("done"))]

    kinds: list[str] = []

    def formatter(args: Any) -> None:
        kinds.append(args.kind)
        assert args.error is not None

    _, events, server = await run_session(
        RealtimeAgent("A", tools=[as_result, raising]),
        Script(respond),
        tool_error_formatter=formatter,
    )
    assert list(server_outputs(server).values()) == [
        "Tool 'as_result' timed out after 1 seconds.",  # read as a result: no error event
        "Tool raising failed: Tool 'raising' timed out after 1 seconds.",
    ]
    (error,) = of(events, "error")
    assert (error.error["type"], error.error["tool"]) == ("tool_error", "raising")
    assert kinds == ["timeout", "tool_exception"]
