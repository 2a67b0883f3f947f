"""The TwiML that connects a call to a bidirectional Media Stream (pure; no Twilio library).

``<Connect><Stream url="wss://…">`` with one ``<Parameter>`` per value to hand to the stream
(they arrive in the ``start`` message's ``customParameters``; Twilio allows no query string in
the stream URL).  The output is byte-for-byte what the official ``twilio`` package's
``VoiceResponse`` writes for the same input (the tests check it), escaped the way
``xml.etree.ElementTree`` escapes attributes.  Characters XML 1.0 cannot carry at all (most C0
controls, lone surrogates, U+FFFE/U+FFFF) are left out rather than written as broken XML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#13;",
    "\n": "&#10;",
    "\t": "&#09;",
}
_SPECIAL = re.compile('[&<>"\r\n\t]')


def attribute(value: str) -> str:
    """`value` as the inside of a double-quoted XML attribute."""
    value = _NOT_XML.sub("", value)
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], value)


def connect_stream_twiml(stream_url: str, parameters: Mapping[str, str] | None = None) -> str:
    """``<Response><Connect><Stream url=stream_url>`` with a ``<Parameter>`` per item."""
    inner = "".join(
        f'<Parameter name="{attribute(name)}" value="{attribute(value)}" />'
        for name, value in (parameters or {}).items()
    )
    stream = f'<Stream url="{attribute(stream_url)}"'
    stream += f">{inner}</Stream>" if inner else " />"
    return f"{XML_DECLARATION}<Response><Connect>{stream}</Connect></Response>"
