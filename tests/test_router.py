"""The server-event router and the response sequencer: pure, tested without trio.

Events are decoded from wire JSON, as the link would hand them over.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from rtagents import protocol as p
from rtagents._core import router as r
from rtagents._core import turns
from rtagents._core.link_events import LinkClosed
from rtagents._core.sequencer import ResponseSequencer
from rtagents.context import Usage
from rtagents.events import (
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudioEnd,
    RealtimeError,
    RealtimeRawModelEvent,
)

AGENT = object()


def event(**wire: Any) -> Any:
    decoded = p.decode_server_event(json.dumps({"event_id": "ev", **wire}))
    assert not isinstance(decoded, p.ServerProtocolError), decoded
    return decoded


def response(rid: str, status: str = "completed", **more: Any) -> dict[str, Any]:
    return {"object": "realtime.response", "id": rid, "status": status, "output": [], **more}


def router(**kw: Any) -> r.ServerEventRouter:
    return r.ServerEventRouter(usage=Usage(), raw_events=False, **kw)


def kinds(effects: list[r.Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def test_raw_events_come_first_when_asked_for() -> None:
    delta = event(
        type="response.output_text.delta",
        response_id="r",
        item_id="i",
        output_index=0,
        content_index=0,
        delta="hi",
    )
    effects = r.ServerEventRouter(usage=Usage()).route(delta, AGENT)
    assert isinstance(effects[0], r.Emit)
    assert isinstance(effects[0].event, RealtimeRawModelEvent)
    assert not any(
        isinstance(e, r.Emit) and isinstance(e.event, RealtimeRawModelEvent)
        for e in router().route(delta, AGENT)
    )


def test_an_audio_delta_feeds_its_duration_in_the_output_format() -> None:
    pcm = bytes(4800)  # 100 ms at 24 kHz
    delta = event(
        type="response.output_audio.delta",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(pcm).decode(),
    )
    rt = router()
    (feed,) = rt.route(delta, AGENT)
    assert feed == r.Feed(turns.AudioReceived("r1", "i1", 0, 100.0), pcm)
    # after a session.updated to μ-law, the same bytes last three times as long
    updated = event(
        type="session.updated",
        session={"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}},
    )
    (changed,) = rt.route(updated, AGENT)
    assert changed == r.SessionChanged(p.AudioFormat.pcm(), p.AudioFormat.pcmu(), False)
    (feed,) = rt.route(delta, AGENT)
    assert isinstance(feed, r.Feed)
    assert isinstance(feed.input, turns.AudioReceived)
    assert feed.input.ms == 600.0


def test_session_changed_says_whether_server_vad_cancels_on_speech() -> None:
    updated = event(
        type="session.updated",
        session={
            "type": "realtime",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcma"},
                    "turn_detection": {"type": "server_vad", "interrupt_response": True},
                }
            },
        },
    )
    (changed,) = router().route(updated, AGENT)
    assert changed == r.SessionChanged(p.AudioFormat.pcma(), p.AudioFormat.pcm(), True)


def test_a_response_starts_and_ends_with_its_agent_and_usage() -> None:
    rt = router()
    started = rt.route(
        event(type="response.created", response=response("r1", "in_progress")), AGENT
    )
    assert kinds(started) == ["Feed", "Emit", "AgentStarted"]
    assert started[0] == r.Feed(turns.ResponseStarted("r1"))
    assert started[1] == r.Emit(RealtimeAgentStartEvent(AGENT, "r1"))
    usage = {"total_tokens": 7, "input_tokens": 5, "output_tokens": 2}
    other_agent = object()  # a handoff switched the session meanwhile
    done = rt.route(event(type="response.done", response=response("r1", usage=usage)), other_agent)
    assert done[0] == r.Feed(turns.ResponseFinished("r1", "completed"))
    assert r.Emit(RealtimeAgentEndEvent(AGENT, "r1", "completed")) in done
    assert r.AgentEnded(AGENT, "") in done  # the agent that produced it
    assert rt.usage.total_tokens == 7
    assert rt.last_response_id == "r1"


def test_a_failed_response_is_an_error_event_with_the_reason() -> None:
    failed = response(
        "r2",
        "failed",
        status_details={
            "type": "failed",
            "error": {"type": "server_error", "message": "brain down"},
        },
    )
    effects = router().route(event(type="response.done", response=failed), AGENT)
    errors = [
        e.event for e in effects if isinstance(e, r.Emit) and isinstance(e.event, RealtimeError)
    ]
    assert errors
    assert "brain down" in str(errors[0].error)


def test_a_finished_function_call_goes_to_the_agent_side() -> None:
    item = {
        "type": "function_call",
        "id": "fc1",
        "call_id": "c1",
        "name": "lookup",
        "arguments": "{}",
        "status": "completed",
    }
    effects = router().route(
        event(type="response.output_item.done", response_id="r", output_index=0, item=item), AGENT
    )
    calls = [e for e in effects if isinstance(e, r.CallFunction)]
    assert len(calls) == 1
    assert calls[0].item.call_id == "c1"


def test_text_goes_to_history_and_to_the_guardrails() -> None:
    rt = router()
    rt.route(
        event(
            type="conversation.item.added",
            item={"type": "message", "id": "m1", "role": "assistant", "content": []},
        ),
        AGENT,
    )
    effects = rt.route(
        event(
            type="response.output_audio_transcript.delta",
            response_id="r",
            item_id="m1",
            output_index=0,
            content_index=0,
            delta="Hel",
        ),
        AGENT,
    )
    assert r.CheckText("r", "m1", "Hel") in effects
    assert any(isinstance(e, r.Emit) for e in effects)  # a history update
    done = rt.route(
        event(
            type="response.output_audio_transcript.done",
            response_id="r",
            item_id="m1",
            output_index=0,
            content_index=0,
            transcript="Hel",
        ),
        AGENT,
    )
    assert done == [r.TextDone("m1")]


def test_a_truncation_is_fetched_back_to_show_what_was_heard() -> None:
    effects = router().route(
        event(type="conversation.item.truncated", item_id="m1", content_index=0, audio_end_ms=300),
        AGENT,
    )
    assert r.Send(p.ConversationItemRetrieve(item_id="m1")) in effects


def test_audio_done_ends_the_item_for_playback() -> None:
    effects = router().route(
        event(
            type="response.output_audio.done",
            response_id="r",
            item_id="m1",
            output_index=0,
            content_index=0,
        ),
        AGENT,
    )
    assert effects == [r.EndAudio("m1"), r.Emit(RealtimeAudioEnd("m1", 0))]


def test_our_own_late_cancel_is_not_an_error_but_others_are() -> None:
    rt = router()
    cancel = rt.cancel_event("r1")
    assert cancel.event_id is not None
    assert cancel.event_id.startswith(r.CANCEL_ID)
    late = event(
        type="error",
        error={
            "type": "invalid_request_error",
            "message": "none",
            "code": "response_cancel_not_active",
            "event_id": cancel.event_id,
        },
    )
    assert rt.route(late, AGENT) == []
    theirs = event(
        type="error",
        error={
            "type": "invalid_request_error",
            "message": "bad",
            "code": "response_cancel_not_active",
            "event_id": "x",
        },
    )
    assert kinds(rt.route(theirs, AGENT)) == ["Emit"]


def test_a_link_closed_abnormally_is_an_error_a_normal_close_is_not() -> None:
    rt = router()
    assert rt.route(LinkClosed(code=1000, reason="", by="peer"), AGENT) == []
    assert rt.route(LinkClosed(code=None, reason="", by="local"), AGENT) == []
    (error,) = rt.route(LinkClosed(code=1011, reason="boom", by="peer"), AGENT)
    assert isinstance(error, r.Emit)
    assert isinstance(error.event, RealtimeError)
    assert "1011" in str(error.event.error)


def test_events_it_does_not_route_change_nothing() -> None:
    rt = router()
    assert rt.route(event(type="rate_limits.updated", rate_limits=[]), AGENT) == []
    assert rt.route(object(), AGENT) == []


# -- the response sequencer -------------------------------------------------------------------


def test_one_create_at_a_time_and_requests_coalesce() -> None:
    seq = ResponseSequencer()
    first = seq.request()
    assert first is not None
    assert first.event_id == "rtagents_response_create_1"
    assert seq.request() is None  # in flight
    seq.on_created()
    assert seq.request() is None  # a response runs
    assert seq.request() is None
    second = seq.on_done()
    assert second is not None
    assert second.event_id == "rtagents_response_create_2"
    seq.on_created()
    assert seq.on_done() is None  # nothing was waiting
    assert seq.request() is not None


def test_a_refused_create_releases_the_next_request() -> None:
    seq = ResponseSequencer()
    first = seq.request()
    assert first is not None
    assert seq.request() is None  # waits for the first
    assert seq.on_error("someone_elses_event") is None
    retry = seq.on_error(first.event_id)
    assert retry is not None  # the pending request goes out instead of wedging the session
    assert seq.on_error(first.event_id) is None


def test_the_router_sends_the_pending_create_when_the_response_is_done() -> None:
    rt = router()
    assert rt.sequencer.request() is not None
    rt.route(event(type="response.created", response=response("r1", "in_progress")), AGENT)
    assert rt.sequencer.request() is None
    done = rt.route(event(type="response.done", response=response("r1")), AGENT)
    sends = [e.event for e in done if isinstance(e, r.Send)]
    assert len(sends) == 1
    assert isinstance(sends[0], p.ResponseCreate)
