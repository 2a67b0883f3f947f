"""One Twilio call as a RealtimeSession: the Media Streams WebSocket's thin adapter.

Theory of operation
-------------------
:class:`TwilioCall` waits for the stream's ``start`` (its ids and ``<Parameter>`` values), builds
the agent for the call (a factory gets a :class:`CallInfo`), opens a session whose audio is
μ-law at 8 kHz both ways — what Twilio carries, so nothing is transcoded or resampled — and runs
three tasks until the caller hangs up or the session ends:

* the **reader** parses each frame (:mod:`rtagents.protocol.twilio`; a malformed one is counted
  and skipped, never fatal): caller audio goes to ``session.send_audio`` as is; an echoed mark
  tells the :class:`~rtagents._core.remote_playout.MarkLedger` what was *heard*, which goes to
  ``session.playback_progress`` (so a barge-in truncates the answer at acknowledged audio) and,
  once nothing is left in flight, ``playback_finished``; a key press becomes a
  :class:`~rtagents.events.RealtimeDtmf` event; ``stop`` ends the call;
* the **events** task takes the session's events: agent audio joins the outbound buffer (bounded:
  ``outbound_s`` seconds; past it the oldest audio is dropped and counted), an
  ``audio_interrupted`` empties the buffer, asks the writer for a ``clear`` and marks the item as
  cancelled, so late deltas of it are dropped rather than played;
* the **writer**, the only task that writes to the socket, sends ``clear`` first when one is due,
  else the next ``chunk_ms`` of audio as ``media`` and a ``mark`` after it, paced by an
  :class:`~rtagents._core.remote_playout.OutboundPacer` so Twilio's buffer stays at most
  ``lead_ms`` ahead of real time (a barge-in has little to discard).

The call's socket is anything with ``send(text)`` and ``receive() -> text | None`` (None: closed);
:func:`rtagents.phone.app.create_twilio_app` adapts Starlette's, tests adapt trio-websocket's.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
import trio

from rtagents import native
from rtagents import protocol as p
from rtagents._core.remote_playout import MarkLedger, OutboundPacer
from rtagents.apps.loader import build_agent
from rtagents.config import RealtimeRunConfig
from rtagents.events import RealtimeAudio, RealtimeAudioInterrupted, RealtimeDtmf
from rtagents.models import RealtimeModel, RealtimeModelConfig
from rtagents.protocol import twilio as tw
from rtagents.runner import open_session
from rtagents.session import RealtimeSession

log = logging.getLogger("rtagents.phone")

BYTES_PER_MS = 8  # μ-law at 8 kHz
#: Recent frames whose timings a call keeps (for statistics; bounded).
TIMING_SAMPLES = 2048


def _summary(samples: collections.deque[float]) -> tuple[float, float, float]:
    if not samples:
        return (0.0, 0.0, 0.0)
    ordered = sorted(samples)
    last = len(ordered) - 1
    return (ordered[last // 2], ordered[(last * 99) // 100], ordered[last])


#: The session settings of a call: μ-law both ways, the user's speech transcribed.
PHONE_SETTINGS = p.SessionConfig(
    audio=p.AudioConfig(
        input=p.AudioInputConfig(
            format=p.AudioFormat.pcmu(),
            transcription=p.Transcription(model="gpt-4o-mini-transcribe"),
        ),
        output=p.AudioOutputConfig(format=p.AudioFormat.pcmu()),
    )
)


class CallSocket(Protocol):
    async def send(self, text: str) -> None: ...

    async def receive(self) -> str | bytes | None: ...


class TrioWebSocketCallSocket:
    """A trio-websocket connection as a :class:`CallSocket`."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, text: str) -> None:
        await self.ws.send_message(text)

    async def receive(self) -> str | bytes | None:
        from trio_websocket import ConnectionClosed

        try:
            message: str | bytes = await self.ws.get_message()
        except ConnectionClosed:
            return None
        return message


@attrs.frozen
class CallInfo:
    """Who is calling: what an agent factory is given (one agent per call)."""

    call_sid: str
    stream_sid: str
    account_sid: str
    custom_parameters: Mapping[str, str]


@attrs.frozen(kw_only=True)
class CallOptions:
    chunk_ms: int = 20  # outbound media per message
    lead_ms: float = 60.0  # how far ahead of real time Twilio's buffer may be
    outbound_s: float = 120.0  # agent audio waiting to be sent, at most
    start_timeout: float = 10.0  # for Twilio's `start` after the socket opens


