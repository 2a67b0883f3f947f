"""Native audio kernels: G.711 μ-law and A-law, and a low-latency streaming resampler.

Thin, checked wrappers over the cffi extension ``rtagents.native._resample`` (built from
``resample.c`` at install time).  Arguments are validated here, in Python, so that the C code
only ever sees well-formed buffers; the arithmetic is all in C.  There is no pure-Python
fallback: if the extension is missing, importing this module fails.

PCM16 means signed 16-bit little-endian mono samples; μ-law means one G.711 byte per sample.
Inputs may be ``bytes``, ``bytearray`` or a C-contiguous ``memoryview`` (of any format: its raw
bytes are used).  Outputs are always ``bytes``.

The resampler converts between any two of :data:`SUPPORTED_RATES` (8, 11.025, 16, 22.05, 24,
32, 44.1, 48 and 96 kHz), ratios like 44.1 → 48 kHz (160/147) included: one rational polyphase
filter bank per pair, all sampled from one low-pass kernel (filters.h, designed by
tools/design_filters.py) so that every pair has the same response relative to its lower rate:
flat to 0.425 × that rate, images and aliases of a tone ≥ 80 dB down in total.

The resampler is *time-aligned* and *streaming*: output sample ``k`` corresponds to input time
``k * in_rate / out_rate``.  Its filter needs :attr:`Resampler.delay_samples` output samples of
look-ahead, which is audio withheld until more input arrives (just under 16 samples of the lower
rate: at most 2 ms, with 8 kHz); :meth:`Resampler.flush` releases it at the end of a stream.  Any
chunking of the input followed by ``flush()`` gives bit-identical output to one call, and exactly
``round(n_in * out_rate / in_rate)`` samples in total (halves round to even, like ``round``).
"""

from __future__ import annotations

import math
import threading
from typing import Final, Protocol, final

from rtagents.native._resample import ffi, lib

__all__ = [
    "ANY_RATE_RANGE",
    "SUPPORTED_RATES",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "mean_squares",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
]

SUPPORTED_RATES: Final = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)

lib.rt_init()
# Bound once: a module attribute lookup per call is measurable at one call per 20 ms frame.
_c_encode = lib.rt_ulaw_encode
_c_decode = lib.rt_ulaw_decode
_c_alaw_encode = lib.rt_alaw_encode
_c_alaw_decode = lib.rt_alaw_decode
_c_process = lib.rt_resampler_process
_c_process_ulaw = lib.rt_resampler_process_ulaw
_c_process_to_ulaw = lib.rt_resampler_process_to_ulaw
# Output buffers are filled completely by C before they are read: skip cffi's zeroing.
_new = ffi.new_allocator(should_clear_after_alloc=False)

Buffer = bytes | bytearray | memoryview


def _input(data: object, what: str) -> tuple[object, int]:
    """Return something cffi passes as ``const char *`` and its length in bytes."""
    kind = type(data)
    if kind is bytes:
        return data, len(data)  # type: ignore[arg-type]
    if kind is bytearray:
        return ffi.from_buffer(data), len(data)  # type: ignore[arg-type]
    if kind is memoryview:
        view: memoryview = data  # type: ignore[assignment]
        if not view.c_contiguous:
            raise ValueError(f"{what} memoryview must be C-contiguous")
        return ffi.from_buffer(view), view.nbytes
    raise TypeError(
        f"{what} must be bytes, bytearray or memoryview, not {kind.__name__}"
        " (wrap other buffers in memoryview())"
    )


def _odd_pcm16(nbytes: int) -> ValueError:
    return ValueError(f"PCM16 audio must have an even number of bytes (2 per sample), got {nbytes}")


class _ByteView(Protocol):
    """What ``ffi.buffer`` gives: slicing copies the bytes out."""

    def __getitem__(self, index: slice, /) -> bytes: ...


