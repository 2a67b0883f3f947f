"""MCP servers with the SDK's classes and call shapes, connected through anyio (so under trio).

See :mod:`rtagents.mcp` for the theory of operation.  As in the SDK (which uses
``asyncio.create_task``), each connection runs in a task of its own, so ``connect()`` and
``cleanup()`` may be separate calls made anywhere; under trio that task is a system task.
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import anyio.lowlevel
import attrs
import sniffio
import trio
from mcp.types import CallToolResult, GetPromptResult, ListPromptsResult, Tool

from rtagents._mcp import _compat as compat
from rtagents._mcp._config import (
    MCPUserError,
    NeedsApproval,
    RequireApprovalSetting,
    ToolFilter,
    apply_tool_filter,
    needs_approval_for,
    normalize_require_approval,
)
from rtagents.context import RunContextWrapper

__all__ = ["MCPServer", "describe_error"]

log = logging.getLogger("rtagents.mcp")
T = TypeVar("T")


def describe_error(error: BaseException) -> str:
    """A one-line account of an error, looking inside exception groups of one."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, compat.MCPError):
        return compat.error_message(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class MCPServer(abc.ABC):
    """An MCP server an agent can use (SDK: ``agents.mcp.MCPServer``).

    ``use_structured_content``: send the model a result's ``structuredContent`` (as JSON)
    instead of its content blocks.  ``require_approval``: which tools need the app's approval
    before they run (see :data:`~rtagents._mcp._config.RequireApprovalSetting`).
    """

    def __init__(
        self,
        use_structured_content: bool = False,
        require_approval: RequireApprovalSetting = None,
    ) -> None:
        self.use_structured_content = use_structured_content
        self._approval_policy = normalize_require_approval(require_approval)

    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect (start the process, open the connection); stays connected until
        :meth:`cleanup`."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A readable name for the server."""

    @abc.abstractmethod
    async def cleanup(self) -> None:
        """Disconnect (stop the process, close the connection)."""

    @abc.abstractmethod
    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any = None
    ) -> list[Tool]:
        """The server's tools (after the tool filter)."""

    @abc.abstractmethod
    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        """Call a tool; a failing tool gives a result with ``isError`` set, not an exception."""

    async def list_prompts(self) -> ListPromptsResult:
        raise NotImplementedError(f"MCP server '{self.name}' does not support list_prompts")

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        raise NotImplementedError(f"MCP server '{self.name}' does not support get_prompt")

    @property
    def cached_tools(self) -> list[Tool] | None:
        """The last tools list fetched (a copy), or ``None``."""
        return None

    def needs_approval(self, tool: Tool, agent: Any = None) -> NeedsApproval:
        """The function tool's ``needs_approval`` for ``tool`` under ``require_approval``."""
        return needs_approval_for(self._approval_policy, tool, agent)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.cleanup()


def _read_timeout(seconds: float | None) -> float | None:
    """The session read timeout (``None`` and ``0`` mean none), validated as the SDK does."""
    if seconds is None or seconds == 0:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError("client_session_timeout_seconds must be a number of seconds or None.")
    if not math.isfinite(seconds) or seconds < timedelta.resolution.total_seconds():
        raise ValueError("client_session_timeout_seconds must be zero or a positive finite value.")
    return float(seconds)


_CLOSE_TIMEOUT = 10.0
"""Seconds :meth:`_MCPServerWithClientSession.cleanup` waits for the mcp package's shutdown."""

_DETACHED: set[asyncio.Task[None]] = set()


def spawn_detached(
    async_fn: Callable[..., Coroutine[Any, Any, None]], *args: Any, name: str
) -> None:
    """Run ``async_fn(*args)`` in a task owned by no caller: a trio system task (cancelled only
    when the run ends), or an asyncio task (as the SDK does); it gets a copy of the context."""
    if sniffio.current_async_library() == "trio":
        context = contextvars.copy_context()
        trio.lowlevel.spawn_system_task(async_fn, *args, name=name, context=context)
        return
    task = asyncio.get_running_loop().create_task(async_fn(*args), name=name)
    _DETACHED.add(task)
    task.add_done_callback(_DETACHED.discard)


@attrs.define(eq=False)
class _Connection:
    """One connection, shared by its task and the server object."""

    ready: anyio.Event = attrs.field(factory=anyio.Event)
    closing: anyio.Event = attrs.field(factory=anyio.Event)
    done: anyio.Event = attrs.field(factory=anyio.Event)
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope)
    session: Any = None
    initialize: Any = None
    failure: BaseException | None = None


