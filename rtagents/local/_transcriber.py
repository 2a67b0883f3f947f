"""The local server's ears: the transcriber interface and the per-connection recognition task.

Theory of operation
-------------------
The sans-IO core hands the caller's speech out as :class:`~._input.UserAudio` pieces while the
user is still speaking (see ``ServerSession.stream_user_audio``).  The connection's reader puts
them on a bounded channel (no drops: recognition must hear every sample; when the recognizer
falls behind, the reader waits) and, at the item's commit, marks its transcript as *pending*,
so a response that starts right after the commit knows to wait for it.

:class:`Ears` is that channel's consumer, one task per connection.  It takes whatever pieces
are queued in one go (a recognizer that fell behind catches up in larger batches rather than
one call per 20 ms frame), feeds each item's utterance, turns growing partial hypotheses into
``…transcription.delta`` events (only once the item exists, and only while they extend what
was already announced: a revised partial waits for the final result) and, at the item's
commit, finishes the utterance and reports ``…transcription.completed``.  A recognizer error
becomes ``…transcription.failed`` (at the commit, when it happened during speech) and the
item keeps no transcript; the conversation goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import attrs
import trio

from rtagents import protocol as p

from ._core import ServerSession
from ._input import UserAudio

QUEUE_SIZE = 1024  # pieces: about 20 s of 20 ms frames


class Utterance(Protocol):
    """One item's speech being recognized."""

    async def feed(self, pcm16: bytes) -> str:
        """Take more PCM16 (at the rate given to ``open_utterance``); return the current
        partial hypothesis ("" when none yet)."""
        ...

    async def finish(self) -> str:
        """The final transcript; the utterance is closed."""
        ...

    async def aclose(self) -> None:
        """Abandon the utterance (its speech was cleared)."""
        ...


class Transcriber(Protocol):
    """Speech recognition for the local server (e.g. ``speech.PocketsphinxRecognizer``)."""

    async def open_utterance(self, rate: int) -> Utterance: ...


@attrs.define
class _Open:
    utterance: Utterance
    said: str = ""  # the text already announced in deltas
    samples: int = 0
    rate: int = 16000


@attrs.frozen
class EarsStatistics:
    queued: int  # pieces waiting for the recognizer
    queue_size: int
    open_utterances: int
    pending_transcripts: int  # committed items whose transcript is not final yet
    pieces: int
    transcripts: int
    failures: int


