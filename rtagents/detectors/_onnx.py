"""One place that loads onnxruntime (an optional dependency) and opens a one-thread session."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from rtagents.detectors.weights import WeightsError, weights_path

INSTALL_HINT = "pip install 'rtagents[turns]'"
FETCH_HINT = "run `rtagents fetch-models` once (needs the package index)"


def onnxruntime() -> Any:
    """The onnxruntime module, or a clear ImportError naming the extra that installs it."""
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as e:
        raise ImportError(f"the neural detectors need onnxruntime: {INSTALL_HINT}") from e


def open_session(path: str | os.PathLike[str]) -> Any:
    """An onnxruntime CPU session on one thread, sequential, all graph optimisations on
    (as pipecat and silero run these models)."""
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no warnings on stderr at load
    return ort.InferenceSession(
        os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def model_path(path: str | os.PathLike[str] | None, name: str) -> Path:
    """``path`` as given, or the cached model ``name``; a :class:`WeightsError` when neither."""
    if path is not None:
        return Path(path)
    found = weights_path(name)
    if found is None:
        raise WeightsError(f"the model {name} is not in the cache: {FETCH_HINT}")
    return found
