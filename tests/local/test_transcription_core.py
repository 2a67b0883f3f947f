"""The sans-IO core's side of transcription: the caller's speech handed out as ``UserAudio``
pieces while it arrives, the transcript reported back, and failed responses.

Rules: no clock, no I/O; every event the core produces here is validated strictly against the
official ``openai`` types; audio positions are exact (derived from samples).
"""

from __future__ import annotations

import itertools

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import native
from rtagents import protocol as p
from rtagents.local._common import StartResponse
from rtagents.local._config import DEFAULT_SESSION
from rtagents.local._core import Outcome, ServerSession
from rtagents.local._input import UserAudio
from rtagents.testing import silence, voice
from tests.protocol import oracle

BYTES_PER_MS = 48  # PCM16 at 24 kHz
FRAME = 960  # 20 ms
# Two utterances; the pause between them (1 s) is longer than silence_duration_ms (500 ms)
# plus prefix_padding_ms (300 ms), so each is its own item.
TWO_TURNS = silence(0.5) + voice(1.0) + silence(1.0) + voice(0.8, seed=2) + silence(1.0)
# A shorter pair for the many-small-appends tests: VAD with 200 ms silence, 100 ms padding.
DEFAULT_VAD = p.ServerVad()
SHORT_VAD = p.ServerVad(silence_duration_ms=200, prefix_padding_ms=100)
SHORT_TURNS = silence(0.2) + voice(0.3) + silence(0.4) + voice(0.3, seed=1) + silence(0.3)


def valid(events: list[p.WireEvent]) -> list[p.WireEvent]:
    for event in events:
        oracle.assert_valid_server_event(event.to_wire())
    return events


def update(session: ServerSession, config: p.SessionConfig) -> None:
    outcome = session.receive(p.SessionUpdate(session=config).to_json())
    valid(outcome.events)
    assert isinstance(outcome.events[0], p.SessionUpdated)


def vad_session(vad: p.ServerVad | None = None) -> ServerSession:
    session = ServerSession(stream_user_audio=True)
    if vad is not None:
        update(
            session,
            p.SessionConfig(audio=p.AudioConfig(input=p.AudioInputConfig(turn_detection=vad))),
        )
    return session


def manual_session(*, stream: bool = True) -> ServerSession:
    """A session with turn detection off, built directly (session.update has its own test)."""
    assert DEFAULT_SESSION.audio is not None
    assert DEFAULT_SESSION.audio.input is not None
    audio = attrs.evolve(
        DEFAULT_SESSION.audio, input=attrs.evolve(DEFAULT_SESSION.audio.input, turn_detection=None)
    )
    session = ServerSession(
        config=attrs.evolve(DEFAULT_SESSION, audio=audio), stream_user_audio=stream
    )
    assert session.turn_detection is None
    return session


def append(session: ServerSession, data: bytes) -> Outcome:
    return session.receive(p.InputAudioBufferAppend(audio=data).to_json())


def feed(session: ServerSession, pcm: bytes, sizes: list[int]) -> list[tuple[int, Outcome]]:
    """Append `pcm` in chunks of the given sizes (cycled); (end offset, outcome) per append."""
    out = []
    position = 0
    for size in itertools.cycle(sizes):
        if position >= len(pcm):
            break
        chunk = pcm[position : position + size]
        position += len(chunk)
        out.append((position, append(session, chunk)))
    return out


def pieces_of(outcomes: list[tuple[int, Outcome]]) -> list[UserAudio]:
    return [piece for _, outcome in outcomes for piece in outcome.user_audio]


def by_item(pieces: list[UserAudio]) -> dict[str, list[UserAudio]]:
    grouped: dict[str, list[UserAudio]] = {}
    for piece in pieces:
        grouped.setdefault(piece.item_id, []).append(piece)
    return grouped


def events_of(outcomes: list[tuple[int, Outcome]]) -> list[p.WireEvent]:
    return [event for _, outcome in outcomes for event in outcome.events]


@attrs.frozen
class Turn:
    item_id: str
    start_byte: int  # speech start (prefix padding included), from the session's start
    decision_byte: int  # where the VAD decided that speech stopped
    commit_byte: int  # the end of the append that committed the item


