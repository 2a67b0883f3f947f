"""``rtagents demo``: a voice conversation with the demo agent, offline by default.

Theory of operation
-------------------
The demo runs the whole runtime — capture, local VAD, the model link, tools, playback — on real
speech.  The model is the embedded local server (started in-process on a loopback port, and
reached over a real WebSocket like any Realtime endpoint) with the offline speech cascade:
pocketsphinx hears, a rule-based brain (or any chat-completions endpoint) answers and calls
the agent's tools, espeak-ng speaks.  With ``--model openai`` (or ``OPENAI_API_KEY`` set) the
same session talks to OpenAI's Realtime API instead.

Audio comes from the microphone and goes to the speaker when there are devices; otherwise —
or with ``--input`` / ``--output`` — a WAV file is played as the user's voice (paced in real
time, through the capture actor) and the agent's voice is written to a WAV file as it plays.
With no input file, a sample question is synthesized at the first run and kept in the cache.

What it prints: the user's transcript, tool calls, the agent's transcript, and for each turn
the latency from the end of the user's speech to the first agent audio, split into stages
(see :mod:`rtagents.local._latency`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import sys
import wave
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import attrs
import numpy as np
import trio

from rtagents import items as it
from rtagents import protocol as p
from rtagents.agent import RealtimeAgent
from rtagents.apps.demo_agent import demo_agent
from rtagents.apps.local_model import DEMO_GRAMMAR as DEMO_GRAMMAR
from rtagents.apps.local_model import LocalModelError, start_local_model
from rtagents.apps.local_model import add_speech_arguments as add_speech_arguments
from rtagents.audio import (
    AudioSink,
    AudioSource,
    SoundDeviceSink,
    SoundDeviceSource,
    WavSink,
    WavSource,
)
from rtagents.config import RealtimeRunConfig
from rtagents.models import OpenAIRealtimeConfig
from rtagents.runner import open_session
from rtagents.session import RealtimeSession

SAMPLE_QUESTION = "What is the weather like in London today?"

#: What the local model recognizes by default: the demo agent's questions, as a JSGF grammar
#: (pocketsphinx's open English model is available with ``--open-vocabulary``).

TRANSCRIPTION = p.Transcription(model="gpt-4o-mini-transcribe")
SILENCE_MS = 500  # the server VAD's silence duration (the local server's and OpenAI's default)


class DemoError(Exception):
    """Something the user can fix (a missing extra, a bad file); printed without a traceback."""


def cache_dir(environ: Any = os.environ) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtagents"


def write_wav(path: Path, pcm: bytes, rate: int = 24000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    tmp.replace(path)  # never leave a half-written file where the next run would read it


def synthesize_question(text: str) -> bytes:
    """`text` spoken by espeak-ng at 24 kHz, with half a second of silence before it."""
    from rtagents.local.speech import EspeakVoice, SpeechUnavailable

    try:
        voice = EspeakVoice(threaded=False)
    except SpeechUnavailable as exc:
        raise DemoError(f"{exc} (or give --input question.wav)") from exc
    return bytes(2 * 12000) + voice.synthesize_sync(text)


def sample_question(question: str | None, environ: Any = os.environ) -> Path:
    """The WAV file of the question: the cached sample, made at the first run."""
    if question is None:
        path = cache_dir(environ) / "sample-question.wav"
        if not path.exists():
            write_wav(path, synthesize_question(SAMPLE_QUESTION))
        return path
    path = cache_dir(environ) / "question.wav"
    write_wav(path, synthesize_question(question))
    return path


def speech_end_seconds(pcm16: bytes, rate: int, threshold_dbfs: float = -45) -> list[float]:
    """Where each stretch of speech in `pcm16` ends (seconds from its start): the last 20 ms
    window above `threshold_dbfs` before at least SILENCE_MS of quiet.

    Deliberately not the server's VAD: this is the reference the VAD's turn detection is
    measured against, so it must not share its thresholds or its frame grid."""
    pcm = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    win = rate // 50
    n = len(pcm) // win
    if n == 0:
        return []
    rms = np.sqrt(np.mean(pcm[: n * win].reshape(n, win) ** 2, axis=1))
    loud = rms > 32768 * 10 ** (threshold_dbfs / 20)
    ends, quiet, last_loud = [], 0, None
    for i, flag in enumerate(loud):
        if flag:
            last_loud, quiet = i, 0
        elif last_loud is not None:
            quiet += 1
            if quiet * 20 >= SILENCE_MS:
                ends.append((last_loud + 1) * win / rate)
                last_loud = None
    if last_loud is not None:
        ends.append((last_loud + 1) * win / rate)
    return ends


@attrs.define(eq=False)
class TimedSource:
    """A source that notes when its first frame and its end came (to place the file's speech on
    the trio clock)."""

    inner: AudioSource
    rate: int = attrs.field(init=False)
    started_at: float | None = None
    finished: trio.Event = attrs.field(factory=trio.Event)

    def __attrs_post_init__(self) -> None:
        self.rate = self.inner.rate

    async def frames(self) -> Any:
        try:
            async for frame in self.inner.frames():
                if self.started_at is None:
                    self.started_at = trio.current_time()
                yield frame
        finally:
            self.finished.set()


@attrs.define(eq=False)
class Printer:
    """Turns session events into the demo's transcript lines."""

    out: TextIO
    # When each agent item's first audio arrived (bounded like the server's timeline).
    client_audio: deque[float] = attrs.field(factory=lambda: deque(maxlen=4096))
    users_said: dict[str, str] = attrs.field(factory=dict)
    agent_said: dict[str, str] = attrs.field(factory=dict)
    tool_calls: list[tuple[str, str, str]] = attrs.field(factory=list)
    _last_audio_item: str | None = None
    _cut: set[str] = attrs.field(factory=set)
    _audio_ms: dict[str, float] = attrs.field(factory=dict)

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def attach(self, session: RealtimeSession, nursery: trio.Nursery) -> None:
        """The session is open (its events come next); `nursery` outlives it."""

    def detach(self) -> None:
        """The session is over (or never opened); only the summary follows."""

    def on_event(self, event: Any) -> None:
        kind = event.type
        if kind == "audio":
            if event.item_id != self._last_audio_item:
                self._last_audio_item = event.item_id
                self.client_audio.append(trio.current_time())
                if len(self._audio_ms) >= 64:  # only recent answers can still be cut off
                    del self._audio_ms[next(iter(self._audio_ms))]
            # The demo's sessions use 24 kHz PCM16 (the default output format).
            self._audio_ms[event.item_id] = (
                self._audio_ms.get(event.item_id, 0.0) + len(event.data) / 48
            )
        elif kind == "tool_start":
            self.say(f"  tool   {event.tool.name}({event.arguments})")
        elif kind == "tool_end":
            self.tool_calls.append((event.tool.name, event.arguments, str(event.output)))
            self.say(f"  tool → {event.output}")
        elif kind == "audio_interrupted":
            self.say("  (the agent was interrupted)")
        elif kind == "error":
            self.say(f"  error: {event.error.message or event.error.type}")
        elif kind == "history_updated":
            for item in event.history:
                self._transcripts(item)

    def _transcripts(self, item: Any) -> None:
        if isinstance(item, it.UserMessageItem):
            text = " ".join(getattr(c, "transcript", None) or "" for c in item.content).strip()
            if text and item.item_id not in self.users_said:
                self.users_said[item.item_id] = text
                self.say(f"you:     {text}")
        elif isinstance(item, it.AssistantMessageItem) and item.status not in (
            None,
            "in_progress",
        ):
            text = "".join(
                getattr(c, "transcript", None) or getattr(c, "text", None) or ""
                for c in item.content
            ).strip()
            if text and item.item_id not in self.agent_said:
                self.agent_said[item.item_id] = text
                self.say(f"agent:   {text}")
            if item.truncated_at_ms is not None and item.item_id not in self._cut:
                # The answer's text arrives ahead of its audio: say about what was heard (the
                # text in proportion to the audio played, as the local server truncates it).
                self._cut.add(item.item_id)
                total = self._audio_ms.get(item.item_id, 0.0)
                share = min(1.0, item.truncated_at_ms / total) if total else 1.0
                heard = text[: round(len(text) * share)].rstrip()
                self.agent_said[item.item_id] = heard
                self.say(
                    f"  (cut off after {item.truncated_at_ms / 1000:.1f} of {total / 1000:.1f} s"
                    + (f": “{heard}…”)" if heard else ")")
                )


