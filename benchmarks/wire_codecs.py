"""The per-frame wire and level costs, each beside the alternatives it was chosen over.

Every 20 ms of audio a session encodes one ``input_audio_buffer.append`` (base64 + JSON) and,
with the local VAD, measures the level of two 10 ms sub-frames; every audio delta it receives
is parsed JSON with a base64 payload.  This times each choice against the others in the same
run (round-robin, median of repetitions; see ``_common``):

* append encoding: ``InputAudioBufferAppend(...).to_json()`` (attrs + ``json.dumps`` + binascii)
  vs ``encode_audio_append`` with binascii vs with pybase64 (what we ship);
* base64 decode of a 100 ms delta: ``binascii.a2b_base64(strict_mode=True)`` vs pybase64
  ``validate=True`` (what we ship);
* JSON parse of a delta frame: ``json.loads`` (what we ship) vs orjson — measured to show why
  orjson is *not* a dependency: a few µs per received message at ~10 messages/s is noise;
* the VAD's level of a 20 ms frame at 16 kHz: the former NumPy path vs ``native.mean_squares``.

Run: ``python -m benchmarks.wire_codecs`` (``--quick`` for a smoke run).  Writes
``wire_codecs.json``.  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import binascii
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _common as common
from rtagents import protocol as p
from rtagents._core.levels import LevelMeter


def _optional(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


def _numpy_levels(pcm: bytes, frame: int) -> Any:
    """The level meter as it was before the native kernel (several NumPy calls per frame)."""
    samples = np.frombuffer(pcm, "<i2").astype(np.float64).reshape(-1, frame)
    power = np.einsum("ij,ij->i", samples, samples) / frame
    return 20.0 * np.log10(np.maximum(np.sqrt(power), 1e-9) / 32768.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("."))
    opts = parser.parse_args()
    repeats, batch_s = (3, 0.01) if opts.quick else (9, 0.05)
    rng = np.random.default_rng(1)
    frame = (rng.standard_normal(480) * 3000).astype("<i2").tobytes()  # 20 ms at 24 kHz
    delta_audio = (rng.standard_normal(2400) * 3000).astype("<i2").tobytes()  # 100 ms
    delta_b64 = p.b64encode_audio(delta_audio)
    delta_text = json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "event_1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": delta_b64,
        }
    )
    vad_frame = (rng.standard_normal(320) * 3000).astype("<i2").tobytes()  # 20 ms at 16 kHz
    meter = LevelMeter(160)
    pybase64 = _optional("pybase64")
    orjson = _optional("orjson")

    def append_binascii() -> str:
        return (
            '{"type":"input_audio_buffer.append","audio":"'
            + binascii.b2a_base64(frame, newline=False).decode("ascii")
            + '"}'
        )

    groups: dict[str, dict[str, Any]] = {
        "append 20 ms PCM16 (encode)": {
            "InputAudioBufferAppend.to_json()": lambda: p.InputAudioBufferAppend(
                audio=frame
            ).to_json(),
            "direct text, binascii": append_binascii,
            "encode_audio_append (pybase64) *": lambda: p.encode_audio_append(frame),
        },
        "base64 decode, 100 ms delta": {
            "binascii strict": lambda: binascii.a2b_base64(delta_b64, strict_mode=True),
            "b64decode_audio (pybase64) *": lambda: p.b64decode_audio(delta_b64),
        },
        "JSON parse, 100 ms delta frame": {
            "json.loads *": lambda: json.loads(delta_text),
            **({"orjson.loads": lambda: orjson.loads(delta_text)} if orjson else {}),
        },
        "VAD level, 20 ms at 16 kHz": {
            "NumPy (before)": lambda: _numpy_levels(vad_frame, 160),
            "LevelMeter.feed (native) *": lambda: meter.feed(vad_frame),
        },
    }
    if pybase64 is None:  # pragma: no cover - pybase64 is a dependency
        raise SystemExit("pybase64 is missing")
    rows: list[list[object]] = []
    results: dict[str, Any] = {}
    for group, calls in groups.items():
        times = common.time_round_robin(calls, repeats=repeats, batch_s=batch_s)
        base = next(iter(times.values()))["median_ns"]
        results[group] = times
        for name, t in times.items():
            rows.append([group, name, t["median_ns"] / 1000, base / t["median_ns"]])
    print(
        common.table(
            ["per-frame step", "implementation (* = shipped)", "µs median", "speed-up"],
            rows,
            title="Per-frame wire and level costs (round-robin, median of repetitions)",
        )
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    common.write_json(
        opts.out / "wire_codecs.json", {"environment": common.environment(), "results": results}
    )
    print(f"\nwrote {opts.out / 'wire_codecs.json'}")


if __name__ == "__main__":
    main()
