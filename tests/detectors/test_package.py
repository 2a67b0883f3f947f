"""The package's contract with its optional dependency and its cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rtagents.detectors import SileroVad, SmartTurn, WeightsError, _onnx, weights


def test_importing_the_package_does_not_import_onnxruntime() -> None:
    code = "import sys, rtagents.detectors; print('onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"rtagents\[turns\]"):
        _onnx.onnxruntime()


@pytest.mark.parametrize("detector", [SileroVad, SmartTurn])
def test_missing_weights_say_how_to_fetch_them(
    detector: type[SileroVad] | type[SmartTurn], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path))
    with pytest.raises(WeightsError, match="is not in the cache: run `rtagents fetch-models`"):
        detector()
