"""The bounds of one session in the sans-IO core: its input buffer, its conversation, the cost
of its operations and the length of a response.  No clock, no I/O.

Reproductions from the reliability issue: appended silence grew the input buffer without bound
(+350 MB for 200 MiB), and 10,000 ``conversation.item.create`` cost 20 s of CPU (a linear
search per create, the whole conversation re-serialized per ``response.done``).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from rtagents import protocol as p
from rtagents.local import ServerSession, synthetic_voice
from rtagents.local._common import StartResponse
from rtagents.local._conversation import (
    MAX_CONVERSATION_CHARS,
    MAX_USER_AUDIO_BYTES,
    wire_chars,
)
from rtagents.local._input import MAX_APPEND_BYTES, MAX_BUFFER_BYTES
from rtagents.local._response_builder import MAX_OUTPUT_TOKENS
from tests.protocol import oracle

MIB = 2**20
MANUAL = p.SessionConfig(
    audio=p.AudioConfig(input=p.AudioInputConfig(turn_detection=None)),
)


def receive(session: ServerSession, event: p.WireEvent) -> list[Any]:
    outcome = session.receive(event.to_json())
    for out in outcome.events:
        oracle.assert_valid_server_event(out.to_wire())
    return outcome.events


def errors(events: list[Any]) -> list[str | None]:
    return [e.error.code for e in events if isinstance(e, p.ErrorEvent)]


def speech(seconds: float) -> bytes:
    voice: bytes = np.rint(synthetic_voice(seconds)).astype("<i2").tobytes()
    return voice


# -- the input audio buffer ---------------------------------------------------------------------


def test_silence_never_fills_the_buffer_with_server_vad() -> None:
    # 40 MiB of silence (7 minutes): the buffer keeps the newest 15 MiB, no error; then the
    # user speaks and the turn is committed as usual.
    session = ServerSession()
    for _ in range(40):
        assert errors(receive(session, p.InputAudioBufferAppend(audio=bytes(MIB)))) == []
    events = receive(session, p.InputAudioBufferAppend(audio=speech(1.0) + bytes(48000)))
    kinds = [e.type for e in events]
    assert "input_audio_buffer.speech_started" in kinds
    assert "input_audio_buffer.committed" in kinds
    started = next(e for e in events if isinstance(e, p.InputAudioBufferSpeechStarted))
    onset_ms = 40 * MIB // 48
    assert abs(started.audio_start_ms - (onset_ms - 300)) <= 20  # prefix padding: 300 ms
    (item,) = session.items
    assert 0 < len(item.audio) <= MAX_BUFFER_BYTES


def test_an_explicit_commit_after_much_silence_holds_the_newest_15_mib() -> None:
    session = ServerSession()
    for _ in range(20):
        receive(session, p.InputAudioBufferAppend(audio=bytes(MIB)))
    events = receive(session, p.InputAudioBufferCommit())
    assert events[0].type == "input_audio_buffer.committed"
    assert len(session.items[0].audio) == MAX_BUFFER_BYTES


def test_without_turn_detection_a_full_buffer_refuses_more_audio() -> None:
    session = ServerSession()
    receive(session, p.SessionUpdate(session=MANUAL))
    chunk = p.InputAudioBufferAppend(audio=bytes(MIB), event_id="more")
    for _ in range(MAX_BUFFER_BYTES // MIB):
        assert errors(receive(session, chunk)) == []
    (error,) = receive(session, chunk)
    assert isinstance(error, p.ErrorEvent)
    assert (error.error.type, error.error.code) == (
        "invalid_request_error",
        "input_audio_buffer_too_large",
    )
    assert error.error.event_id == "more"
    receive(session, p.InputAudioBufferCommit())
    assert len(session.items[0].audio) == MAX_BUFFER_BYTES  # what it had, nothing more
    assert errors(receive(session, chunk)) == []  # committed: room again


def test_one_append_carries_at_most_15_mib() -> None:
    session = ServerSession()
    receive(session, p.SessionUpdate(session=MANUAL))
    (error,) = receive(
        session, p.InputAudioBufferAppend(audio=bytes(MAX_APPEND_BYTES + 2), event_id="big")
    )
    assert isinstance(error, p.ErrorEvent)
    assert (error.error.code, error.error.param, error.error.event_id) == (
        "invalid_value",
        "audio",
        "big",
    )
    assert errors(receive(session, p.InputAudioBufferAppend(audio=bytes(MAX_APPEND_BYTES)))) == []


def test_a_closed_session_frees_its_input_buffer() -> None:
    session = ServerSession()
    receive(session, p.SessionUpdate(session=MANUAL))
    receive(session, p.InputAudioBufferAppend(audio=bytes(MIB)))
    session.release()
    assert errors(receive(session, p.InputAudioBufferCommit())) == [
        "input_audio_buffer_commit_empty"
    ]


# -- the conversation -----------------------------------------------------------------------


def respond_in_text(session: ServerSession, text: str) -> list[Any]:
    outcome = session.receive(
        p.ResponseCreate(response=p.ResponseParams(output_modalities=("text",))).to_json()
    )
    assert isinstance(outcome.action, StartResponse)
    events = session.begin_response(outcome.action)
    events += session.response_text(text)
    return events + session.finish_response("completed")


@contextmanager
def counting_lines(directory: Path) -> Iterator[Callable[[], int]]:
    """Count the lines executed in `directory`'s modules (a measure of work, unlike time)."""
    count = 0
    prefix = str(directory)

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(prefix) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield lambda: count
    finally:
        sys.settrace(previous)