def turns(outcomes: list[tuple[int, Outcome]], vad: p.ServerVad = DEFAULT_VAD) -> list[Turn]:
    silence_ms = vad.silence_duration_ms or 500
    found: list[Turn] = []
    start = 0
    end_ms = 0
    for position, outcome in outcomes:
        for event in outcome.events:
            if isinstance(event, p.InputAudioBufferSpeechStarted):
                start = event.audio_start_ms * BYTES_PER_MS
            elif isinstance(event, p.InputAudioBufferSpeechStopped):
                end_ms = event.audio_end_ms
            elif isinstance(event, p.InputAudioBufferCommitted):
                decision = (end_ms + silence_ms) * BYTES_PER_MS
                found.append(Turn(event.item_id, start, decision, position))
    return found


def check_streaming(
    session: ServerSession, outcomes: list[tuple[int, Outcome]], pcm: bytes, origin_ms: int = 0
) -> None:
    """The invariants of streamed speech, whatever the chunking.  `pcm` was appended from
    `origin_ms` of input audio on, into an empty buffer."""
    valid(events_of(outcomes))
    grouped = by_item(pieces_of(outcomes))
    committed = [
        e.item_id for e in events_of(outcomes) if isinstance(e, p.InputAudioBufferCommitted)
    ]
    assert list(grouped) == committed
    buffer_start = 0  # in `pcm`
    for item_id, pieces in grouped.items():
        kinds = [piece.kind for piece in pieces]
        assert kinds.count("commit") == 1, kinds
        assert kinds[-1] == "commit", kinds
        assert "discard" not in kinds
        assert all(piece.rate == 24000 for piece in pieces)
        assert all(len(piece.pcm) % 2 == 0 for piece in pieces)
        assert all(piece.pcm for piece in pieces[:-1])  # no empty "audio" pieces
        whole = session.user_audio(item_id)
        started = next(
            e
            for e in events_of(outcomes)
            if isinstance(e, p.InputAudioBufferSpeechStarted) and e.item_id == item_id
        )
        offset = (started.audio_start_ms - origin_ms) * BYTES_PER_MS - buffer_start
        assert offset >= 0
        joined = b"".join(piece.pcm for piece in pieces)
        assert joined == whole[offset:]
        assert whole == pcm[buffer_start : buffer_start + len(whole)]
        buffer_start += len(whole)


def test_pieces_stream_the_item_from_its_speech_start_to_its_commit() -> None:
    session = vad_session()
    outcomes = feed(session, TWO_TURNS, [FRAME])
    check_streaming(session, outcomes, TWO_TURNS)
    first, second = turns(outcomes)
    # 20 ms frames on 10 ms VAD frames: the commit is at the VAD's decision exactly.
    assert (first.start_byte, first.commit_byte) == (200 * BYTES_PER_MS, 2000 * BYTES_PER_MS)
    assert first.commit_byte == first.decision_byte
    assert second.commit_byte == second.decision_byte
    grouped = by_item(pieces_of(outcomes))
    for turn in (first, second):
        joined = b"".join(piece.pcm for piece in grouped[turn.item_id])
        assert joined == TWO_TURNS[turn.start_byte : turn.commit_byte]
    # Pieces only once speech has started: the first comes with speech_started.
    first_piece = next(i for i, (_, o) in enumerate(outcomes) if o.user_audio)
    started = next(
        i
        for i, (_, o) in enumerate(outcomes)
        if any(isinstance(e, p.InputAudioBufferSpeechStarted) for e in o.events)
    )
    assert first_piece == started
    assert outcomes[first_piece][1].user_audio[0].item_id == first.item_id
    # The commit piece travels with the committed event, and between turns nothing is sent.
    for position, outcome in outcomes:
        if any(piece.kind == "commit" for piece in outcome.user_audio):
            assert any(isinstance(e, p.InputAudioBufferCommitted) for e in outcome.events)
        if first.commit_byte < position <= second.start_byte:
            assert outcome.user_audio == []


