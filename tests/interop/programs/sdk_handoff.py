"""A handoff between agents: a triage agent transfers the conversation to billing.

The triage agent has a ``realtime_handoff`` to the billing agent (with an ``on_handoff``
callback); the user asks for billing, the model calls the transfer tool, and the session
switches agents.  The user then asks for the balance, which only the billing agent can answer
(its tool).  The outcome: the handoff event's (from, to) names, who spoke each turn, and the
answers.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from agents import RunContextWrapper, function_tool
from agents.realtime import RealtimeAgent, RealtimeItem, RealtimeRunner, realtime_handoff

TIMEOUT_S = 10
REQUESTS = ["I have a billing question.", "What is my balance?"]

handoffs_seen: list[str] = []


@function_tool
def get_balance() -> str:
    """The customer's account balance."""
    return "$42.00"


billing_agent = RealtimeAgent(
    name="Billing",
    handoff_description="Answers billing questions.",
    instructions="You answer billing questions. Use get_balance for the balance.",
    tools=[get_balance],
)


def on_handoff(context: RunContextWrapper[Any]) -> None:
    handoffs_seen.append("billing")


triage_agent = RealtimeAgent(
    name="Triage",
    instructions="Transfer billing questions to the billing agent.",
    handoffs=[realtime_handoff(billing_agent, on_handoff=on_handoff)],
)


def spoken(item: RealtimeItem) -> str:
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def main(url: str) -> dict[str, Any]:
    runner = RealtimeRunner(triage_agent)
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    handoffs_seen.clear()
    requests = list(REQUESTS)
    handoffs: list[list[str]] = []
    turn_agents: list[str] = []
    tools: list[list[str]] = []
    history: list[RealtimeItem] = []
    errors: list[str] = []
    spoke = False
    async with asyncio.timeout(TIMEOUT_S):
        async with session:
            await session.send_message(requests.pop(0))
            async for event in session:
                if event.type == "handoff":
                    handoffs.append([event.from_agent.name, event.to_agent.name])
                elif event.type == "agent_start":
                    turn_agents.append(event.agent.name)
                elif event.type == "tool_end":
                    tools.append([event.agent.name, event.tool.name, str(event.output)])
                elif event.type == "audio":
                    spoke = True
                elif event.type == "history_updated":
                    history = list(event.history)
                elif event.type == "history_added":
                    history.append(event.item)
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end" and spoke:
                    spoke = False
                    if not requests:
                        break
                    await session.send_message(requests.pop(0))
    return {
        "handoffs": handoffs,
        "on_handoff_called": list(handoffs_seen),
        "turn_agents": turn_agents,
        "tools": tools,
        "answers": [spoken(i) for i in history if i.type == "message" and i.role == "assistant"],
        "errors": errors,
    }


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1])))
