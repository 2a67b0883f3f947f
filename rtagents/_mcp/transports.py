"""The three MCP transports with the SDK's classes: stdio, SSE, Streamable HTTP (the shared
connection logic is :class:`rtagents._mcp.server._MCPServerWithClientSession`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from mcp import StdioServerParameters

from rtagents._mcp import _compat as compat
from rtagents._mcp._config import RequireApprovalSetting, ToolFilter
from rtagents._mcp.server import _MCPServerWithClientSession

__all__ = [
    "MCPServerSse",
    "MCPServerSseParams",
    "MCPServerStdio",
    "MCPServerStdioParams",
    "MCPServerStreamableHttp",
    "MCPServerStreamableHttpParams",
]


class MCPServerStdioParams(TypedDict):
    """How to start a stdio server (mirrors ``mcp.StdioServerParameters``)."""

    command: str
    args: NotRequired[list[str]]
    env: NotRequired[dict[str, str]]
    """Added to a minimal inherited environment (``HOME``, ``PATH``, ``USER``...)."""
    cwd: NotRequired[str | Path]
    encoding: NotRequired[str]
    encoding_error_handler: NotRequired[Literal["strict", "ignore", "replace"]]


class MCPServerStdio(_MCPServerWithClientSession):
    """A server run as a subprocess, speaking MCP on its stdin/stdout (SDK:
    ``agents.mcp.MCPServerStdio``).  The process is started by :meth:`connect` (in its own
    process group) and stopped by :meth:`cleanup`."""

    def __init__(
        self,
        params: MCPServerStdioParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Any = None,
        require_approval: RequireApprovalSetting = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(
            cache_tools_list,
            client_session_timeout_seconds,
            tool_filter,
            use_structured_content,
            max_retry_attempts,
            retry_backoff_seconds_base,
            message_handler,
            require_approval,
            retry_backoff_seconds_max,
            max_list_pages=max_list_pages,
        )
        self.params = StdioServerParameters(
            command=params["command"],
            args=params.get("args", []),
            env=params.get("env"),
            cwd=params.get("cwd"),
            encoding=params.get("encoding", "utf-8"),
            encoding_error_handler=params.get("encoding_error_handler", "strict"),
        )
        self._name = name or f"stdio: {self.params.command}"

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        return compat.stdio_transport(self.params)

    @property
    def name(self) -> str:
        return self._name


class MCPServerSseParams(TypedDict):
    """How to reach an HTTP+SSE server (mirrors ``mcp.client.sse.sse_client``)."""

    url: str
    headers: NotRequired[dict[str, str]]
    timeout: NotRequired[float]
    """Seconds for HTTP operations (default 5)."""
    sse_read_timeout: NotRequired[float]
    """Seconds to wait for the next SSE event (default 300)."""
    auth: NotRequired[Any]
    """An ``httpx2.Auth`` (mcp 2.x) or ``httpx.Auth`` (mcp 1.x)."""
    httpx_client_factory: NotRequired[Callable[..., Any]]
    """``(headers=, timeout=, auth=) -> AsyncClient`` of the mcp package's HTTP library."""


class MCPServerSse(_MCPServerWithClientSession):
    """A server reached over the (legacy) HTTP+SSE transport (SDK: ``agents.mcp.MCPServerSse``)."""

    def __init__(
        self,
        params: MCPServerSseParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Any = None,
        require_approval: RequireApprovalSetting = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(
            cache_tools_list,
            client_session_timeout_seconds,
            tool_filter,
            use_structured_content,
            max_retry_attempts,
            retry_backoff_seconds_base,
            message_handler,
            require_approval,
            retry_backoff_seconds_max,
            max_list_pages=max_list_pages,
        )
        self.params = params
        self._name = name or f"sse: {params['url']}"

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        return compat.sse_transport(self.params)

    @property
    def name(self) -> str:
        return self._name


class MCPServerStreamableHttpParams(TypedDict):
    """How to reach a Streamable HTTP server."""

    url: str
    headers: NotRequired[dict[str, str]]
    timeout: NotRequired[timedelta | float]
    """Seconds for HTTP operations (default 5)."""
    sse_read_timeout: NotRequired[timedelta | float]
    """Seconds to wait for the next event of a streamed response (default 300)."""
    terminate_on_close: NotRequired[bool]
    """Send a DELETE to end the server's session on cleanup (default ``True``)."""
    auth: NotRequired[Any]
    """An ``httpx2.Auth`` (mcp 2.x) or ``httpx.Auth`` (mcp 1.x)."""
    httpx_client_factory: NotRequired[Callable[..., Any]]
    """``(headers=, timeout=, auth=) -> AsyncClient`` of the mcp package's HTTP library."""


class MCPServerStreamableHttp(_MCPServerWithClientSession):
    """A server reached over the Streamable HTTP transport (SDK:
    ``agents.mcp.MCPServerStreamableHttp``).  Requests are sent one at a time, as the SDK
    does."""

    def __init__(
        self,
        params: MCPServerStreamableHttpParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Any = None,
        require_approval: RequireApprovalSetting = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(
            cache_tools_list,
            client_session_timeout_seconds,
            tool_filter,
            use_structured_content,
            max_retry_attempts,
            retry_backoff_seconds_base,
            message_handler,
            require_approval,
            retry_backoff_seconds_max,
            max_list_pages=max_list_pages,
        )
        self.params = params
        self._name = name or f"streamable_http: {params['url']}"
        self._serialize_requests = True

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        return compat.streamable_http_transport(self.params)

    @property
    def name(self) -> str:
        return self._name
