"""Human in the loop: a function tool that needs approval.

The user asks twice to delete a file.  The program approves the call for the draft and rejects
the one for the report (``approve_tool_call`` / ``reject_tool_call``), then reports what the
tool calls returned, as seen in ``tool_end`` events and in the session history.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeItem, RealtimeRunner

TIMEOUT_S = 10
REQUESTS = ["Please delete the draft.", "Please delete the report."]

deleted: list[str] = []


@function_tool(needs_approval=True)
def delete_file(name: str) -> str:
    """Delete a file."""
    deleted.append(name)
    return f"deleted {name}"


agent = RealtimeAgent(
    name="Files",
    instructions="You manage the user's files. Ask before deleting anything.",
    tools=[delete_file],
)


def spoken(item: RealtimeItem) -> str:
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def main(url: str) -> dict[str, Any]:
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    deleted.clear()
    requests = list(REQUESTS)
    approvals: list[list[str]] = []
    tool_outputs: list[str] = []
    history: list[RealtimeItem] = []
    errors: list[str] = []
    spoke = False
    async with asyncio.timeout(TIMEOUT_S):
        async with session:
            await session.send_message(requests.pop(0))
            async for event in session:
                if event.type == "tool_approval_required":
                    arguments = json.loads(event.arguments)
                    approvals.append([event.tool.name, arguments["name"]])
                    if arguments["name"] == "draft.txt":
                        await session.approve_tool_call(event.call_id)
                    else:
                        await session.reject_tool_call(event.call_id)
                elif event.type == "tool_end":
                    tool_outputs.append(str(event.output))
                elif event.type == "history_updated":
                    history = list(event.history)
                elif event.type == "history_added":
                    history.append(event.item)
                elif event.type == "audio":
                    spoke = True
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end" and spoke:
                    # The answer to one request is complete: make the next one, or stop.
                    spoke = False
                    if not requests:
                        break
                    await session.send_message(requests.pop(0))
    return {
        "approval_requests": approvals,
        "tool_end_outputs": tool_outputs,
        "history_tool_outputs": [i.output for i in history if i.type == "function_call"],
        "answers": [spoken(i) for i in history if i.type == "message" and i.role == "assistant"],
        "deleted": list(deleted),
        "errors": errors,
    }


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1])))