async def wait_until_quiet(session: RealtimeSession, *, settle: float = 0.6) -> None:
    """Until the agent has nothing left to say, play or run (for `settle` seconds in a row)."""
    quiet_since: float | None = None
    while True:
        stats = session.statistics()
        playback = stats.playback
        busy = (
            stats.state != "idle"
            or (playback is not None and (playback.playing or playback.queued_ms > 0))
            or stats.tools.running > 0
            or stats.pending_approvals > 0  # a question on the terminal, not yet answered
        )
        now = trio.current_time()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle:
            return
        await trio.sleep(0.05)


@attrs.frozen
class DemoResult:
    users_said: list[str]
    agent_said: list[str]
    tool_calls: list[tuple[str, str, str]]
    turns: list[Any]  # TurnLatency (local model) — empty for OpenAI
    output: Path | None
    interrupted: bool = False  # stopped by Ctrl-C (see run_until_interrupted)


@attrs.define(eq=False)
class Audio:
    """Where the conversation's audio comes from and goes: devices, or WAV files (`timed` is
    the input file's source, `speech_ends` where its speech ends, `output` the answer file)."""

    source: AudioSource
    sink: AudioSink
    timed: TimedSource | None = None
    speech_ends: list[float] = attrs.field(factory=list)
    output: Path | None = None


