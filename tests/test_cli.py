"""The rtagents command."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtagents import __version__
from rtagents.apps.cli import main


def test_info_reports_the_kernel_and_every_delay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"rtagents {__version__}" in out
    assert "resampler kernel: " in out
    assert "1.958" in out  # 8 kHz <-> 24 kHz


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err


def test_local_server_command_listens_and_answers() -> None:
    import json
    import os
    import subprocess
    import sys

    import trio
    from trio_websocket import open_websocket_url

    with subprocess.Popen(
        [sys.executable, "-m", "rtagents", "local-server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on ws://127.0.0.1:")
        url = line.removeprefix("listening on ")

        async def first_event() -> dict[str, object]:
            async with open_websocket_url(url + "?model=x") as ws:
                frame: dict[str, object] = json.loads(await ws.get_message())
                return frame

        try:
            assert trio.run(first_event)["type"] == "session.created"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("script", "complaint"),
    [
        ("not json", "bad --script"),
        ('{"rules": []}', "non-empty list"),
        ('{"rules": [{"sey": "typo"}]}', "unknown key(s) sey"),
        ('{"rules": [{"say": 3}]}', "rules[0].say must be a string"),
        ('{"chunk_ms": 0}', "chunk_ms must be a positive integer"),
        ("[1, 2]", "a script is a JSON object"),
    ],
)
def test_local_server_rejects_a_bad_script(
    tmp_path: Path, script: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "script.json"
    path.write_text(script)
    assert main(["local-server", "--script", str(path)]) == 2
    assert complaint in capsys.readouterr().err


def test_local_server_rejects_a_missing_script_and_a_negative_pace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["local-server", "--script", str(tmp_path / "nope.json")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["local-server", "--pace", "-1"]) == 2
    assert "--pace must be >= 0" in capsys.readouterr().err


def test_demo_needs_a_key_for_openai(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["demo", "--model", "openai", "--files"]) == 2
    assert "needs OPENAI_API_KEY" in capsys.readouterr().err


def test_demo_reports_a_bad_input_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    missing = tmp_path / "nowhere.wav"
    assert main(["demo", "--input", str(missing), "--output", str(tmp_path / "a.wav")]) == 2
    err = capsys.readouterr().err
    assert "cannot read --input" in err
    assert "Traceback" not in err


def test_demo_rejects_unknown_brains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--brain", "oracle"])
    assert "invalid choice" in capsys.readouterr().err


def test_speech_model_brain_from_the_environment() -> None:
    speech = pytest.importorskip("rtagents.local.speech")
    with pytest.raises(ValueError, match="unknown brain 'oracle'"):
        speech.speech_model(environ={"RTAGENTS_BRAIN": "oracle"})
    with pytest.raises(ValueError, match="RTAGENTS_CHAT_URL"):
        speech.speech_model(environ={"RTAGENTS_BRAIN": "chat"})
    model = speech.speech_model(environ={}, phrases=["hello"], threaded=False)
    assert isinstance(model.brain, speech.RuleBrain)


def test_local_server_with_speech_answers_in_a_voice() -> None:
    # `rtagents local-server --speech`: the offline speech model behind a real port.  A typed
    # question (the rules read text as well as transcripts) gets a spoken answer.
    pytest.importorskip("rtagents.local.speech")
    import json
    import os
    import subprocess
    import sys

    import trio
    from trio_websocket import open_websocket_url

    from rtagents import protocol as p

    with subprocess.Popen(
        [sys.executable, "-m", "rtagents", "local-server", "--port", "0", "--speech"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")

        async def ask() -> list[dict[str, object]]:
            async with open_websocket_url(url) as ws:
                await ws.send_message(
                    p.ConversationItemCreate(item=p.MessageItem.user_text("hello")).to_json()
                )
                await ws.send_message(p.ResponseCreate().to_json())
                seen: list[dict[str, object]] = []
                with trio.fail_after(30):
                    while not seen or seen[-1]["type"] != "response.done":
                        seen.append(json.loads(await ws.get_message()))
                return seen

        try:
            seen = trio.run(ask)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    kinds = [e["type"] for e in seen]
    assert "response.output_audio.delta" in kinds
    (done,) = [e for e in seen if e["type"] == "response.output_audio_transcript.done"]
    assert str(done["transcript"]).startswith("Hello! I am the local demo model.")


def test_local_server_takes_a_script_or_speech_not_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "script.json"
    path.write_text("{}")
    assert main(["local-server", "--script", str(path), "--speech"]) == 2
    assert "not both" in capsys.readouterr().err
