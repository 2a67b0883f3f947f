"""What the hardening tests share (no tests here): raw clients of the local server.

:func:`memory_client` serves one connection in memory (``serve_stream`` over a stream pair, so
trio's ``MockClock`` drives it) and gives a :class:`RawClient`: our own frames in, every server
frame out, each validated strictly against the official ``openai`` types.  With
``bounded=True`` the transport behaves like TCP with small buffers (:func:`bounded_stream_pair`):
a client that stops calling :meth:`RawClient.receive` soon stops reading, and the server's
writes wait, as on a full socket.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio
import trio.testing
from trio_websocket import WebSocketConnection, wrap_client_stream

from rtagents import protocol as p
from rtagents.local import LocalServer, Responder, Rule, ScriptedResponder
from rtagents.local._limits import Limits
from rtagents.local._server import serve_stream
from tests.protocol import oracle

STORY = Rule(when="story", say="Once upon a time there was a very long story. " * 40)
RULES = (STORY, Rule(say="Hello there."))


def user_text(text: str) -> p.ConversationItemCreate:
    return p.ConversationItemCreate(item=p.MessageItem.user_text(text))


@attrs.define(eq=False)
class _Pipe:
    limit: int
    data: bytearray = attrs.field(factory=bytearray)
    closed: bool = False
    lot: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot)


@attrs.define(eq=False)
class BoundedStream(trio.abc.Stream):
    """One end of :func:`bounded_stream_pair`."""

    outgoing: _Pipe
    incoming: _Pipe

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        pipe = self.outgoing
        while view:  # a cancelled send leaves what it wrote, like a socket
            if pipe.closed or self.incoming.closed:
                raise trio.BrokenResourceError
            room = pipe.limit - len(pipe.data)
            if room <= 0:
                await pipe.lot.park()
                continue
            pipe.data += view[:room]
            view = view[room:]
            pipe.lot.unpark_all()
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        pipe = self.incoming
        while not pipe.data:
            if pipe.closed:
                await trio.lowlevel.checkpoint()
                return b""
            await pipe.lot.park()
        n = len(pipe.data) if max_bytes is None else min(max_bytes, len(pipe.data))
        out = bytes(pipe.data[:n])
        del pipe.data[:n]
        pipe.lot.unpark_all()
        await trio.lowlevel.checkpoint()
        return out

    async def aclose(self) -> None:
        self.outgoing.closed = True  # the peer reads what is left, then EOF
        self.incoming.closed = True
        self.incoming.data.clear()
        self.outgoing.lot.unpark_all()
        self.incoming.lot.unpark_all()
        await trio.lowlevel.checkpoint()


def bounded_stream_pair(limit: int = 64 * 1024) -> tuple[BoundedStream, BoundedStream]:
    """Two connected streams, each direction buffering at most `limit` bytes."""
    a_to_b, b_to_a = _Pipe(limit), _Pipe(limit)
    return BoundedStream(a_to_b, b_to_a), BoundedStream(b_to_a, a_to_b)


@attrs.define(eq=False)
class RawClient:
    ws: WebSocketConnection
    stream: trio.abc.Stream
    served: trio.Event  # set when the server side of the connection has ended
    client_scope: trio.CancelScope

    async def send(self, event: p.WireEvent | str) -> None:
        await self.ws.send_message(event if isinstance(event, str) else event.to_json())

    async def receive(self) -> Any:
        text = await self.ws.get_message()
        wire = json.loads(text)
        oracle.assert_valid_server_event(wire)
        return p.decode_server_event(text)

    async def until(self, done: Callable[[Any], bool]) -> list[Any]:
        """Events up to and including the first for which `done` is true."""
        events = []
        while True:
            event = await self.receive()
            events.append(event)
            if done(event):
                return events

    async def disconnect(self) -> None:
        """Vanish: stop the client's tasks and close the transport, no close handshake."""
        self.client_scope.cancel()
        await self.stream.aclose()


@asynccontextmanager
async def memory_client(
    responder: Responder | None = None,
    *,
    server: LocalServer | None = None,
    bounded: bool = False,
    limits: Limits | None = None,
) -> AsyncIterator[RawClient]:
    """A client connected in memory; the server side runs until the block ends."""
    pair = bounded_stream_pair if bounded else trio.testing.memory_stream_pair
    client_stream, server_stream = pair()
    served = trio.Event()

    async def serve() -> None:
        try:
            options: dict[str, Any] = {} if limits is None else {"limits": limits}
            await serve_stream(
                server_stream,
                responder=responder or ScriptedResponder(rules=RULES),
                server=server,
                **options,
            )
        finally:
            served.set()

    async def client_tasks(
        *, task_status: trio.TaskStatus[tuple[trio.Nursery, trio.CancelScope]]
    ) -> None:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                task_status.started((nursery, scope))
                await trio.sleep_forever()

    async with trio.open_nursery() as outer:
        outer.start_soon(serve)
        client_nursery, client_scope = await outer.start(client_tasks)
        ws = await wrap_client_stream(
            client_nursery,
            client_stream,  # type: ignore[arg-type]
            "memory",
            "/v1/realtime",
            max_message_size=2**31 - 1,
        )
        client = RawClient(ws, client_stream, served, client_scope)
        created = await client.receive()
        assert isinstance(created, p.SessionCreated)
        yield client
        outer.cancel_scope.cancel()


def is_done(event: object) -> bool:
    return isinstance(event, p.ResponseDone)


def transcript(events: list[Any]) -> str:
    return "".join(
        e.delta
        for e in events
        if isinstance(e, p.ResponseOutputAudioTranscriptDelta | p.ResponseOutputTextDelta)
    )