def use_openai(args: argparse.Namespace) -> bool:
    """Whether to talk to OpenAI (``--model openai``, or a key in the environment); a
    :class:`DemoError` when asked for without a key."""
    chosen = args.model == "openai" or (
        args.model is None and bool(os.environ.get("OPENAI_API_KEY"))
    )
    if chosen and not os.environ.get("OPENAI_API_KEY"):
        raise DemoError("--model openai needs OPENAI_API_KEY in the environment")
    return chosen


def file_audio(args: argparse.Namespace, printer: Printer) -> Audio:
    """The WAV mode: ``--input`` (or the sample question) as the user's voice, paced in real
    time, and the agent's voice written to ``--output`` (default answer.wav)."""
    path = Path(args.input) if args.input else sample_question(args.question)
    try:
        wav = WavSource(path, realtime=True, tail_silence_ms=1500)
    except (OSError, ValueError) as exc:
        raise DemoError(f"cannot read --input: {exc}") from exc
    timed = TimedSource(wav)
    output = Path(args.output or "answer.wav")
    try:
        sink = WavSink(output, 24000, realtime=True)
    except OSError as exc:
        raise DemoError(f"cannot write --output: {exc}") from exc
    printer.say(f"input:   {path} ({wav.seconds:.1f} s)   output: {output}")
    return Audio(timed, sink, timed, speech_end_seconds(wav.pcm, wav.rate), output)


async def run_demo(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    in_memory: bool = False,
    stop: trio.Event | None = None,
) -> DemoResult:
    """The demo as a coroutine (the CLI runs it with ``trio.run``).

    `in_memory` (for tests on trio's MockClock) runs the local model over an in-memory
    transport with recognition and synthesis inline instead of on a socket and worker threads.
    `stop` (Ctrl-C) ends the conversation cleanly: the session closed, the WAV file complete.
    """
    openai = use_openai(args)
    printer = Printer(out)
    live = args.input is None and args.output is None and not args.files and _has_devices()
    if live:
        # 48 kHz: what sound cards take natively; the capture and playback actors resample.
        audio = Audio(SoundDeviceSource(48000), SoundDeviceSink(48000))
        printer.say("live: speak into the microphone (Ctrl-C to stop)")
    else:
        audio = file_audio(args, printer)
    grammar = None if args.open_vocabulary else DEMO_GRAMMAR
    return await converse(
        args,
        printer,
        demo_agent(),
        audio,
        openai=openai,
        grammar=grammar,
        in_memory=in_memory,
        stop=stop,
    )


