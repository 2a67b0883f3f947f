"""The ``rtagents`` command.

Sub-commands that exist today:

* ``rtagents info`` — the installed version and the native kernel build in use.
"""

from __future__ import annotations

import argparse
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rtagents", description="trio-native realtime voice agents"
    )
    parser.add_argument("--version", action="version", version=f"rtagents {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="show the version and the native kernel build").set_defaults(
        run=_info
    )
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
