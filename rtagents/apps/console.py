"""``rtagents console [AGENT]``: a live voice conversation with any agent, in the terminal.

Theory of operation
-------------------
The console is ``rtagents demo`` (:mod:`rtagents.apps.demo`: the same model choice, WAV mode,
session and transcript lines — :func:`~rtagents.apps.demo.converse` runs both) for the agent
``AGENT`` names (:func:`~rtagents.apps.loader.load_agent`; the demo agent by default), with
what a person at a terminal needs on top:

* **Devices.**  Live by default: the microphone and speaker through sounddevice, each opened at
  its own default rate (the capture and playback actors resample with the native resampler),
  chosen with ``--input-device`` / ``--output-device`` (an index or a part of the name, see
  ``--list-devices``).  Without sounddevice or PortAudio it says what to install and points at
  the WAV mode (``--input`` / ``--output``), exit status 2.
* **A status line.**  On a terminal the last line shows the turn state (idle, you're speaking,
  thinking, agent speaking, interrupted), redrawn in place; transcripts and tool calls are
  printed above it.  When stdout is not a terminal there are only plain lines.
* **Approvals.**  A tool that needs approval is asked about on the terminal
  (``approve get_weather({"city": "Paris"})? [y/N/a(lways)]``); ``--approve always|never``
  decides without asking (``never`` is the default when stdin is not a terminal).
* **Half duplex.**  ``--half-duplex`` drops the microphone's frames while the agent speaks
  (and :data:`ECHO_TAIL` seconds after), for laptop speakers that the microphone hears: the
  agent's own voice can no longer barge in — and neither can the user's.
* **Ctrl-C** ends the conversation cleanly (the session closed, the WAV file complete),
  exit status 0.

On the local offline model the demo agent keeps the demo's grammar; any other agent is heard
with pocketsphinx's open vocabulary (a grammar only knows the demo's questions), and the
console says so.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TextIO

import attrs
import trio

from rtagents import native
from rtagents._core.turns import TurnState
from rtagents.apps.demo import (
    DEMO_GRAMMAR,
    Audio,
    DemoError,
    DemoResult,
    Printer,
    converse,
    file_audio,
    report,
    run_until_interrupted,
    use_openai,
)
from rtagents.apps.demo import add_arguments as add_demo_arguments
from rtagents.apps.loader import DEMO_AGENT, AgentLoadError, load_agent
from rtagents.audio import AudioSource, SoundDeviceSink, SoundDeviceSource
from rtagents.events import RealtimeToolApprovalRequired
from rtagents.session import RealtimeSession

#: After the agent stops, how long the half-duplex microphone stays muted (the room's echo).
ECHO_TAIL = 0.3

STATE_LABELS = {
    TurnState.IDLE: "idle",
    TurnState.USER_SPEAKING: "you're speaking",
    TurnState.AWAITING_RESPONSE: "thinking",
    TurnState.AGENT_SPEAKING: "agent speaking",
    TurnState.INTERRUPTED: "interrupted",
}

Kind = Literal["input", "output"]


class ConsoleError(DemoError):
    """Something the user can fix; printed as ``rtagents console: <message>``, exit status 2."""


# -- devices ---------------------------------------------------------------------------------


def sounddevice_module() -> Any:
    """sounddevice, or a :class:`ConsoleError` saying what to install (and about WAV mode)."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: sounddevice without the PortAudio library
        raise ConsoleError(
            f"live audio needs the sounddevice package and the PortAudio library ({exc}): "
            "pip install 'rtagents[audio]' and apt install libportaudio2 (or your system's "
            "PortAudio package); or talk through WAV files: --input question.wav "
            "--output answer.wav"
        ) from exc
    return sounddevice


@attrs.frozen
class Device:
    index: int
    name: str
    rate: int  # the device's default sample rate
    inputs: int
    outputs: int

    def channels(self, kind: Kind) -> int:
        return self.inputs if kind == "input" else self.outputs


def devices(sd: Any) -> list[Device]:
    return [
        Device(
            index=int(info.get("index", n)),
            name=str(info["name"]),
            rate=round(float(info["default_samplerate"])),
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
        )
        for n, info in enumerate(sd.query_devices())
    ]


def default_devices(sd: Any) -> tuple[int | None, int | None]:
    """The default (input, output) device indexes (None: no default)."""
    try:
        pair = list(sd.default.device)
    except Exception:  # no PortAudio host API, or an odd value
        return None, None

    def index(value: Any) -> int | None:
        try:
            n = int(value)
        except (TypeError, ValueError):
            return None
        return n if n >= 0 else None

    return index(pair[0]), index(pair[1])


