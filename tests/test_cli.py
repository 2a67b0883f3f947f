"""The rtagents command."""

from __future__ import annotations

import pytest

from rtagents import __version__
from rtagents.cli import main


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