def test_two_byte_appends_give_the_same_pieces_as_frames() -> None:
    reference = vad_session(SHORT_VAD)
    ref_outcomes = feed(reference, SHORT_TURNS, [FRAME])
    session = vad_session(SHORT_VAD)
    outcomes = feed(session, SHORT_TURNS, [2])
    check_streaming(session, outcomes, SHORT_TURNS)
    assert [t.item_id for t in turns(outcomes, SHORT_VAD)] == [
        t.item_id for t in turns(ref_outcomes, SHORT_VAD)
    ]
    for turn in turns(outcomes, SHORT_VAD):
        assert turn.commit_byte == turn.decision_byte  # sample-exact
    joined = {k: b"".join(x.pcm for x in v) for k, v in by_item(pieces_of(outcomes)).items()}
    ref_joined = {
        k: b"".join(x.pcm for x in v) for k, v in by_item(pieces_of(ref_outcomes)).items()
    }
    assert joined == ref_joined
    assert len(joined) == 2


def _reference() -> tuple[list[Turn], dict[str, bytes]]:
    session = vad_session(SHORT_VAD)
    outcomes = feed(session, SHORT_TURNS, [2])
    joined = {k: b"".join(x.pcm for x in v) for k, v in by_item(pieces_of(outcomes)).items()}
    return turns(outcomes, SHORT_VAD), joined


REFERENCE = _reference()

# Chunks of 1..100 ms, some of them appended two bytes (one sample) at a time.  Appends off the
# millisecond grid and appends holding two turns have their own tests below.
CHUNKS = st.lists(st.tuples(st.integers(1, 100), st.booleans()), min_size=1, max_size=12)


def feed_chunks(
    session: ServerSession, pcm: bytes, chunks: list[tuple[int, bool]]
) -> list[tuple[int, Outcome]]:
    out = []
    position = 0
    for ms, sample_wise in itertools.cycle(chunks):
        if position >= len(pcm):
            break
        if sample_wise:
            ms = min(ms, 10)  # keeps the example fast
        end = min(position + ms * BYTES_PER_MS, len(pcm))
        step = 2 if sample_wise else end - position
        for at in range(position, end, step):
            out.append((at + step, append(session, pcm[at : at + step])))
        position = end
    return out


@settings(max_examples=20, deadline=None)
@given(chunks=CHUNKS)
def test_any_chunking_streams_the_same_speech(chunks: list[tuple[int, bool]]) -> None:
    session = vad_session(SHORT_VAD)
    outcomes = feed_chunks(session, SHORT_TURNS, chunks)
    check_streaming(session, outcomes, SHORT_TURNS)
    ref_turns, ref_joined = REFERENCE
    got = turns(outcomes, SHORT_VAD)
    assert [(t.item_id, t.start_byte, t.decision_byte) for t in got] == [
        (t.item_id, t.start_byte, t.decision_byte) for t in ref_turns
    ]
    grouped = by_item(pieces_of(outcomes))
    for turn in got:
        joined = b"".join(piece.pcm for piece in grouped[turn.item_id])
        # The item ends at the VAD's decision, however the audio was chunked: what follows
        # the decision in the same append stays buffered for the next item.
        assert joined == SHORT_TURNS[turn.start_byte : turn.decision_byte]
        assert joined == ref_joined[turn.item_id]


def test_appends_off_the_millisecond_grid_stream_from_the_speech_start() -> None:
    session = vad_session(SHORT_VAD)
    outcomes = feed(session, SHORT_TURNS, [18])  # 9 samples: commits end mid-millisecond
    grouped = by_item(pieces_of(outcomes))
    first, second = turns(outcomes, SHORT_VAD)
    assert first.commit_byte % BYTES_PER_MS  # the premise: the deciding append ends mid-ms
    for turn in (first, second):
        joined = b"".join(piece.pcm for piece in grouped[turn.item_id])
        assert joined == SHORT_TURNS[turn.start_byte : turn.decision_byte]


def test_one_append_holding_two_turns_gives_each_item_its_own_speech() -> None:
    session = vad_session()
    (outcome,) = [o for _, o in feed(session, TWO_TURNS, [len(TWO_TURNS)])]
    first, second = [
        e.item_id for e in outcome.events if isinstance(e, p.InputAudioBufferCommitted)
    ]
    grouped = by_item(outcome.user_audio)
    # The first turn's VAD decision is at 2000 ms; the second turn's speech starts at 2200 ms.
    assert session.user_audio(first) == TWO_TURNS[: 2000 * BYTES_PER_MS]
    assert (
        b"".join(x.pcm for x in grouped[second])
        == TWO_TURNS[2200 * BYTES_PER_MS : 3800 * BYTES_PER_MS]
    )


