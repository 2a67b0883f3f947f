"""A fake Twilio: the far end of a Media Streams WebSocket, for tests and benchmarks.

Theory of operation
-------------------
:class:`RemotePlayer` is Twilio's outbound side as a sans-IO model: media chunks queue for
playback at 8 bytes per millisecond, back to back from when each arrives; a mark is echoed when
the audio queued before it has *played* (or at once when nothing is queued); ``clear`` discards
what has not played yet — a chunk playing at that moment is cut there — and echoes every pending
mark at once.  ``advance(now)`` plays up to ``now`` and returns the marks due.  What played is
kept (``played``: the μ-law bytes in order, with when each run started), so a test can check that
no audio of a cancelled answer played after a ``clear``.

:class:`FakeTwilioPeer` drives that model over a real WebSocket (any object with trio-websocket's
``send_message``/``get_message``): it sends ``connected`` and ``start`` (with custom parameters),
streams caller audio as 20 ms μ-law ``media`` frames paced on the trio clock (so it runs in real
time, or instantly under ``MockClock``), reads what the server sends, echoes marks when the model
says, and can talk over the agent (:meth:`talk`), press keys (:meth:`press`) and hang up
(:meth:`hang_up`, a ``stop`` then close).  Everything the server sent is recorded, including
frames Twilio would refuse (``malformed``).
"""

from __future__ import annotations

import collections
import math
from typing import Any, Protocol

import attrs
import trio

from rtagents.protocol import twilio as tw

FRAME_MS = 20
BYTES_PER_MS = 8  # μ-law, 8 kHz mono


@attrs.define
class _Queued:
    kind: str  # "media" or "mark"
    start: float  # media: when it starts playing; mark: when it is due
    data: bytes = b""
    name: str = ""

    @property
    def end(self) -> float:
        return self.start + len(self.data) / BYTES_PER_MS / 1000


class RemotePlayer:
    """Twilio's playback of what we send; see the module docstring.  Times in seconds."""

    def __init__(self) -> None:
        self._queue: collections.deque[_Queued] = collections.deque()
        self._tail = -math.inf  # when the last queued audio ends
        self.played: list[tuple[float, bytes]] = []  # (start time, μ-law) as it played
        self.clears = 0
        self.marks_echoed = 0
        #: Underruns: silences (seconds) inside an answer, where the next chunk came after the
        #: buffer had run dry (gaps over ``answer_gap`` count as between answers, not here).
        self.gaps: list[float] = []
        self.answer_gap = 0.3

    def media(self, payload: bytes, now: float) -> None:
        if self._tail < now < self._tail + self.answer_gap:
            self.gaps.append(now - self._tail)
        start = max(now, self._tail)
        self._queue.append(_Queued("media", start, payload))
        self._tail = start + len(payload) / BYTES_PER_MS / 1000

    def mark(self, name: str, now: float) -> None:
        self._queue.append(_Queued("mark", max(now, self._tail), name=name))

    def clear(self, now: float) -> list[str]:
        """Discard what has not played by ``now``; returns the marks to echo at once."""
        due = self.advance(now)
        echoed: list[str] = []
        for entry in self._queue:
            if entry.kind == "mark":
                echoed.append(entry.name)
            elif entry.start < now:  # playing right now: cut at `now`
                heard = round((now - entry.start) * 1000 * BYTES_PER_MS)
                self.played.append((entry.start, entry.data[:heard]))
        self._queue.clear()
        self._tail = -math.inf
        self.clears += 1
        self.marks_echoed += len(echoed)
        return due + echoed

    def advance(self, now: float) -> list[str]:
        """Play up to ``now``; returns the marks whose audio has played."""
        due: list[str] = []
        while self._queue:
            entry = self._queue[0]
            if entry.kind == "mark":
                if entry.start > now:
                    break
                due.append(entry.name)
            else:
                if entry.end > now:
                    break
                self.played.append((entry.start, entry.data))
            self._queue.popleft()
        self.marks_echoed += len(due)
        return due

    def next_due(self) -> float | None:
        """When something next finishes playing (a mark to echo), if anything is queued."""
        for entry in self._queue:
            if entry.kind == "mark":
                return entry.start
        return None

    @property
    def buffered_ms(self) -> float:
        return sum(len(e.data) for e in self._queue) / BYTES_PER_MS

    def played_audio(self, since: float = -math.inf) -> bytes:
        """The μ-law that played, from runs that started at or after ``since``."""
        return b"".join(data for start, data in self.played if start >= since)


class _WebSocket(Protocol):
    async def send_message(self, message: str | bytes) -> None: ...

    async def get_message(self) -> str | bytes: ...

    async def aclose(self, code: int = ..., reason: str | None = ...) -> None: ...


