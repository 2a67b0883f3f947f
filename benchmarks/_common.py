"""Shared benchmark plumbing: interleaved timing, text tables, JSON and PNG output.

Timing on a shared, noisy machine: the implementations being compared are timed *round-robin*
(each repetition runs every implementation once, a batch of back-to-back calls each) and the
median over repetitions is reported, so a burst of load hits all of them alike.  Ratios are only
ever taken between figures measured in the same run.  Nothing here asserts a timing.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

Call = Callable[[], object]


def _batch(call: Call, n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n


def calibrate(call: Call, target_s: float) -> int:
    """How many back-to-back calls take about `target_s`."""
    n = 1
    while True:
        elapsed = _batch(call, n) * n / 1e9
        if elapsed >= target_s / 4 or n >= 1 << 22:
            return max(1, int(n * target_s / max(elapsed, 1e-9)))
        n *= 4


def time_round_robin(
    calls: dict[str, Call], *, repeats: int, batch_s: float
) -> dict[str, dict[str, float]]:
    """Median and minimum ns per call for each named callable, timed interleaved."""
    sizes = {name: calibrate(call, batch_s) for name, call in calls.items()}
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            samples[name].append(_batch(call, sizes[name]))
    return {
        name: {"median_ns": statistics.median(v), "min_ns": min(v), "calls": sizes[name]}
        for name, v in samples.items()
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """A plain-text table with right-aligned columns (the first column left-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [title] if title else []
    fmt = lambda row: "  ".join(  # noqa: E731
        (c.ljust(w) if i == 0 else c.rjust(w))
        for i, (c, w) in enumerate(zip(row, widths, strict=True))
    )
    lines.append(fmt(list(headers)))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt(r) for r in cells)
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in ("rtagents", "numpy", "soxr", "scipy", "cffi", "audioop-lts"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "versions": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float))


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, mean and nearest-rank percentiles (p50, p95, p99) and max; just n when empty."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "p50": pct(0.5),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": ordered[-1],
    }


def verdict(value: float | None, goal: float) -> str:
    """ "met" when `value` is at most `goal`, "MISSED" above it, "no data" without one."""
    if value is None:
        return "no data"
    return "met" if value <= goal else "MISSED"


class Progress:
    """A one-line progress bar on stderr: ``step(label)`` before each unit of work, ``end()``."""

    def __init__(self, total: int, label_width: int = 28) -> None:
        self.total, self.done, self.label_width = total, 0, label_width

    def step(self, label: str) -> None:
        width = 30
        filled = width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (width - filled)
        label = label[: self.label_width].ljust(self.label_width)
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label}")
        sys.stderr.flush()
        self.done += 1

    def end(self) -> None:
        sys.stderr.write("\r" + " " * (44 + self.label_width) + "\r")