def test_manual_commit_without_vad_is_one_commit_piece_with_the_whole_buffer() -> None:
    session = manual_session()
    audio = silence(0.2) + voice(0.5) + silence(0.2)
    outcomes = feed(session, audio, [FRAME])
    assert pieces_of(outcomes) == []  # no VAD: nothing streams before the commit
    assert events_of(outcomes) == []
    outcome = session.receive(p.InputAudioBufferCommit().to_json())
    valid(outcome.events)
    committed = outcome.events[0]
    assert isinstance(committed, p.InputAudioBufferCommitted)
    (piece,) = outcome.user_audio
    assert (piece.item_id, piece.kind, piece.rate) == (committed.item_id, "commit", 24000)
    assert piece.pcm == audio == session.user_audio(committed.item_id)
    # A second turn is a new item with only its own audio.
    feed(session, voice(0.3), [FRAME])
    (second,) = session.receive(p.InputAudioBufferCommit().to_json()).user_audio
    assert second.item_id != committed.item_id
    assert second.pcm == voice(0.3)


def test_session_update_with_null_turn_detection_turns_vad_off() -> None:
    session = vad_session()
    update(
        session, p.SessionConfig(audio=p.AudioConfig(input=p.AudioInputConfig(turn_detection=None)))
    )
    assert session.turn_detection is None
    outcomes = feed(session, TWO_TURNS, [FRAME])
    assert events_of(outcomes) == []


def test_session_update_with_null_transcription_turns_it_off() -> None:
    session = vad_session()
    on = p.AudioInputConfig(transcription=p.Transcription(model="x"))
    update(session, p.SessionConfig(audio=p.AudioConfig(input=on)))
    assert session.transcription_enabled
    off = p.AudioInputConfig(transcription=None)
    update(session, p.SessionConfig(audio=p.AudioConfig(input=off)))
    assert not session.transcription_enabled


def test_clear_during_speech_discards_the_streamed_item() -> None:
    session = vad_session()
    outcomes = feed(session, silence(0.2) + voice(0.6), [FRAME])
    started = [e for e in events_of(outcomes) if isinstance(e, p.InputAudioBufferSpeechStarted)]
    (item_id,) = [e.item_id for e in started]
    streamed = pieces_of(outcomes)
    assert streamed
    assert all(x.kind == "audio" and x.item_id == item_id for x in streamed)
    outcome = session.receive(p.InputAudioBufferClear().to_json())
    valid(outcome.events)
    assert outcome.user_audio == [UserAudio(item_id, b"", 24000, "discard")]
    assert session.conversation() == ()
    # Silence afterwards streams nothing; the next speech is a fresh item, committed normally.
    again = silence(0.3) + voice(0.5, seed=3) + silence(0.8)
    later = feed(session, again, [FRAME])
    check_streaming(session, later, again, origin_ms=800)
    (turn,) = turns(later)
    assert turn.item_id != item_id
    assert {x.item_id for x in pieces_of(later)} == {turn.item_id}


def test_without_stream_user_audio_no_pieces_ever() -> None:
    session = ServerSession(stream_user_audio=False)
    outcomes = feed(session, TWO_TURNS + voice(0.5), [FRAME])
    assert len(turns(outcomes)) == 2
    assert pieces_of(outcomes) == []
    assert session.receive(p.InputAudioBufferClear().to_json()).user_audio == []
    feed(session, voice(0.3), [FRAME])
    assert session.receive(p.InputAudioBufferCommit().to_json()).user_audio == []
    assert [len(s.audio) > 0 for s in session.items] == [True, True, True]


def test_mu_law_input_streams_pcm16_at_8_khz() -> None:
    session = ServerSession(stream_user_audio=True)
    pcmu = p.AudioInputConfig(format=p.AudioFormat.pcmu())
    update(session, p.SessionConfig(audio=p.AudioConfig(input=pcmu)))
    ulaw = native.Resampler(24000, 8000).process_to_ulaw(silence(0.5) + voice(1.0) + silence(1.0))
    outcomes = feed(session, ulaw, [160])  # 20 ms of μ-law
    valid(events_of(outcomes))
    pieces = pieces_of(outcomes)
    assert pieces
    assert {x.rate for x in pieces} == {8000}
    (turn,) = turns(outcomes)
    assert [x.kind for x in pieces][-1] == "commit"
    started = next(e for e in events_of(outcomes) if isinstance(e, p.InputAudioBufferSpeechStarted))
    pcm8k = p.AudioFormat.pcmu().to_pcm16(ulaw)
    whole = session.user_audio(turn.item_id)
    assert whole == pcm8k[: len(whole)]
    joined = b"".join(x.pcm for x in pieces)
    assert joined == whole[started.audio_start_ms * 16 :]  # 16 bytes per ms at 8 kHz