@final
class _Scratch:
    """A reusable output buffer; results are copied out of it into a new ``bytes``.

    Reuse saves an allocation per call, which matters at one call per 20 ms frame.  The C
    functions run with the GIL released, so a scratch buffer must never be shared between
    threads: the module-level functions keep one per thread, a Resampler its own.
    """

    __slots__ = ("cdata", "size", "view")

    def __init__(self, size: int) -> None:
        self.size = 0
        self.grow(size)

    def grow(self, size: int) -> None:
        if size > self.size:
            self.size = max(size, 2 * self.size)
            self.cdata = _new("unsigned char[]", self.size)
            self.view: _ByteView = ffi.buffer(self.cdata)


_tls = threading.local()


def _thread_scratch() -> _Scratch:
    try:
        scratch: _Scratch = _tls.scratch
    except AttributeError:
        scratch = _tls.scratch = _Scratch(8192)
    return scratch


# ulaw_encode / ulaw_decode are written out rather than built on _convert: they run once per
# 20 ms telephone frame, and an extra Python call is a measurable share of their cost.


def ulaw_encode(pcm16: Buffer) -> bytes:
    """Encode PCM16 to G.711 μ-law, bit-exact with ``audioop.lin2ulaw(pcm16, 2)``."""
    if type(pcm16) is bytes:
        src: object = pcm16
        nbytes = len(pcm16)
    else:
        src, nbytes = _input(pcm16, "PCM16 audio")
    if nbytes & 1:
        raise _odd_pcm16(nbytes)
    n = nbytes >> 1
    try:
        scratch: _Scratch = _tls.scratch
    except AttributeError:
        scratch = _thread_scratch()
    if n > scratch.size:
        scratch.grow(n)
    _c_encode(src, n, scratch.cdata)
    return scratch.view[:n]


def ulaw_decode(ulaw: Buffer) -> bytes:
    """Decode G.711 μ-law to PCM16, bit-exact with ``audioop.ulaw2lin(ulaw, 2)``."""
    if type(ulaw) is bytes:
        src: object = ulaw
        n = len(ulaw)
    else:
        src, n = _input(ulaw, "μ-law audio")
    try:
        scratch: _Scratch = _tls.scratch
    except AttributeError:
        scratch = _thread_scratch()
    if 2 * n > scratch.size:
        scratch.grow(2 * n)
    _c_decode(src, n, scratch.cdata)
    return scratch.view[: 2 * n]


def mean_squares(pcm16: Buffer, frame_samples: int) -> list[float]:
    """The mean square of each whole ``frame_samples``-sample sub-frame of PCM16 (exact: an
    integer sum per sub-frame); a partial sub-frame at the end is left out.  One C pass: the
    voice activity detectors' level meter calls it for every captured frame."""
    if frame_samples < 1:
        raise ValueError(f"a sub-frame needs at least one sample, not {frame_samples}")
    if type(pcm16) is bytes:
        src: object = pcm16
        nbytes = len(pcm16)
    else:
        src, nbytes = _input(pcm16, "PCM16 audio")
    n_sub = nbytes // (2 * frame_samples)
    if not n_sub:
        return []
    out = _new("double[]", n_sub)
    lib.rt_mean_squares_s16(src, n_sub, frame_samples, out)
    return list(out)


def _convert(c_function: object, data: object, what: str, out_per_in: int, *, pcm: bool) -> bytes:
    """Run a one-buffer-in, one-buffer-out codec kernel (the not-per-frame-critical ones)."""
    src, n = _input(data, what)
    if pcm:
        if n & 1:
            raise _odd_pcm16(n)
        n >>= 1
    scratch = _thread_scratch()
    scratch.grow(n * out_per_in)
    c_function(src, n, scratch.cdata)  # type: ignore[operator]
    return scratch.view[: n * out_per_in]


def alaw_encode(pcm16: Buffer) -> bytes:
    """Encode PCM16 to G.711 A-law, bit-exact with ``audioop.lin2alaw(pcm16, 2)``."""
    return _convert(_c_alaw_encode, pcm16, "PCM16 audio", 1, pcm=True)


