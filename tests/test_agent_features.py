"""Agent features on live sessions: tools, approval, handoffs, guardrails, hooks, history, usage.

The scenarios the OpenAI Agents SDK's tests cover, run against the real local server (through
the real link, over memory streams) on trio's mock clock; a few wire-level details against the
scripted model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing

from rtagents import RealtimeRunConfig, RealtimeSession, open_session
from rtagents import items as it
from rtagents import protocol as p
from rtagents.agent import RealtimeAgent, function_tool
from rtagents.context import RunContextWrapper, ToolContext
from rtagents.events import RealtimeSessionEvent
from rtagents.guardrails import GuardrailFunctionOutput, GuardrailsSettings, output_guardrail
from rtagents.handoffs import realtime_handoff
from rtagents.hooks import RealtimeAgentHooks, RealtimeRunHooks
from rtagents.local import CallTool, ResponseContext, ResponsePart, Say, ScriptedResponder
from rtagents.testing import FakeAudioSink, local_model
from rtagents.testing._scripted import ScriptedModel

VOICE = ScriptedResponder()


def say(text: str, context: ResponseContext) -> list[ResponsePart]:
    return list(VOICE.speak(text, context.audio_output))


def last_item(context: ResponseContext) -> p.ConversationItem | None:
    return context.conversation[-1] if context.conversation else None


def outputs(context: ResponseContext) -> dict[str, str]:
    return {
        i.call_id: i.output for i in context.conversation if isinstance(i, p.FunctionCallOutputItem)
    }


@attrs.define
class Script:
    """A responder from a function of the context (sync, returning the parts)."""

    fn: Callable[[ResponseContext], list[ResponsePart]]
    contexts: list[ResponseContext] = attrs.field(factory=list)

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        self.contexts.append(context)
        for part in self.fn(context):
            yield part


async def run_session(
    agent: RealtimeAgent,
    responder: Any,
    *,
    message: str | None = "hello",
    seconds: float = 10,
    during: Callable[[RealtimeSession, list[RealtimeSessionEvent]], Any] | None = None,
    context: Any = None,
    pace: float | None = None,
    **config: Any,
) -> tuple[RealtimeSession, list[RealtimeSessionEvent], Any]:
    model = local_model(responder, pace=pace)
    run_config = RealtimeRunConfig(link_factory=model.link_factory, **config)
    events: list[RealtimeSessionEvent] = []

    async def collect(session: RealtimeSession) -> None:
        async for event in session:
            events.append(event)

    async with (
        open_session(agent, run_config, context=context) as session,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(collect, session)
        if message is not None:
            await session.send_message(message)
        if during is not None:
            await during(session, events)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    return session, events, model.server.sessions[0]


def of(events: list[RealtimeSessionEvent], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def spoken(session: RealtimeSession) -> list[str]:
    return [
        "".join(getattr(c, "transcript", None) or getattr(c, "text", None) or "" for c in i.content)
        for i in session.history
        if isinstance(i, it.AssistantMessageItem)
    ]


def server_outputs(server: Any) -> dict[str, str]:
    return {
        s.item.call_id: s.item.output
        for s in server.items
        if isinstance(s.item, p.FunctionCallOutputItem)
    }


# -- tools -------------------------------------------------------------------------------------


async def test_two_tools_at_once_run_concurrently(autojump_clock: trio.testing.MockClock) -> None:
    finished: dict[str, float] = {}

    @function_tool
    async def get_weather(city: str) -> dict[str, Any]:
        """The weather."""
        await trio.sleep(1.0)
        finished["weather"] = trio.current_time()
        return {"city": city, "sky": "clear"}

    @function_tool
    async def get_time(city: str) -> str:
        """The time."""
        await trio.sleep(1.0)
        finished["time"] = trio.current_time()
        return f"noon in {city}"

    def respond(context: ResponseContext) -> list[ResponsePart]:
        done = outputs(context)
        if len(done) == 2:
            return say("Both answers are in: " + " and ".join(sorted(done.values())), context)
        if isinstance(last_item(context), p.MessageItem):
            return [
                CallTool("get_weather", '{"city": "Oslo"}'),
                CallTool("get_time", '{"city": "Oslo"}'),
            ]
        return []  # one output so far: nothing to say yet

    agent = RealtimeAgent("A", tools=[get_weather, get_time])
    session, events, server = await run_session(agent, Script(respond))
    start = min(finished.values())
    assert start == pytest.approx(max(finished.values()))  # concurrent, not one after the other
    assert sorted(e.tool.name for e in of(events, "tool_end")) == ["get_time", "get_weather"]
    assert sorted(server_outputs(server).values()) == [
        "noon in Oslo",
        '{"city": "Oslo", "sky": "clear"}',
    ]
    assert spoken(session)[-1].startswith("Both answers are in")
    calls = [i for i in session.history if isinstance(i, it.RealtimeToolCallItem)]
    assert [(c.status, c.output is not None) for c in calls] == [("completed", True)] * 2


async def test_a_tool_error_is_read_by_the_model_and_the_session_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool
    def lookup(key: str) -> str:
        """Fails."""
        raise KeyError(key)

    def respond(context: ResponseContext) -> list[ResponsePart]:
        item = last_item(context)
        if isinstance(item, p.FunctionCallOutputItem):
            return say(f"Sorry: {item.output}", context)
        return [CallTool("lookup", '{"key": "k1"}')]

    session, events, server = await run_session(RealtimeAgent("A", tools=[lookup]), Script(respond))
    (output,) = server_outputs(server).values()
    # The SDK's default failure_error_function: the model is not shown the exception.
    assert output == "An error occurred while running the tool. Please try again."
    (error,) = [e for e in of(events, "error") if e.error["type"] == "tool_error"]
    assert error.error["tool"] == "lookup"
    assert spoken(session) == [f"Sorry: {output}"]
    (end,) = of(events, "tool_end")
    assert end.output == output


async def test_tool_timeout_and_bad_arguments_and_unknown_tool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool(timeout=2.0)
    async def slow(n: int) -> str:
        """Too slow."""
        await trio.sleep(5)
        return "never"

    calls = iter(
        [
            CallTool("slow", '{"n": 1}'),
            CallTool("slow", '{"n": "one"}'),
            CallTool("missing", "{}"),
        ]
    )

    def respond(context: ResponseContext) -> list[ResponsePart]:
        return [next(calls, Say("done"))]

    formatted: list[str] = []

    def formatter(args: Any) -> str | None:
        formatted.append(args.kind)
        return f"[{args.kind}] {args.default_message}" if args.kind == "timeout" else None

    _, events, server = await run_session(
        RealtimeAgent("A", tools=[slow]), Script(respond), tool_error_formatter=formatter
    )
    out = list(server_outputs(server).values())
    assert out[0] == "[timeout] Tool 'slow' timed out after 2 seconds."  # the SDK's text
    assert out[1].startswith("Invalid arguments for slow: n: expected integer, got string")
    assert out[2] == "Tool missing not found"
    assert formatted == ["timeout", "bad_arguments", "tool_not_found"]
    # A timeout is a result (timeout_behavior="error_as_result"), not an error event.
    kinds = [e.error["type"] for e in of(events, "error")]
    assert kinds == ["tool_bad_arguments", "tool_not_found"]
    assert next(e.output for e in of(events, "tool_end")) == out[0]


async def test_tools_receive_the_run_context(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[Any] = []

    @function_tool
    def whoami(ctx: ToolContext[dict[str, str]]) -> str:
        """Who is asking."""
        seen.append((ctx.context["user"], ctx.tool_name, ctx.agent.name))
        return ctx.context["user"]

    responder = ScriptedResponder.from_script(
        {"rules": [{"call": "whoami", "after_tool": "Hi {output}."}]}
    )
    session, _, _ = await run_session(
        RealtimeAgent("A", tools=[whoami]), responder, context={"user": "ann"}
    )
    assert seen == [("ann", "whoami", "A")]
    assert spoken(session) == ["Hi ann."]


async def test_a_slow_tool_does_not_delay_audio(autojump_clock: trio.testing.MockClock) -> None:
    # The same spoken answer, once while a tool sleeps 5 s and once with an instant tool: every
    # audio frame reaches the sink at the same (mock) time.
    async def frame_times(delay: float) -> list[float]:
        @function_tool
        async def background(x: int) -> str:
            """Takes a while."""
            await trio.sleep(delay)
            return "ok"

        def respond(context: ResponseContext) -> list[ResponsePart]:
            if isinstance(last_item(context), p.FunctionCallOutputItem):
                return []
            return [CallTool("background", '{"x": 1}'), *say("A long answer. " * 8, context)]

        sink = FakeAudioSink()
        start = trio.current_time()
        await run_session(RealtimeAgent("A", tools=[background]), Script(respond), audio_sink=sink)
        return [round(t - start, 6) for t, pcm in sink.writes if any(pcm)]

    with_slow_tool = await frame_times(5.0)
    with_instant_tool = await frame_times(0.0)
    assert len(with_slow_tool) > 300  # several seconds of 10 ms frames
    assert with_slow_tool == with_instant_tool


async def test_cancel_on_interrupt_tool_is_cancelled_by_barge_in(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ran_to_end: list[str] = []

    @function_tool(cancel_on_interrupt=True, timeout=60)
    async def search(query: str) -> str:
        """Slow search."""
        await trio.sleep(30)
        ran_to_end.append(query)
        return "found"

    @function_tool(timeout=60)
    async def save(note: str) -> str:
        """Must finish."""
        await trio.sleep(30)
        ran_to_end.append(note)
        return "saved"

    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    agent = RealtimeAgent("A", tools=[search, save])
    async with open_session(agent, config) as session:
        model.emit(
            p.ResponseOutputItemDone(
                event_id="e1",
                response_id="r1",
                output_index=0,
                item=p.FunctionCallItem(
                    id="i1",
                    call_id="c1",
                    name="search",
                    arguments='{"query": "q"}',
                    status="completed",
                ),
            ),
            p.ResponseOutputItemDone(
                event_id="e2",
                response_id="r1",
                output_index=1,
                item=p.FunctionCallItem(
                    id="i2",
                    call_id="c2",
                    name="save",
                    arguments='{"note": "n"}',
                    status="completed",
                ),
            ),
        )
        await trio.sleep(1)
        model.emit(p.InputAudioBufferSpeechStarted(event_id="e3", audio_start_ms=100, item_id="u1"))
        await trio.sleep(40)
        stats = session.statistics()
    sent = {i.item.call_id: i.item.output for i in model.sent_of(p.ConversationItemCreate)}
    assert sent["c1"] == "The call to search was cancelled because the user interrupted."
    assert sent["c2"] == "saved"
    assert ran_to_end == ["n"]
    assert stats.tools.cancelled == 1
    # The cancelled call asks for no response (the user's turn will); the finished one does.
    assert len(model.sent_of(p.ResponseCreate)) == 1


async def test_a_call_delivered_twice_runs_once(autojump_clock: trio.testing.MockClock) -> None:
    runs: list[int] = []

    @function_tool
    def once(x: int) -> str:
        """Counts."""
        runs.append(x)
        return "ok"

    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    item = p.FunctionCallItem(
        id="i1", call_id="c1", name="once", arguments='{"x": 1}', status="completed"
    )
    async with open_session(RealtimeAgent("A", tools=[once]), config):
        for n in range(2):
            model.emit(
                p.ResponseOutputItemDone(
                    event_id=f"e{n}", response_id="r1", output_index=0, item=item
                )
            )
        await trio.sleep(1)
    assert runs == [1]


# -- approval ----------------------------------------------------------------------------------


async def test_approval_accept_reject_and_always(autojump_clock: trio.testing.MockClock) -> None:
    transfers: list[int] = []

    @function_tool(needs_approval=True)
    def transfer(amount: int) -> str:
        """Moves money."""
        transfers.append(amount)
        return f"moved {amount}"

    amounts = iter([10, 20, 30, 40])

    def respond(context: ResponseContext) -> list[ResponsePart]:
        item = last_item(context)
        if isinstance(item, p.FunctionCallOutputItem):
            return say(item.output, context)
        return [CallTool("transfer", json.dumps({"amount": next(amounts)}))]

    decisions: list[str] = []

    async def decide(session: RealtimeSession, events: list[RealtimeSessionEvent]) -> None:
        plan = [("approve", False), ("reject", False), ("approve", True)]
        for action, always in plan:
            while not of(events, "tool_approval_required")[len(decisions) :]:  # noqa: ASYNC110
                await trio.sleep(0.1)  # (mock time: polls the events collected so far)
            request = of(events, "tool_approval_required")[len(decisions)]
            assert transfers == [10] * (len(decisions) >= 1)  # nothing runs before approval
            assert request.call_id in session.pending_tool_approvals
            if action == "approve":
                await session.approve_tool_call(request.call_id, always=always)
            else:
                await session.reject_tool_call(request.call_id, "Not today.")
            await trio.sleep(0.01)  # the waiting call takes the decision
            assert request.call_id not in session.pending_tool_approvals
            await session.approve_tool_call(request.call_id)  # decided already: does nothing
            decisions.append(action)
            if len(decisions) < 3:
                await session.send_message("again")

        await trio.sleep(5)
        await session.send_message("once more")  # sticky: no question this time

    session, events, server = await run_session(
        RealtimeAgent("A", tools=[transfer]), Script(respond), during=decide, seconds=10
    )
    assert transfers == [10, 30, 40]
    assert len(of(events, "tool_approval_required")) == 3
    out = list(server_outputs(server).values())
    assert out == ["moved 10", "Not today.", "moved 30", "moved 40"]
    assert session.pending_tool_approvals == ()


async def test_approval_policy_callable_and_default_rejection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    @function_tool(needs_approval=lambda ctx, args, call_id: args["amount"] > 100)
    def pay(amount: int) -> str:
        """Pays."""
        return f"paid {amount}"

    amounts = iter([50, 500])

    def respond(context: ResponseContext) -> list[ResponsePart]:
        if isinstance(last_item(context), p.FunctionCallOutputItem):
            return say("ok", context)
        return [CallTool("pay", json.dumps({"amount": next(amounts)}))]

    async def decide(session: RealtimeSession, events: list[RealtimeSessionEvent]) -> None:
        await trio.sleep(3)
        await session.send_message("big one")
        await trio.sleep(3)
        (request,) = of(events, "tool_approval_required")
        assert json.loads(request.arguments) == {"amount": 500}
        await session.reject_tool_call(request.call_id)

    _, _, server = await run_session(
        RealtimeAgent("A", tools=[pay]), Script(respond), during=decide
    )
    assert list(server_outputs(server).values()) == ["paid 50", "Tool execution was not approved."]


# -- handoffs ----------------------------------------------------------------------------------


async def test_handoff_mid_conversation_keeps_the_audio_format(
    autojump_clock: trio.testing.MockClock,
) -> None:
    handed: list[Any] = []

    @attrs.define
    class Reason:
        topic: str

    billing = RealtimeAgent(
        "Billing", instructions="You are billing.", handoff_description="Bills."
    )

    def on_handoff(ctx: RunContextWrapper[Any], reason: Reason) -> None:
        handed.append(reason)

    triage = RealtimeAgent(
        "Triage",
        instructions="You are triage.",
        handoffs=[realtime_handoff(billing, on_handoff=on_handoff, input_type=Reason)],
    )

    def respond(context: ResponseContext) -> list[ResponsePart]:
        me = context.session.instructions
        names = [getattr(t, "name", None) for t in context.session.tools or ()]
        if me == "You are triage." and isinstance(last_item(context), p.MessageItem):
            return [CallTool("transfer_to_billing", '{"topic": "refund"}')]
        return say(f"{me} My tools: {names}", context)

    ulaw = p.SessionConfig(
        audio=p.AudioConfig(
            input=p.AudioInputConfig(format=p.AudioFormat.pcmu()),
            output=p.AudioOutputConfig(format=p.AudioFormat.pcmu()),
        )
    )
    session, events, server = await run_session(triage, Script(respond), model_settings=ulaw)
    (handoff,) = of(events, "handoff")
    assert (handoff.from_agent.name, handoff.to_agent.name) == ("Triage", "Billing")
    assert handed == [Reason("refund")]
    assert session.agent is billing
    assert spoken(session) == ["You are billing. My tools: []"]
    assert server.config.instructions == "You are billing."
    assert server.output_format.type == "audio/pcmu"  # the handoff did not reset it
    assert server_outputs(server) == {mock_call_id(session): '{"assistant": "Billing"}'}
    assert (
        triage.get_handoffs()[0].tool_description
        == "Handoff to the Billing agent to handle the request. Bills."
    )


def mock_call_id(session: RealtimeSession) -> str:
    (call,) = [i for i in session.history if isinstance(i, it.RealtimeToolCallItem)]
    return call.call_id


async def test_handoff_input_filter_and_update_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    expert = RealtimeAgent("Expert", instructions="expert")

    def only_user_messages(history: tuple[it.RealtimeItem, ...]) -> list[it.RealtimeItem]:
        return [i for i in history if isinstance(i, it.UserMessageItem)]

    front = RealtimeAgent(
        "Front",
        instructions="front",
        handoffs=[realtime_handoff(expert, input_filter=only_user_messages)],
    )

    def respond(context: ResponseContext) -> list[ResponsePart]:
        me = context.session.instructions
        if me == "front":
            if (
                sum(isinstance(i, p.MessageItem) and i.role == "user" for i in context.conversation)
                == 1
            ):
                return say("Let me think.", context)
            return [CallTool("transfer_to_expert", "{}")]
        roles = [getattr(i, "role", None) or i.to_wire()["type"] for i in context.conversation]
        return say(f"{me} sees {roles}", context)

    async def during(session: RealtimeSession, events: list[RealtimeSessionEvent]) -> None:
        await trio.sleep(3)
        await session.send_message("second question")
        await trio.sleep(5)
        await session.update_agent(RealtimeAgent("Plain", instructions="plain"))
        await session.send_message("third")

    session, events, _ = await run_session(front, Script(respond), during=during)
    answers = spoken(session)
    # The expert saw the two user messages and the handoff call's output only.
    assert "expert sees ['user', 'user', 'function_call_output']" in answers
    assert answers[-1].startswith("plain sees")
    assert [e.to_agent.name for e in of(events, "handoff")] == ["Expert"]  # update_agent: none
    assert session.agent.name == "Plain"


async def test_a_failing_handoff_keeps_the_agent(autojump_clock: trio.testing.MockClock) -> None:
    other = RealtimeAgent("Other")

    def broken(ctx: RunContextWrapper[Any]) -> None:
        raise RuntimeError("no transfers today")

    agent = RealtimeAgent("Main", handoffs=[realtime_handoff(other, on_handoff=broken)])
    responder = ScriptedResponder.from_script(
        {"rules": [{"call": "transfer_to_other", "after_tool": "Stayed: {output}"}]}
    )
    session, events, _ = await run_session(agent, responder)
    assert session.agent is agent
    assert not of(events, "handoff")
    assert [e.error["type"] for e in of(events, "error")] == ["handoff_failed"]
    assert spoken(session) == ["Stayed: Handoff to Other failed: no transfers today"]


@attrs.define
class Topic:
    name: str


def test_handoff_definitions_are_checked() -> None:
    target = RealtimeAgent("Sales Team")
    assert realtime_handoff(target).tool_name == "transfer_to_sales_team"
    assert realtime_handoff(target, tool_name_override="go").tool_name == "go"
    with pytest.raises(TypeError, match=r"on_handoff must take \(ctx, input\)"):
        realtime_handoff(target, input_type=Topic, on_handoff=lambda ctx: None)
    with pytest.raises(TypeError, match=r"on_handoff must take \(ctx\)"):
        realtime_handoff(target, on_handoff=lambda ctx, x: None)
    with pytest.raises(TypeError, match="must be a dataclass"):
        realtime_handoff(target, input_type=int, on_handoff=lambda ctx, x: None)
    with pytest.raises(TypeError, match="needs a RealtimeAgent"):
        realtime_handoff("Sales")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="handoffs cannot hold str"):
        RealtimeAgent("A", handoffs=["B"])  # type: ignore[list-item]


async def test_disabled_handoffs_and_name_clashes(autojump_clock: trio.testing.MockClock) -> None:
    b = RealtimeAgent("B")
    ctx = RunContextWrapper(None)

    @function_tool
    def transfer_to_b() -> str:
        """Clashes."""
        return ""

    hidden = RealtimeAgent("A", handoffs=[realtime_handoff(b, is_enabled=lambda c, a: False)])
    assert (await hidden.resolve(ctx)).handoffs == {}
    clash = RealtimeAgent("A", tools=[transfer_to_b], handoffs=[b])
    with pytest.raises(ValueError, match="share names"):
        await clash.resolve(ctx)


# -- output guardrails -------------------------------------------------------------------------

STORY = (
    "Here is a long answer that starts harmlessly and goes on for a while, then it reveals "
    "the SECRET code which must never be said, and then it carries on talking for quite a lot "
    "longer so that plenty of audio is still to come when the check trips."
)


async def test_guardrail_trips_mid_response(autojump_clock: trio.testing.MockClock) -> None:
    checked: list[int] = []

    @output_guardrail
    def no_secrets(ctx: RunContextWrapper[Any], agent: Any, text: str) -> GuardrailFunctionOutput:
        checked.append(len(text))
        return GuardrailFunctionOutput({"len": len(text)}, tripwire_triggered="SECRET" in text)

    def respond(context: ResponseContext) -> list[ResponsePart]:
        item = last_item(context)
        if "guardrail triggered" in str(getattr(item, "content", "")):
            return say("Sorry, I cannot say that.", context)
        return say(STORY, context)

    sink = FakeAudioSink()
    agent = RealtimeAgent("A", output_guardrails=[no_secrets])
    session, events, server = await run_session(
        agent,
        Script(respond),
        audio_sink=sink,
        seconds=30,
        pace=0.05,  # the model speaks at twice real time
        guardrails_settings=GuardrailsSettings(debounce_text_length=50),
    )
    (tripped,) = of(events, "guardrail_tripped")
    assert "SECRET" in tripped.message
    assert tripped.guardrail_results[0].output.output_info == {"len": len(tripped.message)}
    # Debounced (each time another 50 characters arrived, not per delta), then the replacement
    # answer, checked whole at its end.
    *story_checks, replacement_check = checked
    assert all(n % 50 < 5 for n in story_checks)
    assert replacement_check == len("Sorry, I cannot say that.")
    (interrupted,) = of(events, "audio_interrupted")
    # The server's item was cut at the audio heard, well before the end of the story.
    story_ms = len(STORY) * 60
    stored = {s.item.id: s for s in server.items}
    assert stored[interrupted.item_id].audio_ms < story_ms * 0.7
    story_item = next(i for i in session.history if i.item_id == interrupted.item_id)
    assert isinstance(story_item, it.AssistantMessageItem)
    assert story_item.truncated_at_ms == stored[interrupted.item_id].audio_ms
    # The model was told (as the SDK tells it: a user message), and answered again.
    notes = [
        s.item
        for s in server.items
        if isinstance(s.item, p.MessageItem)
        and s.item.role == "user"
        and "guardrail" in str(s.item.content)
    ]
    assert "guardrail triggered: no_secrets" in str(getattr(notes[0].content[0], "text", ""))
    assert spoken(session)[-1] == "Sorry, I cannot say that."
    assert session.statistics().guardrail_trips == 1


async def test_a_short_answer_is_checked_at_its_end(autojump_clock: trio.testing.MockClock) -> None:
    texts: list[str] = []

    @output_guardrail(name="recorder")
    async def record(ctx: Any, agent: Any, text: str) -> GuardrailFunctionOutput:
        texts.append(text)
        return GuardrailFunctionOutput()

    @output_guardrail
    def broken(ctx: Any, agent: Any, text: str) -> GuardrailFunctionOutput:
        raise RuntimeError("guardrail bug")

    session, events, _ = await run_session(
        RealtimeAgent("A"),
        ScriptedResponder.from_script({"rules": [{"say": "Short."}]}),
        output_guardrails=[record, broken, record],  # the duplicate runs once
    )
    assert texts == ["Short."]
    assert [e.error["type"] for e in of(events, "error")] == ["guardrail_failed"]
    assert not of(events, "guardrail_tripped")
    assert spoken(session) == ["Short."]


# -- hooks -------------------------------------------------------------------------------------


async def test_hooks_are_called_in_order(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []

    class RunHooks(RealtimeRunHooks):
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            log.append(f"run start {agent.name}")

        async def on_agent_end(self, context: Any, agent: Any, output: str) -> None:
            log.append(f"run end {agent.name}: {output}")

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            log.append(f"run tool start {tool.name}")

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: str) -> None:
            log.append(f"run tool end {tool.name}: {result}")

        async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
            log.append(f"run handoff {from_agent.name}->{to_agent.name}")

    class AgentHooks(RealtimeAgentHooks):
        async def on_start(self, context: Any, agent: Any) -> None:
            log.append(f"agent start {agent.name}")

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            log.append(f"agent tool start {tool.name}")

        async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
            log.append(f"agent handoff {source.name}->{agent.name}")
            raise RuntimeError("hook bug")  # reported, and the session goes on

    @function_tool
    async def ping() -> str:  # async: a sync tool runs in a thread and may end after the answer
        """Ping."""
        return "pong"

    second = RealtimeAgent("Second", hooks=AgentHooks())
    first = RealtimeAgent("First", tools=[ping], handoffs=[second], hooks=AgentHooks())
    steps: Iterator[list[ResponsePart]] = iter(
        [[CallTool("ping", "{}")], [CallTool("transfer_to_second", "{}")]]
    )

    def respond(context: ResponseContext) -> list[ResponsePart]:
        return next(steps, [Say("bye")])

    session, events, _ = await run_session(first, Script(respond), hooks=RunHooks())
    # (ping returns at once: its end comes before the end of the response that called it; the
    # handoff happens before the end of the response that asked for it, made by First.)
    assert log == [
        "run start First",
        "agent start First",
        "run tool start ping",
        "agent tool start ping",
        "run tool end ping: pong",
        "run end First: ",
        "run start First",
        "agent start First",
        "run handoff First->Second",
        "agent handoff First->Second",
        "run end First: ",
        "run start Second",
        "agent start Second",
        "run end Second: bye",
    ]
    assert [e.error["type"] for e in of(events, "error")] == ["hook_failed"]
    assert session.statistics().hooks_failed == 1


# -- history and usage -------------------------------------------------------------------------


async def test_history_events_for_every_item_type(autojump_clock: trio.testing.MockClock) -> None:
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    events: list[RealtimeSessionEvent] = []

    def user_audio(item_id: str) -> p.MessageItem:
        return p.MessageItem(id=item_id, role="user", content=(p.InputAudioContent(),))

    assistant = p.MessageItem(
        id="a1", role="assistant", content=(p.OutputAudioContent(),), status="in_progress"
    )
    usage = p.ResponseUsage(
        total_tokens=30,
        input_tokens=20,
        output_tokens=10,
        input_token_details=p.InputTokenDetails(audio_tokens=15, text_tokens=5, cached_tokens=4),
        output_token_details=p.OutputTokenDetails(audio_tokens=8, text_tokens=2),
    )
    async with open_session(RealtimeAgent("A"), config) as session:
        model.emit(
            p.ConversationItemAdded(
                event_id="e1", item=p.MessageItem.system_text("be nice", id="s1")
            ),
            p.ConversationItemAdded(event_id="e2", previous_item_id="s1", item=user_audio("u1")),
            p.InputAudioTranscriptionCompleted.from_wire(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "event_id": "e3",
                    "item_id": "u1",
                    "content_index": 0,
                    "transcript": "hi there",
                    "usage": {"type": "duration", "seconds": 1},
                }
            ),
            p.ResponseCreated(event_id="e4", response=p.Response(id="r1", status="in_progress")),
            p.ResponseOutputItemAdded(
                event_id="e5", response_id="r1", output_index=0, item=assistant
            ),
            p.ResponseOutputAudioTranscriptDelta(
                event_id="e6",
                response_id="r1",
                item_id="a1",
                output_index=0,
                content_index=0,
                delta="Hello",
            ),
            p.ResponseOutputAudioTranscriptDelta(
                event_id="e7",
                response_id="r1",
                item_id="a1",
                output_index=0,
                content_index=0,
                delta=" you",
            ),
            p.ResponseOutputItemDone(
                event_id="e8",
                response_id="r1",
                output_index=1,
                item=p.FunctionCallItem(
                    id="f1", call_id="c1", name="nothing", arguments="{}", status="completed"
                ),
            ),
            p.ResponseDone(
                event_id="e9", response=p.Response(id="r1", status="completed", usage=usage)
            ),
            p.ConversationItemTruncated(
                event_id="e10", item_id="a1", content_index=0, audio_end_ms=700
            ),
            p.ResponseDone(
                event_id="e11", response=p.Response(id="r2", status="completed", usage=usage)
            ),
            p.ConversationItemDeleted(event_id="e12", item_id="s1"),
        )
        await trio.sleep(1)
        while True:
            try:
                events.append(session.receive_nowait())
            except trio.WouldBlock:
                break
    added = [type(e.item).__name__ for e in of(events, "history_added")]
    assert added == [
        "SystemMessageItem",
        "UserMessageItem",
        "AssistantMessageItem",
        "RealtimeToolCallItem",
    ]
    updates = of(events, "history_updated")
    final = updates[-1].history
    assert [i.item_id for i in final] == ["u1", "a1", "f1"]
    user, answer, call = final
    assert list(user.content) == [it.InputAudio("hi there")]
    assert list(answer.content) == [it.AssistantAudio("Hello you")]
    assert answer.truncated_at_ms == 700
    assert (call.output, call.status) == ("Tool nothing not found", "completed")
    # Each transcript delta was visible as it came (a live transcript).
    transcripts = [
        getattr(i.content[0], "transcript", None)
        for e in updates
        for i in e.history
        if isinstance(i, it.AssistantMessageItem)
    ]
    assert "Hello" in transcripts
    assert session.usage.requests == 2
    assert (
        session.usage.total_tokens,
        session.usage.input_audio_tokens,
        session.usage.cached_tokens,
    ) == (60, 30, 8)
    assert session.usage.output_audio_tokens == 16


async def test_dynamic_instructions_and_prompt(autojump_clock: trio.testing.MockClock) -> None:
    async def instructions(ctx: RunContextWrapper[dict[str, str]], agent: RealtimeAgent) -> str:
        await trio.lowlevel.checkpoint()
        return f"Speak to {ctx.context['name']} as {agent.name}."

    agent = RealtimeAgent("Host", instructions=instructions, prompt=p.Prompt(id="pmpt_1"))
    model = ScriptedModel(strict=False)
    config = RealtimeRunConfig(link_factory=model.link_factory, local_vad=False)
    async with open_session(agent, config, context={"name": "Ann"}) as session:
        bad: Any = lambda c, a: 42  # noqa: E731
        with pytest.raises(TypeError, match="returned int"):
            await session.update_agent(RealtimeAgent("Bad", instructions=bad))
        assert session.agent is agent  # the failed switch kept the agent
    (update,) = model.sent_of(p.SessionUpdate)
    assert update.session.instructions == "Speak to Ann as Host."
    assert update.session.prompt == p.Prompt(id="pmpt_1")
