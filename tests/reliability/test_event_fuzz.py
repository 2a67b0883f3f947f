"""Any sequence of server events, in any order, with ids that collide or dangle, never raises
inside a session: hypothesis drives whole sessions (scripted model, mock clock) with sequences
of every server event type (tests/protocol/samples.py), ids remixed, plus undecodable frames and
link events.  The session must survive: no ``session_error`` (an exception caught in the event
path), the app's stream still works, and the session closes cleanly.

A longer run: ``RTAGENTS_FUZZ_EXAMPLES=2000 pytest tests/reliability/test_event_fuzz.py``.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtagents import RealtimeAgent, RealtimeRunConfig, function_tool, open_session
from rtagents import protocol as p
from rtagents.testing import FakeAudioSink, ScriptedModel
from tests.protocol.samples import SERVER_SAMPLES

EXAMPLES = int(os.environ.get("RTAGENTS_FUZZ_EXAMPLES", "60"))
IDS = ["r1", "r2", "item_1", "item_2", "call_1", ""]


@function_tool
def get_weather(city: str) -> str:
    """Weather."""
    return "sunny"


def remix(event: Any, ids: list[str]) -> Any:
    """The event with its response/item/call ids replaced from a small pool (collisions,
    dangling references, responses that never started)."""
    changes = {}
    for i, name in enumerate(("response_id", "item_id", "call_id", "previous_item_id")):
        if attrs.has(type(event)) and name in attrs.fields_dict(type(event)):
            changes[name] = (
                ids[i % len(ids)] or None if name == "previous_item_id" else ids[i % len(ids)]
            )
    try:
        return attrs.evolve(event, **changes) if changes else event
    except (TypeError, ValueError):
        return event


events = st.lists(
    st.tuples(st.sampled_from([e for _, e in SERVER_SAMPLES]), st.permutations(IDS)),
    max_size=40,
)
oddities = st.sampled_from(
    [
        p.ServerProtocolError(code="invalid_json", reason="fuzz", raw_text="{"),
        p.UnknownServerEvent(type="future.event", raw={"type": "future.event"}),
    ]
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(events, st.lists(oddities, max_size=3), st.booleans(), st.booleans())
def test_any_event_sequence_leaves_the_session_standing(
    sequence: list[tuple[Any, list[str]]], odd: list[Any], sink: bool, close: bool
) -> None:
    async def body() -> None:
        model = ScriptedModel(strict=False)
        config = RealtimeRunConfig(
            link_factory=model.link_factory,
            local_vad=False,
            audio_sink=FakeAudioSink() if sink else None,
        )
        seen: list[Any] = []
        agent = RealtimeAgent(name="A", tools=[get_weather])
        async with open_session(agent, config) as session:
            for event, ids in sequence:
                model.emit(remix(event, ids))
            for event in odd:
                model.emit(event)
            await trio.sleep(40)  # time for timeouts, tools, playback
            await session.send_message("still there?")
            if close:
                model.close_from_server(1011, "fuzz")
            await trio.sleep(1)
            while True:
                try:
                    seen.append(session.receive_nowait())
                except trio.WouldBlock:
                    break
        crashes = [e for e in seen if e.type == "error" and e.error.type == "session_error"]
        assert not crashes, crashes[0].error.message

    trio.run(body, clock=trio.testing.MockClock(autojump_threshold=0))
