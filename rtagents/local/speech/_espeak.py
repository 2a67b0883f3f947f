"""A streaming text-to-speech voice on espeak-ng (GPL-3.0, loaded only when a voice is built).

Theory of operation
-------------------
espeak-ng is a C library with one process-global synthesizer.  We reach it through ctypes:
the ``espeakng_loader`` wheel (``pip install 'rtagents[local]'``) ships ``libespeak-ng.so``
and its data; Debian's ``libespeak-ng.so.1`` (``apt-get install espeak-ng``) is the fallback.
Nothing here touches the library until an :class:`EspeakVoice` is constructed, so importing
rtagents never loads GPL code.

The library is initialized once per process in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode:
``espeak_Synth`` runs synthesis on the calling thread and hands every ~60 ms of 22,050 Hz
PCM16 to one registered C callback before it returns.  espeak-ng is not thread-safe, so every
call into it happens under one module-level :class:`threading.Lock`; the voice and rate are
process-global too, so each utterance (re)selects its voice's settings under that lock.

Each utterance gets its own :class:`soxr.ResampleStream` (22,050 -> 24,000 Hz, HQ) fed with
every callback buffer as it arrives and flushed with ``last=True`` at the end, so no sample is
lost: an utterance of ``n`` input samples gives ``round(n * 24000 / 22050)`` output samples.
The stream runs in float32 and we round to int16 ourselves (soxr's int16 output is dithered
with a varying seed), so the same espeak samples always give the same bytes; exact digital
silence stays exact.
The resampled audio is cut into chunks of exactly ``chunk_ms`` (the last one may be shorter).

:meth:`EspeakVoice.synthesize` streams those chunks while espeak is still producing them.
With ``threaded=True`` espeak runs in a worker thread (``trio.to_thread.run_sync`` behind a
``CapacityLimiter(1)`` shared by the trio run), and the C callback hands each chunk to the
trio side with ``trio.from_thread.run(send_channel.send, chunk)`` on a bounded memory
channel: backpressure, no drops.  When the consumer stops early (the generator is closed or
cancelled) the receive side is closed, the pending send fails, the callback returns 1 and
espeak aborts at its next buffer.  The worker is driven by a system task rather than a
nursery inside the generator, so the generator never yields inside a nursery.
With ``threaded=False`` the utterance is synthesized inline in the trio thread (for
deterministic tests under trio's ``MockClock``) and its chunks are then yielded one by one.

Caveat on determinism: espeak-ng keeps synthesis state across utterances (the pitch-flutter
phase, the harmonic-spectrum double buffer), so the same text spoken twice in one process
gives slightly different audio (lengths differ by up to ~1 %).  A fresh process always speaks
its first utterances identically, and the sync and streaming paths are byte-identical given
the same espeak state.

Do not start a second utterance while consuming another one in the same task: utterances are
serialized, so the second would wait for the first, which waits for its consumer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import trio

from rtagents.local.speech._errors import SpeechUnavailable

__all__ = ["OUTPUT_RATE", "EspeakVoice", "VoiceStatistics"]

OUTPUT_RATE = 24000
"""Sample rate of everything :class:`EspeakVoice` produces (PCM16 mono)."""

MIN_WORDS_PER_MINUTE = 80
"""espeak-ng's documented minimum speaking rate (``espeakRATE_MINIMUM``)."""
MAX_WORDS_PER_MINUTE = 450
"""espeak-ng's documented maximum speaking rate (``espeakRATE_MAXIMUM``)."""
MIN_CHUNK_MS = 10
MAX_CHUNK_MS = 1000

_INSTALL_HINT = "pip install 'rtagents[local]' (bundles espeak-ng) or apt-get install espeak-ng"

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # fail with -1 instead of exit() when data is missing
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1  # no espeakSSML, no espeakPHONEMES: text is plain UTF-8
_ESPEAK_RATE = 1
_EE_OK = 0
_BUFFER_MS = 60  # espeak-ng's minimum callback buffer; smaller values are raised to it

_RANDOM_SEED = 0x5EED
_CHANNEL_CAPACITY = 8  # chunks buffered between the espeak thread and the consumer

# int cb(short *wav, int numsamples, espeak_EVENT *events); events are not needed.
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_Int16Array = npt.NDArray[np.int16]
# A chunk sink: returns False when the consumer is gone and synthesis should abort.
_Emit = Callable[[bytes], bool]