def format_devices(sd: Any) -> list[str]:
    """``--list-devices``: the input and the output devices, the defaults marked with *."""
    found = devices(sd)
    defaults = default_devices(sd)
    lines = []
    kinds: tuple[tuple[Kind, int | None], ...] = (("input", defaults[0]), ("output", defaults[1]))
    for kind, default in kinds:
        lines.append(f"{kind} devices (* = default):")
        usable = [d for d in found if d.channels(kind) > 0]
        for d in usable:
            mark = "*" if d.index == default else " "
            lines.append(f"  {mark} {d.index:>3}  {d.name}  ({d.rate} Hz)")
        if not usable:
            lines.append("    (none)")
    return lines


def pick_device(sd: Any, spec: str | None, kind: Kind) -> Device:
    """The device `spec` names (an index or a case-insensitive part of the name; None: the
    default) among the devices with `kind` channels."""
    option = f"--{kind}-device"
    usable = [d for d in devices(sd) if d.channels(kind) > 0]
    if spec is None:
        default = default_devices(sd)[0 if kind == "input" else 1]
        chosen = [d for d in usable if d.index == default]
        if not chosen:
            raise ConsoleError(
                f"no default {kind} device; choose one with {option} (see --list-devices), "
                "or use WAV files: --input question.wav --output answer.wav"
            )
        return chosen[0]
    text = spec.strip()
    if text.isdigit():
        chosen = [d for d in usable if d.index == int(text)]
        if not chosen:
            raise ConsoleError(f"{option} {text}: no {kind} device {text} (see --list-devices)")
        return chosen[0]
    chosen = [d for d in usable if d.name.lower() == text.lower()] or [
        d for d in usable if text.lower() in d.name.lower()
    ]
    if not chosen:
        raise ConsoleError(f"{option} {spec!r}: no {kind} device has that in its name")
    if len(chosen) > 1:
        listed = "; ".join(f"{d.index}: {d.name}" for d in chosen)
        raise ConsoleError(f"{option} {spec!r} matches {len(chosen)} devices ({listed}): give one")
    return chosen[0]


def capture_rate(rate: int) -> int:
    """The rate a microphone is opened at: its own when the resampler supports it."""
    return min((r for r in native.SUPPORTED_RATES if r >= rate), default=96000)


def playback_rate(rate: int) -> int:
    """The rate a speaker is opened at: its own when supported with whole 10 ms frames."""
    usable = [r for r in native.SUPPORTED_RATES if r % 100 == 0]
    return min((r for r in usable if r >= rate), default=usable[-1])


def choose_devices(args: argparse.Namespace) -> tuple[Any, Device, Device]:
    """sounddevice, the microphone and the speaker (a :class:`ConsoleError` if any is
    missing)."""
    sd = sounddevice_module()
    return (
        sd,
        pick_device(sd, args.input_device, "input"),
        pick_device(sd, args.output_device, "output"),
    )


def open_devices(sd: Any, mic: Device, speaker: Device, printer: Printer) -> Audio:
    """The microphone and the speaker, each at its own default rate."""
    in_rate, out_rate = capture_rate(mic.rate), playback_rate(speaker.rate)
    try:
        sd.check_input_settings(device=mic.index, samplerate=in_rate, channels=1, dtype="int16")
        sd.check_output_settings(
            device=speaker.index, samplerate=out_rate, channels=1, dtype="int16"
        )
        sink = SoundDeviceSink(out_rate, device=speaker.index)
    except Exception as exc:  # sounddevice.PortAudioError, ValueError
        raise ConsoleError(f"cannot open the audio devices: {exc}") from exc
    source = SoundDeviceSource(in_rate, device=mic.index)
    printer.say(f"live:    microphone {mic.index} {mic.name} ({in_rate} Hz)")
    printer.say(f"         speaker {speaker.index} {speaker.name} ({out_rate} Hz)")
    printer.say("         speak into the microphone (Ctrl-C to stop)")
    return Audio(source, sink)


# -- half duplex -----------------------------------------------------------------------------


class HalfDuplexGate:
    """A source that drops its frames while ``agent_speaking()`` (and `tail` seconds after):
    what the microphone hears of the agent's own voice is never sent, nor seen by the local
    VAD.  ``agent_speaking`` is set once the session is open."""

    def __init__(self, inner: AudioSource, *, tail: float = ECHO_TAIL) -> None:
        self.inner = inner
        self.rate = inner.rate
        self.tail = tail
        self.agent_speaking: Callable[[], bool] = lambda: False
        self.passed = 0
        self.dropped = 0

    async def frames(self) -> AsyncIterator[bytes]:
        last_spoke = -math.inf
        async for frame in self.inner.frames():
            now = trio.current_time()
            speaking = self.agent_speaking()
            if speaking:
                last_spoke = now
            if speaking or now - last_spoke < self.tail:
                self.dropped += 1
                continue
            self.passed += 1
            yield frame

    async def aclose(self) -> None:
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()
        else:
            await trio.lowlevel.checkpoint()


