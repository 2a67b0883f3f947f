"""Server VAD's ``idle_timeout_ms`` in the sans-IO session core (audio time, no clock)."""

from __future__ import annotations

import numpy as np

from rtagents import protocol as p
from rtagents.local import ServerSession, synthetic_voice
from rtagents.local._common import StartResponse
from rtagents.local._core import Outcome
from tests.protocol import oracle

FRAME = bytes(960)  # 20 ms of silence, PCM16 24 kHz


def configured(idle_timeout_ms: int | None) -> ServerSession:
    session = ServerSession()
    vad = p.ServerVad(idle_timeout_ms=idle_timeout_ms)
    update = p.SessionConfig(audio=p.AudioConfig(input=p.AudioInputConfig(turn_detection=vad)))
    session.receive(p.SessionUpdate(session=update).to_json())
    return session


def answer(session: ServerSession, audio_ms: int) -> None:
    """A typed question answered with `audio_ms` of audio."""
    session.receive(p.ConversationItemCreate(item=p.MessageItem.user_text("hi")).to_json())
    outcome = session.receive(p.ResponseCreate().to_json())
    assert isinstance(outcome.action, StartResponse)
    session.begin_response(outcome.action)
    session.response_audio(bytes(48 * audio_ms))
    session.finish_response("completed")


def append(session: ServerSession, pcm: bytes) -> list[Outcome]:
    outcomes = []
    for i in range(0, len(pcm), 960):
        outcome = session.receive(p.InputAudioBufferAppend(audio=pcm[i : i + 960]).to_json())
        for event in outcome.events:
            oracle.assert_valid_server_event(event.to_wire())
        outcomes.append(outcome)
    return outcomes


def triggered(outcomes: list[Outcome]) -> list[tuple[int, Outcome]]:
    return [
        (i, o)
        for i, o in enumerate(outcomes)
        if any(isinstance(e, p.InputAudioBufferTimeoutTriggered) for e in o.events)
    ]


def test_silence_after_the_answer_has_played_commits_and_responds() -> None:
    session = configured(idle_timeout_ms=2000)
    answer(session, audio_ms=1000)
    outcomes = append(session, FRAME * 200)  # 4 s of silence
    ((index, outcome),) = triggered(outcomes)
    # The answer's audio plays until 1000 ms of input time; 2000 ms of silence follow.
    assert (index + 1) * 20 == 3000
    event, committed, added, done = outcome.events
    assert isinstance(event, p.InputAudioBufferTimeoutTriggered)
    assert (event.audio_start_ms, event.audio_end_ms) == (1000, 3000)
    assert isinstance(committed, p.InputAudioBufferCommitted)
    assert committed.item_id == event.item_id
    assert isinstance(added, p.ConversationItemAdded)
    assert isinstance(done, p.ConversationItemDone)
    assert isinstance(outcome.action, StartResponse)
    assert session.items[-1].item.id == event.item_id


def test_the_timeout_fires_once_per_answer() -> None:
    session = configured(idle_timeout_ms=500)
    answer(session, audio_ms=100)
    outcomes = append(session, FRAME * 150)  # 3 s: no second trigger without a new answer
    assert len(triggered(outcomes)) == 1


def test_speech_disarms_the_timeout() -> None:
    session = configured(idle_timeout_ms=1000)
    answer(session, audio_ms=200)
    voice = np.rint(synthetic_voice(0.6)).astype("<i2").tobytes()
    outcomes = append(session, FRAME * 20 + voice + FRAME * 100)
    assert triggered(outcomes) == []
    stops = [
        o for o in outcomes if any(e.type == "input_audio_buffer.speech_stopped" for e in o.events)
    ]
    assert len(stops) == 1
    assert isinstance(stops[0].action, StartResponse)


def test_no_timeout_unless_configured() -> None:
    session = configured(idle_timeout_ms=None)
    answer(session, audio_ms=200)
    assert triggered(append(session, FRAME * 500)) == []  # 10 s
