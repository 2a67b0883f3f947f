"""Shared pytest configuration: report which native kernel build the run exercises."""

from __future__ import annotations

from rtagents.native import Resampler
from rtagents.native import _resample as native_module


def pytest_report_header() -> list[str]:
    return [
        f"rtagents native: {native_module.__file__}",
        f"rtagents resampler kernel: {Resampler(8000, 24000).kernel}",
    ]