class FakeTwilioPeer:
    """Twilio's end of one call's Media Stream; see the module docstring."""

    def __init__(
        self,
        ws: _WebSocket,
        *,
        stream_sid: str = "MZfake0000000000000000000000000001",
        call_sid: str = "CAfake0000000000000000000000000001",
        account_sid: str = "ACfake0000000000000000000000000001",
        custom_parameters: dict[str, str] | None = None,
    ) -> None:
        self.ws = ws
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.custom_parameters = dict(custom_parameters or {})
        self.player = RemotePlayer()
        self.received: list[tw.OutboundMessage] = []
        self.malformed: list[tw.MalformedTwilioMessage] = []
        self.clear_times: list[float] = []
        self._speech: collections.deque[bytes] = collections.deque()
        self._seq = 0
        self._chunk = 0
        self._started_at = 0.0
        self._wake = trio.Event()
        self.ended = trio.Event()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- the call -------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the stream and run it until :meth:`hang_up` or the server closes the socket."""
        self._started_at = trio.current_time()
        await self.ws.send_message(tw.Connected().to_json())
        start = tw.Start(
            sequence_number=self._next_seq(),
            stream_sid=self.stream_sid,
            account_sid=self.account_sid,
            call_sid=self.call_sid,
            custom_parameters=self.custom_parameters,
        )
        await self.ws.send_message(start.to_json())
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._caller, nursery.cancel_scope)
                nursery.start_soon(self._echo_marks)
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self.ended.set()

    def talk(self, ulaw: bytes) -> None:
        """Say ``ulaw`` (8 kHz μ-law) now, in 20 ms frames at real time, after what is queued;
        silence is sent between utterances, as a phone line does."""
        step = FRAME_MS * BYTES_PER_MS
        for at in range(0, len(ulaw), step):
            self._speech.append(ulaw[at : at + step].ljust(step, tw.ULAW_SILENCE))

    @property
    def speaking(self) -> bool:
        return bool(self._speech)

    async def press(self, digit: str) -> None:
        dtmf = tw.Dtmf(
            sequence_number=self._next_seq(),
            stream_sid=self.stream_sid,
            track="inbound_track",
            digit=digit,
        )
        await self.ws.send_message(dtmf.to_json())

    async def send_raw(self, text: str | bytes) -> None:
        """Send anything (tests of how the server takes malformed frames)."""
        await self.ws.send_message(text)

    async def hang_up(self) -> None:
        """Send ``stop`` and close the socket, as Twilio does when the caller hangs up."""
        stop = tw.Stop(
            sequence_number=self._next_seq(),
            stream_sid=self.stream_sid,
            account_sid=self.account_sid,
            call_sid=self.call_sid,
        )
        try:
            await self.ws.send_message(stop.to_json())
            await self.ws.aclose(1000, "hang up")
        except Exception:
            pass

    # -- tasks ----------------------------------------------------------------------------------

    async def _caller(self, scope: trio.CancelScope) -> None:
        """Caller audio: a frame every 20 ms (speech, else silence), paced on the trio clock."""
        silence = tw.ULAW_SILENCE * (FRAME_MS * BYTES_PER_MS)
        next_at = trio.current_time()
        while True:
            payload = self._speech.popleft() if self._speech else silence
            self._chunk += 1
            media = tw.Media(
                sequence_number=self._next_seq(),
                stream_sid=self.stream_sid,
                track="inbound",
                chunk=self._chunk,
                timestamp_ms=round((next_at - self._started_at) * 1000),
                payload=payload,
            )
            try:
                await self.ws.send_message(media.to_json())
            except Exception:
                return
            next_at += FRAME_MS / 1000
            await trio.sleep_until(next_at)

    async def _read(self) -> None:
        while True:
            try:
                text = await self.ws.get_message()
            except Exception:
                return
            message = tw.parse_outbound_message(text)
            now = trio.current_time()
            if isinstance(message, tw.MalformedTwilioMessage):
                self.malformed.append(message)
                continue
            self.received.append(message)
            if isinstance(message, tw.OutboundMedia):
                self.player.media(message.payload, now)
            elif isinstance(message, tw.OutboundMark):
                self.player.mark(message.name, now)
            else:
                self.clear_times.append(now)
                await self._echo(self.player.clear(now))
            self._wake.set()

    async def _echo_marks(self) -> None:
        while True:
            due = self.player.next_due()
            if due is None:
                await self._wake.wait()
            else:
                with trio.move_on_at(due):
                    await self._wake.wait()
            self._wake = trio.Event()
            await self._echo(self.player.advance(trio.current_time()))

    async def _echo(self, names: list[str]) -> None:
        for name in names:
            mark = tw.Mark(sequence_number=self._next_seq(), stream_sid=self.stream_sid, name=name)
            try:
                await self.ws.send_message(mark.to_json())
            except Exception:
                return

    def statistics(self) -> dict[str, Any]:
        return {
            "sent_frames": self._chunk,
            "received": len(self.received),
            "malformed": len(self.malformed),
            "clears": self.player.clears,
            "marks_echoed": self.player.marks_echoed,
            "buffered_ms": self.player.buffered_ms,
        }
