"""`rtagents console [AGENT]`: what a person at a terminal sees and does.

The end-to-end tests drive the real command through a pseudo-terminal (pexpect) in WAV mode —
a question synthesized by espeak-ng as the user's voice, the answer written to a WAV file —
and run in real time (each a few seconds).  The rest run in process: device listing and
choice with a fake sounddevice module, the missing-library message with the import made to
fail as it does without the package or without PortAudio, bad AGENT specs, the approval
questions with a fake session, and the half-duplex gate on trio's MockClock.
"""

from __future__ import annotations

import argparse
import importlib.abc
import io
import os
import subprocess
import sys
import time
import types
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
import trio
import trio.testing

from rtagents import RealtimeAgent, RealtimeRunConfig, open_session
from rtagents._core.turns import TurnState
from rtagents.apps import console
from rtagents.apps.cli import main
from rtagents.apps.console import ConsolePrinter, HalfDuplexGate, add_arguments, run_console
from rtagents.events import RealtimeSessionEvent, RealtimeToolApprovalRequired
from rtagents.local import ResponseContext, ResponsePart, ScriptedResponder
from rtagents.testing import FakeAudioSink, FakeAudioSource, local_model, silence, voice

HERE = Path(__file__).resolve().parent.parent

LIGHTS_AGENT = '''
from rtagents import RealtimeAgent, function_tool


@function_tool(needs_approval=True)
def turn_on_lights(room: str = "house") -> str:
    """Turn on the lights in a room.

    Args:
        room: The room, for example the kitchen.
    """
    return f"The lights in the {room.lower()} are on."


agent = RealtimeAgent("Home", instructions="You switch lights on.", tools=[turn_on_lights])
'''


