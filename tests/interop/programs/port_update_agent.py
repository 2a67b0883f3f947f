"""Switching agents mid-session with ``session.update_agent()``.

The user asks who is speaking; the first agent answers.  The program then switches to a second
agent (different instructions, and a tool of its own) and asks again: the answer now comes from
the second agent, through its tool.  ``update_agent`` is not a handoff: no handoff event.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from rtagents import RealtimeAgent, RealtimeItem, RealtimeRunner, function_tool

TIMEOUT_S = 10
QUESTION = "Who is speaking?"


@function_tool
def speaker_name() -> str:
    """The name of the agent speaking."""
    return "the second agent"


first_agent = RealtimeAgent(name="First", instructions="You are the first agent.")
second_agent = RealtimeAgent(
    name="Second",
    instructions="You are the second agent. Use speaker_name to introduce yourself.",
    tools=[speaker_name],
)


def spoken(item: RealtimeItem) -> str:
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def main(url: str) -> dict[str, Any]:
    runner = RealtimeRunner(first_agent)
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    turn_agents: list[str] = []
    handoffs = 0
    history: list[RealtimeItem] = []
    errors: list[str] = []
    spoke = False
    with trio.fail_after(TIMEOUT_S):
        async with session:
            await session.send_message(QUESTION)
            async for event in session:
                if event.type == "agent_start":
                    turn_agents.append(event.agent.name)
                elif event.type == "audio":
                    spoke = True
                elif event.type == "handoff":
                    handoffs += 1
                elif event.type == "history_updated":
                    history = list(event.history)
                elif event.type == "history_added":
                    history.append(event.item)
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end" and spoke:
                    spoke = False
                    if event.agent.name == second_agent.name:
                        break
                    await session.update_agent(second_agent)
                    await session.send_message(QUESTION)
    return {
        "turn_agents": turn_agents,
        "answers": [spoken(i) for i in history if i.type == "message" and i.role == "assistant"],
        "handoff_events": handoffs,
        "errors": errors,
    }


if __name__ == "__main__":
    print(trio.run(main, sys.argv[1]))