# Serializes every call into espeak-ng (process-global, not thread-safe) and its one-time
# initialization.  Held for a whole utterance.
_LOCK = threading.Lock()
# The trio run whose worker thread holds _LOCK (None if free or held outside a worker): lets
# synthesize_sync() refuse to deadlock the event loop on its own streaming utterance.
_LOCK_OWNER_TOKEN: trio.lowlevel.TrioToken | None = None
_ENGINE: _Engine | None = None
_KNOWN_VOICES: set[str] = set()

_LIMITER: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar(
    "rtagents_espeak_limiter"
)


@attrs.frozen
class VoiceStatistics:
    """What an :class:`EspeakVoice` has done so far."""

    utterances: int
    """Utterances synthesized (including ones aborted by their consumer)."""
    chunks: int
    """Chunks delivered."""
    samples_out: int
    """24 kHz samples delivered."""
    synth_seconds: float
    """Wall time spent in espeak and resampling, excluding waits for the consumer."""
    first_chunk_seconds_last: float | None
    """For the last utterance, time from the call to its first chunk (None before any)."""


class EspeakVoice:
    """espeak-ng speaking PCM16 mono at 24 kHz, streamed while it synthesizes.

    ``voice`` is what ``espeak_SetVoiceByName`` takes: a voice name or file (``"en-us"``,
    ``"en"`` (British), ``"fr"``, ``"gmw/en-GB-x-rp"``, with a variant: ``"en-us+f3"``);
    ``words_per_minute`` must be in espeak-ng's range 80-450; chunks are ``chunk_ms`` long
    (10-1000 ms; the last chunk of an utterance may be shorter).  Raises
    :class:`SpeechUnavailable` if espeak-ng cannot be loaded, :class:`ValueError` for an
    unknown voice or an out-of-range parameter.
    """

    def __init__(
        self,
        voice: str = "en-us",
        *,
        words_per_minute: int = 175,
        chunk_ms: int = 40,
        threaded: bool = True,
    ) -> None:
        if not isinstance(voice, str) or not voice or "\0" in voice or not voice.isascii():
            raise ValueError(f"invalid espeak-ng voice name {voice!r}")
        if not MIN_WORDS_PER_MINUTE <= words_per_minute <= MAX_WORDS_PER_MINUTE:
            raise ValueError(
                f"words_per_minute must be in {MIN_WORDS_PER_MINUTE}..{MAX_WORDS_PER_MINUTE}, "
                f"got {words_per_minute}"
            )
        if not MIN_CHUNK_MS <= chunk_ms <= MAX_CHUNK_MS:
            raise ValueError(f"chunk_ms must be in {MIN_CHUNK_MS}..{MAX_CHUNK_MS}, got {chunk_ms}")
        _import_soxr()  # fail now, not mid-utterance
        self._engine = _engine()
        if voice not in _KNOWN_VOICES:  # voices never change: check each name once
            _acquire_from_caller("EspeakVoice() with a new voice name")
            try:
                known = self._engine.select(voice, words_per_minute)
            finally:
                _LOCK.release()
            if not known:
                raise ValueError(f"unknown espeak-ng voice {voice!r}")
            _KNOWN_VOICES.add(voice)
        self._voice = voice
        self._wpm = words_per_minute
        self._chunk_samples = OUTPUT_RATE * chunk_ms // 1000
        self._threaded = threaded
        self._stats_lock = threading.Lock()
        self._stats = _Counters()

    @property
    def voice(self) -> str:
        return self._voice

    @property
    def words_per_minute(self) -> int:
        return self._wpm

    def __repr__(self) -> str:
        return (
            f"EspeakVoice({self._voice!r}, words_per_minute={self._wpm}, "
            f"chunk_ms={self._chunk_samples * 1000 // OUTPUT_RATE}, threaded={self._threaded})"
        )

    def statistics(self) -> VoiceStatistics:
        with self._stats_lock:
            s = self._stats
            return VoiceStatistics(
                utterances=s.utterances,
                chunks=s.chunks,
                samples_out=s.samples_out,
                synth_seconds=s.synth_seconds,
                first_chunk_seconds_last=s.first_chunk_seconds_last,
            )

    def synthesize_sync(self, text: str) -> bytes:
        """The whole utterance as PCM16 little-endian 24 kHz mono (``b""`` for blank text).

        Blocks the calling thread.  Raises :class:`RuntimeError` if called from a trio thread
        while an utterance of the same trio run is streaming (that would deadlock).  A new
        voice name is checked the same way when an :class:`EspeakVoice` is constructed.
        """
        text = _clean(text)
        if not text:
            return b""
        started = time.perf_counter()
        chunks: list[bytes] = []

        def emit(chunk: bytes) -> bool:
            if not chunks:
                self._set_first_chunk(time.perf_counter() - started)
            chunks.append(chunk)
            return True

        _acquire_from_caller("synthesize_sync()")
        try:
            self._render(text, emit)
        finally:
            _LOCK.release()
        return b"".join(chunks)

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Yield PCM16 24 kHz mono chunks of ``text`` as espeak produces them.

        Close the generator (``aclose()``, or leave an ``async with aclosing(...)`` block) to
        abort synthesis early; cancellation aborts it as well.
        """
        text = _clean(text)
        if not text:
            return
        started = time.perf_counter()
        stream = self._stream_threaded if self._threaded else self._stream_inline
        chunks = stream(text)
        first = True
        try:
            async for chunk in chunks:
                if first:
                    first = False
                    self._set_first_chunk(time.perf_counter() - started)
                yield chunk
        finally:
            await chunks.aclose()

    async def _stream_inline(self, text: str) -> AsyncGenerator[bytes, None]:
        chunks: list[bytes] = []

        def emit(chunk: bytes) -> bool:
            chunks.append(chunk)
            return True

        async with _limiter():
            with _LOCK:
                self._render(text, emit)
        for chunk in chunks:
            await trio.lowlevel.checkpoint()
            yield chunk

    async def _stream_threaded(self, text: str) -> AsyncGenerator[bytes, None]:
        send, receive = trio.open_memory_channel[bytes](_CHANNEL_CAPACITY)
        token = trio.lowlevel.current_trio_token()
        producer_scope = trio.CancelScope()
        done = trio.Event()
        failure: list[BaseException] = []

        def emit(chunk: bytes) -> bool:
            try:
                trio.from_thread.run(send.send, chunk)
            except BaseException:  # the consumer is gone (closed, cancelled) or the run ends
                return False
            return True

        def work() -> None:
            global _LOCK_OWNER_TOKEN
            with _LOCK:
                _LOCK_OWNER_TOKEN = token
                try:
                    self._render(text, emit)
                finally:
                    _LOCK_OWNER_TOKEN = None

        async def produce() -> None:
            try:
                with producer_scope:
                    await trio.to_thread.run_sync(work, limiter=_limiter(), abandon_on_cancel=False)
            except Exception as exc:
                failure.append(exc)
            finally:
                send.close()
                done.set()

        trio.lowlevel.spawn_system_task(produce, name=f"espeak {self._voice}")
        try:
            async for chunk in receive:
                yield chunk
            await done.wait()
            if failure:
                raise failure[0]
        finally:
            receive.close()
            producer_scope.cancel()  # only matters while it still waits for the limiter
            with trio.CancelScope(shield=True):
                await done.wait()

    def _render(self, text: str, emit: _Emit) -> None:
        """Speak ``text`` through ``emit`` (24 kHz chunks).  Needs ``_LOCK`` held."""
        assert _LOCK.locked()
        engine = self._engine
        resampler = _StreamResampler(engine.sample_rate)
        chunker = _Chunker(self._chunk_samples)
        stats = _Counters(utterances=1)
        waited = 0.0
        alive = True

        def deliver(samples: _Int16Array) -> bool:
            nonlocal waited, alive
            for chunk in chunker.push(samples):
                before = time.perf_counter()
                alive = emit(chunk)
                waited += time.perf_counter() - before
                if not alive:
                    return False
                stats.chunks += 1
                stats.samples_out += len(chunk) // 2
            return True

        def on_buffer(samples: _Int16Array) -> bool:
            return deliver(resampler.process(samples))

        started = time.perf_counter()
        try:
            if not engine.select(self._voice, self._wpm):
                raise RuntimeError(f"espeak-ng could not select voice {self._voice!r}")
            engine.synth(text, on_buffer)
            if alive and deliver(resampler.flush()):
                tail = chunker.flush()
                if tail and emit(tail):
                    stats.chunks += 1
                    stats.samples_out += len(tail) // 2
        finally:
            stats.synth_seconds = time.perf_counter() - started - waited
            with self._stats_lock:
                self._stats.add(stats)

    def _set_first_chunk(self, seconds: float) -> None:
        with self._stats_lock:
            self._stats.first_chunk_seconds_last = seconds


@attrs.define
class _Counters:
    utterances: int = 0
    chunks: int = 0
    samples_out: int = 0
    synth_seconds: float = 0.0
    first_chunk_seconds_last: float | None = None

    def add(self, other: _Counters) -> None:
        self.utterances += other.utterances
        self.chunks += other.chunks
        self.samples_out += other.samples_out
        self.synth_seconds += other.synth_seconds


class _StreamResampler:
    """One utterance's sample-rate conversion to :data:`OUTPUT_RATE` (soxr, HQ).

    soxr works in float32 here and we round to int16 ourselves: soxr's own int16 output is
    TPDF-dithered with a varying seed, which would make the same speech differ run to run.
    In float32 the output is also independent of how the input is cut into buffers.
    """

    def __init__(self, input_rate: int) -> None:
        self._stream: Any = None
        if input_rate != OUTPUT_RATE:
            soxr = _import_soxr()
            self._stream = soxr.ResampleStream(
                input_rate, OUTPUT_RATE, 1, dtype="float32", quality="HQ"
            )

    def process(self, samples: _Int16Array) -> _Int16Array:
        if self._stream is None:
            return samples
        return self._convert(samples, last=False)

    def flush(self) -> _Int16Array:
        empty = np.zeros(0, dtype=np.int16)
        if self._stream is None:
            return empty
        return self._convert(empty, last=True)

    def _convert(self, samples: _Int16Array, *, last: bool) -> _Int16Array:
        x = samples.astype(np.float32) * np.float32(1 / 32768)
        y = np.asarray(self._stream.resample_chunk(x, last=last), dtype=np.float32)
        scaled: npt.NDArray[np.float32] = np.rint(y * np.float32(32768))
        return np.clip(scaled, -32768, 32767).astype(np.int16)


class _Chunker:
    """Cuts a stream of samples into PCM16 little-endian chunks of exactly ``size`` samples."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pending = bytearray()

    def push(self, samples: _Int16Array) -> list[bytes]:
        self._pending += samples.astype("<i2", copy=False).tobytes()
        step = 2 * self._size
        n = len(self._pending) // step
        out = [bytes(self._pending[i * step : (i + 1) * step]) for i in range(n)]
        del self._pending[: n * step]
        return out

    def flush(self) -> bytes:
        tail = bytes(self._pending)
        self._pending.clear()
        return tail


