"""MCP servers under trio (rtagents.mcp), against a real MCP server run as a subprocess.

The server is tests/mcp_fixtures/calc_server.py (``add``, ``echo``; ``--extra`` adds ``pid``,
``wait_forever`` and ``crash``), written with the mcp package's own server class.  The SDK
comparisons run the OpenAI Agents SDK on asyncio (in a worker thread or a subprocess) and
check that the model would read the same text from both.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio
import trio.testing

pytest.importorskip("mcp", reason="needs the mcp extra")

import mcp
from mcp.types import CallToolResult, Tool

from rtagents import RealtimeAgent, RunContextWrapper
from rtagents.function_tools import ToolArgumentError
from rtagents.mcp import (
    MCPServer,
    MCPServerSse,
    MCPServerStdio,
    MCPServerStreamableHttp,
    MCPToolSpec,
    MCPUserError,
    ToolFilterContext,
    call_tool_result_text,
    create_static_tool_filter,
    mcp_function_tools,
)

MCP_1 = not hasattr(mcp, "Client")
SERVER = str(Path(__file__).parent / "mcp_fixtures" / "calc_server.py")
TIMEOUT = 20


def stdio(*extra_args: str, **options: Any) -> MCPServerStdio:
    return MCPServerStdio(
        params={"command": sys.executable, "args": [SERVER, *extra_args]}, **options
    )


def input_schema(tool: Tool) -> dict[str, Any]:
    schema = getattr(tool, "input_schema", None)  # mcp 2.x; 1.x spells it inputSchema
    return dict(schema if schema is not None else getattr(tool, "inputSchema", {}))


def is_error(result: CallToolResult) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def texts(result: CallToolResult) -> list[str]:
    return [item.text for item in result.content if item.type == "text"]


def by_name(specs: list[MCPToolSpec]) -> dict[str, MCPToolSpec]:
    return {spec.name: spec for spec in specs}


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def tasks_living() -> int:
    return trio.lowlevel.current_statistics().tasks_living


# -- the server classes ------------------------------------------------------------------------


async def test_list_and_call_tools() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio(name="calc") as server:
            assert server.name == "calc"
            tools = await server.list_tools()
            assert [t.name for t in tools] == ["add", "echo"]
            assert tools[0].description == "Add two integers."
            assert input_schema(tools[0])["required"] == ["a", "b"]

            result = await server.call_tool("add", {"a": 1, "b": 2})
            assert isinstance(result, CallToolResult)
            assert texts(result) == ["3"]
            assert not is_error(result)
            assert texts(await server.call_tool("echo", {"text": "hi"})) == ["hi"]
            assert (await server.list_prompts()).prompts == []


async def test_default_name_is_the_command() -> None:
    assert stdio().name == f"stdio: {sys.executable}"


async def test_raising_tool_is_an_error_result_not_an_exception() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio() as server:
            result = await server.call_tool("echo", {"text": "boom"})
            assert is_error(result)
            assert "echo" in texts(result)[0]

            echo = by_name(await mcp_function_tools([server]))["echo"]
            text = await echo.call({"text": "boom"})
            assert json.loads(text)["text"].startswith("Error executing tool echo")


async def test_concurrent_calls_from_other_tasks() -> None:
    results: dict[int, str] = {}
    with trio.fail_after(TIMEOUT):
        async with stdio() as server:
            add = by_name(await mcp_function_tools([server]))["add"]

            async def one(n: int) -> None:
                results[n] = await add.call({"a": n, "b": 100})

            async with trio.open_nursery() as nursery:
                for n in range(8):
                    nursery.start_soon(one, n)
    assert results == {n: json.dumps({"type": "text", "text": str(n + 100)}) for n in range(8)}


async def test_cleanup_stops_the_process_and_leaves_no_task() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        nurseries = list(trio.lowlevel.current_task().child_nurseries)
        async with stdio("--extra") as server:
            assert tasks_living() > before  # the connection's tasks
            pid = int(texts(await server.call_tool("pid", {}))[0])
            assert process_exists(pid)
        assert not process_exists(pid)
        assert tasks_living() == before
        assert trio.lowlevel.current_task().child_nurseries == nurseries
        assert server.session is None


async def test_connect_and_cleanup_as_separate_calls() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        server = stdio("--extra")
        await server.connect()
        try:
            with pytest.raises(MCPUserError, match="already connected"):
                await server.connect()
            pid = int(texts(await server.call_tool("pid", {}))[0])
        finally:
            await server.cleanup()
        assert not process_exists(pid)
        assert tasks_living() == before
        await server.cleanup()  # a second cleanup does nothing

        await server.connect()  # and the server can connect again
        try:
            assert texts(await server.call_tool("add", {"a": 2, "b": 2})) == ["4"]
        finally:
            await server.cleanup()
        assert tasks_living() == before


async def test_connect_and_cleanup_in_different_tasks_and_scopes() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        server = stdio("--extra")
        with trio.move_on_after(TIMEOUT):  # a scope that ends while connected: allowed
            await server.connect()
        pid = int(texts(await server.call_tool("pid", {}))[0])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.cleanup)  # from another task
        assert not process_exists(pid)
        assert tasks_living() == before


async def test_cancelled_body_still_stops_the_server() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        with trio.CancelScope() as scope:
            async with stdio("--extra") as server:
                pid = int(texts(await server.call_tool("pid", {}))[0])
                scope.cancel()
                await trio.sleep_forever()
        assert scope.cancelled_caught
        assert not process_exists(pid)
        assert tasks_living() == before


async def test_cancelled_connect_leaves_nothing_behind() -> None:
    silent = MCPServerStdio(  # reads stdin until it closes, never answers
        params={"command": sys.executable, "args": ["-c", "import sys; sys.stdin.read()"]},
        client_session_timeout_seconds=TIMEOUT,
    )
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(silent.connect)
            await trio.testing.wait_all_tasks_blocked()  # the handshake is out
            nursery.cancel_scope.cancel()
        assert silent.session is None
        assert tasks_living() == before
        await silent.cleanup()  # nothing to do


def test_a_forgotten_cleanup_happens_when_the_run_ends() -> None:
    async def connect_and_forget() -> int:
        server = stdio("--extra")
        await server.connect()
        return int(texts(await server.call_tool("pid", {}))[0])

    pid = trio.run(connect_and_forget)
    assert not process_exists(pid)


async def test_cancelled_call_leaves_the_session_usable() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio("--extra") as server:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(server.call_tool, "wait_forever", {})
                await trio.testing.wait_all_tasks_blocked()  # the request is out
                nursery.cancel_scope.cancel()
            assert texts(await server.call_tool("add", {"a": 5, "b": 6})) == ["11"]


async def test_server_that_dies_fails_calls_but_cleans_up() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        async with stdio("--extra") as server:
            pid = int(texts(await server.call_tool("pid", {}))[0])
            with pytest.raises(Exception, match=r"[Cc]onnection.* closed"):
                await server.call_tool("crash", {})
            with pytest.raises(Exception, match=r"[Cc]onnection.* closed"):
                await server.call_tool("add", {"a": 1, "b": 1})
        assert not process_exists(pid)
        assert tasks_living() == before


async def test_failed_requests_are_retried_as_configured() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio(max_retry_attempts=2, retry_backoff_seconds_base=0) as server:
            session = server.session
            original = session.call_tool
            failures = [RuntimeError("first"), RuntimeError("second")]

            async def flaky(*args: Any, **kwargs: Any) -> Any:
                if failures:
                    raise failures.pop(0)
                return await original(*args, **kwargs)

            session.call_tool = flaky
            assert texts(await server.call_tool("add", {"a": 1, "b": 2})) == ["3"]
            failures[:] = [RuntimeError(str(n)) for n in range(3)]
            with pytest.raises(RuntimeError, match="2"):
                await server.call_tool("add", {"a": 1, "b": 2})


async def test_a_command_that_cannot_start_is_a_clear_error() -> None:
    with trio.fail_after(TIMEOUT):
        before = tasks_living()
        server = MCPServerStdio(params={"command": "/nonexistent/mcp-server"})
        with pytest.raises(MCPUserError, match=r"Failed to connect to MCP server 'stdio: /nonex"):
            await server.connect()
        assert server.session is None
        with pytest.raises(MCPUserError) as caught:
            async with MCPServerStdio(params={"command": sys.executable, "args": ["-c", "pass"]}):
                pytest.fail("connected to a process that exits")
        assert "Connection closed" in str(caught.value)
        assert caught.value.__cause__ is not None
        assert tasks_living() == before


async def test_not_connected() -> None:
    server = stdio()
    with pytest.raises(MCPUserError, match="Server not initialized"):
        await server.list_tools()
    with pytest.raises(MCPUserError, match="Server not initialized"):
        await server.call_tool("add", {"a": 1, "b": 2})
    with pytest.raises(MCPUserError, match="Server not initialized"):
        await mcp_function_tools([server])


async def test_invalid_settings_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="client_session_timeout_seconds"):
        stdio(client_session_timeout_seconds=-1)
    with pytest.raises(MCPUserError, match="require_approval"):
        stdio(require_approval="sometimes")
    with pytest.raises(ValueError, match="max_list_pages"):
        stdio(max_list_pages=0)


# -- caching and filtering ---------------------------------------------------------------------


def count_list_tools(server: MCPServerStdio) -> list[int]:
    """Count the server's tools/list round trips (wraps the connected session's method)."""
    calls = [0]
    session = server.session
    original = session.list_tools

    async def counting(**kwargs: Any) -> Any:
        calls[0] += 1
        return await original(**kwargs)

    session.list_tools = counting
    return calls


async def test_tools_list_cache() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio(cache_tools_list=True) as server:
            nothing_cached = server.cached_tools
            assert nothing_cached is None
            calls = count_list_tools(server)
            first = await server.list_tools()
            second = await server.list_tools()
            assert calls == [1]
            assert [t.name for t in first] == [t.name for t in second] == ["add", "echo"]
            first[0].name = "changed"  # copies: the cache is not affected
            cached = server.cached_tools
            assert cached is not None
            assert cached[0].name == "add"

            server.invalidate_tools_cache()
            await server.list_tools()
            await mcp_function_tools([server])
            assert calls == [2]

        async with stdio() as uncached:
            calls = count_list_tools(uncached)
            await uncached.list_tools()
            await uncached.list_tools()
            assert calls == [2]


async def test_static_tool_filter() -> None:
    assert create_static_tool_filter() is None
    with trio.fail_after(TIMEOUT):
        allow = create_static_tool_filter(allowed_tool_names=["echo"])
        async with stdio(tool_filter=allow) as server:
            assert [t.name for t in await server.list_tools()] == ["echo"]
        block = create_static_tool_filter(blocked_tool_names=["echo"])
        async with stdio("--extra", tool_filter=block) as server:
            names = [spec.name for spec in await mcp_function_tools([server])]
            assert names == ["add", "pid", "wait_forever", "crash"]


async def test_callable_tool_filter() -> None:
    seen: list[ToolFilterContext] = []

    async def only_add(context: ToolFilterContext, tool: Tool) -> bool:
        seen.append(context)
        return tool.name == "add"

    with trio.fail_after(TIMEOUT):
        async with stdio(name="calc", tool_filter=only_add) as server:
            with pytest.raises(MCPUserError, match="run_context and agent are required"):
                await server.list_tools()
            agent = RealtimeAgent(name="a")
            ctx = RunContextWrapper(context=None)
            specs = await mcp_function_tools([server], ctx, agent)
            assert [spec.name for spec in specs] == ["add"]
            assert seen[0] == ToolFilterContext(ctx, agent, "calc")


async def test_duplicate_tool_names_across_servers() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio(name="one") as one, stdio(name="two") as two:
            with pytest.raises(MCPUserError, match=r"Duplicate tool names.*'add', 'echo'"):
                await mcp_function_tools([one, two])
            only_echo = create_static_tool_filter(allowed_tool_names=["echo"])
            only_add = create_static_tool_filter(allowed_tool_names=["add"])
            one.tool_filter, two.tool_filter = only_echo, only_add
            specs = await mcp_function_tools([one, two])
            assert [(s.name, s.server_name) for s in specs] == [("echo", "one"), ("add", "two")]


# -- function-tool data ------------------------------------------------------------------------


async def test_function_tool_specs_and_outputs() -> None:
    with trio.fail_after(TIMEOUT):
        async with stdio() as server:
            specs = by_name(await mcp_function_tools([server]))
            add = specs["add"]
            assert add.description == "Add two integers."
            assert add.input_schema["properties"].keys() == {"a", "b"}
            assert add.server is server
            assert add.needs_approval is False
            assert await add.call({"a": 1, "b": 2}) == '{"type": "text", "text": "3"}'
            assert await specs["echo"].call({"text": "héllo"}) == (
                '{"type": "text", "text": "héllo"}'
            )
            with pytest.raises(ToolArgumentError, match="missing required parameters: b"):
                await add.call({"a": 1})
            # The server checks too, once it knows the tools (as the SDK's server does).
            with pytest.raises(MCPUserError, match="missing required parameters: text"):
                await server.call_tool("echo", {})

            plain = by_name(await mcp_function_tools([server], output_format="text"))
            assert await plain["add"].call({"a": 1, "b": 2}) == "3"

        async with stdio(use_structured_content=True) as structured:
            specs = by_name(await mcp_function_tools([structured]))
            assert await specs["add"].call({"a": 1, "b": 2}) == '{"result": 3}'
            # An error result keeps its content (it has no structured content anyway).
            assert "Error executing tool echo" in await specs["echo"].call({"text": "boom"})


def tool(name: str) -> Tool:
    return Tool.model_validate({"name": name, "inputSchema": {"type": "object"}})


async def test_require_approval() -> None:
    add, echo = tool("add"), tool("echo")

    def policy(setting: Any) -> list[Any]:
        server = stdio(require_approval=setting)
        return [server.needs_approval(add), server.needs_approval(echo)]

    assert policy(None) == policy("never") == policy(False) == [False, False]
    assert policy("always") == policy(True) == [True, True]
    assert policy({"add": "always", "echo": "never"}) == [True, False]
    assert policy({"always": {"tool_names": ["echo"]}}) == [False, True]
    assert policy({"never": {"tool_names": ["echo"]}, "always": {"tool_names": ["add"]}}) == [
        True,
        False,
    ]
    with pytest.raises(MCPUserError, match="both always and never"):
        policy({"always": {"tool_names": ["add"]}, "never": {"tool_names": ["add"]}})

    def decide(ctx: RunContextWrapper[Any], agent: Any, tool: Tool) -> bool:
        return tool.name == "add" and agent.name == "a"

    assert policy(decide) == [True, True]  # no agent to ask with: ask the app (as the SDK)
    with trio.fail_after(TIMEOUT):
        async with stdio(require_approval=decide) as server:
            agent = RealtimeAgent(name="a")
            ctx = RunContextWrapper(context=None)
            add_spec, echo_spec = await mcp_function_tools([server], ctx, agent)
            assert callable(add_spec.needs_approval)
            assert callable(echo_spec.needs_approval)
            assert await add_spec.needs_approval(ctx, {}, "call_1") is True
            assert await echo_spec.needs_approval(ctx, {}, "call_2") is False


def result(**fields: Any) -> CallToolResult:
    return CallToolResult.model_validate(fields)


CONVERSION_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"content": [{"type": "text", "text": "one"}]}, False),
    ({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, False),
    ({"content": []}, False),
    ({"content": [{"type": "image", "data": "AAA", "mimeType": "image/png"}]}, False),
    ({"content": [{"type": "resource_link", "uri": "file:///x", "name": "x"}]}, False),
    ({"content": [{"type": "text", "text": "{}"}], "structuredContent": {"k": "é"}}, True),
    ({"content": [{"type": "text", "text": "t"}], "structuredContent": {"k": 1}}, False),
    (
        {
            "content": [{"type": "text", "text": "bad"}],
            "structuredContent": {"k": 1},
            "isError": True,
        },
        True,
    ),
]


def test_result_text_formats() -> None:
    several = result(content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
    assert call_tool_result_text(several) == (
        '[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]'
    )
    assert call_tool_result_text(several, output_format="text") == "a\nb"
    assert call_tool_result_text(result(content=[])) == "[]"
    image = result(content=[{"type": "image", "data": "AAA", "mimeType": "image/png"}])
    assert json.loads(call_tool_result_text(image)) == {
        "type": "image",
        "image_url": "data:image/png;base64,AAA",
    }
    with pytest.raises(ValueError, match="output_format"):
        call_tool_result_text(several, output_format="html")  # type: ignore[arg-type]


# -- HTTP transports ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_server(transport: str, path: str) -> AsyncIterator[str]:
    port = free_port()
    command = [sys.executable, SERVER, "--transport", transport, "--port", str(port)]
    process = await trio.lowlevel.open_process(command)
    try:
        with trio.fail_after(TIMEOUT):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    assert process.returncode is None, "the MCP HTTP server exited"
                    await trio.sleep(0.05)  # the server is still starting
                else:
                    await stream.aclose()
                    break
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        process.terminate()
        with trio.move_on_after(5):
            await process.wait()
        process.kill()
        await process.wait()


@pytest.fixture
async def streamable_http_url() -> AsyncIterator[str]:
    async for url in http_server("streamable-http", "/mcp"):
        yield url


@pytest.fixture
async def sse_url() -> AsyncIterator[str]:
    async for url in http_server("sse", "/sse"):
        yield url


async def exercise(server: MCPServer) -> None:
    before = tasks_living()
    async with server:
        assert [t.name for t in await server.list_tools()] == ["add", "echo"]
        specs = by_name(await mcp_function_tools([server]))
        assert await specs["add"].call({"a": 20, "b": 22}) == '{"type": "text", "text": "42"}'
        assert "Error executing tool echo" in await specs["echo"].call({"text": "boom"})
    assert tasks_living() == before


def tolerate_mcp_1_http_warnings(test: Any) -> Any:
    """mcp 1.x's Streamable HTTP client leaves httpx async generators unexhausted, which trio's
    async-generator finalizer reports (ResourceWarning) when they are collected; 2.x does not."""
    if MCP_1:
        test = pytest.mark.filterwarnings("ignore::ResourceWarning")(test)
        test = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")(test)
    return test


@tolerate_mcp_1_http_warnings
async def test_streamable_http(streamable_http_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        server = MCPServerStreamableHttp(params={"url": streamable_http_url, "timeout": 10})
        assert server.name == f"streamable_http: {streamable_http_url}"
        await exercise(server)


async def test_sse(sse_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        server = MCPServerSse(params={"url": sse_url})
        assert server.name == f"sse: {sse_url}"
        await exercise(server)


async def test_unreachable_http_server_is_a_clear_error() -> None:
    with trio.fail_after(TIMEOUT):
        url = f"http://127.0.0.1:{free_port()}/mcp"
        with pytest.raises(MCPUserError, match="Failed to connect to MCP server"):
            async with MCPServerStreamableHttp(params={"url": url}):
                pytest.fail("connected to nothing")


# -- the same code on asyncio, and the SDK as the oracle ----------------------------------------


async def test_also_runs_on_asyncio() -> None:
    async def main() -> list[str]:
        async with stdio() as server:
            specs = by_name(await mcp_function_tools([server]))
            return [
                await specs["add"].call({"a": 1, "b": 2}),
                await specs["echo"].call({"text": "x"}),
            ]

    with trio.fail_after(TIMEOUT):
        outputs = await trio.to_thread.run_sync(lambda: anyio.run(main, backend="asyncio"))
    assert outputs == ['{"type": "text", "text": "3"}', '{"type": "text", "text": "x"}']


def sdk_conversion(cases: list[tuple[dict[str, Any], bool]]) -> list[str]:
    """What the SDK's realtime session would send for each result (run on asyncio)."""
    from agents.mcp import MCPUtil
    from agents.realtime.session import _serialize_tool_output
    from agents.run_context import RunContextWrapper as SDKRunContextWrapper

    class FakeServer:
        name = "fake"
        tool_meta_resolver = None
        custom_data_extractor = None

        def __init__(self, fields: dict[str, Any], structured: bool) -> None:
            self.fields, self.use_structured_content = fields, structured

        async def call_tool(self, name: str, arguments: Any, meta: Any = None) -> Any:
            return result(**self.fields)

    tool = Tool.model_validate({"name": "t", "inputSchema": {"type": "object"}})

    async def main() -> list[str]:
        outputs = []
        for fields, structured in cases:
            server: Any = FakeServer(fields, structured)
            output = await MCPUtil.invoke_mcp_tool(
                server, tool, SDKRunContextWrapper(context=None), "{}"
            )
            outputs.append(_serialize_tool_output(output))
        return outputs

    return asyncio.run(main())


