"""``rtagents web``'s command: its options, one-line errors with status 2, the URL, Ctrl-C."""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import trio

from rtagents.apps.serving import page_url as _page_url
from rtagents.web import add_arguments, main
from rtagents.web.cli import WebServer, serve_web

ROOT = Path(__file__).resolve().parents[2]
RUN = (
    "import argparse, sys\n"
    "from rtagents.web import add_arguments, main\n"
    "parser = argparse.ArgumentParser(prog='rtagents web')\n"
    "add_arguments(parser)\n"
    "sys.exit(main(parser.parse_args(sys.argv[1:])))\n"
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_the_options_and_their_defaults() -> None:
    args = parse()
    assert (args.agent, args.host, args.port, args.model) == (None, "127.0.0.1", 8000, None)
    args = parse("app.py:agent", "--host", "0.0.0.0", "--port", "0", "--model", "openai")
    assert (args.agent, args.host, args.port, args.model) == (
        "app.py:agent",
        "0.0.0.0",
        0,
        "openai",
    )
    assert (args.brain, args.open_vocabulary) == (None, False)


@pytest.mark.parametrize(
    ("bound", "host", "url"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", "http://127.0.0.1:8000/"),
        ("http://0.0.0.0:41000", "0.0.0.0", "http://127.0.0.1:41000/"),
        ("http://[::]:41000", "::", "http://[::1]:41000/"),
        ("http://[::1]:41000", "::1", "http://[::1]:41000/"),
    ],
)
def test_the_printed_url_is_one_to_open(bound: str, host: str, url: str) -> None:
    assert _page_url(bound, host) == url


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["no_such_module_anywhere:agent"], "no module named 'no_such_module_anywhere'"),
        (["./missing.py:agent"], "no file './missing.py'"),
        (["{broken}:build"], "the factory failed: RuntimeError: no config"),
        (["{broken}:number"], "is a int, not a RealtimeAgent"),
        (["--model", "openai"], "--model openai needs OPENAI_API_KEY"),
    ],
)
def test_a_bad_agent_is_one_line_and_status_2(
    argv: list[str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken_agents.py"
    broken.write_text("number = 1\n\ndef build():\n    raise RuntimeError('no config')\n")
    argv = [a.replace("{broken}", str(broken)) for a in argv]
    assert main(parse(*argv, "--port", "0")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("rtagents web: ")
    assert says in err


def test_a_port_in_use_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unused")  # OpenAI: nothing to start but the page
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(parse("--port", str(port))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rtagents web: cannot listen on 127.0.0.1:{port}")
    assert err.count("\n") == 1


def test_prints_the_url_serves_the_page_and_exits_0_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-unused", "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", RUN, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if "open http" in line:
                    break
            assert lines[0] == "model:   OpenAI Realtime API\n"
            url = lines[-1].split("open ", 1)[1].split()[0]
            assert url.startswith("http://127.0.0.1:")
            assert url.endswith("/")
            with urllib.request.urlopen(url, timeout=5) as response:
                assert b"rtagents" in response.read()
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
            assert "Traceback" not in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def test_another_agent_on_the_local_model_is_heard_with_the_open_vocabulary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    agent = tmp_path / "my_agent.py"
    agent.write_text("from rtagents import RealtimeAgent\nagent = RealtimeAgent('Mine')\n")
    out = io.StringIO()
    async with trio.open_nursery() as nursery:
        server: WebServer = await nursery.start(
            serve_web, parse(f"{agent}:agent", "--port", "0"), out
        )
        assert server.local_server is not None
        assert server.url.startswith("http://127.0.0.1:")
        nursery.cancel_scope.cancel()
    printed = out.getvalue()
    assert "model:   not the demo agent: the local model hears with the open vocabulary" in printed
    assert f"rtagents web: open {server.url} (Ctrl-C to stop)" in printed