class _Engine:
    """The process's espeak-ng library, initialized.  Every method needs ``_LOCK`` held."""

    def __init__(self, lib: ctypes.CDLL, data_path: str | None) -> None:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique_identifier
            ctypes.c_void_p,  # user_data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        path = None if data_path is None else data_path.encode()
        rate = int(
            lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, path, _ESPEAK_INITIALIZE_DONT_EXIT
            )
        )
        if rate <= 0:
            raise SpeechUnavailable(
                f"espeak-ng failed to initialize (data path {data_path!r}); {_INSTALL_HINT}"
            )
        # espeak seeds its noise generator (breathy voices, Klatt) with time(NULL): fix it so a
        # process always speaks the same way (espeak-ng >= 1.52; older libraries lack it).
        try:
            set_seed = lib.espeak_ng_SetRandSeed
        except AttributeError:
            pass
        else:
            set_seed.argtypes = [ctypes.c_long]
            set_seed.restype = ctypes.c_int
            set_seed(_RANDOM_SEED)
        self._lib = lib
        self.sample_rate = rate
        self._selected: tuple[str, int] | None = None
        self._on_buffer: Callable[[_Int16Array], bool] | None = None
        self._error: BaseException | None = None
        self._stopped = False
        # Kept referenced for the life of the process: espeak holds the raw pointer.
        self._callback = _SYNTH_CALLBACK(self._c_callback)
        lib.espeak_SetSynthCallback(self._callback)

    def select(self, voice: str, words_per_minute: int) -> bool:
        """Make ``voice`` at ``words_per_minute`` current; False if espeak has no such voice."""
        if self._selected == (voice, words_per_minute):
            return True
        self._selected = None
        if int(self._lib.espeak_SetVoiceByName(voice.encode("ascii"))) != _EE_OK:
            return False
        if int(self._lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)) != _EE_OK:
            raise RuntimeError(f"espeak-ng refused rate {words_per_minute}")
        self._selected = (voice, words_per_minute)
        return True

    def synth(self, text: str, on_buffer: Callable[[_Int16Array], bool]) -> None:
        """Synthesize ``text``, passing each 16-bit buffer to ``on_buffer`` until it says stop."""
        data = text.encode("utf-8")
        self._on_buffer, self._error, self._stopped = on_buffer, None, False
        try:
            status = int(
                self._lib.espeak_Synth(
                    data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
                )
            )
        finally:
            self._on_buffer = None
        if self._error is not None:
            raise self._error
        if status != _EE_OK and not self._stopped:
            raise RuntimeError(f"espeak_Synth failed with status {status}")

    def _c_callback(self, wav: Any, numsamples: int, events: int | None) -> int:
        # Called by espeak on the synthesizing thread; must never raise into C.
        try:
            if self._on_buffer is None:
                return 1  # not ours: stray callback outside synth()
            if not wav or numsamples <= 0:
                return 0  # NULL marks the end; 0 samples can come with events only
            samples = np.ctypeslib.as_array(wav, shape=(numsamples,)).astype(np.int16)
            if self._on_buffer(samples):
                return 0
        except BaseException as exc:
            self._error = exc
        self._stopped = True
        return 1


