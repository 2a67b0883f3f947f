"""``python -m rtagents ...`` in a subprocess, for the tests of the commands."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def rtagents_process(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None
) -> subprocess.Popen[str]:
    """The command with its output as text pipes (use it in ``with``: the pipes get closed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rtagents", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
