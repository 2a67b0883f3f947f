"""The ``rtagents`` command.

Sub-commands that exist today:

* ``rtagents demo`` — a voice conversation with the demo agent on the embedded offline model
  (or OpenAI's with ``--model openai``); WAV files in and out when there is no sound card.
* ``rtagents console [AGENT]`` — a live voice conversation in the terminal with any agent
  (``module:attribute`` or ``path/to/file.py:attribute``; the demo agent by default): the
  microphone and speaker (``--list-devices``, ``--input-device``, ``--output-device``,
  ``--half-duplex``) or WAV files, a status line with the turn state, transcripts and tool
  calls, tool approvals asked on the terminal (``--approve``); Ctrl-C ends it cleanly.
* ``rtagents web [AGENT] --host --port`` — the agent behind a browser page (``rtagents[web]``:
  Starlette on hypercorn's trio worker): microphone and speaker in the page, live transcripts,
  tool calls and approvals, interrupt, images; the offline model without ``OPENAI_API_KEY``.
* ``rtagents serve twilio [AGENT] --public-url URL`` — the agent answering a Twilio phone number
  (``rtagents[web]``): the voice webhook at ``POST /twilio/voice``, the calls' Media Streams at
  ``/twilio/media``, ``X-Twilio-Signature`` checked with ``TWILIO_AUTH_TOKEN``; prints
  ``listening on http://HOST:PORT`` first.
* ``rtagents serve sip [AGENT]`` — the agent answering a SIP trunk through OpenAI's SIP calls
  (``rtagents[web]``; needs ``OPENAI_API_KEY`` and ``OPENAI_WEBHOOK_SECRET``): the signed
  ``realtime.call.incoming`` webhook at ``POST /openai/webhook``, each call accepted with the
  agent's session and run over its ``?call_id=`` WebSocket.
* ``rtagents info`` — the installed version and the native kernel build in use.
* ``rtagents fetch-models [--dir DIR]`` — the offline turn-detection models (Silero VAD,
  smart-turn v3), fetched once from the package index, checked and cached.
* ``rtagents local-server`` — a local OpenAI-Realtime-protocol server for development and
  tests: the deterministic scripted responder, or with ``--speech`` the offline speech model
  (pocketsphinx, a rule-based or chat-completions brain, espeak-ng); prints
  ``listening on ws://HOST:PORT/v1/realtime``.  Every connection is bounded (see
  ``rtagents.local.Limits``) and a closed connection's session is forgotten; Ctrl-C (SIGINT) or
  SIGTERM closes the connections and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from rtagents import __version__


def _info(_: argparse.Namespace) -> int:
    from rtagents.native import SUPPORTED_RATES, Resampler

    print(f"rtagents {__version__}")
    print(f"resampler kernel: {Resampler(8000, 24000).kernel}")
    print("resampler group delay (ms), rows = input rate, columns = output rate:")
    print("        " + "".join(f"{r:>8}" for r in SUPPORTED_RATES))
    for a in SUPPORTED_RATES:
        row = "".join(f"{Resampler(a, b).delay_ms:8.3f}" for b in SUPPORTED_RATES)
        print(f"{a:>8}{row}")
    return 0


def _fetch_models(args: argparse.Namespace) -> int:
    from rtagents.detectors.weights import fetch_models_command

    return fetch_models_command(args.dir)


def _local_server(args: argparse.Namespace) -> int:
    import functools
    import signal

    import trio

    from rtagents.local import (
        LocalServer,
        Responder,
        ScriptedResponder,
        Transcriber,
        load_detection,
        serve_local_realtime,
    )

    responder: Responder | None = None
    transcriber: Transcriber | None = None
    if args.speech:
        if args.script is not None:
            print("rtagents local-server: give --script or --speech, not both", file=sys.stderr)
            return 2
        from rtagents.apps.local_model import DEMO_GRAMMAR
        from rtagents.local.speech import SpeechUnavailable, speech_model

        try:
            model = speech_model(
                brain=args.brain, grammar=None if args.open_vocabulary else DEMO_GRAMMAR
            )
            model.warm_up()
        except (SpeechUnavailable, ValueError) as exc:
            print(f"rtagents local-server: {exc}", file=sys.stderr)
            return 2
        responder, transcriber = model.responder, model.recognizer
    if args.script is not None:
        try:
            with open(args.script, encoding="utf-8") as f:
                responder = ScriptedResponder.from_script(json.load(f))
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            print(f"rtagents local-server: bad --script {args.script}: {exc}", file=sys.stderr)
            return 2
    if args.pace is not None and args.pace < 0:
        print("rtagents local-server: --pace must be >= 0", file=sys.stderr)
        return 2
    detection = load_detection(args.vad, args.turn_model or "off")
    for note in detection.notes:
        print(f"rtagents local-server: {note}", file=sys.stderr)

    async def run() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as stop:
            async with trio.open_nursery() as nursery:
                server: LocalServer = await nursery.start(
                    functools.partial(
                        serve_local_realtime,
                        args.host,
                        args.port,
                        responder=responder,
                        pace=args.pace,
                        transcriber=transcriber,
                        keep_closed=0,  # nobody can read them from here: free them
                        detection=detection,
                    )
                )
                print(f"listening on {server.url}", flush=True)
                async for _ in stop:  # Ctrl-C or SIGTERM: the normal way to stop it
                    nursery.cancel_scope.cancel()
                    break

    try:
        trio.run(run)
    except* KeyboardInterrupt:  # a Ctrl-C before the signal receiver was open
        pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from rtagents.apps.demo import main as demo_main

    return demo_main(args)


def _console(args: argparse.Namespace) -> int:
    from rtagents.apps.console import main as console_main

    return console_main(args)


def _web(args: argparse.Namespace) -> int:
    from rtagents.web import main as web_main

    return web_main(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rtagents", description="trio-native realtime voice agents"
    )
    parser.add_argument("--version", action="version", version=f"rtagents {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="talk to the demo agent (offline local model; WAV files when there is no sound card)",
    )
    from rtagents.apps.demo import add_arguments
    from rtagents.apps.local_model import add_speech_arguments

    add_arguments(demo)
    demo.set_defaults(run=_demo)
    console = commands.add_parser(
        "console",
        help="talk to any agent in the terminal (microphone and speaker, or WAV files)",
        description="A live voice conversation with AGENT in the terminal.",
    )
    from rtagents.apps.console import add_arguments as add_console_arguments

    add_console_arguments(console)
    console.set_defaults(run=_console)
    web = commands.add_parser(
        "web",
        help="talk to any agent in a browser page (rtagents[web])",
        description="Serve AGENT behind a browser page: microphone, speaker, transcripts.",
    )
    from rtagents.web import add_arguments as add_web_arguments

    add_web_arguments(web)
    web.set_defaults(run=_web)
    serve_command = commands.add_parser(
        "serve",
        help="serve any agent to phone calls (rtagents serve twilio | sip)",
        description="Serve AGENT to phone calls.",
    )
    from rtagents.phone.cli import add_serve_arguments
    from rtagents.phone.sip_cli import add_serve_arguments as add_sip_arguments

    servers = serve_command.add_subparsers(dest="server", required=True)
    add_serve_arguments(servers)
    add_sip_arguments(servers)
    commands.add_parser("info", help="show the version and the native kernel build").set_defaults(
        run=_info
    )
    fetch = commands.add_parser(
        "fetch-models",
        help="download the offline turn-detection models once (Silero VAD, smart-turn v3: "
        "12 MB from the package index, checksummed)",
    )
    fetch.add_argument(
        "--dir",
        default=None,
        help="cache directory (default $RTAGENTS_MODELS_DIR or ~/.cache/rtagents/models)",
    )
    fetch.set_defaults(run=_fetch_models)
    serve = commands.add_parser(
        "local-server", help="run a local Realtime-protocol server (no key, no network)"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default loopback)"
    )
    serve.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    serve.add_argument(
        "--script",
        metavar="FILE",
        help="JSON script for the scripted responder: rules (when/say/call/arguments/after_tool), "
        "ms_per_char, chunk_ms",
    )
    serve.add_argument(
        "--pace",
        type=float,
        metavar="SECONDS",
        help="pause after each response part (default: send as fast as produced)",
    )
    serve.add_argument(
        "--speech",
        action="store_true",
        help="hear and speak: the offline speech model of `rtagents demo` (rtagents[local])",
    )
    add_speech_arguments(serve)
    serve.add_argument(
        "--vad",
        choices=("energy", "silero", "auto"),
        default="energy",
        help="the server VAD's frame classifier: energy (default), silero (rtagents[turns] and "
        "`rtagents fetch-models`), or auto (silero when it is here)",
    )
    serve.set_defaults(run=_local_server)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