def _engine() -> _Engine:
    """Load and initialize espeak-ng once per process."""
    global _ENGINE
    engine = _ENGINE
    if engine is not None:
        return engine
    with _LOCK:
        if _ENGINE is None:
            lib, data_path = _load_library()
            _ENGINE = _Engine(lib, data_path)
        return _ENGINE


def _load_library() -> tuple[ctypes.CDLL, str | None]:
    problems: list[str] = []
    try:
        import espeakng_loader
    except ImportError:
        problems.append("espeakng-loader is not installed")
    else:
        try:
            lib_path = str(espeakng_loader.get_library_path())
            return ctypes.CDLL(lib_path), str(espeakng_loader.get_data_path())
        except OSError as exc:
            problems.append(f"espeakng-loader's library failed to load: {exc}")
    name = ctypes.util.find_library("espeak-ng")
    if name is None:
        problems.append("no system libespeak-ng found")
    else:
        try:
            return ctypes.CDLL(name), None
        except OSError as exc:
            problems.append(f"system {name} failed to load: {exc}")
    raise SpeechUnavailable(f"espeak-ng is unavailable ({'; '.join(problems)}); {_INSTALL_HINT}")


def _import_soxr() -> Any:
    try:
        import soxr
    except ImportError as exc:
        raise SpeechUnavailable(
            f"soxr is unavailable ({exc}); pip install 'rtagents[local]'"
        ) from exc
    return soxr


def _limiter() -> trio.CapacityLimiter:
    """The trio run's espeak limiter: one utterance at a time, the others wait asynchronously."""
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = trio.CapacityLimiter(1)
        _LIMITER.set(limiter)
        return limiter


def _acquire_from_caller(what: str) -> None:
    """Take ``_LOCK`` for a blocking call, refusing to wait on our own event loop."""
    if _LOCK.acquire(blocking=False):
        return
    try:
        token: trio.lowlevel.TrioToken | None = trio.lowlevel.current_trio_token()
    except RuntimeError:
        token = None
    if token is not None and token is _LOCK_OWNER_TOKEN:
        raise RuntimeError(
            f"{what} called on the trio thread while an utterance of this trio run is streaming "
            "would deadlock; use `async for chunk in voice.synthesize(...)`, or wait for the "
            "stream to finish"
        )
    _LOCK.acquire()


def _clean(text: str) -> str:
    """Text espeak can take (NUL would end it early); ``""`` if there is nothing to say."""
    text = text.replace("\0", " ")
    return text if text.strip() else ""
