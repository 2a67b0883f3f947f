"""How well the local model hears real people: word accuracy on the vendored LibriVox clips.

The recognizer is the local model's ears, :class:`~rtagents.local.speech.PocketsphinxRecognizer`
with the open vocabulary (what ``rtagents serve twilio`` and ``rtagents demo --open-vocabulary``
hear with for any agent but the demo's), driven as the local server drives it: one utterance per
clip, opened at the session's input rate and fed 20 ms pieces while the clip "plays", then
finished.  The clips (:func:`rtagents.testing.corpus.librivox_clips`, 71 words of read speech)
go through each path a caller's voice can take:

* ``16k``: PCM16 at 16 kHz, the clips as recorded;
* ``24k``: PCM16 at 24 kHz (the Realtime API's default input; the server takes it back to 16);
* ``8k-ulaw``: the phone: G.711 μ-law at 8 kHz (fused native resample + encode), which the
  server decodes to 8 kHz PCM16 and the recognizer takes to 16 kHz.

Each path runs ``cold`` (a fresh recognizer per clip: a call's first turn) and ``warm`` (one
recognizer for all clips, after a first pass over them: its decoder's running cepstral mean
has adapted to the voice and channel, as in a call's later turns).  Two reference rows decode
each clip in one piece with plain pocketsphinx (``whole``: batch cepstral mean normalization
over the whole utterance — what a non-streaming recognizer gets).  Accuracy is
``1 - word edit distance / reference words`` (:func:`~rtagents.testing.corpus.word_accuracy`).
RTF is decode CPU time over audio time.  Prints a table and writes ``speech_accuracy.json``.
Nothing here asserts anything; recognition is deterministic (seeded noise), so a rerun gives
the same accuracies.

Run: ``python -m benchmarks.speech_accuracy`` (about a minute; needs ``rtagents[local]``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from benchmarks import _common as common
from rtagents import native
from rtagents.testing.corpus import (
    Clip,
    librivox_clips,
    telephone_ulaw,
    word_accuracy,
    word_errors,
)

FRAME_S = 0.020


def _path_16k(clip: Clip) -> tuple[bytes, int]:
    return clip.pcm16, 16000


def _path_24k(clip: Clip) -> tuple[bytes, int]:
    return native.resample(clip.pcm16, clip.rate, 24000), 24000


def _path_phone(clip: Clip) -> tuple[bytes, int]:
    # What the local server hands its ears on a μ-law session: the caller's μ-law, decoded.
    return native.ulaw_decode(telephone_ulaw(clip.pcm16, clip.rate)), 8000


PATHS: dict[str, Callable[[Clip], tuple[bytes, int]]] = {
    "16k": _path_16k,
    "24k": _path_24k,
    "8k-ulaw": _path_phone,
}


async def _recognize(recognizer: Any, pcm: bytes, rate: int) -> str:
    utterance = await recognizer.open_utterance(rate)
    step = 2 * int(rate * FRAME_S)
    for i in range(0, len(pcm), step):
        await utterance.feed(pcm[i : i + step])
    text: str = await utterance.finish()
    return text


def _whole(pcm: bytes, rate: int) -> str:
    """Plain pocketsphinx, the whole clip at once (batch CMN), at 16 kHz."""
    import pocketsphinx

    if rate != 16000:
        pcm = native.resample(pcm, rate, 16000)
    decoder = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL", fwdflat=False)
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def _row(path: str, mode: str, clips: list[Clip], said: list[str], cpu_s: float) -> dict[str, Any]:
    errors = sum(word_errors(c.transcript, h)[0] for c, h in zip(clips, said, strict=True))
    words = sum(word_errors(c.transcript, h)[1] for c, h in zip(clips, said, strict=True))
    audio_s = sum(c.duration for c in clips)
    return {
        "path": path,
        "mode": mode,
        "accuracy": 1 - errors / words,
        "errors": errors,
        "words": words,
        "rtf": cpu_s / audio_s,
        "clips": [
            {
                "name": c.name,
                "reference": c.transcript,
                "heard": h,
                "accuracy": word_accuracy(c.transcript, h),
            }
            for c, h in zip(clips, said, strict=True)
        ],
    }


async def measure(paths: list[str]) -> list[dict[str, Any]]:
    from rtagents.local.speech import PocketsphinxRecognizer

    clips = list(librivox_clips())
    rows: list[dict[str, Any]] = []
    for path in paths:
        audio = [PATHS[path](c) for c in clips]
        said: list[str] = []
        cpu = 0.0
        for pcm, rate in audio:
            recognizer = PocketsphinxRecognizer(threaded=False)
            recognizer.warm_up()
            said.append(await _recognize(recognizer, pcm, rate))
            cpu += recognizer.statistics().decode_seconds
        rows.append(_row(path, "cold", clips, said, cpu))
        warm = PocketsphinxRecognizer(threaded=False)
        for pcm, rate in audio:  # the first pass adapts the decoder; the second is measured
            await _recognize(warm, pcm, rate)
        before = warm.statistics().decode_seconds
        said = [await _recognize(warm, pcm, rate) for pcm, rate in audio]
        rows.append(_row(path, "warm", clips, said, warm.statistics().decode_seconds - before))
        started = time.process_time()
        said = [_whole(pcm, rate) for pcm, rate in audio]
        rows.append(_row(path, "whole", clips, said, time.process_time() - started))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated: 16k,24k,8k-ulaw")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not paths or any(p not in PATHS for p in paths):
        parser.error(f"--paths takes {', '.join(PATHS)}, not {args.paths!r}")
    rows = trio.run(measure, paths)
    names = [c.name[-4:] for c in librivox_clips()]
    print(
        common.table(
            ["path", "mode", "accuracy", "errors/words", "RTF", *names],
            [
                [
                    r["path"],
                    r["mode"],
                    f"{100 * r['accuracy']:.1f}%",
                    f"{r['errors']}/{r['words']}",
                    r["rtf"],
                    *(f"{100 * c['accuracy']:.0f}%" for c in r["clips"]),
                ]
                for r in rows
            ],
            title="word accuracy of the local model's ears (pocketsphinx, open vocabulary) "
            "on 5 LibriVox clips",
        )
    )
    for r in rows:
        if r["mode"] == "cold":
            for c in r["clips"]:
                print(f"  {r['path']:8s} {c['name'][-4:]}  heard: {c['heard']}")
    out = args.out / "speech_accuracy.json"
    common.write_json(out, {"environment": common.environment(), "results": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
