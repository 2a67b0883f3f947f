"""The guardrail debouncer: when checks are due, and with which text (a pure property)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rtagents.guardrails import GuardrailDebouncer


@given(
    step=st.integers(1, 40),
    deltas=st.lists(st.text(max_size=30), max_size=40),
)
def test_checks_fire_once_per_threshold_and_at_the_end(step: int, deltas: list[str]) -> None:
    debouncer = GuardrailDebouncer(step)
    text = ""
    checks = []
    for delta in deltas:
        before = len(text)
        text += delta
        due = debouncer.add("r1", "i1", delta)
        crossed = len(text) // step > before // step
        assert (due is not None) == crossed
        if due is not None:
            assert due == text  # always the whole text so far
            checks.append(len(due))
    finished = debouncer.finish("i1")
    last_checked = checks[-1] if checks else 0
    if text.strip() and len(text) != last_checked:
        assert finished == ("r1", text)
    else:
        assert finished is None
    assert debouncer.finish("i1") is None  # forgotten once finished


def test_items_are_independent_and_bounded() -> None:
    debouncer = GuardrailDebouncer(5, max_items=2)
    assert debouncer.add("r1", "a", "1234") is None
    assert debouncer.add("r1", "b", "123456") == "123456"
    assert debouncer.add("r2", "c", "x") is None  # evicts "a", the oldest
    assert debouncer.finish("a") is None
    debouncer.forget_response("r2")
    assert debouncer.finish("c") is None
    assert debouncer.finish("b") is None  # all of b was checked already
