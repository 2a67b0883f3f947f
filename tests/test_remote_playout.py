"""What a remote player (Twilio) has played, from echoed marks; and the outbound pacer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents._core.remote_playout import MarkLedger, OutboundPacer, PlayedPosition

# A call's life as operations: send a chunk (of the current item), the player echoes its next
# pending mark, a barge-in clears, a new item starts.
ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 1600)),
        st.tuples(st.just("echo"), st.just(0)),
        st.tuples(st.just("clear"), st.just(0)),
        st.tuples(st.just("next_item"), st.just(0)),
    ),
    max_size=80,
)


@given(ops)
def test_the_played_position_is_what_the_player_acknowledged(script: list[tuple[str, int]]) -> None:
    """Against a model player: it echoes marks in order; a clear discards its buffer and echoes
    every pending mark (those must not count as played)."""
    ledger = MarkLedger(8.0)
    item = 0
    sent_ms: dict[str, float] = {}
    pending: list[tuple[str, PlayedPosition]] = []  # the player's buffer: marks, in order
    echoes_of_discarded: list[str] = []
    heard: PlayedPosition | None = None
    for op, size in script:
        if op == "send":
            item_id = f"item{item}"
            sent_ms[item_id] = sent_ms.get(item_id, 0.0) + size / 8
            name = ledger.sent(item_id, 0, size)
            pending.append((name, PlayedPosition(item_id, 0, sent_ms[item_id])))
        elif op == "echo" and pending:
            name, position = pending.pop(0)
            assert ledger.echoed(name) == position
            heard = position
        elif op == "clear":
            assert ledger.cleared() == heard
            echoes_of_discarded += [name for name, _ in pending]
            pending.clear()
            for name in echoes_of_discarded:  # Twilio echoes them after the clear
                assert ledger.echoed(name) is None
            echoes_of_discarded.clear()
        elif op == "next_item":
            item += 1
        assert ledger.played == heard
        assert ledger.in_flight == len(pending)
    assert ledger.unknown_echoes == 0


def test_an_echo_settles_the_marks_before_it() -> None:
    ledger = MarkLedger(8.0)
    a = ledger.sent("i", 0, 160)
    b = ledger.sent("i", 0, 160)
    c = ledger.sent("i", 0, 80)
    assert ledger.echoed(b) == PlayedPosition("i", 0, 40.0)
    assert ledger.in_flight == 1
    assert ledger.echoed(a) is None  # already settled: counted as unknown
    assert ledger.unknown_echoes == 1
    assert ledger.echoed(c) == PlayedPosition("i", 0, 50.0)
    assert ledger.idle


def test_items_and_contents_count_separately_and_can_be_forgotten() -> None:
    ledger = MarkLedger(8.0)
    ledger.sent("a", 0, 800)
    mark = ledger.sent("b", 1, 160)
    assert ledger.echoed(mark) == PlayedPosition("b", 1, 20.0)
    ledger.forget_item("a")
    again = ledger.sent("a", 0, 80)
    assert ledger.echoed(again) == PlayedPosition("a", 0, 10.0)


def test_a_player_that_never_echoes_cannot_grow_the_ledger() -> None:
    ledger = MarkLedger(8.0, capacity=3)
    for _ in range(10):
        ledger.sent("i", 0, 160)
    assert ledger.in_flight == 3
    assert ledger.overflowed == 7
    assert ledger.played == PlayedPosition("i", 0, 140.0)  # the oldest settled as if played


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        MarkLedger(0)
    with pytest.raises(ValueError, match="at least 1"):
        MarkLedger(8, capacity=0)
    with pytest.raises(ValueError, match="negative"):
        MarkLedger(8).sent("i", 0, -1)
    with pytest.raises(ValueError, match="negative"):
        OutboundPacer(-1)


@given(
    st.lists(st.integers(1, 200), min_size=1, max_size=60),
    st.floats(0, 200),
    st.lists(st.floats(0, 0.5), min_size=1, max_size=60),
)
def test_the_pacer_keeps_the_remote_buffer_within_the_lead(
    chunks_ms: list[int], lead_ms: float, gaps: list[float]
) -> None:
    """A sender that sends each chunk as soon as it is due (arriving after random gaps) never
    has more than lead + one chunk buffered remotely, and never sends later than due."""
    pacer = OutboundPacer(lead_ms)
    now = 0.0
    for k, duration in enumerate(chunks_ms):
        now += gaps[k % len(gaps)]
        send_at = max(now, pacer.due(now))
        assert pacer.buffered_ms(send_at) <= lead_ms + 1e-6
        pacer.book(send_at, duration)
        assert pacer.buffered_ms(send_at) <= lead_ms + duration + 1e-6
        now = send_at


def test_the_pacer_schedules_back_to_back_and_restarts_after_a_gap() -> None:
    pacer = OutboundPacer(lead_ms=40)
    assert pacer.due(10.0) == 10.0
    pacer.book(10.0, 20)
    pacer.book(10.0, 20)
    pacer.book(10.0, 20)  # 60 ms booked at once
    assert pacer.due(10.0) == pytest.approx(10.02)  # ends at 10.06, minus the 40 ms lead
    assert pacer.buffered_ms(10.03) == pytest.approx(30)
    assert pacer.due(11.0) == 11.0  # idle: restarts at now
    pacer.book(11.0, 20)
    pacer.reset()
    assert pacer.buffered_ms(11.0) == 0.0
