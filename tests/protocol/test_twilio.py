"""Twilio Media Streams, sans-IO: round trips, Twilio's own shapes, garbage that never raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtagents.protocol import twilio as tw

sids = st.text(alphabet="ABCDEFabcdef0123456789MZ", min_size=1, max_size=34)
counters = st.integers(min_value=0, max_value=2**40)
names = st.text(max_size=40)

events = st.one_of(
    st.builds(tw.Connected, protocol=st.just("Call"), version=st.just("1.0.0")),
    st.builds(
        tw.Start,
        sequence_number=counters,
        stream_sid=sids,
        account_sid=sids,
        call_sid=sids,
        tracks=st.tuples(st.sampled_from(["inbound", "outbound"])),
        custom_parameters=st.dictionaries(names, names, max_size=4),
        media_format=st.builds(
            tw.MediaFormat,
            encoding=st.just("audio/x-mulaw"),
            sample_rate=st.sampled_from([8000, 16000]),
            channels=st.just(1),
        ),
    ),
    st.builds(
        tw.Media,
        sequence_number=counters,
        stream_sid=sids,
        track=st.sampled_from(["inbound", "outbound"]),
        chunk=counters,
        timestamp_ms=counters,
        payload=st.binary(max_size=1000),
    ),
    st.builds(tw.Mark, sequence_number=counters, stream_sid=sids, name=names),
    st.builds(
        tw.Dtmf,
        sequence_number=counters,
        stream_sid=sids,
        track=st.just("inbound_track"),
        digit=st.sampled_from(list("0123456789*#")),
    ),
    st.builds(tw.Stop, sequence_number=counters, stream_sid=sids, account_sid=sids, call_sid=sids),
)


@given(events)
def test_every_event_round_trips(event: tw.TwilioEvent) -> None:
    assert tw.parse_twilio_message(event.to_json()) == event
    assert tw.parse_twilio_message(event.to_json().encode()) == event


def test_twilio_s_own_shapes() -> None:
    """Messages as Twilio documents them (counters as strings, ints in mediaFormat)."""
    start = {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": "MZ18ad3ab5a668481ce02b83e7395059f0",
        "start": {
            "accountSid": "AC123",
            "streamSid": "MZ18ad3ab5a668481ce02b83e7395059f0",
            "callSid": "CA123",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"caller": "+15550100"},
        },
    }
    parsed = tw.parse_twilio_message(json.dumps(start))
    assert isinstance(parsed, tw.Start)
    assert (parsed.call_sid, parsed.custom_parameters) == ("CA123", {"caller": "+15550100"})
    assert parsed.media_format == tw.MediaFormat()
    media = {
        "event": "media",
        "sequenceNumber": "3",
        "media": {"track": "inbound", "chunk": "1", "timestamp": "5", "payload": "////" * 40},
        "streamSid": "MZ1",
    }
    parsed_media = tw.parse_twilio_message(json.dumps(media))
    assert isinstance(parsed_media, tw.Media)
    assert parsed_media.payload == b"\xff" * 120
    assert (parsed_media.chunk, parsed_media.timestamp_ms) == (1, 5)
    connected = tw.parse_twilio_message('{"event":"connected","protocol":"Call","version":"1.0.0"}')
    assert connected == tw.Connected()
    stop = tw.parse_twilio_message(
        '{"event":"stop","sequenceNumber":"5","streamSid":"MZ1",'
        '"stop":{"accountSid":"AC1","callSid":"CA1"}}'
    )
    assert stop == tw.Stop(sequence_number=5, stream_sid="MZ1", account_sid="AC1", call_sid="CA1")


@given(st.text(alphabet="ABCDEFMZ0123456789", min_size=1, max_size=34), st.binary(max_size=2000))
def test_what_we_send_reads_back_as_twilio_reads_it(sid: str, payload: bytes) -> None:
    assert tw.parse_outbound_message(tw.media_message(sid, payload)) == tw.OutboundMedia(
        stream_sid=sid, payload=payload
    )
    assert tw.parse_outbound_message(tw.mark_message(sid, "m1")) == tw.OutboundMark(
        stream_sid=sid, name="m1"
    )
    assert tw.parse_outbound_message(tw.clear_message(sid)) == tw.OutboundClear(stream_sid=sid)
    wire = json.loads(tw.media_message(sid, payload))
    assert set(wire) == {"event", "streamSid", "media"}
    assert set(wire["media"]) == {"payload"}


def test_a_stream_sid_cannot_inject_json() -> None:
    for bad in ["", 'MZ"', "MZ\\"]:
        with pytest.raises(ValueError, match="not a stream sid"):
            tw.media_message(bad, b"\xff")


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_garbage_never_raises(frame: bytes | str) -> None:
    assert isinstance(
        tw.parse_twilio_message(frame),
        tw.Connected
        | tw.Start
        | tw.Media
        | tw.Mark
        | tw.Dtmf
        | tw.Stop
        | tw.UnknownTwilioEvent
        | tw.MalformedTwilioMessage,
    )
    assert isinstance(
        tw.parse_outbound_message(frame),
        tw.OutboundMedia | tw.OutboundMark | tw.OutboundClear | tw.MalformedTwilioMessage,
    )


@given(events)
def test_every_cut_of_a_message_is_a_value(event: tw.TwilioEvent) -> None:
    text = event.to_json()
    for end in range(len(text)):
        parsed = tw.parse_twilio_message(text[:end])
        assert isinstance(parsed, tw.MalformedTwilioMessage)


def _media(**changes: Any) -> dict[str, Any]:
    media = {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": "/w=="}
    message: dict[str, Any] = {"event": "media", "sequenceNumber": "2", "streamSid": "MZ1"}
    message["media"] = media
    for key, value in changes.items():
        target = media if key in media else message
        if value is None:
            target.pop(key)
        else:
            target[key] = value
    return message


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"payload": "not base64!"}, "'payload' is not base64"),
        ({"payload": None}, "'payload' is missing"),
        ({"payload": 5}, "'payload' is missing or not a string"),
        ({"chunk": "one"}, "'chunk' is missing or not a decimal"),
        ({"chunk": "-1"}, "'chunk' is missing or not a decimal"),
        ({"timestamp": True}, "'timestamp' is not a number"),
        ({"sequenceNumber": None}, "'sequenceNumber' is missing"),
        ({"streamSid": 7}, "'streamSid' is missing or not a string"),
        ({"media": "x"}, "'media' is missing or not an object"),
        ({"event": 3}, "'event' is missing"),
    ],
)
def test_malformed_frames_say_why(changes: dict[str, Any], reason: str) -> None:
    parsed = tw.parse_twilio_message(json.dumps(_media(**changes)))
    assert isinstance(parsed, tw.MalformedTwilioMessage)
    assert reason in parsed.reason


def test_any_payload_length_and_unknown_events() -> None:
    for size in (0, 1, 160, 161, 4000):
        message = _media(
            payload=tw.media_message("MZ1", b"\x7f" * size).split('"payload":"')[1][:-3]
        )
        parsed = tw.parse_twilio_message(json.dumps(message))
        assert isinstance(parsed, tw.Media)
        assert parsed.payload == b"\x7f" * size
    unknown = tw.parse_twilio_message('{"event":"newthing","x":1}')
    assert isinstance(unknown, tw.UnknownTwilioEvent)
    assert unknown.event == "newthing"
    assert isinstance(tw.parse_twilio_message("[1]"), tw.MalformedTwilioMessage)
    assert isinstance(tw.parse_twilio_message(b"\xff\xfe"), tw.MalformedTwilioMessage)
    bad_digit = tw.parse_twilio_message(
        '{"event":"dtmf","sequenceNumber":"1","streamSid":"MZ1","dtmf":{"digit":"12"}}'
    )
    assert isinstance(bad_digit, tw.MalformedTwilioMessage)


def test_outbound_only_media_mark_and_clear() -> None:
    parsed = tw.parse_outbound_message('{"event":"start","streamSid":"MZ1"}')
    assert isinstance(parsed, tw.MalformedTwilioMessage)
    assert "not 'start'" in parsed.reason
