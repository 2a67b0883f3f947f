"""The link's send queue: one FIFO for the socket's writer, with a policy per kind of event.

Theory of operation
-------------------
Everything a link sends goes through one :class:`Outbox`, read by the link's writer task (the
only task that writes to the socket), so the order on the wire is the order of sending — an
``input_audio_buffer.commit`` never overtakes the appends before it.  Two kinds of entry share
the FIFO, each bounded, each with its stated overflow policy:

* **control** events (session updates, items, responses, cancels, truncates): at most
  ``control_capacity`` queued; ``put`` waits for room (backpressure on the caller).
  ``put_nowait`` is for synchronous paths that cannot wait (a barge-in's cancel and truncate):
  it may use a reserve of ``control_capacity`` more entries, and raises ``trio.WouldBlock``
  only past it (the caller then fails loudly).  Never dropped.
* **audio** appends: at most ``audio_capacity`` queued.  ``put_audio_nowait`` (a live
  microphone's frames) never waits: when full, the *oldest* queued append is dropped (the
  freshest audio is the useful audio) and counted in ``audio_dropped``.  ``put_audio`` (audio
  the app pushes, perhaps a whole file in a loop) is backpressure instead: it waits while the
  lane is full, so nothing is dropped; while there is room it is a cancel point only — no
  schedule point, no task switch — which keeps the real-time path to one switch per frame.

``close`` ends it: the writer gets what is queued, then ``trio.EndOfChannel``; a put after close
raises ``trio.ClosedResourceError``.
"""

from __future__ import annotations

import collections

import trio


class Outbox:
    """See the module docstring."""

    def __init__(self, control_capacity: int, audio_capacity: int) -> None:
        if control_capacity < 1 or audio_capacity < 1:
            raise ValueError("an outbox needs room for at least one event of each kind")
        self.control_capacity = control_capacity
        self.audio_capacity = audio_capacity
        self._entries: collections.deque[tuple[str, bool]] = collections.deque()
        self._control = 0
        self._audio = 0
        self._closed = False
        self._writer = trio.lowlevel.ParkingLot()
        self._room = trio.lowlevel.ParkingLot()
        self._audio_room = trio.lowlevel.ParkingLot()
        self.audio_dropped = 0
        self.control_peak = 0
        self.audio_peak = 0

    @property
    def control_used(self) -> int:
        return self._control

    @property
    def audio_used(self) -> int:
        return self._audio

    def put_nowait(self, text: str) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the outbox is closed")
        if self._control >= 2 * self.control_capacity:
            raise trio.WouldBlock
        self._entries.append((text, False))
        self._control += 1
        self.control_peak = max(self.control_peak, self._control)
        self._writer.unpark_all()

    async def put(self, text: str) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        while self._control >= self.control_capacity and not self._closed:
            await self._room.park()
        self.put_nowait(text)  # (raises if closed meanwhile)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def put_audio_nowait(self, text: str) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the outbox is closed")
        if self._audio >= self.audio_capacity:
            for index, (_, audio) in enumerate(self._entries):
                if audio:
                    del self._entries[index]
                    break
            self._audio -= 1
            self.audio_dropped += 1
        self._entries.append((text, True))
        self._audio += 1
        self.audio_peak = max(self.audio_peak, self._audio)
        self._writer.unpark_all()

    async def put_audio(self, text: str) -> None:
        """Queue an append, waiting while the audio lane is full (see the module docstring)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while self._audio >= self.audio_capacity and not self._closed:
            await self._audio_room.park()
        self.put_audio_nowait(text)  # (raises if closed meanwhile)

    def get_nowait(self) -> str:
        if self._entries:
            text, audio = self._entries.popleft()
            if audio:
                self._audio -= 1
                if self._audio_room:
                    self._audio_room.unpark(count=1)
            else:
                self._control -= 1
                self._room.unpark(count=1)
            return text
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def get(self) -> str:
        """The next entry, waiting for one.  A checkpoint, and exactly one: a writer that had
        to park has already yielded, so it returns as soon as it is woken (one task switch per
        frame, not two)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            text = self.get_nowait()
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return text
        while True:
            await self._writer.park()
            try:
                return self.get_nowait()
            except trio.WouldBlock:
                continue

    def close(self) -> None:
        self._closed = True
        self._writer.unpark_all()
        self._room.unpark_all()
        self._audio_room.unpark_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._entries)
