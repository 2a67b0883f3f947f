"""Per-server tool configuration: tool filters and approval policies (the SDK's shapes)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypedDict

import attrs
from mcp.types import Tool

from rtagents.context import RunContextWrapper

log = logging.getLogger("rtagents.mcp")


class MCPUserError(Exception):
    """Misuse, or a failure the app must fix: a server that is not connected or cannot be
    connected, tool names that collide across servers, an invalid setting.  (The SDK raises
    ``agents.exceptions.UserError`` for these.)"""


class ToolFilterStatic(TypedDict, total=False):
    """A static tool filter: ``allowed_tool_names`` (all if absent) minus ``blocked_tool_names``."""

    allowed_tool_names: list[str]
    blocked_tool_names: list[str]


@attrs.frozen
class ToolFilterContext:
    """What a callable tool filter is told besides the tool."""

    run_context: RunContextWrapper[Any]
    agent: Any
    server_name: str


ToolFilterCallable = Callable[[ToolFilterContext, Tool], bool | Awaitable[bool]]
ToolFilter = ToolFilterCallable | ToolFilterStatic | None


def create_static_tool_filter(
    allowed_tool_names: list[str] | None = None,
    blocked_tool_names: list[str] | None = None,
) -> ToolFilterStatic | None:
    """A :class:`ToolFilterStatic` from an allowlist and/or a blocklist (``None`` if neither)."""
    if allowed_tool_names is None and blocked_tool_names is None:
        return None
    static: ToolFilterStatic = {}
    if allowed_tool_names is not None:
        static["allowed_tool_names"] = allowed_tool_names
    if blocked_tool_names is not None:
        static["blocked_tool_names"] = blocked_tool_names
    return static


async def apply_tool_filter(
    tool_filter: ToolFilter,
    tools: list[Tool],
    run_context: RunContextWrapper[Any] | None,
    agent: Any,
    server_name: str,
) -> list[Tool]:
    if tool_filter is None:
        return tools
    if isinstance(tool_filter, Mapping):
        if "allowed_tool_names" in tool_filter:
            allowed = tool_filter["allowed_tool_names"]
            tools = [t for t in tools if t.name in allowed]
        if "blocked_tool_names" in tool_filter:
            blocked = tool_filter["blocked_tool_names"]
            tools = [t for t in tools if t.name not in blocked]
        return tools
    if run_context is None or agent is None:
        raise MCPUserError("run_context and agent are required for dynamic tool filtering")
    context = ToolFilterContext(run_context, agent, server_name)
    kept = []
    for tool in tools:
        try:
            verdict = tool_filter(context, tool.model_copy(deep=True))
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception:
            log.exception("MCP tool filter failed on tool %r of server %r", tool.name, server_name)
            continue  # when in doubt, leave it out
        if verdict:
            kept.append(tool)
    return kept


RequireApprovalPolicy = Literal["always", "never"]
LocalMCPApprovalCallable = Callable[[RunContextWrapper[Any], Any, Tool], bool | Awaitable[bool]]
RequireApprovalSetting = (
    RequireApprovalPolicy | Mapping[str, Any] | LocalMCPApprovalCallable | bool | None
)
"""``"always"``/``"never"``/a bool for every tool, ``{tool_name: "always"|"never"|bool}``,
``{"always": {"tool_names": [...]}, "never": {"tool_names": [...]}}``, or a callable
``(run_context, agent, tool) -> bool`` (may be async)."""

ApprovalPolicy = bool | dict[str, bool] | LocalMCPApprovalCallable
NeedsApproval = bool | Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]
"""What a function tool's ``needs_approval`` takes: a bool or ``(ctx, arguments, call_id)``."""


def _always_never(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("always", "never"):
        return value == "always"
    raise MCPUserError(f"invalid require_approval value at {where}: {value!r}")


def normalize_require_approval(setting: RequireApprovalSetting) -> ApprovalPolicy:
    if setting is None:
        return False
    if isinstance(setting, Mapping):
        lists = {"always", "never"} & set(setting)
        if lists and all(isinstance(setting[k], Mapping) for k in lists):
            extra = sorted(set(setting) - {"always", "never"})
            if extra:
                raise MCPUserError(f"invalid require_approval keys: {extra!r}")
            names = {k: list(setting[k].get("tool_names", [])) for k in lists}
            both = sorted(set(names.get("always", [])) & set(names.get("never", [])))
            if both:
                raise MCPUserError(f"require_approval: tools both always and never: {both!r}")
            policy = dict.fromkeys(names.get("always", []), True)
            policy.update(dict.fromkeys(names.get("never", []), False))
            return policy
        return {str(k): _always_never(v, f"require_approval[{k!r}]") for k, v in setting.items()}
    if callable(setting):
        return setting
    return _always_never(setting, "require_approval")


def needs_approval_for(policy: ApprovalPolicy, tool: Tool, agent: Any) -> NeedsApproval:
    """A function tool's ``needs_approval`` for one MCP tool under a server's policy."""
    if isinstance(policy, bool):
        return policy
    if isinstance(policy, dict):
        return policy.get(tool.name, False)
    decide = policy
    if agent is None:
        return True  # a callable policy cannot run without its agent: ask (as the SDK does)

    async def needs_approval(ctx: RunContextWrapper[Any], _args: dict[str, Any], _id: str) -> bool:
        verdict = decide(ctx, agent, tool)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return bool(verdict)

    return needs_approval
