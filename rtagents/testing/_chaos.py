"""Faults on demand: the local model in memory, with its connections cut, stalled, delayed or
corrupted at a chosen event, for testing what a session does when its network misbehaves.

:class:`ChaosModel` is a :func:`~rtagents.testing.local_model` whose links read the server
through a socket wrapper that, on connection ``connection`` (0 = the first), at server message
``at_event`` (0-based, counting every message the client receives), applies a :class:`Fault`:

* ``cut`` — the transport is closed abruptly, as a dropped network does (the client sees an
  abnormal close, the server loses its connection);
* ``stall`` — nothing more reaches the client, while the WebSocket still answers pings (a
  server that hangs without dying: the session's turn timeout, not a reconnect, deals with it);
* ``blackhole`` — nothing more arrives and pings go unanswered (a dead peer behind a network
  that dropped the connection silently: the link's keepalive notices it);
* ``delay`` — that message, and the rest after it, arrive ``seconds`` late;
* ``corrupt`` — that message is replaced by bytes that are not JSON;

and, with ``refuse_from``, refuses every connection from that one on (a server that is gone).

Everything runs on trio's clock, so tests on ``MockClock`` stay exact and fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs
import trio
from trio_websocket import WebSocketConnection

from rtagents.local import Responder
from rtagents.testing._memory import LocalModel


@attrs.frozen
class Fault:
    kind: Literal["cut", "stall", "blackhole", "delay", "corrupt"]
    at_event: int
    connection: int = 0
    seconds: float = 0.0


class _ChaosSocket:
    """A client WebSocket whose received messages go through a fault (and which counts the
    audio it sends)."""

    def __init__(self, ws: WebSocketConnection, transport: Any, fault: Fault | None) -> None:
        self._ws = ws
        self._transport = transport
        self._fault = fault
        self._received = 0
        self.applied = False
        self.audio_appends = 0  # input_audio_buffer.append events sent on this connection
        self.blackholed_at: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    async def ping(self, payload: bytes | None = None) -> None:
        if self.blackholed_at is not None:
            await trio.sleep_forever()  # no pong will ever come
        await self._ws.ping(payload)

    async def send_message(self, message: str | bytes) -> None:
        if isinstance(message, str) and '"input_audio_buffer.append"' in message[:64]:
            self.audio_appends += 1
        await self._ws.send_message(message)

    async def get_message(self) -> str | bytes:
        fault = self._fault
        if fault is not None and self._received >= fault.at_event:
            if not self.applied:
                self.applied = True
                if fault.kind == "cut":
                    await trio.aclose_forcefully(self._transport)
                elif fault.kind == "blackhole":
                    self.blackholed_at = trio.current_time()
                    await trio.sleep_forever()
                elif fault.kind == "stall":
                    while True:  # keep reading (so pings are still answered), pass nothing on
                        await self._ws.get_message()
                elif fault.kind == "corrupt":
                    self._received += 1
                    return "\x00 this is not JSON {"
            if fault.kind == "delay":
                await trio.sleep(fault.seconds)
        message = await self._ws.get_message()
        self._received += 1
        return message


@attrs.define
class ChaosModel(LocalModel):
    """See the module docstring.  ``connections`` counts the links made so far; ``sockets``
    keeps each one's wrapper (``applied``: whether its fault happened)."""

    faults: Sequence[Fault] = ()
    refuse_from: int | None = None  # connections from this index on are refused
    connections: int = attrs.field(init=False, default=0)
    sockets: list[_ChaosSocket] = attrs.field(init=False, factory=list)

    async def _connect(
        self, nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], max_size: int
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        index = self.connections
        self.connections += 1
        if self.refuse_from is not None and index >= self.refuse_from:
            raise OSError("connection refused (chaos)")
        ws, transport = await super()._connect(nursery, url, headers, max_size)
        fault = next((f for f in self.faults if f.connection == index), None)
        socket = _ChaosSocket(ws, transport, fault)
        self.sockets.append(socket)
        return socket, transport  # type: ignore[return-value]


def chaos_model(
    responder: Responder | None = None,
    *faults: Fault,
    pace: float | None = None,
) -> ChaosModel:
    return ChaosModel(responder, pace, faults=faults)
