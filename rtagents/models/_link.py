"""What a session needs of a model link (the seam where fakes and other transports plug in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import trio

from rtagents.protocol import ClientEvent


class ModelLink(Protocol):
    """A connection to a Realtime model.  :class:`~rtagents.models.OpenAIRealtimeLink` is one;
    ``rtagents.testing.ScriptedModel`` is another.

    ``set_handler`` (before ``run``) makes the link call the handler for every event, in the
    task that reads them; ``run`` returns when the link has ended (after ``LinkClosed``).
    ``send`` waits for room; ``send_nowait`` raises ``trio.WouldBlock`` when full;
    ``send_audio_nowait`` never waits (full: the oldest queued audio is dropped and counted);
    ``send_audio`` waits while the audio lane is full (a cancel point that yields only then).
    """

    def set_handler(self, handler: Callable[[Any], None]) -> None: ...

    async def run(self, *, task_status: trio.TaskStatus[Any] = ...) -> None: ...

    async def send(self, event: ClientEvent | str) -> None: ...

    def send_nowait(self, event: ClientEvent | str) -> None: ...

    def send_audio_nowait(self, event: ClientEvent | str) -> None: ...

    async def send_audio(self, event: ClientEvent | str) -> None: ...

    async def aclose(self) -> None: ...

    def statistics(self) -> Any: ...
