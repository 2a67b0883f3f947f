"""MCP (Model Context Protocol) servers as tool sources for agents, with the SDK's names.

Needs the ``mcp`` package (the ``mcp`` extra); nothing else in rtagents imports this module
except lazily.  SDK code ports by changing imports::

    from rtagents.mcp import MCPServerStdio

    async with MCPServerStdio(params={"command": "uvx", "args": ["mcp-server-time"]}) as server:
        agent = RealtimeAgent(name="Assistant", mcp_servers=[server])
        ...

Theory of operation
-------------------
The mcp package's client is written for anyio, so it runs unchanged under trio; what needs care
is where its tasks live.  A connected server has background tasks (the stdio pipe readers and
writers or the HTTP streams, and the session's receive loop) inside anyio task groups and
cancel scopes, and anyio, like trio, requires those to be exited by the task that entered them,
in nesting order.  Entering them in ``connect()`` and leaving them in ``cleanup()`` would tie
the two calls to one task and forbid any cancel scope ending in between — ``with
trio.move_on_after(5): await server.connect()`` would corrupt trio's scope stack
(``TrioInternalError``, and the server process leaks).

So, as in the SDK (which uses ``asyncio.create_task``), each connection runs in a task of its
own: under trio a *system task* (``trio.lowlevel.spawn_system_task``, as
:mod:`rtagents.local.speech` does), owned by no caller and cancelled only when the run ends;
under asyncio an ordinary task.  That task enters the transport and the session, hands the
session to :meth:`~MCPServerStdio.connect` (which returns once the session is initialized, or
raises :class:`MCPUserError` with the cause chained), and waits to be told to close; every anyio
scope of the mcp package is entered and exited inside it.  It keeps its own failures: a dead
server makes later requests raise, it never cancels the app's code.
:meth:`~MCPServerStdio.cleanup` tells it to close and waits — shielded from cancellation, and
bounded — for the mcp package's orderly shutdown (a stdio server gets its stdin closed, then
SIGTERM and SIGKILL after 2 s waits each).

Consequences: ``connect()`` and ``cleanup()`` may be separate calls made from any tasks and
scopes (``async with server:`` is still the recommended form); any task may list and call tools
meanwhile, concurrently (Streamable HTTP requests are serialized, as in the SDK); cancelling
``connect()`` or the ``async with`` body still stops the server; and a server never cleaned up
is stopped when ``trio.run`` ends.  Requests run in the caller's task, so the caller's
cancellation and timeouts apply to them (a cancelled tool call leaves the session usable).

Tools reach the agent as plain data: :func:`mcp_function_tools` lists every server's tools
(``cache_tools_list``, :meth:`~MCPServerStdio.invalidate_tools_cache` and ``tool_filter``
apply) and gives one :class:`MCPToolSpec` per tool — name, description, JSON schema, and
``call(arguments) -> str`` returning what the model reads (:func:`call_tool_result_text`; by
default byte-for-byte what the SDK's realtime session sends).  A failing tool is a result with
``isError`` whose text is the message; duplicate names across servers are an error, as in the
SDK.  Both mcp 1.x (>= 1.19) and 2.x work; tool objects are the installed package's
(``tool.input_schema`` in 2.x, ``tool.inputSchema`` in 1.x).
"""

from __future__ import annotations

from rtagents._mcp._config import (
    MCPUserError,
    NeedsApproval,
    RequireApprovalSetting,
    ToolFilter,
    ToolFilterCallable,
    ToolFilterContext,
    ToolFilterStatic,
    create_static_tool_filter,
)
from rtagents._mcp.server import MCPServer
from rtagents._mcp.tools import (
    MCPToolError,
    MCPToolSpec,
    OutputFormat,
    call_tool_result_text,
    mcp_function_tools,
)
from rtagents._mcp.transports import (
    MCPServerSse,
    MCPServerSseParams,
    MCPServerStdio,
    MCPServerStdioParams,
    MCPServerStreamableHttp,
    MCPServerStreamableHttpParams,
)

__all__ = [
    "MCPServer",
    "MCPServerSse",
    "MCPServerSseParams",
    "MCPServerStdio",
    "MCPServerStdioParams",
    "MCPServerStreamableHttp",
    "MCPServerStreamableHttpParams",
    "MCPToolError",
    "MCPToolSpec",
    "MCPUserError",
    "NeedsApproval",
    "OutputFormat",
    "RequireApprovalSetting",
    "ToolFilter",
    "ToolFilterCallable",
    "ToolFilterContext",
    "ToolFilterStatic",
    "call_tool_result_text",
    "create_static_tool_filter",
    "mcp_function_tools",
]