def console_args(**given: Any) -> argparse.Namespace:
    """`rtagents console`'s parsed arguments: the defaults, with `given` changed."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return argparse.Namespace(**{**vars(parser.parse_args([])), **given})


# -- through a pseudo-terminal ---------------------------------------------------------------


def _speech_or_skip() -> None:
    speech = pytest.importorskip("rtagents.local.speech")
    try:
        speech.EspeakVoice(threaded=False)
    except speech.SpeechUnavailable as exc:  # pragma: no cover - the [local] extra is missing
        pytest.skip(f"no espeak-ng: {exc}")


def question_wav(path: Path, text: str) -> Path:
    """`text` spoken by espeak-ng, as `rtagents demo` makes its sample question — in a fresh
    process: espeak-ng's output depends on what the process synthesized before, and the open
    vocabulary hears the difference."""
    script = (
        "import sys; from pathlib import Path; "
        "from rtagents.apps.demo import synthesize_question, write_wav; "
        "write_wav(Path(sys.argv[1]), synthesize_question(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path), text],
        env={**os.environ, "PYTHONPATH": str(HERE)},
        check=True,
        timeout=60,
    )
    return path


def spawn(tmp_path: Path, *argv: str) -> Any:
    import pexpect  # type: ignore[import-untyped]

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "RTAGENTS_BRAIN", "COLUMNS", "LINES")
    }
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), TERM="xterm", PYTHONPATH=str(HERE))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rtagents", "console", *argv],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(24, 200),
    )
    child.logfile_read = io.StringIO()  # everything the person saw
    return child


def seen(child: Any) -> str:
    text: str = child.logfile_read.getvalue()
    return text


def test_a_spoken_question_answered_on_the_terminal_then_ctrl_c(tmp_path: Path) -> None:
    import pexpect

    _speech_or_skip()
    question = question_wav(tmp_path / "q.wav", "What is the weather like in London today?")
    answer = tmp_path / "a.wav"
    child = spawn(tmp_path, "--input", str(question), "--output", str(answer))
    try:
        child.expect_exact("you:     what is the weather like in london today")
        child.expect_exact('  tool   get_weather({"city": "London"})')
        child.expect(r"agent:   In London it is \w+ and \d+ degrees\.")
        time.sleep(0.5)  # the answer is playing (its text comes ahead of its audio)
        child.sendintr()  # Ctrl-C
        child.expect(pexpect.EOF, timeout=5)  # (a guard against a hang, not a measurement)
    finally:
        child.close(force=True)
        print(seen(child))  # (shown when the test fails)
    text = seen(child)
    assert child.exitstatus == 0, text
    assert "Traceback" not in text
    assert "[agent speaking]" in text  # the status line, redrawn on the terminal
    assert "you're speaking" in text
    # The WAV file is complete (its header holds the size written) and was cut off mid-answer.
    with wave.open(str(answer), "rb") as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 0 < seconds < 2.0


def test_a_user_agent_asks_before_its_tool_runs(tmp_path: Path) -> None:
    import pexpect

    _speech_or_skip()
    (tmp_path / "home.py").write_text(LIGHTS_AGENT)
    question = question_wav(tmp_path / "q.wav", "turn on the lights in the garage")
    answer = tmp_path / "a.wav"
    child = spawn(tmp_path, "home.py:agent", "--input", str(question), "--output", str(answer))
    try:
        child.expect_exact("console: Home (home.py:agent; turn_on_lights)")
        child.expect_exact("the local model hears with the open vocabulary")
        child.expect(r"you:     [^\r\n]*lights")
        child.expect(r"approve turn_on_lights\((\{[^\r\n]*\})\)\? \[y/N/a\(lways\)\] ")
        arguments = child.match.group(1)
        child.sendline("y")
        child.expect_exact("  approved")
        child.expect_exact(f"  tool   turn_on_lights({arguments})")
        child.expect(r"agent:   The lights in the [a-z ]+ are on\.")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
        print(seen(child))  # (shown when the test fails)
    text = seen(child)
    assert child.exitstatus == 0, text
    assert "Traceback" not in text
    # (With this machine's pocketsphinx and espeak-ng the open vocabulary hears "third on the
    # lights in the garage": {"room": "Garage"}; "lights" is all the tool needs.)
    assert arguments in ('{"room": "Garage"}', "{}"), arguments
    with wave.open(str(answer), "rb") as wav:
        assert wav.getnframes() > 0


# -- devices ---------------------------------------------------------------------------------


def fake_sounddevice() -> types.ModuleType:
    """A sounddevice with a USB microphone, a speaker, and a device with both."""
    sd = types.ModuleType("sounddevice")
    found = [
        {"name": "USB Mic", "index": 0, "max_input_channels": 1, "max_output_channels": 0,
         "default_samplerate": 44100.0},
        {"name": "Speakers", "index": 1, "max_input_channels": 0, "max_output_channels": 2,
         "default_samplerate": 48000.0},
        {"name": "USB Headset", "index": 2, "max_input_channels": 1, "max_output_channels": 2,
         "default_samplerate": 16000.0},
    ]  # fmt: skip
    sd.query_devices = lambda: found  # type: ignore[attr-defined]
    sd.default = types.SimpleNamespace(device=[0, 1])  # type: ignore[attr-defined]
    sd.checked = []  # type: ignore[attr-defined]
    sd.check_input_settings = lambda **kw: sd.checked.append(("input", kw))  # type: ignore[attr-defined]
    sd.check_output_settings = lambda **kw: sd.checked.append(("output", kw))  # type: ignore[attr-defined]
    return sd


def test_list_devices(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice())
    assert main(["console", "--list-devices"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "input devices (* = default):",
        "  *   0  USB Mic  (44100 Hz)",
        "      2  USB Headset  (16000 Hz)",
        "output devices (* = default):",
        "  *   1  Speakers  (48000 Hz)",
        "      2  USB Headset  (16000 Hz)",
    ]


def test_devices_by_index_or_name() -> None:
    sd = fake_sounddevice()
    assert console.pick_device(sd, None, "input").name == "USB Mic"
    assert console.pick_device(sd, None, "output").name == "Speakers"
    assert console.pick_device(sd, "2", "input").name == "USB Headset"
    assert console.pick_device(sd, "headset", "output").index == 2
    with pytest.raises(console.ConsoleError, match="matches 2 devices"):
        console.pick_device(sd, "usb", "input")
    with pytest.raises(console.ConsoleError, match="no output device 0"):
        console.pick_device(sd, "0", "output")
    with pytest.raises(console.ConsoleError, match="no input device has that"):
        console.pick_device(sd, "webcam", "input")


async def test_live_devices_open_at_their_own_rates(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No file options: live.  The chosen microphone (16 kHz) and speaker (48 kHz) are opened at
    # their default rates; the session runs until stopped (Ctrl-C sets `stop`).
    pytest.importorskip("rtagents.local.speech")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    sd = fake_sounddevice()
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    opened: list[tuple[str, int, Any]] = []

    def microphone(rate: int, device: Any = None) -> FakeAudioSource:
        opened.append(("microphone", rate, device))
        return FakeAudioSource([silence(0.02, rate)] * 200, rate=rate)

    def speaker(rate: int, device: Any = None) -> FakeAudioSink:
        opened.append(("speaker", rate, device))
        return FakeAudioSink(rate=rate)

    monkeypatch.setattr(console, "SoundDeviceSource", microphone)
    monkeypatch.setattr(console, "SoundDeviceSink", speaker)
    stop = trio.Event()
    out = io.StringIO()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_set_after, stop, 3.0)
        args = console_args(input_device="headset", half_duplex=True)
        result = await run_console(args, out, stdin=io.StringIO(), in_memory=True, stop=stop)
    assert result.interrupted
    assert sorted(opened) == [("microphone", 16000, 2), ("speaker", 48000, 1)]
    assert [kind for kind, _ in sd.checked] == ["input", "output"]
    text = out.getvalue()
    assert "live:    microphone 2 USB Headset (16000 Hz)" in text
    assert "speaker 1 Speakers (48000 Hz)" in text
    assert "half duplex: the microphone is muted while the agent speaks" in text
    assert "\x1b[K" not in text  # not a terminal: plain lines, no status line


async def _set_after(event: trio.Event, seconds: float) -> None:
    await trio.sleep(seconds)
    event.set()


class _FailingImport(importlib.abc.MetaPathFinder):
    """Importing sounddevice fails as it does when the PortAudio library is missing."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