async def test_result_text_matches_the_sdk() -> None:
    pytest.importorskip("agents.realtime.session", reason="needs the interop extra")
    with trio.fail_after(TIMEOUT):
        expected = await trio.to_thread.run_sync(sdk_conversion, CONVERSION_CASES)
    ours = [
        call_tool_result_text(result(**fields), use_structured_content=structured)
        for fields, structured in CONVERSION_CASES
    ]
    assert ours == expected


SDK_SCRIPT = """
import asyncio, json, sys
from agents import RunContextWrapper
from agents.mcp import MCPServerStdio
from agents.realtime import RealtimeAgent
from agents.realtime.session import _serialize_tool_output
from agents.tool_context import ToolContext

CALLS = [("add", {"a": 1, "b": 2}), ("echo", {"text": "hi"}), ("echo", {"text": "boom"})]

async def main():
    params = {"command": sys.executable, "args": [sys.argv[1]]}
    async with MCPServerStdio(params=params) as server:
        agent = RealtimeAgent(name="a", mcp_servers=[server])
        tools = {t.name: t for t in await agent.get_mcp_tools(RunContextWrapper(context=None))}
        outputs = []
        for name, arguments in CALLS:
            text = json.dumps(arguments)
            ctx = ToolContext(context=None, tool_name=name, tool_call_id="c", tool_arguments=text)
            outputs.append(_serialize_tool_output(await tools[name].on_invoke_tool(ctx, text)))
        print(json.dumps({
            "tools": [[t.name, t.description, t.params_json_schema] for t in tools.values()],
            "outputs": outputs,
        }))

asyncio.run(main())
"""


SDK_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("add", {"a": 1, "b": 2}),
    ("echo", {"text": "hi"}),
    ("echo", {"text": "boom"}),
]


@pytest.mark.interop
async def test_tools_and_outputs_match_the_sdk_on_asyncio() -> None:
    pytest.importorskip("agents.realtime", reason="needs the interop extra (openai-agents)")
    with trio.fail_after(TIMEOUT):
        done = await trio.run_process(
            [sys.executable, "-c", SDK_SCRIPT, SERVER], capture_stdout=True, capture_stderr=True
        )
        sdk = json.loads(done.stdout.decode().strip().splitlines()[-1])
        async with stdio() as server:
            specs = await mcp_function_tools([server])
            ours = {
                "tools": [[s.name, s.description, s.input_schema] for s in specs],
                "outputs": [
                    await by_name(specs)[name].call(arguments) for name, arguments in SDK_CALLS
                ],
            }
    assert ours == sdk
