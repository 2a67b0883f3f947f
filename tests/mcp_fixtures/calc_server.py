"""A tiny MCP server for the tests: ``add`` and ``echo`` (``echo("boom")`` raises).

Run as ``python calc_server.py [--extra] [--transport stdio|streamable-http|sse] [--port N]``.
``--extra`` adds ``pid`` (the server's process id), ``wait_forever`` (never returns: for
cancellation) and ``crash`` (the process exits at once, mid-call).  Written with the mcp
package's server class: ``MCPServer`` in mcp 2.x, ``FastMCP`` in mcp 1.x.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

import anyio


def build(*, extra: bool, port: int) -> tuple[Any, dict[str, Any]]:
    """The server, and the keyword arguments its ``run()`` takes for an HTTP transport."""
    http = {"host": "127.0.0.1", "port": port}
    try:
        app = importlib.import_module("mcp.server.mcpserver").MCPServer("calc")
        run_options: dict[str, Any] = http
    except ImportError:  # mcp 1.x: FastMCP takes the HTTP settings itself
        app = importlib.import_module("mcp.server.fastmcp").FastMCP("calc", **http)
        run_options = {}

    def tool(fn: Callable[..., Any]) -> Callable[..., Any]:
        registered: Callable[..., Any] = app.tool()(fn)
        return registered

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tool
    def echo(text: str) -> str:
        """Echo the text back ("boom" raises)."""
        if text == "boom":
            raise ValueError("boom requested")
        return text

    if extra:

        @tool
        def pid() -> int:
            """The server's process id."""
            return os.getpid()

        @tool
        async def wait_forever() -> str:
            """Never returns."""
            await anyio.sleep_forever()
            return "unreachable"

        @tool
        def crash() -> str:
            """Exit the server process at once."""
            os._exit(3)

    return app, run_options


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra", action="store_true")
    parser.add_argument("--transport", default="stdio", choices=["stdio", "streamable-http", "sse"])
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    # The raising tool makes the server log a traceback: keep the test output quiet.
    logging.disable(logging.ERROR)
    app, run_options = build(extra=options.extra, port=options.port)
    if options.transport == "stdio":
        app.run()
    else:
        app.run(options.transport, **run_options)


if __name__ == "__main__":
    main()