@attrs.define(eq=False)
class Ears:
    """Recognition for one connection; see the module docstring."""

    session: ServerSession
    transcriber: Transcriber
    send: Callable[[list[p.WireEvent]], Awaitable[None]]
    mark: Callable[[str, str], None] = lambda what, item_id: None
    _tx: trio.MemorySendChannel[UserAudio] = attrs.field(init=False)
    _rx: trio.MemoryReceiveChannel[UserAudio] = attrs.field(init=False)
    _pending: dict[str, trio.Event] = attrs.field(init=False, factory=dict)
    _open: dict[str, _Open] = attrs.field(init=False, factory=dict)
    # Items whose recognition failed while the user was still speaking, with the reason to
    # report once they are committed (a failure event needs the item to exist).
    _failed: dict[str, str] = attrs.field(init=False, factory=dict)
    failures: int = attrs.field(init=False, default=0)
    _pieces: int = attrs.field(init=False, default=0)
    _transcripts: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._tx, self._rx = trio.open_memory_channel[UserAudio](QUEUE_SIZE)

    def statistics(self) -> EarsStatistics:
        return EarsStatistics(
            queued=self._tx.statistics().current_buffer_used,
            queue_size=QUEUE_SIZE,
            open_utterances=len(self._open),
            pending_transcripts=len(self._pending),
            pieces=self._pieces,
            transcripts=self._transcripts,
            failures=self.failures,
        )

    async def put(self, pieces: list[UserAudio]) -> None:
        """From the reader: queue the pieces (waits when recognition is behind)."""
        for piece in pieces:
            if piece.kind == "commit":
                self._pending[piece.item_id] = trio.Event()
                self.mark("end_of_turn", piece.item_id)
            await self._tx.send(piece)
            self._pieces += 1

    async def wait_transcripts(self) -> None:
        """Wait until every item committed so far has its final transcript (or its failure);
        speech still in progress does not hold a response up."""
        for event in list(self._pending.values()):
            await event.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            async for piece in self._rx:
                batch = [piece]
                while True:
                    try:
                        batch.append(self._rx.receive_nowait())
                    except trio.WouldBlock:
                        break
                await self._handle(batch)
        finally:
            with trio.CancelScope(shield=True):
                for state in self._open.values():
                    await _quietly_close(state.utterance)
            self._open.clear()

    async def _handle(self, batch: list[UserAudio]) -> None:
        # Join each item's run of audio (and the commit ending it): one recognizer call per
        # item per batch, however many frames queued up meanwhile.
        run: list[UserAudio] = []
        for piece in batch:
            if run and (run[-1].item_id != piece.item_id or run[-1].kind != "audio"):
                await self._one(_joined(run))
                run = []
            run.append(piece)
        if run:
            await self._one(_joined(run))

    async def _one(self, piece: UserAudio) -> None:
        item_id = piece.item_id
        if item_id in self._failed:
            if piece.kind == "commit":
                await self.send(self.session.transcription_failed(item_id, self._failed[item_id]))
                self._done(item_id)
            if piece.kind != "audio":
                del self._failed[item_id]
            return
        state = self._open.get(item_id)
        try:
            if piece.kind == "discard":
                if state is not None:
                    del self._open[item_id]
                    await state.utterance.aclose()
                self._done(item_id)
                return
            if state is None:
                utterance = await self.transcriber.open_utterance(piece.rate)
                state = self._open[item_id] = _Open(utterance, rate=piece.rate)
            if piece.pcm:
                state.samples += len(piece.pcm) // 2
                partial = await state.utterance.feed(piece.pcm)
                await self._announce(item_id, state, partial)
            if piece.kind == "commit":
                del self._open[item_id]
                transcript = await state.utterance.finish()
                await self._announce(item_id, state, transcript)
                self.mark("transcribed", item_id)
                self._transcripts += 1
                await self.send(
                    self.session.transcription_completed(
                        item_id, transcript, audio_seconds=state.samples / state.rate
                    )
                )
                self._done(item_id)
        except Exception as exc:  # a recognizer failure must not end the connection
            self.failures += 1
            self._open.pop(item_id, None)
            if state is not None:
                with trio.CancelScope(shield=True):
                    await _quietly_close(state.utterance)
            message = f"speech recognition failed: {type(exc).__name__}: {exc}"
            if piece.kind == "audio":  # not committed yet: report at the commit
                self._failed[item_id] = message
                return
            await self.send(self.session.transcription_failed(item_id, message))
            self._done(item_id)

    async def _announce(self, item_id: str, state: _Open, text: str) -> None:
        if text.startswith(state.said) and len(text) > len(state.said):
            # Only what went out counts as said: before the commit there is no item to
            # announce words for, so they go out with the first delta after it.
            events = self.session.transcription_delta(item_id, text[len(state.said) :])
            if events:
                state.said = text
                self.mark("transcript_delta", item_id)
                await self.send(events)

    def _done(self, item_id: str) -> None:
        event = self._pending.pop(item_id, None)
        if event is not None:
            event.set()


def _joined(run: list[UserAudio]) -> UserAudio:
    """One piece for a run of one item's pieces: their audio, the last one's kind."""
    if len(run) == 1:
        return run[0]
    return attrs.evolve(run[-1], pcm=b"".join(piece.pcm for piece in run))


async def _quietly_close(utterance: Utterance) -> None:
    with contextlib.suppress(Exception):
        await utterance.aclose()
