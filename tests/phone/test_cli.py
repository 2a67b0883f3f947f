"""``rtagents serve twilio``: its options, one-line errors with status 2, and a real server in a
subprocess (hypercorn on a loopback port, the model a ``rtagents local-server --script``
subprocess) taking a signed webhook and a call from the fake Twilio, then Ctrl-C → status 0."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import trio
from trio_websocket import open_websocket_url

from rtagents import native
from rtagents.apps.cli import main as rtagents_main
from rtagents.phone import add_arguments, main
from rtagents.protocol import twilio as tw
from rtagents.protocol.webhooks import twilio_signature
from rtagents.testing import FakeTwilioPeer, silence, voice
from tests._processes import rtagents_process

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-not-a-secret"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_the_options_and_their_defaults() -> None:
    args = parse()
    assert (args.agent, args.host, args.port, args.public_url) == (None, "127.0.0.1", 8000, None)
    assert (args.model, args.model_url, args.record) == (None, None, None)
    args = parse(
        "a.py:agent", "--public-url", "https://x.ngrok.app", "--model-url", "ws://h/v1/realtime"
    )
    assert (args.agent, args.public_url, args.model_url) == (
        "a.py:agent",
        "https://x.ngrok.app",
        "ws://h/v1/realtime",
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["no_such_module_anywhere:agent"], "no module named 'no_such_module_anywhere'"),
        (["./missing.py:agent"], "no file './missing.py'"),
        (["--model", "openai"], "--model openai needs OPENAI_API_KEY"),
        (["--public-url", "ftp://x", "--model-url", "ws://h"], "--public-url must be an https"),
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
    assert rtagents_main(["serve", "twilio", *argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("rtagents serve twilio: ")
    assert says in err
    assert main is not None


@pytest.fixture
def model_url(tmp_path: Path) -> Iterator[str]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"say": "Hello from the phone."}], "ms_per_char": 20}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", "rtagents", "local-server", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as server:
        try:
            assert server.stdout is not None
            yield server.stdout.readline().split()[-1]
        finally:
            server.terminate()
            server.wait(timeout=10)


def ulaw(pcm24k: bytes) -> bytes:
    return native.ulaw_encode(native.resample(pcm24k, 24000, 8000))


def upgrade_status(host: str, path: str) -> int:
    """The HTTP status a plain (unsigned) WebSocket upgrade gets."""
    name, _, port = host.rpartition(":")
    with socket.create_connection((name, int(port)), timeout=5) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        return int(sock.recv(1024).split(b" ", 2)[1])


def the_webhook(base: str) -> None:
    """A signed webhook is answered with the TwiML, an unsigned one refused."""
    host = base.split("://", 1)[1]
    fields = {"From": "+15550100", "To": "+15550199", "CallSid": "CA42"}
    request = urllib.request.Request(
        f"{base}/twilio/voice",
        data=urlencode(fields).encode(),
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, f"{base}/twilio/voice", fields)},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert f'<Stream url="ws://{host}/twilio/media">' in response.read().decode()
    unsigned = urllib.request.Request(f"{base}/twilio/voice", data=urlencode(fields).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=5)
    refused.value.close()
    assert refused.value.code == 403
    assert upgrade_status(host, "/twilio/media") == 403  # an unsigned upgrade


async def a_call(base: str) -> FakeTwilioPeer:
    """One signed call against the server at `base` (http://HOST:PORT)."""
    host = base.split("://", 1)[1]
    media = f"ws://{host}/twilio/media"
    signed = [(b"x-twilio-signature", twilio_signature(TOKEN, media).encode())]
    async with (
        open_websocket_url(media, extra_headers=signed) as ws,
        trio.open_nursery() as nursery,
    ):
        peer = FakeTwilioPeer(ws, call_sid="CA42")
        await nursery.start(peer.run)
        peer.talk(ulaw(silence(0.2) + voice(1.0) + silence(0.8)))
        with trio.fail_after(15):
            while not any(isinstance(m, tw.OutboundMark) for m in peer.received):  # noqa: ASYNC110
                await trio.sleep(0.1)
        await peer.hang_up()
        nursery.cancel_scope.cancel()
    return peer


def test_listening_first_a_signed_call_and_exit_0_on_ctrl_c(model_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TWILIO_AUTH_TOKEN": TOKEN}
    env.pop("OPENAI_API_KEY", None)
    argv = ["serve", "twilio", "--port", "0", "--model-url", model_url, "--record", "calls"]
    with rtagents_process(argv, env=env, cwd=tmp_path) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            assert first.startswith("listening on http://127.0.0.1:"), first
            base = first.split()[-1]
            webhook = process.stdout.readline()
            assert "POST https://<your public host>/twilio/voice" in webhook
            the_webhook(base)
            peer = trio.run(a_call, base)
            assert any(isinstance(m, tw.OutboundMedia) for m in peer.received)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
            rest = process.stdout.read()
            assert f"model:   {model_url}" in rest
            assert "signatures: checked" in rest
            err = process.stderr.read()
            assert "Traceback" not in err
            assert TOKEN not in err + rest
            assert "refused the media stream from 127.0.0.1" in err
            assert [p.name for p in (tmp_path / "calls").iterdir()] == ["CA42.wav"]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
