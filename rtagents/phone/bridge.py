"""One Twilio call as a RealtimeSession: the Media Streams WebSocket's thin adapter.

Theory of operation
-------------------
:class:`TwilioCall` waits for the stream's ``start`` (its ids and ``<Parameter>`` values), builds
the agent for the call (a factory gets a :class:`CallInfo`), opens a session and runs three
tasks until the caller hangs up or the session ends.  The session's audio is, by
``CallOptions.audio``:

* ``"pcmu"`` (the default): μ-law at 8 kHz both ways — what Twilio carries, so nothing is
  transcoded or resampled;
* ``"pcm16"``: PCM16 at 24 kHz both ways, for an agent that needs wideband PCM (local VAD,
  recording, a model without μ-law).  Each call has two streaming fused native kernels:
  :class:`CallerAudio` (caller μ-law 8 kHz → PCM16 24 kHz, one pass per frame) and
  :class:`AgentAudio` (agent PCM16 24 kHz → μ-law 8 kHz as deltas arrive).  Their filter state
  carries across frames (no clicks at frame edges); the outbound one is one stream per item
  content part — flushed when the part's audio ends (or the next part starts), so every part
  sends exactly its own duration — and dropped on a barge-in, so no tail of a cleared answer is
  ever sent.  Everything downstream of the conversion — the outbound buffer, pacing, marks, the
  ledger, the agent's side of the recording — is μ-law in both modes, so the milliseconds
  reported played (``8`` μ-law bytes per ms) are the session's milliseconds whatever its byte
  counts are;

the tasks:

* the **reader** parses each frame (:mod:`rtagents.protocol.twilio`; a malformed one is counted
  and skipped, never fatal): caller audio goes to ``session.send_audio`` (as is, or through
  :class:`CallerAudio`); an echoed mark tells the
  :class:`~rtagents._core.remote_playout.MarkLedger` what was *heard*, which goes to
  ``session.playback_progress`` (so a barge-in truncates the answer at acknowledged audio) and,
  once nothing is left in flight, ``playback_finished``; a key press becomes a
  :class:`~rtagents.events.RealtimeDtmf` event; ``stop`` ends the call;
* the **events** task takes the session's events: agent audio (as is, or through
  :class:`AgentAudio`) joins the outbound buffer (bounded: ``outbound_s`` seconds; past it the
  oldest audio is dropped and counted), an ``audio_interrupted`` empties the buffer, asks the
  writer for a ``clear`` and marks the item as cancelled, so late deltas of it are dropped
  rather than played;
* the **writer**, the only task that writes to the socket, sends ``clear`` first when one is
  due, else the next ``chunk_ms`` of audio as ``media`` and a ``mark`` after it, paced by an
  :class:`~rtagents._core.remote_playout.OutboundPacer` so Twilio's buffer stays at most
  ``lead_ms`` ahead of real time (a barge-in has little to discard).

The call's socket is anything with ``send(text)`` and ``receive() -> text | None`` (None: closed);
:func:`rtagents.phone.app.create_twilio_app` adapts Starlette's, tests adapt trio-websocket's.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol

import attrs
import trio

from rtagents import native
from rtagents import protocol as p
from rtagents._core.remote_playout import MarkLedger, OutboundPacer
from rtagents.apps.loader import build_agent
from rtagents.config import RealtimeRunConfig
from rtagents.events import RealtimeAudio, RealtimeAudioEnd, RealtimeAudioInterrupted, RealtimeDtmf
from rtagents.models import RealtimeModel, RealtimeModelConfig
from rtagents.protocol import twilio as tw
from rtagents.runner import open_session
from rtagents.session import RealtimeSession

log = logging.getLogger("rtagents.phone")

BYTES_PER_MS = 8  # μ-law at 8 kHz
PHONE_RATE = 8000  # what Twilio carries
MODEL_RATE = 24000  # audio/pcm, the session's audio in "pcm16" mode
AudioMode = Literal["pcmu", "pcm16"]
#: ``CallOptions.audio``: μ-law passthrough, or PCM16 24 kHz through the fused kernels.
AUDIO_MODES: Final[tuple[AudioMode, ...]] = ("pcmu", "pcm16")
#: Recent frames whose timings a call keeps (for statistics; bounded).
TIMING_SAMPLES = 2048


def _summary(samples: collections.deque[float]) -> tuple[float, float, float]:
    if not samples:
        return (0.0, 0.0, 0.0)
    ordered = sorted(samples)
    last = len(ordered) - 1
    return (ordered[last // 2], ordered[(last * 99) // 100], ordered[last])


def _settings(fmt: p.AudioFormat) -> p.SessionConfig:
    return p.SessionConfig(
        audio=p.AudioConfig(
            input=p.AudioInputConfig(
                format=fmt, transcription=p.Transcription(model="gpt-4o-mini-transcribe")
            ),
            output=p.AudioOutputConfig(format=fmt),
        )
    )


#: The session settings of a call: μ-law both ways, the user's speech transcribed.
PHONE_SETTINGS = _settings(p.AudioFormat.pcmu())
#: The same in ``"pcm16"`` mode: PCM16 at 24 kHz both ways.
PHONE_PCM_SETTINGS = _settings(p.AudioFormat.pcm())


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
    #: The session's audio: "pcmu" (μ-law 8 kHz, passed through) or "pcm16" (PCM16 24 kHz,
    #: converted per call by the fused native kernels); see the module docstring.
    audio: AudioMode = attrs.field(default="pcmu")

    @audio.validator
    def _check_audio(self, _: object, value: object) -> None:
        if value not in AUDIO_MODES:
            modes = ", ".join(AUDIO_MODES)
            raise ValueError(f"CallOptions.audio must be one of {modes}, not {value!r}")


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
    audio: AudioMode = "pcmu"
    # "pcm16" only (else zeros), µs (wall clock) per fused-kernel call (p50, p99, max):
    convert_in_us: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per caller frame
    convert_out_us: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per agent delta


@attrs.define(eq=False)
class _Chunk:
    item_id: str
    content_index: int
    data: bytes


class CallerAudio:
    """Caller audio for a ``"pcm16"`` session: μ-law 8 kHz → PCM16 24 kHz, streaming (one
    fused decode-and-resample pass per frame; the filter's history carries across frames, and
    the last 2 ms are withheld as its look-ahead until the next frame)."""

    __slots__ = ("_resampler",)

    def __init__(self) -> None:
        self._resampler = native.Resampler(PHONE_RATE, MODEL_RATE)

    def convert(self, ulaw: bytes) -> bytes:
        return self._resampler.process_ulaw(ulaw)


class AgentAudio:
    """Agent audio of a ``"pcm16"`` session: PCM16 24 kHz → μ-law 8 kHz, streaming, one stream
    per item content part (sans-IO; see the module docstring).

    :meth:`convert` takes a delta and returns the μ-law now computable, as chunks tagged with
    their part — the previous part's withheld tail first when a new part starts.  :meth:`end`
    flushes a part whose audio is complete, so each part yields exactly
    ``round(samples / 3)`` μ-law bytes, however its deltas were split (an odd byte is carried
    over to the next delta).  :meth:`reset` drops everything (a barge-in)."""

    __slots__ = ("_carry", "_part", "_resampler")

    def __init__(self) -> None:
        self._resampler = native.Resampler(MODEL_RATE, PHONE_RATE)
        self._part: tuple[str, int] | None = None
        self._carry = b""

    @property
    def part(self) -> tuple[str, int] | None:
        """The (item id, content index) streaming now, if any."""
        return self._part

    def convert(self, item_id: str, content_index: int, pcm16: bytes) -> list[_Chunk]:
        part = (item_id, content_index)
        out = self.end() if self._part is not None and self._part != part else []
        self._part = part
        if self._carry:
            pcm16, self._carry = self._carry + pcm16, b""
        if len(pcm16) & 1:
            pcm16, self._carry = pcm16[:-1], pcm16[-1:]
        ulaw = self._resampler.process_to_ulaw(pcm16)
        if ulaw:
            out.append(_Chunk(item_id, content_index, ulaw))
        return out

    def end(self, item_id: str | None = None, content_index: int = 0) -> list[_Chunk]:
        """The part's audio is complete (any part's, without ``item_id``): its tail."""
        part = self._part
        if part is None or (item_id is not None and part != (item_id, content_index)):
            return []
        self._part, self._carry = None, b""
        tail = self._resampler.flush_to_ulaw()  # (and reset)
        return [_Chunk(part[0], part[1], tail)] if tail else []

    def reset(self) -> str | None:
        """Drop the stream's state and withheld tail; returns the item that was streaming."""
        part, self._part, self._carry = self._part, None, b""
        self._resampler.reset()
        return part[0] if part is not None else None


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
        pcm = self.options.audio == "pcm16"
        self._caller_audio = CallerAudio() if pcm else None
        self._agent_audio = AgentAudio() if pcm else None
        self._convert_in_us: collections.deque[float] = collections.deque(maxlen=TIMING_SAMPLES)
        self._convert_out_us: collections.deque[float] = collections.deque(maxlen=TIMING_SAMPLES)
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
        if self.config.model_settings is None:  # (given settings must name the mode's format)
            pcm = self.options.audio == "pcm16"
            changes["model_settings"] = PHONE_PCM_SETTINGS if pcm else PHONE_SETTINGS
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
                    audio = message.payload
                    if self._caller_audio is not None:
                        began = time.perf_counter_ns()
                        audio = self._caller_audio.convert(audio)
                        self._convert_in_us.append((time.perf_counter_ns() - began) / 1000)
                    await session.send_audio(audio)
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
                elif self._agent_audio is None:
                    self._enqueue(_Chunk(event.item_id, event.content_index, event.data))
                else:
                    began = time.perf_counter_ns()
                    chunks = self._agent_audio.convert(
                        event.item_id, event.content_index, event.data
                    )
                    self._convert_out_us.append((time.perf_counter_ns() - began) / 1000)
                    self._enqueue_all(chunks)
            elif isinstance(event, RealtimeAudioEnd):
                if self._agent_audio is not None:
                    self._enqueue_all(self._agent_audio.end(event.item_id, event.content_index))
            elif isinstance(event, RealtimeAudioInterrupted):
                self._interrupt(event.item_id)
        scope.cancel()  # the session ended by itself: so does the call

    def _enqueue_all(self, chunks: list[_Chunk]) -> None:
        for chunk in chunks:
            if chunk.item_id not in self._cancelled:
                self._enqueue(chunk)

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
        if self._agent_audio is not None:  # its withheld tail must never be sent
            streaming = self._agent_audio.reset()
            if streaming is not None:
                self._cancelled.add(streaming)
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
            audio=self.options.audio,
            convert_in_us=_summary(self._convert_in_us),
            convert_out_us=_summary(self._convert_out_us),
        )
