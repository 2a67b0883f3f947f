"""The offline speech model behind the commands: started, warmed up, its options.

``rtagents demo``, ``console``, ``web`` and ``serve twilio`` all talk to the same local model
when they have no OpenAI key: :func:`start_local_model` builds the speech cascade (pocketsphinx
ears with the demo's grammar or the open vocabulary, a rule-based or chat-completions brain, an
espeak-ng voice; :data:`DEMO_GRAMMAR`), warms it up on a worker thread with a progress line, picks
the turn detection (:func:`load_turn_detection`: smart-turn for ``semantic_vad``, fetched once on
first use) and serves it — on a loopback socket, or in memory for tests.
:func:`add_speech_arguments` are the options that choose it.  What the user can fix is a
:class:`LocalModelError` (one line).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from types import EllipsisType
from typing import Any, TextIO

import trio


class LocalModelError(Exception):
    """The local model cannot start (a missing extra, a bad grammar): one line for the user."""


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)


DEMO_GRAMMAR = """#JSGF V1.0;
grammar demo;
public <utterance> = <weather> | <time> | <greeting> | <thanks> | <bye> | <stop>;
<weather> = [<ask>] [about] the weather [like] [<where>] [<when>]
          | will it rain [<where>] [<when>] | is it (cold | warm | hot) [<where>] [<when>];
<ask> = what is | what's | how is | tell me | please tell me | can you tell me | and;
<time> = what time is it [<where>] [now] | [<ask>] the time [<where>]
       | what is the time [<where>];
<where> = in <city>;
<when> = today | tomorrow | now | right now | this morning | tonight;
<city> = paris | london | berlin | madrid | rome | oslo | new york | chicago | los angeles
       | tokyo | sydney | moscow | boston | seattle | toronto | dublin | amsterdam | vienna
       | lisbon | athens;
<greeting> = hello | hi | hey | hello there | good morning | good evening | how are you;
<thanks> = thank you | thanks | thank you very much;
<bye> = goodbye | bye | bye bye | see you;
<stop> = stop | wait | never mind | cancel;
"""


def add_speech_arguments(parser: argparse.ArgumentParser) -> None:
    """The local speech model's options (``rtagents demo`` and ``local-server --speech``)."""
    parser.add_argument(
        "--brain",
        choices=("rules", "chat"),
        default=None,
        help="the local model's brain: rules (default, deterministic, not a language model) or "
        "chat (an OpenAI-compatible chat-completions endpoint: RTAGENTS_CHAT_URL, "
        "RTAGENTS_CHAT_MODEL, RTAGENTS_CHAT_API_KEY)",
    )
    parser.add_argument(
        "--open-vocabulary",
        action="store_true",
        help="recognize with pocketsphinx's open English model instead of the demo's grammar "
        "(much less accurate)",
    )
    parser.add_argument(
        "--turn-model",
        choices=("off", "auto"),
        default=None,
        help="semantic_vad's end-of-turn model: auto (smart-turn v3 when onnxruntime is here, "
        "fetched once; the default of the commands that start the local model) or off "
        "(semantic_vad timed as server_vad; rtagents local-server's default)",
    )


async def start_local_model(
    nursery: trio.Nursery,
    args: argparse.Namespace,
    out: TextIO,
    in_memory: bool,
    grammar: str | EllipsisType | None = ...,
) -> tuple[Any, Any]:
    """The local speech model, warmed up and serving: (its LocalServer, a link factory or None).
    `grammar` restricts recognition (None: pocketsphinx's open English model; not given: the
    demo's grammar unless ``--open-vocabulary``)."""
    chosen = (None if args.open_vocabulary else DEMO_GRAMMAR) if grammar is ... else grammar
    from rtagents.local import serve_local_realtime
    from rtagents.local.speech import SpeechModel, SpeechUnavailable, speech_model

    def build() -> SpeechModel:
        try:
            model = speech_model(
                brain=args.brain,
                grammar=chosen,
                threaded=not in_memory,
            )
        except (SpeechUnavailable, ValueError) as exc:
            raise LocalModelError(str(exc)) from exc
        model.warm_up()
        return model

    _say(
        out,
        "model:   local (pocketsphinx → "
        + (
            "chat-completions brain"
            if (args.brain or os.environ.get("RTAGENTS_BRAIN")) == "chat"
            else "rule-based brain"
        )
        + " → espeak-ng), no network",
    )
    started = time.perf_counter()
    done = trio.Event()

    tty = getattr(out, "isatty", lambda: False)()

    async def progress() -> None:
        if not tty:  # a log, not a terminal: one line, no animation
            print("warming up the speech models ...", file=out, flush=True)
            return
        dots = 0
        with trio.move_on_after(60):
            while not done.is_set():
                print(
                    "\rwarming up the speech models" + "." * (dots % 4) + "   ",
                    end="",
                    file=out,
                    flush=True,
                )
                dots += 1
                with trio.move_on_after(0.25):
                    await done.wait()

    if in_memory:
        from rtagents.testing import local_model

        model = build()
        detection = load_turn_detection(out, args, fetch=False)
        memory = local_model(model.responder, transcriber=model.recognizer, detection=detection)
        return memory.server, memory.link_factory
    detection = await trio.to_thread.run_sync(
        functools.partial(load_turn_detection, out, args, fetch=True),
        abandon_on_cancel=True,
    )
    nursery.start_soon(progress)
    try:
        # (abandoned on Ctrl-C: a warm-up has nothing to clean up)
        model = await trio.to_thread.run_sync(build, abandon_on_cancel=True)
    finally:
        done.set()
    print(
        ("\r" if tty else "")
        + f"warming up the speech models: ready in {time.perf_counter() - started:.2f} s",
        file=out,
        flush=True,
    )
    server = await nursery.start(
        functools.partial(
            serve_local_realtime,
            responder=model.responder,
            transcriber=model.recognizer,
            detection=detection,
        )
    )
    return server, None


def load_turn_detection(out: TextIO, args: argparse.Namespace, *, fetch: bool) -> Any:
    """The local model's turn detection: smart-turn for ``semantic_vad`` (what sessions ask for
    by default) when onnxruntime is here, its weights fetched once on first use when `fetch`
    (checksummed, cached; about 12 MB from the package index, with progress); otherwise
    ``semantic_vad`` timed as server VAD, said once.  Runs on a worker thread (it may download
    and it loads the model)."""
    import importlib.util

    from rtagents.detectors import SMART_TURN, WeightsError, fetch_weights, weights_path
    from rtagents.local import load_detection

    turn_model = getattr(args, "turn_model", None) or "auto"
    if turn_model == "off":
        _say(out, "turns:   semantic_vad timed as server_vad (--turn-model off)")
        return load_detection("energy", "off")
    if fetch and importlib.util.find_spec("onnxruntime") and weights_path(SMART_TURN) is None:
        _say(out, "turns:   fetching the end-of-turn model once (12 MB, cached) ...")
        shown = [-1]

        def progress(done: int, total: int) -> None:
            tenth = done * 10 // total if total else 0
            if tenth > shown[0]:
                shown[0] = tenth
                _say(out, f"turns:   {tenth * 10}%")

        try:
            fetch_weights(names=[SMART_TURN], progress=progress)
        except WeightsError as exc:
            _say(out, f"turns:   could not fetch it: {exc}")
    detection = load_detection("energy", "auto")
    for note in detection.notes:
        _say(out, f"turns:   {note}")
    if not detection.notes:
        _say(out, "turns:   semantic_vad with smart-turn v3 (end of turn judged, not timed)")
    return detection
