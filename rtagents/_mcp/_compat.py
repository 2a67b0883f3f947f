"""The differences between the mcp package's 1.x and 2.x client APIs, in one place.

2.x renamed the model fields to snake_case (``input_schema``, ``is_error``,
``structured_content``, ``next_cursor``, ``mime_type``), opens sessions through ``mcp.Client``
(which negotiates the protocol era itself) and uses ``httpx2``; 1.x has ``inputSchema`` and so
on, a ``ClientSession`` over ``(read, write)`` streams that must be ``initialize()``-d, and
``httpx``.  Everything else in :mod:`rtagents._mcp` goes through the helpers here.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any, cast

import mcp

MCP_V2: bool = hasattr(mcp, "Client")
"""Whether the installed mcp package is 2.x (it has ``mcp.Client``)."""

_exceptions = vars(importlib.import_module("mcp.shared.exceptions"))
MCPError = cast(type[Exception], _exceptions.get("MCPError") or _exceptions["McpError"])
"""The mcp package's JSON-RPC error (``MCPError`` in 2.x, ``McpError`` in 1.x)."""

HTTPX: Any = importlib.import_module("httpx2" if MCP_V2 else "httpx")
"""The HTTP client library the installed mcp package's HTTP transports are built on."""


def _field(value: Any, v2_name: str, v1_name: str) -> Any:
    return getattr(value, v2_name if MCP_V2 else v1_name, None)


def tool_input_schema(tool: Any) -> dict[str, Any]:
    schema = _field(tool, "input_schema", "inputSchema")
    return schema if isinstance(schema, dict) else {}


def result_is_error(result: Any) -> bool:
    return bool(_field(result, "is_error", "isError"))


def result_structured_content(result: Any) -> dict[str, Any] | None:
    content = _field(result, "structured_content", "structuredContent")
    return content if isinstance(content, dict) else None


def result_next_cursor(result: Any) -> str | None:
    return cast(str | None, _field(result, "next_cursor", "nextCursor"))


def without_next_cursor(result: Any, **updates: Any) -> Any:
    updates["next_cursor" if MCP_V2 else "nextCursor"] = None
    return result.model_copy(update=updates)


def image_mime_type(content: Any) -> str:
    return cast(str, _field(content, "mime_type", "mimeType"))


def error_message(error: BaseException) -> str:
    """The message of an mcp error (2.x: ``.message``; 1.x: ``.error.message``)."""
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        message = getattr(getattr(error, "error", None), "message", None)
    return message if isinstance(message, str) else str(error)


def paginated(cursor: str | None) -> dict[str, Any]:
    """Keyword arguments asking for the page after ``cursor`` (none for the first page)."""
    if cursor is None:
        return {}
    return {"params": mcp.types.PaginatedRequestParams(cursor=cursor)}


@asynccontextmanager
async def open_session(
    transport: AbstractAsyncContextManager[Any],
    *,
    read_timeout: float | None,
    message_handler: Any,
) -> AsyncIterator[tuple[Any, Any]]:
    """An initialized ``ClientSession`` over an un-entered transport, and the server's
    ``InitializeResult`` (``None`` when a 2.x session negotiated the 2026 era, which has none).

    Everything entered here (the transport's task group, the session's) is exited by the same
    task, when the ``async with`` ends: that is what anyio's cancel scopes require.
    """
    if MCP_V2:
        client_class: Any = vars(mcp)["Client"]
        client = client_class(
            transport,
            mode="auto",
            cache=None,
            read_timeout_seconds=read_timeout,
            message_handler=message_handler,
        )
        async with client:
            session = client.session
            yield session, getattr(session, "initialize_result", None)
        return
    async with AsyncExitStack() as stack:
        read, write, *_ = await stack.enter_async_context(transport)
        session_class: Any = mcp.ClientSession
        session = await stack.enter_async_context(
            session_class(
                read,
                write,
                None if read_timeout is None else timedelta(seconds=read_timeout),
                message_handler=message_handler,
            )
        )
        initialize_result = await session.initialize()
        yield session, initialize_result


def stdio_transport(params: Any) -> AbstractAsyncContextManager[Any]:
    return cast(AbstractAsyncContextManager[Any], mcp.stdio_client(params))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def http_client(params: Mapping[str, Any], *, default_timeout: float) -> Any:
    """The (un-entered) HTTP client for an HTTP transport: ``params["httpx_client_factory"]``
    if given (it must return the mcp package's client type: ``httpx2.AsyncClient`` for mcp 2.x,
    ``httpx.AsyncClient`` for 1.x), else a plain one with the headers, timeouts and auth."""
    timeout = HTTPX.Timeout(
        _seconds(params.get("timeout", default_timeout)),
        read=_seconds(params.get("sse_read_timeout", 300.0)),
    )
    factory = params.get("httpx_client_factory")
    if factory is not None:
        return factory(headers=params.get("headers"), timeout=timeout, auth=params.get("auth"))
    options: dict[str, Any] = {"timeout": timeout, "follow_redirects": False}
    if params.get("headers") is not None:
        options["headers"] = params["headers"]
    if params.get("auth") is not None:
        options["auth"] = params["auth"]
    return HTTPX.AsyncClient(**options)


@asynccontextmanager
async def streamable_http_transport(params: Mapping[str, Any]) -> AsyncIterator[Any]:
    module = vars(importlib.import_module("mcp.client.streamable_http"))
    terminate_on_close = bool(params.get("terminate_on_close", True))
    if "streamable_http_client" in module:  # mcp 2.x, and 1.x from about 1.24
        client = http_client(params, default_timeout=5.0)
        transport = module["streamable_http_client"](
            params["url"], http_client=client, terminate_on_close=terminate_on_close
        )
        async with client, transport as streams:
            yield streams
        return
    options: dict[str, Any] = {  # older 1.x
        "url": params["url"],
        "headers": params.get("headers"),
        "timeout": params.get("timeout", 5),
        "sse_read_timeout": params.get("sse_read_timeout", 300),
        "terminate_on_close": terminate_on_close,
    }
    for key in ("httpx_client_factory", "auth"):
        if params.get(key) is not None:
            options[key] = params[key]
    async with module["streamablehttp_client"](**options) as streams:
        yield streams


def sse_transport(params: Mapping[str, Any]) -> AbstractAsyncContextManager[Any]:
    sse_client: Any = vars(importlib.import_module("mcp.client.sse"))["sse_client"]
    options: dict[str, Any] = {
        "url": params["url"],
        "headers": params.get("headers"),
        "timeout": params.get("timeout", 5),
        "sse_read_timeout": params.get("sse_read_timeout", 300),
    }
    for key in ("httpx_client_factory", "auth"):
        if params.get(key) is not None:
            options[key] = params[key]
    return cast(AbstractAsyncContextManager[Any], sse_client(**options))
