"""The TwiML that connects a call to a stream: byte-for-byte the official ``twilio`` package's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st
from twilio.twiml.voice_response import Connect, VoiceResponse  # type: ignore[import-untyped]

from rtagents.phone import connect_stream_twiml


def oracle(url: str, parameters: dict[str, str]) -> str:
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


# What XML 1.0 can carry (the oracle writes other characters raw, which is not XML).
xml_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or c >= " "
    )
)


def test_the_shape_twilio_writes() -> None:
    params = {"From": "+15550100", "To": "+15550199", "CallSid": "CA123"}
    twiml = connect_stream_twiml("wss://example.ngrok.app/twilio/media", params)
    assert twiml == oracle("wss://example.ngrok.app/twilio/media", params)
    assert twiml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
        '<Stream url="wss://example.ngrok.app/twilio/media">'
        '<Parameter name="From" value="+15550100" /><Parameter name="To" value="+15550199" />'
        '<Parameter name="CallSid" value="CA123" /></Stream></Connect></Response>'
    )
    assert connect_stream_twiml("wss://h/m", {}) == oracle("wss://h/m", {})


@given(url=xml_text, parameters=st.dictionaries(xml_text, xml_text, max_size=4))
def test_escaping_matches_the_twilio_library_and_parses_back(
    url: str, parameters: dict[str, str]
) -> None:
    twiml = connect_stream_twiml(url, parameters)
    assert twiml == oracle(url, parameters)
    stream = ET.fromstring(twiml.encode()).find("Connect/Stream")
    assert stream is not None
    assert stream.get("url") == url
    got = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert got == parameters


@given(st.text())
def test_what_xml_cannot_carry_is_left_out_and_the_rest_still_parses(value: str) -> None:
    twiml = connect_stream_twiml("wss://h/m", {"From": value})
    parameter = ET.fromstring(twiml.encode("utf-8", "surrogatepass")).find(
        "Connect/Stream/Parameter"
    )
    assert parameter is not None
    kept = "".join(
        c
        for c in value
        if (c in "\t\n\r" or c >= " ")
        and not ("\ud800" <= c <= "\udfff")
        and c not in "\ufffe\uffff"
    )
    assert parameter.get("value") == kept