class _MCPServerWithClientSession(MCPServer, abc.ABC):
    """A server reached through an mcp ``ClientSession`` over some transport.

    A connection is one detached task (:meth:`_run_connection`) that enters the transport and
    the session, hands the session out, and waits to be told to close; it keeps its own
    failures (a dead connection makes later requests fail, it never cancels the app's code).
    """

    def __init__(
        self,
        cache_tools_list: bool,
        client_session_timeout_seconds: float | None,
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
        super().__init__(use_structured_content, require_approval)
        _read_timeout(client_session_timeout_seconds)  # fail at construction, like the SDK
        if max_list_pages is not None and (
            isinstance(max_list_pages, bool) or not isinstance(max_list_pages, int)
        ):
            raise TypeError("max_list_pages must be a positive integer or None.")
        if max_list_pages is not None and max_list_pages < 1:
            raise ValueError("max_list_pages must be a positive integer or None.")
        self.cache_tools_list = cache_tools_list
        self.client_session_timeout_seconds = client_session_timeout_seconds
        self.tool_filter = tool_filter
        self.max_retry_attempts = max_retry_attempts
        self.retry_backoff_seconds_base = retry_backoff_seconds_base
        self.retry_backoff_seconds_max = retry_backoff_seconds_max
        self.message_handler = message_handler
        self.max_list_pages = max_list_pages
        self.session: Any = None
        """The mcp ``ClientSession`` while connected, else ``None``."""
        self.server_initialize_result: Any = None
        """The server's ``InitializeResult`` (``None`` on a 2026-era connection)."""
        self._tools_list: list[Tool] | None = None
        self._cache_dirty = True
        self._tools_generation = 0
        self._serialize_requests = False
        self._request_lock = anyio.Lock()
        self._connection: _Connection | None = None

    @abc.abstractmethod
    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        """The transport: an un-entered async context manager giving the session's streams."""

    @property
    def cached_tools(self) -> list[Tool] | None:
        return (
            None
            if self._tools_list is None
            else [t.model_copy(deep=True) for t in self._tools_list]
        )

    def invalidate_tools_cache(self) -> None:
        """Fetch the tools list again on the next :meth:`list_tools`."""
        self._tools_generation += 1
        self._cache_dirty = True

    # -- connecting ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Start the server (or open the connection) and initialize the session.

        Raises :class:`MCPUserError` (with the cause chained) if that fails.  The connection
        lives in its own task until :meth:`cleanup` (``async with server:`` does both); any
        task may use the server meanwhile, and cancelling ``connect()`` abandons the attempt
        cleanly.
        """
        if self._connection is not None:
            raise MCPUserError(f"MCP server '{self.name}' is already connected")
        read_timeout = _read_timeout(self.client_session_timeout_seconds)
        connection = self._connection = _Connection()
        self._request_lock = anyio.Lock()
        spawn_detached(self._run_connection, connection, read_timeout, name=f"MCP {self.name}")
        try:
            await connection.ready.wait()
        except BaseException:
            await self._close(connection)
            raise
        if connection.session is None:
            await self._close(connection)
            error = connection.failure
            detail = describe_error(error) if error is not None else "closed while connecting"
            raise MCPUserError(
                f"Failed to connect to MCP server '{self.name}': {detail}"
            ) from error
        self.session, self.server_initialize_result = connection.session, connection.initialize

    async def _run_connection(self, connection: _Connection, read_timeout: float | None) -> None:
        """The connection's task: every anyio scope of the mcp package is entered and exited
        here.  It keeps its own failures (later requests report them)."""
        try:
            with connection.scope:
                async with compat.open_session(
                    self.create_streams(),
                    read_timeout=read_timeout,
                    message_handler=self.message_handler,
                ) as (connection.session, connection.initialize):
                    connection.ready.set()
                    await connection.closing.wait()
        except Exception as error:
            connection.failure = error
            if connection.ready.is_set():
                log.warning(
                    "MCP server '%s': connection failed: %s", self.name, describe_error(error)
                )
        except BaseExceptionGroup as group:  # failures mixed with the run's cancellation
            connection.failure, cancelled = group.split(Exception)
            if cancelled is not None:
                raise cancelled from None
        finally:
            connection.ready.set()
            connection.done.set()

    async def _close(self, connection: _Connection) -> None:
        connection.closing.set()
        if not connection.ready.is_set():
            connection.scope.cancel()  # still connecting: abandon the handshake
        # Wait, even when cancelled, for the mcp package's shutdown: it is bounded (a stdio
        # server gets its stdin closed, then SIGTERM and SIGKILL after 2 s waits each).
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(_CLOSE_TIMEOUT):
                await connection.done.wait()
            if not connection.done.is_set():
                connection.scope.cancel()
                log.warning("MCP server '%s': shutdown is taking too long; abandoned", self.name)
            await anyio.lowlevel.checkpoint()  # let the connection's task finish
        if self._connection is connection:
            self._connection = None

    async def cleanup(self) -> None:
        """Close the session and stop the server (a stdio server gets its stdin closed, then
        SIGTERM/SIGKILL after bounded waits), and wait for that, even if cancelled.  Does
        nothing if not connected; any task may call it."""
        connection = self._connection
        if connection is None:
            return
        self.session = self.server_initialize_result = None
        await self._close(connection)

    def _connected_session(self) -> Any:
        connection = self._connection
        if connection is not None and connection.failure is not None:
            raise MCPUserError(
                f"The connection to MCP server '{self.name}' failed: "
                f"{describe_error(connection.failure)}"
            )
        if self.session is None:
            raise MCPUserError("Server not initialized. Make sure you call `connect()` first.")
        return self.session

    # -- requests --------------------------------------------------------------------------

    async def _request(self, make: Callable[[], Awaitable[T]]) -> T:
        """One request, serialized if the transport wants it, retried as configured."""
        attempts = 0
        while True:
            try:
                if self._serialize_requests:
                    async with self._request_lock:
                        return await make()
                return await make()
            except Exception as error:
                attempts += 1
                if self.max_retry_attempts != -1 and attempts > self.max_retry_attempts:
                    if isinstance(error, anyio.ClosedResourceError | anyio.BrokenResourceError):
                        # mcp 1.x, after the server went away: say so
                        raise MCPUserError(
                            f"The connection to MCP server '{self.name}' is closed"
                        ) from error
                    raise
                delay = self.retry_backoff_seconds_base * 2.0 ** min(attempts - 1, 60)
                if self.retry_backoff_seconds_max is not None:
                    delay = min(delay, self.retry_backoff_seconds_max)
                await anyio.sleep(delay)

    async def _fetch_tools(self, session: Any) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        seen: set[str | None] = set()
        while True:
            if self.max_list_pages is not None and len(seen) >= self.max_list_pages:
                raise MCPUserError(
                    "MCP tool listing exceeded max_list_pages. Increase max_list_pages "
                    "to allow more pages, or check the server pagination."
                )
            page = await self._request(partial(session.list_tools, **compat.paginated(cursor)))
            tools.extend(page.tools)
            seen.add(cursor)
            cursor = compat.result_next_cursor(page)
            if cursor is None:
                return tools
            if cursor in seen:
                raise MCPUserError(
                    f"MCP server '{self.name}' returned a repeated cursor while listing tools."
                )

    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any = None
    ) -> list[Tool]:
        """The server's tools, after the tool filter (copies: mutating them changes nothing).

        With ``cache_tools_list`` the list is fetched once, until
        :meth:`invalidate_tools_cache`.  A callable ``tool_filter`` needs ``run_context`` and
        ``agent``.
        """
        session = self._connected_session()
        if self.cache_tools_list and not self._cache_dirty and self._tools_list:
            tools = self._tools_list
        else:
            generation = self._tools_generation
            tools = await self._fetch_tools(session)
            if generation == self._tools_generation:
                self._tools_list, self._cache_dirty = tools, False
        tools = await apply_tool_filter(self.tool_filter, tools, run_context, agent, self.name)
        return [tool.model_copy(deep=True) for tool in tools]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        """Call a tool.  A tool that fails gives a result with ``isError`` set; an exception
        means the call could not be made (:class:`MCPUserError` for missing required
        arguments, when the tools list is known; the mcp package's ``MCPError`` for a protocol
        error or a timeout)."""
        session = self._connected_session()
        missing = self.missing_required_arguments(tool_name, arguments)
        if missing:
            raise MCPUserError(
                f"Failed to call tool '{tool_name}' on MCP server '{self.name}': "
                f"missing required parameters: {', '.join(missing)}"
            )
        options = {} if meta is None else {"meta": meta}
        result: CallToolResult = await self._request(
            lambda: session.call_tool(tool_name, arguments, **options)
        )
        return result

    def missing_required_arguments(
        self, tool_name: str, arguments: Mapping[str, Any] | None
    ) -> list[str]:
        """The required parameters of ``tool_name`` (per the last tools list) not in
        ``arguments``, sorted; empty when the list or the tool is unknown."""
        if self._cache_dirty or self._tools_list is None:
            return []
        tool = next((t for t in self._tools_list if t.name == tool_name), None)
        required = compat.tool_input_schema(tool).get("required") if tool is not None else None
        if not isinstance(required, list):
            return []
        given = arguments or {}
        return sorted(name for name in required if isinstance(name, str) and name not in given)

    async def list_prompts(self) -> ListPromptsResult:
        """The server's prompts (all pages)."""
        session = self._connected_session()
        first: Any = await self._request(lambda: session.list_prompts())
        prompts = list(first.prompts)
        cursor = compat.result_next_cursor(first)
        seen: set[str | None] = {None}
        while cursor is not None and cursor not in seen:
            if self.max_list_pages is not None and len(seen) >= self.max_list_pages:
                raise MCPUserError("MCP prompt listing exceeded max_list_pages.")
            seen.add(cursor)
            page = await self._request(partial(session.list_prompts, **compat.paginated(cursor)))
            prompts.extend(page.prompts)
            cursor = compat.result_next_cursor(page)
        result: ListPromptsResult = compat.without_next_cursor(first, prompts=prompts)
        return result

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        session = self._connected_session()
        result: GetPromptResult = await self._request(lambda: session.get_prompt(name, arguments))
        return result
