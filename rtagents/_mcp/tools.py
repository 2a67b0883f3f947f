"""MCP tools as plain function-tool data, and what the model reads from a tool result."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
from mcp.types import CallToolResult, Tool

from rtagents._core.schema import ToolArgumentError
from rtagents._mcp import _compat as compat
from rtagents._mcp._config import MCPUserError, NeedsApproval
from rtagents._mcp.server import MCPServer, describe_error
from rtagents.context import RunContextWrapper

__all__ = [
    "MCPToolError",
    "MCPToolSpec",
    "OutputFormat",
    "call_tool_result_text",
    "mcp_function_tools",
]

OutputFormat = Literal["sdk", "text"]


class MCPToolError(Exception):
    """A tool call that could not be made (not a tool that failed: that is a result)."""


def _content_item(item: Any) -> dict[str, str]:
    """One content block the way the SDK hands it on (``ToolOutputTextDict``/``ImageDict``)."""
    if item.type == "text":
        return {"type": "text", "text": item.text}
    if item.type == "image":
        mime = compat.image_mime_type(item)
        return {"type": "image", "image_url": f"data:{mime};base64,{item.data}"}
    return {"type": "text", "text": item.model_dump_json()}


def _plain_text(item: Any) -> str:
    if item.type == "text":
        return str(item.text)
    if item.type == "image":
        return json.dumps(_content_item(item))
    return str(item.model_dump_json())


def call_tool_result_text(
    result: CallToolResult,
    *,
    use_structured_content: bool = False,
    output_format: OutputFormat = "sdk",
) -> str:
    """The text the model reads for an MCP tool result.

    With ``use_structured_content`` and a result that has ``structuredContent`` and is not an
    error, that content as JSON.  Otherwise, from the content blocks:

    * ``"sdk"`` (default): exactly what the OpenAI Agents SDK's realtime session sends — each
      block as ``{"type": "text", "text": ...}`` (an image as ``{"type": "image", "image_url":
      "data:..."}``, any other block as text holding its JSON), one block as that object, zero
      or several as a list, serialized with ``json.dumps(..., ensure_ascii=False)``; so
      ``add(1, 2)`` reads ``{"type": "text", "text": "3"}``.
    * ``"text"``: the blocks joined with newlines, a text block as its text (any other as JSON,
      an image as above), so ``add(1, 2)`` reads ``3``.

    An error result (``isError``) is converted the same way: its content is the message.
    """
    if output_format not in ("sdk", "text"):
        raise ValueError(f"unknown output_format {output_format!r}")
    structured = compat.result_structured_content(result)
    if use_structured_content and structured and not compat.result_is_error(result):
        return json.dumps(structured)
    if output_format == "text":
        return "\n".join(_plain_text(item) for item in result.content)
    items = [_content_item(item) for item in result.content]
    return json.dumps(items[0] if len(items) == 1 else items, ensure_ascii=False)


def _description(tool: Tool) -> str:
    """The description, else the title, else ``annotations.title`` (as the SDK)."""
    for text in (
        tool.description,
        getattr(tool, "title", None),
        getattr(getattr(tool, "annotations", None), "title", None),
    ):
        if isinstance(text, str) and text:
            return text
    return ""


ToolCall = Callable[[dict[str, Any]], Awaitable[str]]


@attrs.frozen
class MCPToolSpec:
    """One MCP tool as function-tool data: everything the agent needs to build its
    :class:`~rtagents.function_tools.FunctionTool`.

    ``call(arguments)`` runs the tool on its server and returns the text for the model (see
    :func:`call_tool_result_text`); a tool that fails still returns text (its error message).
    It raises :class:`~rtagents.function_tools.ToolArgumentError` if required arguments are
    missing, the mcp package's ``MCPError`` for a protocol error or timeout, and
    :class:`MCPToolError` / :class:`MCPUserError` if the call could not be made — the agent's
    failure handling turns those into text.
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    call: ToolCall = attrs.field(repr=False)
    server: MCPServer = attrs.field(repr=False)
    tool: Tool = attrs.field(repr=False)
    needs_approval: NeedsApproval = False

    @property
    def server_name(self) -> str:
        return self.server.name


def _make_call(server: MCPServer, tool: Tool, output_format: OutputFormat) -> ToolCall:
    required = compat.tool_input_schema(tool).get("required")
    required_names = (
        [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
    )

    async def call(arguments: dict[str, Any]) -> str:
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError("", "arguments must be a JSON object")
        missing = sorted(name for name in required_names if name not in arguments)
        if missing:
            raise ToolArgumentError("", f"missing required parameters: {', '.join(missing)}")
        try:
            result = await server.call_tool(tool.name, dict(arguments))
        except (compat.MCPError, MCPUserError):
            raise
        except Exception as error:
            raise MCPToolError(
                f"Error invoking MCP tool {tool.name} on server '{server.name}': "
                f"{describe_error(error)}"
            ) from error
        return call_tool_result_text(
            result,
            use_structured_content=server.use_structured_content,
            output_format=output_format,
        )

    return call


def to_tool_spec(
    server: MCPServer, tool: Tool, agent: Any = None, *, output_format: OutputFormat = "sdk"
) -> MCPToolSpec:
    schema = copy.deepcopy(compat.tool_input_schema(tool))
    schema.setdefault("properties", {})  # MCP does not require it; the Realtime API does
    return MCPToolSpec(
        name=tool.name,
        description=_description(tool),
        input_schema=schema,
        call=_make_call(server, tool, output_format),
        server=server,
        tool=tool,
        needs_approval=server.needs_approval(tool, agent),
    )


async def mcp_function_tools(
    servers: Sequence[MCPServer],
    run_context: RunContextWrapper[Any] | None = None,
    agent: Any = None,
    *,
    output_format: OutputFormat = "sdk",
) -> list[MCPToolSpec]:
    """The tools of all ``servers`` (each connected), in order, as :class:`MCPToolSpec`.

    Each server's ``list_tools(run_context, agent)`` is asked (so ``cache_tools_list`` and
    ``tool_filter`` apply).  Two servers offering the same tool name is an
    :class:`MCPUserError`, as in the SDK.
    """
    specs: list[MCPToolSpec] = []
    seen: set[str] = set()
    for server in servers:
        tools = await server.list_tools(run_context, agent)
        server_specs = [to_tool_spec(server, t, agent, output_format=output_format) for t in tools]
        names = {spec.name for spec in server_specs}
        duplicates = sorted(names & seen)
        if duplicates:
            raise MCPUserError(
                "Duplicate tool names found across MCP servers: "
                f"{', '.join(repr(name) for name in duplicates)} "
                f"(server '{server.name}'); use a tool_filter to keep one of each."
            )
        seen |= names
        specs.extend(server_specs)
    return specs