async def converse(
    args: argparse.Namespace,
    printer: Printer,
    agent: RealtimeAgent[Any],
    audio: Audio,
    *,
    openai: bool,
    grammar: str | None,
    in_memory: bool = False,
    stop: trio.Event | None = None,
) -> DemoResult:
    """One conversation with `agent` (shared by ``rtagents demo`` and ``rtagents console``):
    the model (OpenAI, or the local speech model with `grammar`), a session on `audio`, the
    printer fed its events; in WAV mode it ends once the input has played and the agent is
    quiet, live it runs until `stop` is set (or it is cancelled).  Then the summary."""
    settings = p.SessionConfig(
        audio=p.AudioConfig(input=p.AudioInputConfig(transcription=TRANSCRIPTION))
    )
    server = None
    timed = audio.timed
    opened = False
    try:
        async with trio.open_nursery() as nursery:
            with trio.CancelScope() as conversation:
                if stop is not None:
                    nursery.start_soon(_cancel_when_set, stop, conversation)
                if openai:
                    model_config = OpenAIRealtimeConfig()
                    printer.say("model:   OpenAI Realtime API")
                    link_factory = None
                else:
                    try:
                        server, link_factory = await start_local_model(
                            nursery, args, printer.out, in_memory, grammar
                        )
                    except LocalModelError as exc:
                        raise DemoError(str(exc)) from exc
                    model_config = OpenAIRealtimeConfig(url=server.url, api_key="local")
                config = RealtimeRunConfig(
                    model=model_config,
                    model_settings=settings,
                    audio_source=audio.source,
                    audio_sink=audio.sink,
                    link_factory=link_factory,
                    # A speaker echoes into a microphone; WAV files have no room to echo in.
                    echo_gate=timed is None,
                )
                try:
                    async with open_session(agent, config) as session:
                        opened = True  # the session owns the source and sink now: it closes them
                        printer.attach(session, nursery)
                        nursery.start_soon(_pump, session, printer)
                        if timed is None:
                            await trio.sleep_forever()
                        await timed.finished.wait()
                        with trio.move_on_after(args.timeout):
                            await wait_until_quiet(session)
                finally:
                    printer.detach()
            nursery.cancel_scope.cancel()
    finally:
        if not opened:  # it never opened (stopped, or failed): close what it would have
            await close_audio(audio)
    interrupted = conversation.cancelled_caught

    turns: list[Any] = []
    if server is not None and not interrupted:
        from rtagents.local._latency import format_turn, turn_latencies

        base = timed.started_at if timed is not None and timed.started_at is not None else None
        ends = [base + e for e in audio.speech_ends] if base is not None else []
        turns = turn_latencies(
            server.timeline.marks,
            speech_ends=ends,
            silence_ms=SILENCE_MS,
            client_audio=printer.client_audio,
        )
        for n, turn in enumerate(turns, 1):
            printer.say(f"turn {n} latency (end of your speech → first agent audio):")
            printer.say(format_turn(turn))
    output = audio.output
    if output is not None:
        with wave.open(str(output), "rb") as wav_out:
            seconds = wav_out.getnframes() / wav_out.getframerate()
        printer.say(f"wrote {output} ({seconds:.1f} s of agent audio)")
    return DemoResult(
        users_said=list(printer.users_said.values()),
        agent_said=list(printer.agent_said.values()),
        tool_calls=printer.tool_calls,
        turns=turns,
        output=output,
        interrupted=interrupted,
    )


async def close_audio(audio: Audio) -> None:
    """Close `audio`'s sink and source (a WAV file is complete once closed); never raises."""
    with trio.CancelScope(shield=True):
        for resource in (audio.sink, audio.source):
            closer = getattr(resource, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):  # (a device closed twice)
                    await closer()


