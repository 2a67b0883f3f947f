"""A fake OpenAI-compatible chat-completions server on a loopback port, for tests.

It speaks HTTP/1.1 with h11 on ``trio.serve_tcp`` and answers each ``POST .../chat/completions``
with the next :class:`FakeReply`: by default a ``text/event-stream`` of ``chat.completion.chunk``
objects in OpenAI's format (the text in a few word-sized pieces, tool calls with their
arguments in pieces, then ``data: [DONE]``), or one JSON body, an error status, or raw bytes.
When the replies run out it answers 500.  Request bodies and ``Authorization`` headers are
recorded for assertions.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import trio


@attrs.frozen
class FakeReply:
    #: Streamed as content deltas in about three pieces split between words.
    text: str = ""
    #: ``(name, arguments_json)`` pairs, the arguments streamed in several pieces.
    tool_calls: tuple[tuple[str, str], ...] = ()
    #: Not 200: an error with ``text`` (or a default) as a plain-text body.
    status: int = 200
    #: False: one ``application/json`` chat completion instead of a stream.
    stream: bool = True
    #: Sent verbatim as a ``text/event-stream`` body (for malformed streams).
    raw: bytes | None = None
    #: Stop after the first content delta and keep the stream open (for cancellation tests).
    stall: bool = False


@attrs.define
class FakeChatServer:
    replies: list[FakeReply]
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    auth_headers: list[str | None] = attrs.field(factory=list)
    url: str = ""

    async def _serve(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await _read_request(conn, stream)
                if request is None:
                    return
                auth = dict(request.headers).get(b"authorization")
                self.auth_headers.append(auth.decode() if auth is not None else None)
                self.requests.append(json.loads(body) if body else {})
                reply = self.replies.pop(0) if self.replies else FakeReply(status=500)
                events = _answer(reply)
                for event in events[:4] if reply.stall else events:
                    await stream.send_all(conn.send(event) or b"")
                if reply.stall:
                    await trio.sleep_forever()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            await stream.aclose()


async def _read_request(
    conn: h11.Connection, stream: trio.SocketStream
) -> tuple[h11.Request | None, bytes]:
    request: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, body
        else:  # ConnectionClosed, PAUSED
            return None, b""


def _answer(reply: FakeReply) -> list[Any]:
    if reply.status != 200:
        return _whole(reply.status, "text/plain", (reply.text or "fake server error").encode())
    if reply.raw is not None:
        return _whole(200, "text/event-stream", reply.raw)
    calls: list[dict[str, Any]] = [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(reply.tool_calls)
    ]
    finish = "tool_calls" if calls else "stop"
    if not reply.stream:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if calls:
            message["tool_calls"] = calls
        completion = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        }
        return _whole(200, "application/json", json.dumps(completion).encode())
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in _pieces(re.findall(r"\S+\s*", reply.text))]
    for i, call in enumerate(calls):
        function = call["function"]
        head = {"index": i, "id": call["id"], "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": function["name"]}}]})
        pieces = _pieces(function["arguments"])
        deltas += [{"tool_calls": [{"index": i, "function": {"arguments": a}}]} for a in pieces]
    chunks = [_chunk(delta, None) for delta in deltas] + [_chunk({}, finish)]
    events: list[Any] = [
        h11.Response(status_code=200, headers=[(b"content-type", b"text/event-stream")]),
        h11.Data(data=b": keep-alive\n\n"),
    ]
    events += [h11.Data(data=b"data: " + json.dumps(c).encode() + b"\n\n") for c in chunks]
    events += [h11.Data(data=b"data: [DONE]\n\n"), h11.EndOfMessage()]
    return events


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _pieces(items: Iterable[str] | str, count: int = 3) -> list[str]:
    """`items` (words, or the characters of a string) joined into about `count` pieces."""
    items = list(items)
    size = max(1, -(-len(items) // count))
    return ["".join(items[i : i + size]) for i in range(0, len(items), size)]


def _whole(status: int, content_type: str, body: bytes) -> list[Any]:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    return [
        h11.Response(status_code=status, headers=headers),
        h11.Data(data=body),
        h11.EndOfMessage(),
    ]


@asynccontextmanager
async def open_fake_chat_server(replies: Iterable[FakeReply]) -> AsyncIterator[FakeChatServer]:
    """Serve `replies` on ``127.0.0.1`` at a free port; ``server.url`` is the ``/v1`` root."""
    server = FakeChatServer(replies=list(replies))
    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, server._serve, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        port = listeners[0].socket.getsockname()[1]
        server.url = f"http://127.0.0.1:{port}/v1"
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
