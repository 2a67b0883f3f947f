"""The agency on its own, against a fake session port: typed hook dispatch, the two overflow
policies (hooks, tool calls) and the import graph of agents and handoffs."""

from __future__ import annotations

import ast
import importlib.util
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing

from rtagents import protocol as p
from rtagents._agency import Agency
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.agent import RealtimeAgent, ResolvedAgent, function_tool
from rtagents.context import RunContextWrapper
from rtagents.events import RealtimeError, RealtimeSessionEvent
from rtagents.guardrails import GuardrailsSettings
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks


@attrs.define
class FakePort:
    events: list[RealtimeSessionEvent] = attrs.field(factory=list)
    sent: list[p.ClientEvent] = attrs.field(factory=list)
    fed: list[turns.TurnInput] = attrs.field(factory=list)
    responses: int = 0

    def push(self, event: RealtimeSessionEvent) -> None:
        self.events.append(event)

    async def send(self, event: p.ClientEvent) -> None:
        self.sent.append(event)

    async def request_response(self) -> None:
        self.responses += 1

    def feed(self, event: turns.TurnInput) -> None:
        self.fed.append(event)

    def interrupt_response(self, response_id: str) -> None:
        pass

    def session_config(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig:
        return p.SessionConfig(instructions=resolved.instructions)

    def is_latest_response(self, response_id: str) -> bool:
        return True

    def outputs(self) -> dict[str, str]:
        return {
            e.item.call_id: e.item.output
            for e in self.sent
            if isinstance(e, p.ConversationItemCreate)
            and isinstance(e.item, p.FunctionCallOutputItem)
        }


def make_agency(hooks: RealtimeRunHooks | None = None, **kwargs: Any) -> tuple[Agency, FakePort]:
    port = FakePort()
    agency = Agency(
        port,
        History(),
        RunContextWrapper(None),
        hooks=hooks,
        output_guardrails=(),
        guardrails_settings=GuardrailsSettings(),
        tool_error_formatter=None,
        **kwargs,
    )
    return agency, port


def call(call_id: str, name: str, arguments: str = "{}") -> p.FunctionCallItem:
    return p.FunctionCallItem(call_id=call_id, name=name, arguments=arguments)


class SpawnCounter(trio.abc.Instrument):
    """Counts every task started while it is installed."""

    def __init__(self) -> None:
        self.spawned: list[str] = []

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.spawned.append(task.name)


def task_tree_size() -> int:
    def size(task: trio.lowlevel.Task) -> int:
        return 1 + sum(size(t) for n in task.child_nurseries for t in n.child_tasks)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return size(root)


# -- typed hook dispatch -----------------------------------------------------------------------


async def test_hooks_are_dispatched_as_typed_calls_run_hook_first() -> None:
    log: list[tuple[Any, ...]] = []

    class RunHooks(RealtimeRunHooks):
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            log.append(("run", "agent_start", agent.name))

        async def on_agent_end(self, context: Any, agent: Any, output: str) -> None:
            log.append(("run", "agent_end", agent.name, output))

        async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
            log.append(("run", "handoff", from_agent.name, to_agent.name))

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            log.append(("run", "tool_start", agent.name, tool.name))

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: str) -> None:
            log.append(("run", "tool_end", agent.name, tool.name, result))

    class AgentHooks(RealtimeAgentHooks):
        async def on_start(self, context: Any, agent: Any) -> None:
            log.append(("agent", "start", agent.name))

        async def on_end(self, context: Any, agent: Any, output: str) -> None:
            log.append(("agent", "end", agent.name, output))

        async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
            log.append(("agent", "handoff", agent.name, source.name))

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            log.append(("agent", "tool_start", agent.name, tool.name))

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: str) -> None:
            log.append(("agent", "tool_end", agent.name, tool.name, result))

    @function_tool
    async def ping() -> str:  # async: a sync tool runs in a thread and may end after the answer
        """Ping."""
        return "pong"

    second = RealtimeAgent("Second", hooks=AgentHooks())
    first = RealtimeAgent("First", tools=[ping], handoffs=[second], hooks=AgentHooks())
    agency, port = make_agency(RunHooks())
    async with trio.open_nursery() as nursery:
        await nursery.start(agency.run)
        await agency.switch_to(first, initial=True)
        agency.on_agent_start(first)
        agency.on_function_call(call("c1", "ping"))
        await trio.testing.wait_all_tasks_blocked()
        agency.on_function_call(call("c2", "transfer_to_second"))
        await trio.testing.wait_all_tasks_blocked()
        agency.on_agent_end(second, "bye")
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert log == [
        ("run", "agent_start", "First"),
        ("agent", "start", "First"),
        ("run", "tool_start", "First", "ping"),
        ("agent", "tool_start", "First", "ping"),
        ("run", "tool_end", "First", "ping", "pong"),
        ("agent", "tool_end", "First", "ping", "pong"),
        ("run", "handoff", "First", "Second"),
        ("agent", "handoff", "Second", "First"),  # the agent handed to, told its source
        ("run", "agent_end", "Second", "bye"),
        ("agent", "end", "Second", "bye"),
    ]
    assert agency.agent is second
    assert port.outputs() == {"c1": "pong", "c2": '{"assistant": "Second"}'}
    assert (agency.hooks_called, agency.hooks_failed, agency.hooks_dropped) == (5, 0, 0)


