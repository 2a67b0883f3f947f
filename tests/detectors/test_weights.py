"""The checksummed, cached weights fetch, against a fake wheel (no network: file:// URLs and a
loopback HTTP server on a thread)."""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rtagents.detectors import weights
from rtagents.detectors.weights import ModelFile, WeightsError, Wheel, fetch_weights, weights_path

VAD_BYTES = b"silero" * 1000
TURN_BYTES = bytes(range(256)) * 300


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(vad: bytes = VAD_BYTES, turn: bytes = TURN_BYTES) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/__init__.py", "")
        z.writestr("pkg/vad/data/silero_vad.onnx", vad)
        z.writestr("pkg/turn/data/smart-turn-v3.2-cpu.onnx", turn)
        z.writestr("pkg/other.onnx", b"not wanted")
    return buf.getvalue()


WHEEL_BYTES = make_wheel()


def spec_for(url: str) -> Wheel:
    return Wheel(
        url=url,
        sha256=sha(WHEEL_BYTES),
        size=len(WHEEL_BYTES),
        files=(
            ModelFile(
                weights.SILERO_VAD, "pkg/vad/data/silero_vad.onnx", sha(VAD_BYTES), len(VAD_BYTES)
            ),
            ModelFile(
                weights.SMART_TURN,
                "pkg/turn/data/smart-turn-v3.2-cpu.onnx",
                sha(TURN_BYTES),
                len(TURN_BYTES),
            ),
        ),
    )


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The fake wheel as a local file; the test may overwrite it."""
    path = tmp_path / "served" / "fake-1.0-py3-none-any.whl"
    path.parent.mkdir()
    path.write_bytes(WHEEL_BYTES)
    return path


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path / "env-cache"))
    weights._verified.clear()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_fetch_extracts_only_the_two_models_and_reports_progress(
    served: Path, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    out = tmp_path / "models"
    paths = fetch_weights(
        out, wheel=spec_for(served.as_uri()), progress=lambda d, t: seen.append((d, t))
    )
    assert paths == {
        weights.SILERO_VAD: out / weights.SILERO_VAD,
        weights.SMART_TURN: out / weights.SMART_TURN,
    }
    assert listing(out) == [weights.SILERO_VAD, weights.SMART_TURN]  # no wheel, no temporaries
    assert (out / weights.SILERO_VAD).read_bytes() == VAD_BYTES
    assert (out / weights.SMART_TURN).read_bytes() == TURN_BYTES
    assert seen[-1] == (len(WHEEL_BYTES), len(WHEEL_BYTES))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    wheel = spec_for(served.as_uri())
    assert weights_path(weights.SMART_TURN, out, wheel=wheel) == out / weights.SMART_TURN


def test_a_second_fetch_uses_no_network(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    fetch_weights(out, wheel=spec_for(served.as_uri()))
    served.unlink()  # "offline" now
    weights._verified.clear()  # checked again from the files, not the memo
    assert fetch_weights(out, wheel=spec_for(served.as_uri()))[weights.SILERO_VAD].exists()


def test_weights_path_is_none_until_fetched_and_when_damaged(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    wheel = spec_for(served.as_uri())
    assert weights_path(weights.SILERO_VAD, out, wheel=wheel) is None
    fetch_weights(out, wheel=wheel)
    damaged = bytearray(VAD_BYTES)
    damaged[10] ^= 1
    (out / weights.SILERO_VAD).write_bytes(bytes(damaged))  # same size, other bytes
    assert weights_path(weights.SILERO_VAD, out, wheel=wheel) is None
    fetch_weights(out, wheel=wheel)  # repairs it
    assert weights_path(weights.SILERO_VAD, out, wheel=wheel) == out / weights.SILERO_VAD


def test_directory_comes_from_the_environment(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path / "from-env"))
    fetch_weights(wheel=spec_for(served.as_uri()), names=[weights.SILERO_VAD])
    assert listing(tmp_path / "from-env") == [weights.SILERO_VAD]
    monkeypatch.delenv(weights.ENV_DIR)
    assert weights.models_dir() == Path.home() / ".cache" / "rtagents" / "models"


def test_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=re.escape("no model file named 'whisper.onnx'")):
        weights_path("whisper.onnx")


def test_corrupted_download_is_deleted_and_reported(served: Path, tmp_path: Path) -> None:
    bad = bytearray(WHEEL_BYTES)
    bad[len(bad) // 2] ^= 0xFF
    served.write_bytes(bytes(bad))
    out = tmp_path / "models"
    with pytest.raises(WeightsError, match=r"checksum mismatch for fake-1\.0.*deleted") as info:
        fetch_weights(out, wheel=spec_for(served.as_uri()))
    assert "\n" not in str(info.value)
    assert listing(out) == []


def test_short_and_long_files_are_reported(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    served.write_bytes(WHEEL_BYTES[:1000])
    with pytest.raises(WeightsError, match=f"only 1000 of {len(WHEEL_BYTES)} bytes"):
        fetch_weights(out, wheel=spec_for(served.as_uri()))
    served.write_bytes(WHEEL_BYTES + b"x" * 10_000_000)
    with pytest.raises(WeightsError, match=f"more than {len(WHEEL_BYTES)} bytes"):
        fetch_weights(out, wheel=spec_for(served.as_uri()))
    assert listing(out) == []


def test_a_member_with_the_wrong_checksum_is_not_kept(served: Path, tmp_path: Path) -> None:
    # The wheel is what was pinned, but a model inside is not (a wrong pin, say).
    evil = make_wheel(turn=TURN_BYTES[::-1])
    served.write_bytes(evil)
    wheel = spec_for(served.as_uri())
    wheel = Wheel(url=wheel.url, sha256=sha(evil), size=len(evil), files=wheel.files)
    out = tmp_path / "models"
    mismatch = re.escape(f"checksum mismatch for {weights.SMART_TURN}")
    with pytest.raises(WeightsError, match=mismatch):
        fetch_weights(out, wheel=wheel, names=[weights.SMART_TURN])
    assert listing(out) == []


def test_a_wheel_without_the_member_is_reported(served: Path, tmp_path: Path) -> None:
    wheel = spec_for(served.as_uri())
    moved = ModelFile(weights.SILERO_VAD, "pkg/elsewhere.onnx", sha(VAD_BYTES), len(VAD_BYTES))
    wheel = Wheel(url=wheel.url, sha256=wheel.sha256, size=wheel.size, files=(moved,))
    with pytest.raises(WeightsError, match=re.escape("the wheel has no pkg/elsewhere.onnx")):
        fetch_weights(tmp_path / "models", wheel=wheel)


# --- over HTTP on loopback ------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    body = WHEEL_BYTES
    send = len(WHEEL_BYTES)
    status = 200
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.status == 200:
            self.wfile.write(self.body[: self.send])  # then the connection closes

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fake-1.0-py3-none-any.whl", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_over_http(server: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, handler = server
    out = tmp_path / "models"
    fetch_weights(out, wheel=spec_for(url))
    fetch_weights(out, wheel=spec_for(url))
    assert handler.requests == 1
    assert listing(out) == [weights.SILERO_VAD, weights.SMART_TURN]


def test_a_cut_download_is_deleted_and_reported(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = server
    handler.send = len(WHEEL_BYTES) // 3
    out = tmp_path / "models"
    with pytest.raises(WeightsError, match=re.escape("fake-1.0-py3-none-any.whl")) as info:
        fetch_weights(out, wheel=spec_for(url))
    assert "\n" not in str(info.value)
    assert "broke off" in str(info.value) or "only" in str(info.value)
    assert listing(out) == []


def test_http_error_is_reported(server: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, handler = server
    handler.status = 404
    with pytest.raises(WeightsError, match=re.escape("HTTP 404 from 127.0.0.1")):
        fetch_weights(tmp_path / "models", wheel=spec_for(url))


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/fake-1.0-py3-none-any.whl"
    with pytest.raises(
        WeightsError, match=r"cannot download .* from 127\.0\.0\.1:\d+ \(offline\?\)"
    ):
        fetch_weights(tmp_path / "models", wheel=spec_for(url), timeout=5)
    assert listing(tmp_path / "models") == []


# --- the disk -------------------------------------------------------------------------------


def test_no_room_is_reported(served: Path, tmp_path: Path) -> None:
    def full_disk(done: int, total: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "models"
    with pytest.raises(WeightsError, match=f"no room in {out} for the models"):
        fetch_weights(out, wheel=spec_for(served.as_uri()), progress=full_disk)
    assert listing(out) == []


def test_an_unwritable_directory_is_reported(served: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WeightsError, match="cannot write the models to"):
        fetch_weights(blocker / "models", wheel=spec_for(served.as_uri()))


def test_the_pins_are_consistent() -> None:
    wheel = weights.PIPECAT_WHEEL
    assert wheel.filename == "pipecat_ai-1.14.0-py3-none-any.whl"
    assert {f.name for f in wheel.files} == {weights.SILERO_VAD, weights.SMART_TURN}
    assert len(wheel.sha256) == 64
    assert all(len(f.sha256) == 64 and f.member.endswith(f.name) for f in wheel.files)


# --- the command ----------------------------------------------------------------------------


def test_the_command_reports_progress_then_ok_then_already_there(
    served: Path, tmp_path: Path
) -> None:
    out = io.StringIO()
    wheel = spec_for(served.as_uri())
    assert weights.fetch_models_command(tmp_path / "m", out=out, wheel=wheel) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("fetching silero_vad.onnx, smart-turn-v3.2-cpu.onnx from fake-1.0")
    assert "  100%" in lines
    assert lines[-1] == f"ok: silero_vad.onnx, smart-turn-v3.2-cpu.onnx in {tmp_path / 'm'}"
    again = io.StringIO()
    assert weights.fetch_models_command(tmp_path / "m", out=again, wheel=wheel) == 0
    assert again.getvalue().startswith("models already in")


def test_the_command_fails_with_one_error_line(tmp_path: Path) -> None:
    out = io.StringIO()
    wheel = spec_for(f"http://127.0.0.1:{closed_port()}/fake-1.0-py3-none-any.whl")
    assert weights.fetch_models_command(tmp_path / "m", out=out, wheel=wheel) == 1
    assert out.getvalue().splitlines()[-1].startswith("error: cannot download fake-1.0")