def work_for(rounds: int) -> int:
    """Lines of the core run for `rounds` of: create an item, get a response to it."""
    import rtagents.local as local

    session = ServerSession()
    with counting_lines(Path(local.__file__).parent) as lines:
        for n in range(rounds):
            session.receive(
                p.ConversationItemCreate(item=p.MessageItem.user_text(f"hi {n}")).to_json()
            )
            respond_in_text(session, "Hello.")
    return lines()


def test_conversation_operations_cost_the_same_however_long_the_conversation() -> None:
    # Four times the rounds may cost four times the work (plus a little), not sixteen.
    small, large = work_for(100), work_for(400)
    assert large / small < 4.5, (small, large)


def test_ten_thousand_item_creates_then_a_response() -> None:
    session = ServerSession()
    previous = None
    for n in range(10_000):
        event = p.ConversationItemCreate(item=p.MessageItem.user_text(f"note {n}"))
        (added, _) = session.receive(event.to_json()).events
        assert isinstance(added, p.ConversationItemAdded)
        assert added.previous_item_id == previous
        previous = added.item.id
    events = respond_in_text(session, "Noted.")
    done = events[-1]
    assert isinstance(done, p.ResponseDone)
    oracle.assert_valid_server_event(done.to_wire())
    (output,) = done.response.output or ()  # only this response's output, not the whole
    assert output.content[0].text == "Noted."  # type: ignore[union-attr]
    assert done.response.usage is not None
    every_item = sum(len(json.dumps(s.item.to_wire())) for s in session.items)
    assert done.response.usage.input_tokens == every_item // 4
    assert len(session.items) == 10_001


def test_inserts_and_deletes_anywhere_keep_the_order_and_the_size() -> None:
    rng = random.Random(7)
    session = ServerSession()
    order: list[str] = []
    for n in range(600):
        if order and rng.random() < 0.3:
            victim = rng.choice(order)
            (deleted,) = receive(session, p.ConversationItemDelete(item_id=victim))
            assert isinstance(deleted, p.ConversationItemDeleted)
            order.remove(victim)
            continue
        item = p.MessageItem.user_text(f"n{n}")
        where = rng.choice(["end", "root", "after"]) if order else "end"
        previous = {"end": None, "root": "root", "after": rng.choice(order) if order else None}
        added, _ = receive(
            session, p.ConversationItemCreate(item=item, previous_item_id=previous[where])
        )
        new = added.item.id
        if where == "root":
            order.insert(0, new)
        elif where == "after":
            order.insert(order.index(previous["after"]) + 1, new)  # type: ignore[arg-type]
        else:
            order.append(new)
        at = order.index(new)
        assert added.previous_item_id == (order[at - 1] if at else None)
    assert [s.item.id for s in session.items] == order
    conversation = session._conversation
    assert conversation.chars == sum(wire_chars(s.item) for s in session.items)


def test_the_conversation_refuses_items_past_its_size() -> None:
    session = ServerSession()
    big = p.ConversationItemCreate(item=p.MessageItem.user_text("x" * (4 * MIB)))
    accepted = 0
    while not errors(receive(session, big)):
        accepted += 1
        assert accepted < 10
    assert accepted == MAX_CONVERSATION_CHARS // wire_chars(session.items[0].item)
    assert errors(receive(session, big)) == ["conversation_too_large"]
    receive(session, p.ConversationItemDelete(item_id=session.items[0].item.id or ""))
    assert errors(receive(session, big)) == []  # room again


def test_the_conversation_forgets_the_oldest_user_audio_first() -> None:
    session = ServerSession()
    receive(session, p.SessionUpdate(session=MANUAL))
    turn = 12 * MIB
    for _ in range(3):  # 36 MiB of committed audio
        for _ in range(turn // MIB):
            receive(session, p.InputAudioBufferAppend(audio=bytes(MIB)))
        receive(session, p.InputAudioBufferCommit())
    sizes = [len(s.audio) for s in session.items]
    assert sizes == [0, turn, turn]
    assert sum(sizes) <= MAX_USER_AUDIO_BYTES
    assert len(session.items) == 3  # the items stay


# -- a response's length ---------------------------------------------------------------------


def test_a_response_may_produce_at_most_4096_output_tokens() -> None:
    session = ServerSession()
    outcome = session.receive(p.ResponseCreate().to_json())
    assert isinstance(outcome.action, StartResponse)
    session.begin_response(outcome.action)
    while not session.response_limit_reached():  # 4.5 tokens a round
        session.response_text("word " * 2)
        session.response_audio(bytes(4800))  # 100 ms
    done = session.finish_response("incomplete", "max_output_tokens")[-1]
    assert isinstance(done, p.ResponseDone)
    assert done.response.usage is not None
    output_tokens = done.response.usage.output_tokens or 0
    assert MAX_OUTPUT_TOKENS <= output_tokens < MAX_OUTPUT_TOKENS + 5


def test_a_response_honours_its_max_output_tokens() -> None:
    session = ServerSession()
    update = p.SessionConfig(max_output_tokens=100)
    receive(session, p.SessionUpdate(session=update))
    for params, limit in ((None, 100), (p.ResponseParams(max_output_tokens=10), 10)):
        outcome = session.receive(p.ResponseCreate(response=params).to_json())
        assert isinstance(outcome.action, StartResponse)
        session.begin_response(outcome.action)
        said = 0
        while not session.response_limit_reached():
            session.response_text("abcd")
            said += 1
        assert said == limit
        session.finish_response("incomplete", "max_output_tokens")