def agent_speaking(session: RealtimeSession) -> bool:
    """Whether the agent is speaking: its turn, or its audio still playing."""
    if session.turn_state is TurnState.AGENT_SPEAKING:
        return True
    playback = session.statistics().playback
    return playback is not None and playback.playing


# -- the terminal ----------------------------------------------------------------------------


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@attrs.define(eq=False)
class Screen:
    """Lines printed above a footer (the status line, or a question) redrawn in place when
    `redraw` (a terminal); plain lines otherwise."""

    out: TextIO
    redraw: bool
    footer: str = ""
    asking: bool = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str) -> None:
        if self.redraw:
            self._write("\r\x1b[K" + text + "\n" + self.footer)
        elif self.asking:  # a plain question waits on its line: keep it last
            self._write("\n" + text + "\n" + self.footer)
        else:
            self._write(text + "\n")

    def status(self, text: str) -> None:
        if self.redraw and not self.asking and text != self.footer:
            self.footer = text
            self._write("\r\x1b[K" + text)

    def ask(self, question: str) -> None:
        self.asking = True
        self.footer = question
        self._write(("\r\x1b[K" if self.redraw else "") + question)

    def answered(self, echo: str | None) -> None:
        """The question's line is done (`echo`: the answer, when the terminal did not echo
        it)."""
        if echo is not None:
            self._write(echo + "\n")
        self.asking = False
        self.footer = ""

    def clear(self) -> None:
        if self.redraw and self.footer and not self.asking:
            self._write("\r\x1b[K")
        elif self.asking:
            self._write("\n")
        self.footer = ""
        self.asking = False


def read_line(stdin: Any) -> str:
    """One line from `stdin` ('' at its end).  A real file descriptor is read with os.read:
    no lock of sys.stdin's is held by the (abandoned) thread when Ctrl-C ends the program."""
    try:
        fd = stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return str(stdin.readline())
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


@attrs.define(eq=False)
class ConsolePrinter(Printer):
    """The demo's transcript lines above a status line, and the approval questions."""

    screen: Screen | None = None
    approve: str = "never"
    stdin: Any = None
    gate: HalfDuplexGate | None = None
    _requests: Any = None
    _session: RealtimeSession | None = None

    def __attrs_post_init__(self) -> None:
        if self.screen is None:
            self.screen = Screen(self.out, _isatty(self.out))

    def say(self, line: str) -> None:
        assert self.screen is not None
        self.screen.line(line)

    def on_event(self, event: Any) -> None:
        super().on_event(event)
        if event.type == "tool_approval_required" and self._requests is not None:
            self._requests.send_nowait(event)

    def attach(self, session: RealtimeSession, nursery: trio.Nursery) -> None:
        self._session = session
        send, receive = trio.open_memory_channel[RealtimeToolApprovalRequired](math.inf)
        self._requests = send
        nursery.start_soon(self._approvals, session, receive)
        if self.gate is not None:
            self.gate.agent_speaking = functools.partial(agent_speaking, session)
        assert self.screen is not None
        if self.screen.redraw:
            nursery.start_soon(self._status, session)

    def detach(self) -> None:
        self._session = None
        if self._requests is not None:
            self._requests.close()
        assert self.screen is not None
        self.screen.clear()

    def status_text(self, session: RealtimeSession) -> str:
        label = STATE_LABELS.get(session.turn_state, session.turn_state.value)
        if self.gate is not None and label == "agent speaking":
            label += " (microphone muted)"
        return f"[{label}]  Ctrl-C to quit"

    async def _status(self, session: RealtimeSession) -> None:
        while self._session is session:
            assert self.screen is not None
            self.screen.status(self.status_text(session))
            await trio.sleep(0.05)

    async def _approvals(
        self,
        session: RealtimeSession,
        requests: trio.MemoryReceiveChannel[RealtimeToolApprovalRequired],
    ) -> None:
        async for event in requests:
            name = getattr(event.tool, "name", "tool")
            call = f"{name}({event.arguments})"
            if self.approve == "always":
                await session.approve_tool_call(event.call_id)
                self.say(f"  approved {call} (--approve always)")
                continue
            if self.approve == "never":
                await session.reject_tool_call(event.call_id)
                self.say(f"  rejected {call} (--approve never)")
                continue
            answer = (await self._ask(f"approve {call}? [y/N/a(lways)] ")).strip().lower()
            if answer in ("a", "always"):
                await session.approve_tool_call(event.call_id, always=True)
                self.say(f"  approved (and every later call of {name})")
            elif answer in ("y", "yes"):
                await session.approve_tool_call(event.call_id)
                self.say("  approved")
            else:
                await session.reject_tool_call(event.call_id)
                self.say("  rejected")

    async def _ask(self, question: str) -> str:
        screen = self.screen
        assert screen is not None
        stdin = self.stdin if self.stdin is not None else sys.stdin
        screen.ask(question)
        answer = await trio.to_thread.run_sync(read_line, stdin, abandon_on_cancel=True)
        # A terminal echoes what was typed (and the Enter); from a pipe or a file, or at the
        # end of the input, show the answer.
        typed = _isatty(stdin) and answer.endswith("\n")
        screen.answered(None if typed else answer.rstrip("\n") or "(no answer)")
        return answer