async def test_occasions_without_any_hooks_are_not_queued() -> None:
    agency, _ = make_agency(None, hook_queue_size=1)
    plain = RealtimeAgent("Plain")
    for _ in range(3):
        agency.on_agent_start(plain)
    assert agency.hooks_dropped == 0  # nothing to call: nothing queued, nothing dropped


# -- overflow policies -------------------------------------------------------------------------


async def test_a_full_hook_queue_drops_the_oldest_and_starts_no_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = trio.Event()
    called: list[str] = []

    class Blocking(RealtimeRunHooks):
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            called.append(agent.name)
            if agent.name == "a0":
                await gate.wait()

    agents = [RealtimeAgent(f"a{i}") for i in range(6)]
    agency, _ = make_agency(Blocking(), hook_queue_size=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(agency.run)
        agency.on_agent_start(agents[0])
        await trio.testing.wait_all_tasks_blocked()
        assert called == ["a0"]  # the hook runner is stuck in a0's hook
        tasks = task_tree_size()
        children = len(nursery.child_tasks)
        counter = SpawnCounter()
        trio.lowlevel.add_instrument(counter)
        try:
            with caplog.at_level(logging.WARNING, logger="rtagents.session"):
                for agent in agents[1:]:  # a1..a5 into a queue of 3: a1 and a2 are dropped
                    agency.on_agent_start(agent)
                await trio.testing.wait_all_tasks_blocked()
            assert counter.spawned == []
        finally:
            trio.lowlevel.remove_instrument(counter)
        assert (task_tree_size(), len(nursery.child_tasks)) == (tasks, children)
        assert agency.hooks_dropped == 2
        assert len([r for r in caplog.records if "dropped the oldest" in r.message]) == 2
        gate.set()
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert called == ["a0", "a3", "a4", "a5"]
    assert (agency.hooks_called, agency.hooks_dropped) == (4, 2)


async def test_tool_calls_over_the_cap_are_answered_rejected_without_a_task() -> None:
    release = trio.Event()

    @function_tool
    async def wait() -> str:
        """Waits."""
        await release.wait()
        return "done"

    agency, port = make_agency()
    cap = agency.tools.max_calls
    extra = 5
    async with trio.open_nursery() as nursery:
        await nursery.start(agency.run)
        await agency.switch_to(RealtimeAgent("A", tools=[wait]), initial=True)
        for i in range(cap):
            agency.on_function_call(call(f"c{i}", "wait"))
        await trio.testing.wait_all_tasks_blocked()
        tasks = task_tree_size()
        counter = SpawnCounter()
        trio.lowlevel.add_instrument(counter)
        try:
            for i in range(cap, cap + extra):
                agency.on_function_call(call(f"c{i}", "wait"))
            await trio.testing.wait_all_tasks_blocked()
            assert counter.spawned == []  # no task for an overflowing call
        finally:
            trio.lowlevel.remove_instrument(counter)
        assert task_tree_size() == tasks
        overflow = {f"c{i}" for i in range(cap, cap + extra)}
        outputs = port.outputs()
        assert set(outputs) == overflow  # answered at once, while the others still run
        assert all("was not run" in text for text in outputs.values())
        stats = agency.tools.statistics()
        assert (stats.submitted, stats.rejected, stats.in_flight) == (cap + extra, extra, cap)
        assert stats.overflow_waiting == 0
        errors = [e.error["type"] for e in port.events if isinstance(e, RealtimeError)]
        assert errors == ["tool_rejected"] * extra
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    outputs = port.outputs()
    assert len(outputs) == cap + extra  # every call got its output item
    assert sum(text == "done" for text in outputs.values()) == cap
    stats = agency.tools.statistics()
    assert (stats.completed, stats.rejected, stats.in_flight) == (cap, extra, 0)
    finished = {e.call_id for e in port.fed if isinstance(e, turns.ToolCallFinished)}
    assert finished == set(outputs)


# -- the import graph --------------------------------------------------------------------------


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_handoffs_do_not_import_agents() -> None:
    # Every import, anywhere in the module (functions and TYPE_CHECKING blocks included).
    assert not {m for m in _imports("rtagents.handoffs") if m.startswith("rtagents.agent")}
    assert "rtagents.handoffs" in _imports("rtagents.agent")
