"""Regenerate ``data/whisper_features_kat.json`` from transformers (not a test).

Run in a scratch virtualenv that has ``transformers`` and ``numpy`` (never the project's)::

    python -m venv /tmp/hf && /tmp/hf/bin/pip install transformers numpy
    cd /work/main && /tmp/hf/bin/python -m tests.detectors.make_whisper_kat
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.detectors._kat import kat_input

ROWS = (0, 5, 20, 40, 60, 79)
COLUMNS = tuple(range(0, 800, 16))  # 50 frames, 1 s of them before the signal starts


def main() -> None:
    import transformers  # type: ignore[import-not-found, unused-ignore]

    extractor = transformers.WhisperFeatureExtractor(chunk_length=8)
    features = extractor(
        kat_input(),
        sampling_rate=16_000,
        padding="max_length",
        max_length=128_000,
        truncation=True,
        do_normalize=True,
        return_tensors="np",
    ).input_features[0]
    values = [[float(features[r, c]) for c in COLUMNS] for r in ROWS]
    out = {
        "source": f"transformers {transformers.__version__} WhisperFeatureExtractor(chunk_length=8)"
        ", do_normalize=True, on tests.detectors._kat.kat_input()",
        "shape": list(features.shape),
        "rows": list(ROWS),
        "columns": list(COLUMNS),
        "mean": float(np.mean(features, dtype=np.float64)),
        "row_means": [float(v) for v in features.mean(axis=1, dtype=np.float64)],
    }
    path = Path(__file__).with_name("data") / "whisper_features_kat.json"
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()]
    rows = ",\n".join(f"  {json.dumps(row)}" for row in values)
    lines.append(f' "values": [\n{rows}\n ]')
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
