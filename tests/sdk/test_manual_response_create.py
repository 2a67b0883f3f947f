"""The app's own ``response.create`` in the sequencer: sent as given, in turn, never merged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents import protocol as p
from rtagents._core.sequencer import MAX_WAITING, ResponseSequencer


def manual(text: str) -> p.ResponseCreate:
    return p.ResponseCreate(response=p.ResponseParams(instructions=text))


def test_a_manual_create_waits_for_the_running_response_and_keeps_its_params() -> None:
    seq = ResponseSequencer()
    first = seq.request()
    assert first is not None
    seq.on_created()
    assert seq.request(manual("again")) is None
    assert seq.request() is None
    assert seq.request() is None  # ours coalesce
    sent = seq.on_done()
    assert sent is not None
    assert sent.response is not None
    assert sent.response.instructions == "again"
    assert sent.event_id is not None
    assert seq.in_flight == sent.event_id
    seq.on_created()
    ours = seq.on_done()
    assert ours is not None
    assert ours.response is None
    seq.on_created()
    assert seq.on_done() is None


def test_a_refused_manual_create_lets_the_next_go() -> None:
    seq = ResponseSequencer()
    create = seq.request(p.ResponseCreate(event_id="mine", response=p.ResponseParams()))
    assert create is not None
    assert create.event_id == "mine"
    assert seq.request() is None
    follow = seq.on_error("mine")
    assert follow is not None
    assert follow.response is None


def test_too_many_waiting_manual_creates_are_refused() -> None:
    seq = ResponseSequencer()
    seq.request()
    for i in range(MAX_WAITING):
        assert seq.request(manual(str(i))) is None
    with pytest.raises(ValueError, match="wait already"):
        seq.request(manual("one too many"))


@given(st.lists(st.sampled_from(["ours", "manual", "created", "done"]), max_size=40))
def test_never_two_creates_in_flight_and_manual_ones_in_order(steps: list[str]) -> None:
    seq = ResponseSequencer()
    sent: list[p.ResponseCreate] = []
    asked: list[str] = []
    for step in steps:
        if step in ("ours", "manual"):
            if step == "manual" and sum(x != "" for x in asked) >= MAX_WAITING:
                continue
            text = f"m{len(asked)}" if step == "manual" else ""
            asked.append(text)
            create = seq.request(manual(text) if text else None)
            if create is not None:
                sent.append(create)
        elif step == "created" and seq.in_flight is not None:
            seq.on_created()
        elif step == "done" and seq.active:
            create = seq.on_done()
            if create is not None:
                sent.append(create)
        assert seq.in_flight is None or not seq.active
    order = [c.response.instructions for c in sent if c.response is not None]
    assert order == [a for a in asked if a][: len(order)]