def alaw_decode(alaw: Buffer) -> bytes:
    """Decode G.711 A-law to PCM16, bit-exact with ``audioop.alaw2lin(alaw, 2)``."""
    return _convert(_c_alaw_decode, alaw, "A-law audio", 2, pcm=False)


ANY_RATE_RANGE: Final = (1000, 384000)
"""Rates :meth:`Resampler.any_rate` accepts (ratio at most 12, filter bank ≤ 2**20 taps)."""

_MAX_TAPS = 384  # RT_MAX_K in resample.c: taps per branch, 32 x the ratio
_MAX_BANK = 1 << 20  # RT_MAX_COEF in resample.c


def _check_rate(name: str, rate: object, *, any_rate: bool = False) -> int:
    if type(rate) is not int:
        raise TypeError(f"{name} must be an int, not {type(rate).__name__}")
    low, high = ANY_RATE_RANGE
    if (rate not in SUPPORTED_RATES) if not any_rate else not low <= rate <= high:
        supported = ", ".join(str(r) for r in SUPPORTED_RATES)
        extra = f" (or, through Resampler.any_rate, {low} to {high} Hz)" if any_rate else ""
        raise ValueError(f"unsupported {name} {rate} Hz: supported rates are {supported}{extra}")
    return rate


def _check_pair(in_rate: int, out_rate: int) -> None:
    """Refuse the pairs whose filter bank resample.c would not build (only odd rates)."""
    if in_rate == out_rate:
        return
    g = math.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    ntaps = 32 * (up * down * g // min(in_rate, out_rate)) - 1  # as rt_resampler_new
    taps = -(-ntaps // up)
    if up > 12 or down > 12:
        taps = -(-taps // 8) * 8
    if taps > _MAX_TAPS or up * taps > _MAX_BANK:
        raise ValueError(
            f"cannot resample {in_rate} Hz to {out_rate} Hz: the ratio {up}/{down} is above "
            f"{_MAX_TAPS // 32} or needs more than {_MAX_BANK} filter taps"
        )


@final
class Resampler:
    """A streaming, time-aligned PCM16 resampler between any two of :data:`SUPPORTED_RATES`.

    Not thread-safe: give each stream its own instance.  ``flush()`` ends a stream and leaves
    the resampler reset, ready for the next one.
    """

    __slots__ = ("_in_rate", "_l", "_m", "_out_rate", "_scratch", "_state")

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self._open(_check_rate("in_rate", in_rate), _check_rate("out_rate", out_rate))

    @classmethod
    def any_rate(cls, in_rate: int, out_rate: int) -> Resampler:
        """A resampler between any two rates in :data:`ANY_RATE_RANGE`, not only the supported
        ones (a WAV file at 12 kHz, say), if their ratio is at most 12 and not too fine.

        Same kernel, so the same response relative to the lower rate, and the same streaming
        contract; but only :data:`SUPPORTED_RATES` are benchmarked and tested pair by pair.
        """
        self = cls.__new__(cls)
        in_rate = _check_rate("in_rate", in_rate, any_rate=True)
        out_rate = _check_rate("out_rate", out_rate, any_rate=True)
        _check_pair(in_rate, out_rate)
        self._open(in_rate, out_rate)
        return self

    def _open(self, in_rate: int, out_rate: int) -> None:
        self._in_rate = in_rate
        self._out_rate = out_rate
        state = lib.rt_resampler_new(in_rate, out_rate)
        if state == ffi.NULL:  # pragma: no cover - only on allocation failure
            raise MemoryError("could not allocate resampler state")
        self._state = ffi.gc(state, lib.rt_resampler_free)
        g = math.gcd(in_rate, out_rate)
        self._l = out_rate // g
        self._m = in_rate // g
        self._scratch = _Scratch(4096)

    def __repr__(self) -> str:
        return f"Resampler(in_rate={self._in_rate}, out_rate={self._out_rate})"

    @property
    def in_rate(self) -> int:
        return self._in_rate

    @property
    def out_rate(self) -> int:
        return self._out_rate

    @property
    def delay_samples(self) -> float:
        """Group delay in output samples: audio held back until later input arrives."""
        return float(lib.rt_resampler_delay(self._state))

    @property
    def delay_ms(self) -> float:
        """:attr:`delay_samples` in milliseconds."""
        return self.delay_samples * 1000.0 / self._out_rate

    # The process methods are written out in full (no shared helper) because they run once per
    # 20 ms frame and a Python call costs as much as a good part of the C work.

    def process(self, pcm16: Buffer) -> bytes:
        """Feed PCM16 at ``in_rate``; return every PCM16 sample at ``out_rate`` now computable."""
        if type(pcm16) is bytes:
            src: object = pcm16
            nbytes = len(pcm16)
        else:
            src, nbytes = _input(pcm16, "PCM16 audio")
        if nbytes & 1:
            raise _odd_pcm16(nbytes)
        n = nbytes >> 1
        scratch = self._scratch
        need = 2 * (n * self._l // self._m + 2)
        if need > scratch.size:
            scratch.grow(need)
        return scratch.view[: 2 * _c_process(self._state, src, n, scratch.cdata)]

    def process_ulaw(self, ulaw: Buffer) -> bytes:
        """Fused μ-law decode + resample: μ-law at ``in_rate`` in, PCM16 at ``out_rate`` out."""
        if type(ulaw) is bytes:
            src: object = ulaw
            n = len(ulaw)
        else:
            src, n = _input(ulaw, "μ-law audio")
        scratch = self._scratch
        need = 2 * (n * self._l // self._m + 2)
        if need > scratch.size:
            scratch.grow(need)
        return scratch.view[: 2 * _c_process_ulaw(self._state, src, n, scratch.cdata)]

    def process_to_ulaw(self, pcm16: Buffer) -> bytes:
        """Fused resample + μ-law encode: PCM16 at ``in_rate`` in, μ-law at ``out_rate`` out."""
        if type(pcm16) is bytes:
            src: object = pcm16
            nbytes = len(pcm16)
        else:
            src, nbytes = _input(pcm16, "PCM16 audio")
        if nbytes & 1:
            raise _odd_pcm16(nbytes)
        n = nbytes >> 1
        scratch = self._scratch
        need = n * self._l // self._m + 2
        if need > scratch.size:
            scratch.grow(need)
        return scratch.view[: _c_process_to_ulaw(self._state, src, n, scratch.cdata)]

    def flush(self) -> bytes:
        """End the stream: return the withheld tail as PCM16 and reset."""
        scratch = self._scratch
        scratch.grow(2 * lib.rt_resampler_pending_out(self._state))
        return scratch.view[: 2 * lib.rt_resampler_flush(self._state, scratch.cdata)]

    def flush_to_ulaw(self) -> bytes:
        """Like :meth:`flush`, for streams fed through :meth:`process_to_ulaw`: tail as μ-law."""
        scratch = self._scratch
        scratch.grow(lib.rt_resampler_pending_out(self._state))
        return scratch.view[: lib.rt_resampler_flush_to_ulaw(self._state, scratch.cdata)]

    @property
    def kernel(self) -> str:
        """Which build of the hot loop this resampler runs: "avx", "sse2", "scalar" or "copy"."""
        return str(ffi.string(lib.rt_kernel_name(self._state)).decode("ascii"))

    def reset(self) -> None:
        """Drop all state (history and the withheld tail) and start a new stream."""
        lib.rt_resampler_reset(self._state)


def resample(pcm16: Buffer, in_rate: int, out_rate: int) -> bytes:
    """One-shot conversion of a whole PCM16 signal (``process`` + ``flush``)."""
    rs = Resampler(in_rate, out_rate)
    return rs.process(pcm16) + rs.flush()