@pytest.fixture(params=["no sounddevice", "no PortAudio"])
def without_live_audio(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "no sounddevice":
        monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    else:
        monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
        monkeypatch.setattr(sys, "meta_path", [_FailingImport(), *sys.meta_path])


@pytest.mark.usefixtures("without_live_audio")
@pytest.mark.parametrize("argv", [["console"], ["console", "--list-devices"]])
def test_without_sounddevice_or_portaudio_it_says_what_to_install(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("rtagents console: live audio needs the sounddevice package")
    assert "pip install 'rtagents[audio]'" in line
    assert "apt install libportaudio2" in line
    assert "--input question.wav --output answer.wav" in line


# -- AGENT -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("no_such_module_here:agent", "no module named 'no_such_module_here'"),
        ("missing.py:agent", "no file 'missing.py'"),
        ("broken.py:agent", "importing 'broken.py' failed: ZeroDivisionError"),
        ("empty.py:agent", "has no attribute 'agent'"),
        ("empty.py:NUMBER", "is a int, not a RealtimeAgent"),
    ],
)
def test_a_bad_agent_is_one_line_and_status_2(
    spec: str,
    complaint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "broken.py").write_text("1 / 0\n")
    (tmp_path / "empty.py").write_text("NUMBER = 3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["console", spec, "--files"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"rtagents console: {spec}: ")
    assert complaint in line


def test_a_bad_agent_from_the_real_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rtagents", "console", "nowhere.py:agent"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "rtagents console: nowhere.py:agent: no file 'nowhere.py'\n"


# -- approvals -------------------------------------------------------------------------------


class FakeSession:
    """What the console's printer uses of a session, recording the decisions."""

    def __init__(self, expected: int) -> None:
        self.decisions: list[tuple[str, str, bool]] = []
        self.turn_state = TurnState.IDLE
        self.expected = expected
        self.decided = trio.Event()

    def _note(self, decision: tuple[str, str, bool]) -> None:
        self.decisions.append(decision)
        if len(self.decisions) == self.expected:
            self.decided.set()

    async def approve_tool_call(self, call_id: str, *, always: bool = False) -> None:
        self._note(("approve", call_id, always))

    async def reject_tool_call(self, call_id: str, reason: str | None = None) -> None:
        self._note(("reject", call_id, False))


def approval(call_id: str, city: str) -> RealtimeToolApprovalRequired:
    tool = types.SimpleNamespace(name="get_weather")
    return RealtimeToolApprovalRequired(None, tool, call_id, f'{{"city": "{city}"}}')


@pytest.mark.parametrize(
    ("policy", "typed", "decisions", "lines"),
    [
        (
            "ask",
            "y\nnope\n",
            [("approve", "c1", False), ("reject", "c2", False)],
            [
                'approve get_weather({"city": "Paris"})? [y/N/a(lways)] y',
                "  approved",
                'approve get_weather({"city": "Oslo"})? [y/N/a(lways)] nope',
                "  rejected",
            ],
        ),
        (
            "ask",
            "a\n",
            [("approve", "c1", True), ("reject", "c2", False)],
            [
                'approve get_weather({"city": "Paris"})? [y/N/a(lways)] a',
                "  approved (and every later call of get_weather)",
                # stdin ended: no answer is a no
                'approve get_weather({"city": "Oslo"})? [y/N/a(lways)] (no answer)',
                "  rejected",
            ],
        ),
        (
            "always",
            "",
            [("approve", "c1", False), ("approve", "c2", False)],
            [
                '  approved get_weather({"city": "Paris"}) (--approve always)',
                '  approved get_weather({"city": "Oslo"}) (--approve always)',
            ],
        ),
        (
            "never",
            "y\n",
            [("reject", "c1", False), ("reject", "c2", False)],
            [
                '  rejected get_weather({"city": "Paris"}) (--approve never)',
                '  rejected get_weather({"city": "Oslo"}) (--approve never)',
            ],
        ),
    ],
)
async def test_approvals(
    policy: str, typed: str, decisions: list[tuple[str, str, bool]], lines: list[str]
) -> None:
    # (Real clock: the answers are read in a worker thread, as from a terminal.)
    out = io.StringIO()
    printer = ConsolePrinter(out, approve=policy, stdin=io.StringIO(typed))
    session = FakeSession(expected=2)
    async with trio.open_nursery() as nursery:
        printer.attach(cast(Any, session), nursery)
        printer.on_event(approval("c1", "Paris"))
        printer.on_event(approval("c2", "Oslo"))
        with trio.fail_after(10):
            await session.decided.wait()
        printer.detach()
    assert session.decisions == decisions
    assert out.getvalue().splitlines() == lines


def test_the_default_approval_policy_follows_stdin() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert console.approval_policy(console_args(), Terminal()) == "ask"
    assert console.approval_policy(console_args(), io.StringIO()) == "never"
    assert console.approval_policy(console_args(approve="always"), Terminal()) == "always"


def test_the_status_line_is_redrawn_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    screen = console.Screen(out, redraw=True)
    screen.status("[idle]  Ctrl-C to quit")
    screen.status("[idle]  Ctrl-C to quit")  # unchanged: not redrawn
    screen.line("you:     hello")
    screen.status("[thinking]  Ctrl-C to quit")
    screen.clear()
    assert out.getvalue() == (
        "\r\x1b[K[idle]  Ctrl-C to quit"
        "\r\x1b[Kyou:     hello\n[idle]  Ctrl-C to quit"
        "\r\x1b[K[thinking]  Ctrl-C to quit"
        "\r\x1b[K"
    )
    plain = io.StringIO()
    screen = console.Screen(plain, redraw=False)
    screen.status("[idle]  Ctrl-C to quit")
    screen.line("you:     hello")
    screen.clear()
    assert plain.getvalue() == "you:     hello\n"


# -- half duplex -----------------------------------------------------------------------------


async def test_the_gate_drops_what_the_microphone_hears_while_the_agent_speaks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Frame n (20 ms) comes at n × 20 ms; the agent speaks from 0.5 s to 1.0 s.  What came
    # while it spoke, and in the 0.3 s echo tail after, is dropped; the rest passes in order.
    mic = FakeAudioSource([n.to_bytes(2, "little") for n in range(100)])
    gate = HalfDuplexGate(mic, tail=0.25)
    gate.agent_speaking = lambda: 0.5 <= trio.current_time() < 1.0
    passed = [int.from_bytes(frame, "little") async for frame in gate.frames()]
    muted = set(range(25, 62))  # 0.50 s ... 1.22 s (the last frame heard speaking: 0.98 s)
    assert passed == [n for n in range(100) if n not in muted]
    assert (gate.passed, gate.dropped) == (63, 37)
    assert gate.rate == mic.rate


STORY = "Once upon a time there was a story that went on for a good few seconds. " * 2


class Story:
    """Tells the story, in the scripted responder's synthetic voice."""

    def __init__(self) -> None:
        self.voice = ScriptedResponder()

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        for part in self.voice.speak(STORY, context.audio_output):
            yield part


async def collect(session: Any, into: list[RealtimeSessionEvent]) -> None:
    async for event in session:
        into.append(event)


class Spy:
    """A source that notes when each frame it passes on was sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.rate = inner.rate
        self.sent: list[float] = []

    async def frames(self) -> AsyncIterator[bytes]:
        async for frame in self.inner.frames():
            self.sent.append(trio.current_time())
            yield frame


@pytest.mark.parametrize("half_duplex", [False, True])
async def test_half_duplex_in_a_session(
    autojump_clock: trio.testing.MockClock, half_duplex: bool
) -> None:
    # The user speaks 1 s; the agent tells a long story through the speaker, which the
    # microphone hears (a loud echo 2.5 s into it).  Full duplex, the echo barges in; half
    # duplex, nothing the microphone hears while the agent speaks is sent, and the story plays
    # to its end.
    audio = silence(0.5) + voice(1.0) + silence(1.5 + 2.5) + voice(0.8, seed=2) + silence(20.0)
    model = local_model(Story(), pace=0.05)
    sink = FakeAudioSink()
    mic = FakeAudioSource([audio[i : i + 960] for i in range(0, len(audio), 960)])
    gate = HalfDuplexGate(mic)
    spy = Spy(gate if half_duplex else mic)
    config = RealtimeRunConfig(audio_source=spy, audio_sink=sink, link_factory=model.link_factory)
    printer = ConsolePrinter(io.StringIO(), gate=gate if half_duplex else None)
    events: list[RealtimeSessionEvent] = []
    async with open_session(RealtimeAgent("Teller"), config) as session, trio.open_nursery() as n:
        printer.attach(session, n)
        n.start_soon(collect, session, events)
        await trio.sleep(len(audio) / 48000)
        n.cancel_scope.cancel()
    interrupted = [e for e in events if e.type == "audio_interrupted"]
    if not half_duplex:
        assert len(interrupted) == 1  # the echo cut the agent off
        return
    assert interrupted == []
    spoke = [t for t, pcm in sink.writes if any(pcm)]
    first, last = spoke[0], spoke[-1] + 0.02
    assert last - first > 8  # the whole story played
    # Nothing sent while it played (the frame of the instant it began has no echo in it yet).
    assert [t for t in spy.sent if first < t < last] == []
    assert any(t < first for t in spy.sent)
    assert any(t > last for t in spy.sent)  # and the microphone is back
    assert gate.dropped >= (last - first) / 0.02