# -- the command -----------------------------------------------------------------------------


def approval_policy(args: argparse.Namespace, stdin: Any) -> str:
    chosen: str | None = args.approve
    if chosen is None:
        chosen = "ask" if _isatty(stdin) else "never"
    return chosen


def is_demo_agent(spec: str | None) -> bool:
    return spec is None or spec.strip() == DEMO_AGENT


async def run_console(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    *,
    stdin: Any = None,
    in_memory: bool = False,
    stop: trio.Event | None = None,
) -> DemoResult:
    """The console as a coroutine (``main`` runs it with Ctrl-C handling).

    `stdin` answers the approval questions (default ``sys.stdin``); `in_memory` runs the local
    model in memory with recognition and synthesis inline (tests on trio's MockClock); `stop`
    ends the conversation cleanly."""
    openai = use_openai(args)
    stdin = sys.stdin if stdin is None else stdin
    try:
        agent = await load_agent(args.agent)
    except AgentLoadError as exc:
        raise ConsoleError(str(exc)) from exc
    live = args.input is None and args.output is None and not args.files
    chosen = choose_devices(args) if live else None  # (nothing printed before its errors)
    printer = ConsolePrinter(out, approve=approval_policy(args, stdin), stdin=stdin)
    tools = ", ".join(getattr(t, "name", "?") for t in agent.tools) or "no tools"
    printer.say(f"console: {agent.name} ({args.agent or 'the demo agent'}; {tools})")
    audio = open_devices(*chosen, printer) if chosen else file_audio(args, printer)
    if args.half_duplex:
        gate = HalfDuplexGate(audio.source)
        audio.source = printer.gate = gate
        printer.say("half duplex: the microphone is muted while the agent speaks")
    grammar: str | None = None
    if not openai and not args.open_vocabulary:
        if is_demo_agent(args.agent):
            grammar = DEMO_GRAMMAR
        else:
            printer.say(
                "model:   not the demo agent: the local model hears with the open vocabulary "
                "(less accurate than the demo's grammar)"
            )
    return await converse(
        args,
        printer,
        agent,
        audio,
        openai=openai,
        grammar=grammar,
        in_memory=in_memory,
        stop=stop,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "agent",
        metavar="AGENT",
        nargs="?",
        help="the agent: module:attribute or path/to/file.py:attribute (a RealtimeAgent or a "
        "function returning one); default: the demo agent",
    )
    add_demo_arguments(parser)
    parser.add_argument(
        "--list-devices",
        action="store_true",
        help="list the input and output devices (index, name, default rate) and exit",
    )
    parser.add_argument(
        "--input-device",
        metavar="DEVICE",
        help="the microphone: an index or part of a name (default: the system's default)",
    )
    parser.add_argument(
        "--output-device",
        metavar="DEVICE",
        help="the speaker: an index or part of a name (default: the system's default)",
    )
    parser.add_argument(
        "--approve",
        choices=("ask", "always", "never"),
        help="tools that need approval: ask on the terminal (default when stdin is a "
        "terminal), always approve, or never (the default otherwise)",
    )
    parser.add_argument(
        "--half-duplex",
        action="store_true",
        help="mute the microphone while the agent speaks: for speakers the microphone hears "
        "(no headphones) when the agent's own voice interrupts it; the user cannot interrupt "
        "by voice either",
    )


def main(args: argparse.Namespace) -> int:
    if args.list_devices:
        try:
            lines = format_devices(sounddevice_module())
        except DemoError as exc:
            print(f"rtagents console: {exc}", file=sys.stderr)
            return 2
        print("\n".join(lines))
        return 0
    try:
        result = run_until_interrupted(functools.partial(_run_until, args))
    except DemoError as exc:
        print(f"rtagents console: {exc}", file=sys.stderr)
        return 2
    return report(result, args, "rtagents console")


async def _run_until(args: argparse.Namespace, stop: trio.Event) -> DemoResult:
    return await run_console(args, stop=stop)