async def _cancel_when_set(stop: trio.Event, scope: trio.CancelScope) -> None:
    await stop.wait()
    scope.cancel()


async def _pump(session: RealtimeSession, printer: Printer) -> None:
    async for event in session:
        printer.on_event(event)


def _has_devices() -> bool:
    """Whether a default microphone and speaker exist (sounddevice and PortAudio installed)."""
    try:
        import sounddevice as sd

        sd.query_devices(kind="input")
        sd.query_devices(kind="output")
    except Exception:  # no library, no PortAudio, or no device
        return False
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        metavar="WAV",
        help="the user's voice from a WAV file (any rate, mono or stereo, 16/24/32-bit or G.711)",
    )
    parser.add_argument(
        "--output", metavar="WAV", help="write the agent's voice here (default: answer.wav)"
    )
    parser.add_argument(
        "--files",
        action="store_true",
        help="use WAV files even when a microphone and speaker exist",
    )
    parser.add_argument(
        "--question",
        metavar="TEXT",
        help=f"synthesize this question as the input (default: {SAMPLE_QUESTION!r}); the "
        "local model understands the demo's questions (weather or time in a city, greetings) "
        "unless --open-vocabulary",
    )
    parser.add_argument(
        "--model",
        choices=("local", "openai"),
        help="local (default; offline) or openai (the default when OPENAI_API_KEY is set)",
    )
    add_speech_arguments(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the agent after the input ends (default 30)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON at the end")


def run_until_interrupted(
    run: Callable[[trio.Event], Awaitable[DemoResult]],
) -> DemoResult | None:
    """``trio.run(run, stop)`` where the first Ctrl-C (SIGINT) sets `stop` — the conversation
    ends cleanly, the session closed and the WAV file complete — and a second one cancels the
    run at once.  None when it did not finish; a :class:`DemoError` raised from inside the
    run's nurseries comes out bare (for a one-line message, not a traceback)."""

    async def main() -> DemoResult | None:
        stop = trio.Event()
        result: DemoResult | None = None
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    async for _ in signals:
                        if stop.is_set():
                            nursery.cancel_scope.cancel()
                        stop.set()

                nursery.start_soon(watch)
                result = await run(stop)
                nursery.cancel_scope.cancel()
        return result

    error: DemoError | None = None
    result: DemoResult | None = None
    try:
        result = trio.run(main)
    except* DemoError as group:
        error = _first(group)
    except* KeyboardInterrupt:  # a Ctrl-C before the signal receiver was open
        pass
    if error is not None:
        raise error
    return result


def _first(group: BaseExceptionGroup[DemoError]) -> DemoError:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def report(result: DemoResult | None, args: argparse.Namespace, command: str) -> int:
    """The exit status (1: a WAV-mode run the agent never answered) and the ``--json``
    summary."""
    if result is None:  # Ctrl-C before there was anything to say
        return 0
    status = 0
    if result.output is not None and not result.agent_said and not result.interrupted:
        print(f"{command}: the agent did not answer", file=sys.stderr)
        status = 1
    if args.json:
        print(
            json.dumps(
                {
                    "user": result.users_said,
                    "agent": result.agent_said,
                    "tool_calls": [
                        {"name": n, "arguments": a, "output": o} for n, a, o in result.tool_calls
                    ],
                    "turns": [
                        {"stages_ms": t.stages(), "total_ms": t.total_ms} for t in result.turns
                    ],
                    "output": str(result.output) if result.output else None,
                }
            )
        )
    return status


def main(args: argparse.Namespace) -> int:
    try:
        result = run_until_interrupted(functools.partial(_run_demo_until, args))
    except DemoError as exc:
        print(f"rtagents demo: {exc}", file=sys.stderr)
        return 2
    return report(result, args, "rtagents demo")


async def _run_demo_until(args: argparse.Namespace, stop: trio.Event) -> DemoResult:
    return await run_demo(args, stop=stop)
