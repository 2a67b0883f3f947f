"""The local Realtime server behind an in-memory transport, for tests on a mock clock.

:func:`local_model` gives a model (``RealtimeRunner(agent, model=local_model())``, or as
``link_factory`` for :class:`rtagents.RealtimeRunConfig`):
each link it makes runs the real :class:`~rtagents.models.OpenAIRealtimeLink` and the real local
server (WebSocket handshake and frames included) over ``trio.testing.memory_stream_pair``
instead of a socket.  Nothing touches the network, so ``trio.testing.MockClock`` with
``autojump_threshold=0`` drives whole sessions in virtual time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs
import trio
import trio.testing
from trio_websocket import WebSocketConnection, wrap_client_stream

from rtagents.local import LocalServer, Responder
from rtagents.local._detection import Detection
from rtagents.local._server import serve_stream
from rtagents.local._transcriber import Transcriber
from rtagents.models import OpenAIRealtimeConfig, OpenAIRealtimeLink, RealtimeModel


@attrs.define
class LocalModel(RealtimeModel):
    """A model for ``RealtimeRunner(agent, model=...)`` / ``open_session(..., model=...)``
    (or, as ``link_factory``, for a run config); ``server.sessions`` holds the server state of
    each open connection and of the last few closed ones (see ``LocalServer.sessions``)."""

    responder: Responder | None = None
    pace: float | None = None
    server: LocalServer = attrs.field(factory=lambda: LocalServer("memory", 0))
    transcriber: Transcriber | None = None
    detection: Detection | None = None  # the turn detectors (default: energy, no turn model)

    def open_link(self, config: OpenAIRealtimeConfig) -> OpenAIRealtimeLink:
        config = attrs.evolve(config, url="ws://memory/v1/realtime", api_key="unused")
        return OpenAIRealtimeLink(config, connector=self._connect)

    link_factory = open_link

    async def _connect(
        self, nursery: trio.Nursery, url: str, headers: list[tuple[bytes, bytes]], max_size: int
    ) -> tuple[WebSocketConnection, trio.abc.AsyncResource]:
        client, server = trio.testing.memory_stream_pair()
        serve = functools.partial(
            serve_stream,
            server,
            responder=self.responder,
            pace=self.pace,
            server=self.server,
            transcriber=self.transcriber,
            detection=self.detection,
        )
        nursery.start_soon(serve)
        ws = await wrap_client_stream(
            nursery,
            client,  # type: ignore[arg-type]
            "memory",
            "/v1/realtime",
            extra_headers=headers,
            max_message_size=max_size,
        )
        return ws, client


def local_model(
    responder: Responder | None = None,
    *,
    pace: float | None = None,
    transcriber: Transcriber | None = None,
    detection: Detection | None = None,
) -> LocalModel:
    return LocalModel(responder, pace, transcriber=transcriber, detection=detection)


LinkFactory = Callable[[OpenAIRealtimeConfig], OpenAIRealtimeLink]