def committed_item(session: ServerSession) -> str:
    outcomes = feed(session, silence(0.2) + voice(0.5) + silence(0.7), [FRAME])
    (turn,) = turns(outcomes)
    return turn.item_id


def transcript_of(session: ServerSession, item_id: str) -> str | None:
    (item,) = [i for i in session.conversation() if i.id == item_id]
    assert isinstance(item, p.MessageItem)
    (part,) = item.content
    assert isinstance(part, p.InputAudioContent)
    return part.transcript


def test_completed_transcript_fills_the_item_even_when_transcription_is_off() -> None:
    session = vad_session()
    item_id = committed_item(session)
    assert not session.transcription_enabled
    assert transcript_of(session, item_id) is None
    assert session.transcription_delta(item_id, "hello") == []
    assert session.transcription_failed(item_id, "oops") == []
    assert session.transcription_completed(item_id, "hello there", audio_seconds=0.5) == []
    assert transcript_of(session, item_id) == "hello there"


def test_transcription_events_when_the_session_asks_for_them() -> None:
    session = vad_session()
    on = p.AudioInputConfig(transcription=p.Transcription(model="x"))
    update(session, p.SessionConfig(audio=p.AudioConfig(input=on)))
    assert session.transcription_enabled
    item_id = committed_item(session)
    (delta,) = valid(session.transcription_delta(item_id, "hello"))
    assert isinstance(delta, p.InputAudioTranscriptionDelta)
    assert (delta.item_id, delta.content_index, delta.delta) == (item_id, 0, "hello")
    assert session.transcription_delta(item_id, "") == []  # nothing to say
    (done,) = valid(session.transcription_completed(item_id, "hello there", audio_seconds=1.23456))
    assert isinstance(done, p.InputAudioTranscriptionCompleted)
    assert (done.item_id, done.content_index, done.transcript) == (item_id, 0, "hello there")
    assert done.usage == p.TranscriptDurationUsage(seconds=1.235)
    assert transcript_of(session, item_id) == "hello there"
    (failed,) = valid(session.transcription_failed(item_id, "no decoder"))
    assert isinstance(failed, p.InputAudioTranscriptionFailed)
    assert failed.item_id == item_id
    assert failed.error.message == "no decoder"
    # Unknown items, and items deleted meanwhile, are ignored.
    assert session.transcription_delta("item_nope", "x") == []
    assert session.transcription_completed("item_nope", "x", audio_seconds=1) == []
    assert session.transcription_failed("item_nope", "x") == []
    valid(session.receive(p.ConversationItemDelete(item_id=item_id).to_json()).events)
    assert session.transcription_delta(item_id, "x") == []
    assert session.transcription_completed(item_id, "x", audio_seconds=1) == []
    assert session.transcription_failed(item_id, "x") == []
    # Event ids stay unique.
    ids = [e.event_id for e in (delta, done, failed)]
    assert len(set(ids)) == 3


def test_failed_response_carries_the_reason() -> None:
    session = ServerSession()
    session.receive(p.ConversationItemCreate(item=p.MessageItem.user_text("hi")).to_json())
    action = session.receive(p.ResponseCreate().to_json()).action
    assert isinstance(action, StartResponse)
    valid(session.begin_response(action))
    valid(session.response_text("Half an ans"))
    events = valid(session.finish_response("failed", "the brain is unreachable"))
    done = events[-1]
    assert isinstance(done, p.ResponseDone)
    assert done.response.id == action.response_id
    assert done.response.status == "failed"
    details = done.response.status_details
    assert details is not None
    assert details.type == "failed"
    assert details.error is not None
    assert details.error.message == "the brain is unreachable"
    assert details.error.type == "server_error"
    assert session.active is None
    # The conversation goes on: the next response can start.
    assert isinstance(session.receive(p.ResponseCreate().to_json()).action, StartResponse)