@attrs.frozen(kw_only=True)
class CallStatistics:
    call_sid: str
    frames_in: int
    frames_out: int
    marks_sent: int
    marks_echoed: int
    clears: int
    malformed_in: int
    late_deltas_dropped: int
    outbound_dropped_ms: float
    heard_ms: float  # agent audio Twilio has acknowledged as played
    # the last TIMING_SAMPLES frames' timings, ms (p50, p99, max):
    inbound_ms: tuple[float, float, float]  # a caller frame read → queued for the model
    outbound_late_ms: tuple[float, float, float]  # the writer woke after its paced time


@attrs.define(eq=False)
class _Chunk:
    item_id: str
    content_index: int
    data: bytes


class TwilioCall:
    """One call; see the module docstring.  ``agent`` is an agent or a factory (given the
    :class:`CallInfo`); ``config`` the run config (its audio settings are the call's);
    ``model`` makes the session's model; ``recording_dir``: a stereo WAV per call there;
    ``on_event`` sees every session event (transcripts, tools, ``dtmf``) in the call's task."""

    def __init__(
        self,
        socket: CallSocket,
        agent: Any,
        *,
        config: RealtimeRunConfig | None = None,
        model: Callable[[], RealtimeModel] | None = None,
        model_config: RealtimeModelConfig | None = None,
        options: CallOptions | None = None,
        recording_dir: Any = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> None:
        self.socket = socket
        self.agent = agent
        self.config = config or RealtimeRunConfig()
        self.model = model
        self.model_config = model_config
        self.options = options or CallOptions()
        self.recording_dir = recording_dir
        self.on_event = on_event
        self.info: CallInfo | None = None
        self.session: RealtimeSession | None = None
        self.ledger = MarkLedger(BYTES_PER_MS)
        self._pacer = OutboundPacer(self.options.lead_ms)
        self._out: collections.deque[_Chunk] = collections.deque()
        self._out_bytes = 0
        self._cancelled: set[str] = set()
        self._clear_due = False
        self._wake = trio.Event()
        self._counts = collections.Counter[str]()
        self._dropped_bytes = 0
        self._inbound_ms: collections.deque[float] = collections.deque(maxlen=TIMING_SAMPLES)
        self._late_ms: collections.deque[float] = collections.deque(maxlen=TIMING_SAMPLES)
        self.ended = trio.Event()

    # -- the call -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the call to its end (hang-up, a closed socket or the session ending)."""
        try:
            start = await self._wait_for_start()
            if start is None:
                return
            self.info = CallInfo(
                start.call_sid, start.stream_sid, start.account_sid, start.custom_parameters
            )
            agent = await build_agent(self.agent, self.info, "AGENT")
            async with open_session(
                agent,
                self._session_config(start),
                context=self.info,
                model=self.model() if self.model is not None else None,
                model_config=self.model_config,
            ) as session:
                self.session = session
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._events, session, nursery.cancel_scope)
                    nursery.start_soon(self._writer, start.stream_sid)
                    await self._reader(session)
                    nursery.cancel_scope.cancel()
        finally:
            self.ended.set()

    def _session_config(self, start: tw.Start) -> RealtimeRunConfig:
        changes: dict[str, Any] = {}
        if self.config.model_settings is None:
            changes["model_settings"] = PHONE_SETTINGS
        if self.recording_dir is not None:
            name = "".join(c for c in start.call_sid if c.isalnum()) or "call"
            changes["recording_path"] = f"{self.recording_dir}/{name}.wav"
            changes["recording_rate"] = 8000
        return attrs.evolve(self.config, audio_source=None, audio_sink=None, **changes)

    async def _wait_for_start(self) -> tw.Start | None:
        with trio.move_on_after(self.options.start_timeout):
            while True:
                text = await self.socket.receive()
                if text is None:
                    return None
                message = tw.parse_twilio_message(text)
                if isinstance(message, tw.Start):
                    return message
                if isinstance(message, tw.MalformedTwilioMessage):
                    self._counts["malformed_in"] += 1
        log.warning("no `start` from Twilio within %.0f s: closing", self.options.start_timeout)
        return None

    # -- Twilio → session -----------------------------------------------------------------------

    async def _reader(self, session: RealtimeSession) -> None:
        while True:
            text = await self.socket.receive()
            if text is None:
                return  # the socket closed: the call is over
            message = tw.parse_twilio_message(text)
            if isinstance(message, tw.Media):
                self._counts["frames_in"] += 1
                if message.payload:
                    read_at = trio.current_time()
                    await session.send_audio(message.payload)
                    self._inbound_ms.append(1000 * (trio.current_time() - read_at))
            elif isinstance(message, tw.Mark):
                self._echoed(session, message.name)
            elif isinstance(message, tw.Dtmf):
                session.push(RealtimeDtmf(message.digit))
            elif isinstance(message, tw.Stop):
                return
            elif isinstance(message, tw.MalformedTwilioMessage):
                self._counts["malformed_in"] += 1
                log.debug("call %s: malformed frame (%s)", self._sid, message.reason)

    def _echoed(self, session: RealtimeSession, name: str) -> None:
        self._counts["marks_echoed"] += 1
        position = self.ledger.echoed(name)
        if position is not None and position.item_id not in self._cancelled:
            session.playback_progress(position.item_id, position.content_index, position.played_ms)
        if self.ledger.idle and not self._out:
            session.playback_finished()

    # -- session → Twilio -----------------------------------------------------------------------

    async def _events(self, session: RealtimeSession, scope: trio.CancelScope) -> None:
        async for event in session:
            if self.on_event is not None:
                self.on_event(event)
            if isinstance(event, RealtimeAudio):
                if event.item_id in self._cancelled:
                    self._counts["late_deltas_dropped"] += 1
                    continue
                self._enqueue(_Chunk(event.item_id, event.content_index, event.data))
            elif isinstance(event, RealtimeAudioInterrupted):
                self._interrupt(event.item_id)
        scope.cancel()  # the session ended by itself: so does the call

    def _enqueue(self, chunk: _Chunk) -> None:
        self._out.append(chunk)
        self._out_bytes += len(chunk.data)
        limit = self.options.outbound_s * 1000 * BYTES_PER_MS
        while self._out_bytes > limit and len(self._out) > 1:
            old = self._out.popleft()
            self._out_bytes -= len(old.data)
            self._dropped_bytes += len(old.data)
        self._wake.set()

    def _interrupt(self, item_id: str) -> None:
        self._cancelled.add(item_id)
        self._cancelled.update(chunk.item_id for chunk in self._out)
        self._out.clear()
        self._out_bytes = 0
        self._clear_due = True
        self._wake.set()

    async def _writer(self, stream_sid: str) -> None:
        step = self.options.chunk_ms * BYTES_PER_MS
        recorder = self.session.recorder if self.session is not None else None
        while True:
            if self._clear_due:
                self._clear_due = False
                await self.socket.send(tw.clear_message(stream_sid))
                self.ledger.cleared()
                self._pacer.reset()
                self._counts["clears"] += 1
                continue
            if not self._out:
                await self._wait()
                continue
            now = trio.current_time()
            due = self._pacer.due(now)
            if due > now:
                await self._wait(until=due)
                if not self._clear_due and self._out:  # woken by the pacer: how late?
                    self._late_ms.append(1000 * max(0.0, trio.current_time() - due))
                continue
            head = self._out[0]
            data, rest = head.data[:step], head.data[step:]
            if rest:
                head.data = rest
            else:
                self._out.popleft()
            self._out_bytes -= len(data)
            await self.socket.send(tw.media_message(stream_sid, data))
            name = self.ledger.sent(head.item_id, head.content_index, len(data))
            await self.socket.send(tw.mark_message(stream_sid, name))
            plays_at = self._pacer.book(now, len(data) / BYTES_PER_MS)
            self._counts["frames_out"] += 1
            self._counts["marks_sent"] += 1
            if recorder is not None:
                recorder.agent(native.ulaw_decode(data), 8000, plays_at)

    async def _wait(self, until: float | None = None) -> None:
        """Until there is something to do (or ``until``, if given)."""
        with trio.move_on_at(until if until is not None else float("inf")):
            await self._wake.wait()
        self._wake = trio.Event()

    @property
    def _sid(self) -> str:
        return self.info.call_sid if self.info is not None else "?"

    def statistics(self) -> CallStatistics:
        played = self.ledger.played
        return CallStatistics(
            call_sid=self._sid,
            frames_in=self._counts["frames_in"],
            frames_out=self._counts["frames_out"],
            marks_sent=self._counts["marks_sent"],
            marks_echoed=self._counts["marks_echoed"],
            clears=self._counts["clears"],
            malformed_in=self._counts["malformed_in"],
            late_deltas_dropped=self._counts["late_deltas_dropped"],
            outbound_dropped_ms=self._dropped_bytes / BYTES_PER_MS,
            heard_ms=played.played_ms if played is not None else 0.0,
            inbound_ms=_summary(self._inbound_ms),
            outbound_late_ms=_summary(self._late_ms),
        )
