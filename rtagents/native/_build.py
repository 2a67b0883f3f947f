"""cffi build script (out-of-line API mode) for ``rtagents.native._resample``.

setuptools runs it through ``cffi_modules`` in setup.py at ``pip install`` time.  The declarations
come from resample.h (between its CDEF markers) so the C header and the cdef cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


def _cdef() -> str:
    text = (HERE / "resample.h").read_text()
    match = re.search(r"/\* CDEF-BEGIN \*/(.*)/\* CDEF-END \*/", text, re.S)
    if match is None:
        raise RuntimeError("resample.h lacks its CDEF markers")
    return match.group(1)


ffi = FFI()
ffi.cdef(_cdef())
ffi.set_source(
    "rtagents.native._resample",
    '#include "resample.h"',
    # Paths relative to the project root, where setuptools runs this script.
    sources=["rtagents/native/g711.c", "rtagents/native/resample.c", "rtagents/native/levels.c"],
    depends=[
        "rtagents/native/resample.h",
        "rtagents/native/g711.h",
        "rtagents/native/resample_kernel.h",
        "rtagents/native/filters.h",
    ],
    include_dirs=["rtagents/native"],
    # -ffp-contract=off: no FMA contraction, so float results are the same on every x86-64/ARM
    # build (known-answer tests rely on it).  -fno-math-errno lets lrintf inline to one
    # instruction (we never read errno).
    extra_compile_args=[
        "-O3",
        "-ffp-contract=off",
        "-fno-math-errno",
        "-std=c99",
        "-Wall",
        "-Wextra",
    ],
    libraries=["m"],
)

if __name__ == "__main__":
    ffi.compile(verbose=True)
