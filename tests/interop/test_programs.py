"""SDK realtime programs and their rtagents ports, run against the local server.

Each program in ``programs/`` exists in two forms:

* ``sdk_<name>.py`` — a program as a user writes it from the OpenAI Agents SDK's realtime docs
  and examples (asyncio, ``agents.realtime``), with ``async def main(url, ...) -> dict`` that
  runs one session against the Realtime server at ``url`` and returns its observable outcome
  (JSON-able: tool outputs, transcripts, handoff names, "audio came back", ...);
* ``port_<name>.py`` — the same program ported to rtagents: only the imports (``agents`` /
  ``agents.realtime`` → ``rtagents``) and the asyncio constructs (→ trio) differ.

The SDK forms run here for real (``asyncio.run``) and must give the expected outcome; each port
(``trio.run``) must give the SDK form's outcome.  :func:`test_port_differs_only_in_allowed_ways`
checks the second half of that claim mechanically with two explicit tables, :data:`MODULES`
and :data:`ASYNCIO_TO_TRIO`: after rewriting the SDK form with them, the two forms must be the
same program (same syntax tree, same imported names), so an rtagents-only call or import in a
port fails it.

The server is ``python -m rtagents local-server`` in a subprocess, as a user starts it: with
``programs/local_server_script.json`` (scripted, deterministic replies, paced at 5x real time)
for most programs, and with ``--speech`` (pocketsphinx hears, espeak-ng speaks) for the ones
that speak a question and need its transcript.  Tests are plain functions (pytest runs in trio
mode here) that call ``asyncio.run`` / ``trio.run`` themselves; every wait in a program has a
timeout.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import json
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio

pytest.importorskip("agents.realtime", reason="needs the interop extra (openai-agents)")

pytestmark = pytest.mark.interop

PROGRAMS = Path(__file__).parent / "programs"
SCRIPT = PROGRAMS / "local_server_script.json"
PACE = 0.02  # the scripted server sends 100 ms of audio every 20 ms: five times real time

# -- what a port may change ---------------------------------------------------------------------

#: Import rewriting: an SDK import from the left module is a port import from the right one
#: (the same names, the same aliases).  Modules not listed are imported alike by both forms.
MODULES: list[tuple[str, str]] = [
    ("agents", "rtagents"),
    ("agents.realtime", "rtagents"),
    ("agents.realtime.model_inputs", "rtagents"),
    ("asyncio", "trio"),
]

#: asyncio → trio, as (SDK regular expression, port replacement) pairs applied in order to the
#: SDK form's text.  Each is a construct with a one-for-one trio spelling; asyncio constructs
#: without one (a bare ``asyncio.create_task`` outside a task group, ``asyncio.Queue``) are not
#: listed, so a program using them cannot pass as ported.
ASYNCIO_TO_TRIO: list[tuple[str, str]] = [
    # asyncio.run(main(a, b)) -> trio.run(main, a, b)
    (r"\basyncio\.run\((\w+)\(\)\)", r"trio.run(\1)"),
    (r"\basyncio\.run\((\w+)\(([^()]+)\)\)", r"trio.run(\1, \2)"),
    # Structured concurrency: a task group is a nursery; create_task(f(a)) -> start_soon(f, a).
    (r"\basyncio\.TaskGroup\(\)", "trio.open_nursery()"),
    (r"\.create_task\(([\w.]+)\(\)\)", r".start_soon(\1)"),
    (r"\.create_task\(([\w.]+)\(([^()]+)\)\)", r".start_soon(\1, \2)"),
    # Timeouts: a scope that raises (TimeoutError -> trio.TooSlowError).
    (r"\basync with asyncio\.timeout\(", "with trio.fail_after("),
    (
        r"(?m)^(?P<i>[ \t]*)await asyncio\.wait_for\((?P<awaitable>.+), (?P<timeout>[\w.]+)\)$",
        "\\g<i>with trio.fail_after(\\g<timeout>):\n\\g<i>    await \\g<awaitable>",
    ),
    (r"\basyncio\.Event\b", "trio.Event"),
    (r"\basyncio\.sleep\(", "trio.sleep("),
    (r"\basyncio\.to_thread\(", "trio.to_thread.run_sync("),
]

Imports = set[tuple[str, str, str | None]]  # (module, name, alias); module "" for `import x`


def _split_imports(text: str, modules: dict[str, str]) -> tuple[Imports, str]:
    """The imports of a program (module names mapped through `modules`) and the rest of it as
    normalized source (comments and formatting dropped: the syntax tree, unparsed)."""
    tree = ast.parse(text)
    imports: Imports = set()
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            imports |= {("", modules.get(a.name, a.name), a.asname) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            module = modules.get(module, module)
            imports |= {(module, a.name, a.asname) for a in node.names}
        else:
            body.append(node)
    return imports, ast.unparse(ast.Module(body=body, type_ignores=[]))


def sdk_as_port(sdk_text: str) -> tuple[Imports, str]:
    """What the port of `sdk_text` must be, per the two tables: (imports, normalized body)."""
    for pattern, replacement in ASYNCIO_TO_TRIO:
        sdk_text = re.sub(pattern, replacement, sdk_text)
    return _split_imports(sdk_text, dict(MODULES))


def port_as_is(port_text: str) -> tuple[Imports, str]:
    return _split_imports(port_text, {})


# -- the programs, their inputs and their expected outcomes ----------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-color RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


QUESTIONS = {  # spoken by espeak-ng, heard by pocketsphinx (the demo's grammar)
    "quickstart_flat": "Hello there",
    "quickstart_nested": "Thank you very much",
    "cli_tracker": "What is the weather like in London today?",
}

NO_TOOLS = "I am a simple rule-based model and have no tools in this session."
EXPECTED: dict[str, dict[str, Any]] = {
    "quickstart_flat": {
        "user_transcript": "hello there",
        "answer": f"Hello! I am the local demo model. {NO_TOOLS}",
        "audio_received": True,
        "errors": [],
    },
    "quickstart_nested": {
        "user_transcript": "thank you very much",
        "answer": "You are welcome.",
        "audio_received": True,
        "errors": [],
    },
    "cli_tracker": {
        "user_transcript": "what is the weather like in london today",
        "tool_outputs": ["The weather in London is sunny."],
        "answer": "The weather in London is sunny.",
        "audio_received": True,
        "played_all": True,
        "tracker_heard_the_answer": True,
        "errors": [],
    },
    "tool_approval": {
        "approval_requests": [["delete_file", "draft.txt"], ["delete_file", "report.txt"]],
        "tool_end_outputs": ["deleted draft.txt", "Tool execution was not approved."],
        "history_tool_outputs": ["deleted draft.txt", "Tool execution was not approved."],
        "answers": ["Done: deleted draft.txt", "Done: Tool execution was not approved."],
        "deleted": ["draft.txt"],
        "errors": [],
    },
    "image_input": {
        "user_content_types": ["input_text", "input_image"],
        "image_url_kept": True,
        "answer": "I see a small red square.",
        "errors": [],
    },
    "interrupt": {
        "audio_interrupted_on_story": True,
        "truncated_story": True,
        "truncated_at_about_heard_ms": [True],
        "heard_a_prefix_of_the_story": [True],
        "story_status": ["completed"],
        "errors": [],
    },
    "update_agent": {
        "turn_agents": ["First", "Second", "Second"],
        "answers": ["This is the first agent speaking.", "This is the second agent speaking."],
        "handoff_events": 0,
        "errors": [],
    },
    "run_config_guardrails": {
        "guardrails_tripped": [["no_passwords"]],
        "checked_text_has_password": [True],
        "audio_interrupted": True,
        "user_messages": ["What is the secret?", "guardrail triggered: no_passwords"],
        "answer_statuses": ["incomplete", "completed"],
        "first_answer_leaked": [True],
        "replacement_answer": "Sorry, I cannot share that.",
        "errors": [],
    },
    "handoff": {
        "handoffs": [["Triage", "Billing"]],
        "on_handoff_called": ["billing"],
        "turn_agents": ["Triage", "Billing", "Billing", "Billing"],
        "tools": [["Billing", "get_balance", "$42.00"]],
        "answers": ["Billing here, how can I help?", "Your balance is $42.00."],
        "errors": [],
    },
    "manual_turns": {
        "server_events": ["input_audio_buffer.committed", "response.created"],
        "user_content_types": [["input_audio"]],
        "answers": ["Hello from the local model."],
        "audio_received": True,
        "errors": [],
    },
}
SPEECH_PROGRAMS = set(QUESTIONS)
NAMES = list(EXPECTED)

#: Outcome keys where rtagents deliberately does something else than the SDK (each is a row of
#: the README's "Coming from the OpenAI Agents SDK" table): program -> key -> (rtagents' value,
#: why).  Everything else in an outcome must be equal.
DIFFERENCES: dict[str, dict[str, tuple[Any, str]]] = {
    "interrupt": {
        "story_status": (
            ["incomplete"],
            "interrupt() cancels the response; the SDK lets it run on unheard when the server "
            "VAD has interrupt_response",
        ),
    },
    "run_config_guardrails": {
        "first_answer_leaked": (
            [False],
            "a tripped answer is truncated at the audio actually played, so the history holds "
            "only what was heard; the SDK's history keeps the whole tripped transcript",
        ),
    },
}


def test_every_program_has_both_forms() -> None:
    found = {p.stem.split("_", 1)[1] for p in PROGRAMS.glob("sdk_*.py")}
    assert found == set(NAMES)
    assert {p.stem.split("_", 1)[1] for p in PROGRAMS.glob("port_*.py")} == found


# -- the porting rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_port_differs_only_in_allowed_ways(name: str) -> None:
    sdk = (PROGRAMS / f"sdk_{name}.py").read_text()
    port = (PROGRAMS / f"port_{name}.py").read_text()
    assert "rtagents" not in sdk
    assert "trio" not in sdk
    expected_imports, expected_body = sdk_as_port(sdk)
    for leftover in ("asyncio", ".create_task("):
        assert leftover not in expected_body, "an asyncio construct ASYNCIO_TO_TRIO does not map"
    imports, body = port_as_is(port)
    assert imports == expected_imports
    assert body == expected_body


SNEAKS: list[tuple[str, str]] = [
    # An rtagents-only call in place of an SDK one.
    ("await session.interrupt()", "await session.interrupt(force_response_cancel=True)"),
    # An extra rtagents-only call.
    (
        "    await session.interrupt()\n",
        "    session.statistics()\n    await session.interrupt()\n",
    ),
    # An rtagents-only import, even under an SDK name.
    ("import trio\n", "import trio\nfrom rtagents import open_session as RealtimeRunner\n"),
    # A trio construct the table does not map from the SDK form.
    ("with trio.fail_after(TIMEOUT_S):", "with trio.move_on_after(TIMEOUT_S):"),
]


@pytest.mark.parametrize(("old", "new"), SNEAKS)
def test_a_port_with_an_rtagents_only_change_is_caught(old: str, new: str) -> None:
    sdk = (PROGRAMS / "sdk_interrupt.py").read_text()
    port = (PROGRAMS / "port_interrupt.py").read_text()
    assert port_as_is(port) == sdk_as_port(sdk)
    assert old in port
    assert port_as_is(port.replace(old, new, 1)) != sdk_as_port(sdk)


# -- running them ------------------------------------------------------------------------------


def _start_server(extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    """`rtagents local-server` on a free port: (the process, its URL or why it did not start)."""
    command = [sys.executable, "-m", "rtagents", "local-server", "--port", "0", *extra]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stderr is not None
    line = proc.stdout.readline()
    if line.startswith("listening on ws://127.0.0.1:"):
        return proc, line.split()[-1]
    if proc.poll() is None:  # it said something else: stop it before reading what it said
        proc.terminate()
    problem = f"{line}{proc.stderr.read()}".strip()
    _stop_server(proc)
    return proc, problem or f"exit status {proc.returncode}"


def _stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.returncode is None:
        proc.terminate()
        proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[str]:
    proc, url = _start_server(["--script", str(SCRIPT), "--pace", str(PACE)])
    try:
        assert url.startswith("ws://"), url
        yield url
    finally:
        _stop_server(proc)


@pytest.fixture(scope="module")
def speech_server() -> Iterator[str]:
    speech = pytest.importorskip("rtagents.local.speech", reason="needs rtagents[local]")
    try:
        speech.EspeakVoice(threaded=False)
        speech.PocketsphinxRecognizer()
    except speech.SpeechUnavailable as exc:
        pytest.skip(f"needs the offline speech model (pocketsphinx and espeak-ng): {exc}")
    proc, url = _start_server(["--speech"])
    try:
        if not url.startswith("ws://"):
            pytest.skip(f"`rtagents local-server --speech` did not start: {url}")
        yield url
    finally:
        _stop_server(proc)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, str]]:
    """The keyword inputs of a program's main(), files made on first use (a spoken question
    is synthesized with espeak-ng the way ``rtagents demo`` makes its sample question)."""
    folder = tmp_path_factory.mktemp("program-inputs")
    made: dict[str, dict[str, str]] = {}

    def make(name: str) -> dict[str, str]:
        if name in made:
            return made[name]
        from rtagents.apps.demo import write_wav

        result: dict[str, str] = {}
        if name in QUESTIONS:
            from rtagents.apps.demo import synthesize_question

            path = folder / f"{name}.wav"
            write_wav(path, synthesize_question(QUESTIONS[name]))
            result["wav_path"] = str(path)
        elif name == "manual_turns":
            from rtagents.local import synthetic_voice

            path = folder / "voice.wav"
            write_wav(path, np.rint(synthetic_voice(1.0, seed=3)).astype("<i2").tobytes())
            result["wav_path"] = str(path)
        elif name == "image_input":
            path = folder / "red.png"
            path.write_bytes(png(8, 8, (255, 0, 0)))
            result["image_path"] = str(path)
        made[name] = result
        return result

    return make


@pytest.fixture
def server(request: pytest.FixtureRequest, name: str) -> str:
    kind = "speech_server" if name in SPEECH_PROGRAMS else "scripted_server"
    url: str = request.getfixturevalue(kind)
    return url


_sdk_outcomes: dict[str, dict[str, Any]] = {}


def sdk_outcome(name: str, url: str, inputs: dict[str, str]) -> dict[str, Any]:
    """The SDK form's outcome (run once, shared with the port's test)."""
    if name not in _sdk_outcomes:
        program = importlib.import_module(f"tests.interop.programs.sdk_{name}")
        outcome = asyncio.run(program.main(url, **inputs))
        assert json.loads(json.dumps(outcome)) == outcome, "an outcome is JSON data"
        _sdk_outcomes[name] = outcome
    return _sdk_outcomes[name]


@pytest.mark.parametrize("name", NAMES)
def test_sdk_form(name: str, server: str, inputs: Callable[[str], dict[str, str]]) -> None:
    assert sdk_outcome(name, server, inputs(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", NAMES)
def test_port_form(name: str, server: str, inputs: Callable[[str], dict[str, str]]) -> None:
    expected = sdk_outcome(name, server, inputs(name))
    assert expected == EXPECTED[name], "the SDK form itself does not give the expected outcome"
    program = importlib.import_module(f"tests.interop.programs.port_{name}")
    outcome = trio.run(functools.partial(program.main, server, **inputs(name)))
    for key, (ours, _why) in DIFFERENCES.get(name, {}).items():
        assert outcome[key] == ours  # a documented difference must stay exactly that
        expected = {**expected, key: ours}
    assert outcome == expected
