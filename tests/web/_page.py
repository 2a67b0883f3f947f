"""A page in memory: an ASGI WebSocket (and HTTP) client for an app, on trio, no sockets.

:class:`FakePage` runs the app's ASGI callable in a task and speaks the ASGI WebSocket messages
to it through memory channels, so a whole page ↔ session ↔ local model conversation runs on
trio's MockClock.  It plays the browser's part of the protocol the way ``app.js`` does where a
test needs it (:meth:`FakePage.play_all` reports playback like the playback worklet).
"""

from __future__ import annotations

import json
import math
from typing import Any

import trio

from rtagents.web import protocol as wp


class FakePage:
    def __init__(self, app: Any, path: str = "/ws") -> None:
        self.app = app
        self.path = path
        self._to_app, self._app_in = trio.open_memory_channel[dict[str, Any]](math.inf)
        self._app_out, self._from_app = trio.open_memory_channel[dict[str, Any]](math.inf)
        self.messages: list[Any] = []  # every decoded text message, in order
        self.audio: dict[tuple[str, int], bytearray] = {}  # agent audio by item
        self.close_code: int | None = None
        self._item: tuple[str, int] | None = None

    async def _receive(self) -> dict[str, Any]:
        return await self._app_in.receive()

    async def _send(self, message: dict[str, Any]) -> None:
        await self._app_out.send(message)

    async def open(self, nursery: trio.Nursery) -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
            "state": {},
        }
        nursery.start_soon(self.app, scope, self._receive, self._send)
        await self._to_app.send({"type": "websocket.connect"})
        accepted = await self._from_app.receive()
        assert accepted["type"] == "websocket.accept", accepted

    async def send_json(self, data: Any) -> None:
        await self._to_app.send({"type": "websocket.receive", "text": json.dumps(data)})

    async def send_text(self, text: str) -> None:
        await self._to_app.send({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.send({"type": "websocket.receive", "bytes": data})

    async def leave(self) -> None:
        await self._to_app.send({"type": "websocket.disconnect", "code": 1001})

    async def next(self) -> Any:
        """The next message from the server (decoded), or bytes for audio; None when closed."""
        frame = await self._from_app.receive()
        if frame["type"] == "websocket.close":
            self.close_code = frame.get("code", 1000)
            return None
        assert frame["type"] == "websocket.send", frame
        if frame.get("bytes") is not None:
            data = frame["bytes"]
            assert self._item is not None, "audio before audio_start"
            self.audio.setdefault(self._item, bytearray()).extend(data)
            return data
        message = wp.decode_server_text(frame["text"])
        assert not isinstance(message, wp.ProtocolError), (message, frame["text"])
        if isinstance(message, wp.AudioStart):
            self._item = (message.item_id, message.content_index)
        self.messages.append(message)
        return message

    async def until(self, predicate: Any, seconds: float = 30) -> Any:
        """Read until a message satisfies `predicate`; returns it."""
        with trio.fail_after(seconds):
            while True:
                message = await self.next()
                if message is None:
                    raise AssertionError(f"closed ({self.close_code}) while waiting")
                if predicate(message):
                    return message

    async def until_type(self, cls: type, seconds: float = 30, **fields: Any) -> Any:
        return await self.until(
            lambda m: isinstance(m, cls) and all(getattr(m, k) == v for k, v in fields.items()),
            seconds,
        )

    def of_type(self, cls: type) -> list[Any]:
        return [m for m in self.messages if isinstance(m, cls)]


async def http_get(app: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    """An HTTP GET through the ASGI app: (status, headers, body)."""
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await trio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body
