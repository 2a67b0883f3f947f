"""The espeak-ng voice: plausible speech, streamed in order, aborted promptly, serialized.

espeak-ng carries synthesis state from one utterance to the next (pitch-flutter phase and
friends), so the same text spoken twice *in one process* differs slightly.  Exact equality of
the streaming and blocking paths is therefore checked in fresh subprocesses, where espeak
starts from the same state every time; in-process comparisons allow for the small drift.
"""

from __future__ import annotations

import ctypes.util
import itertools
import json
import subprocess
import sys
from contextlib import aclosing
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents.local.speech import _espeak
from rtagents.local.speech._errors import SpeechUnavailable
from rtagents.local.speech._espeak import (
    OUTPUT_RATE,
    EspeakVoice,
    VoiceStatistics,
    _Chunker,
    _StreamResampler,
)

try:
    EspeakVoice()
except SpeechUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"espeak-ng unavailable: {exc}", allow_module_level=True)

PARIS = "What is the weather in Paris?"
LONG = " ".join(
    f"Sentence number {i} tells you, once more, that the weather in Paris is mild."
    for i in range(40)
)
CHUNK_BYTES_40MS = 2 * OUTPUT_RATE * 40 // 1000


def rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / OUTPUT_RATE


async def collect(voice: EspeakVoice, text: str) -> list[bytes]:
    async with aclosing(voice.synthesize(text)) as chunks:
        return [chunk async for chunk in chunks]


def assert_close(a: bytes, b: bytes) -> None:
    """Same speech up to espeak's utterance-to-utterance drift (≈1 % in length)."""
    assert abs(len(a) - len(b)) <= 0.02 * max(len(a), len(b))
    assert rms(a) == pytest.approx(rms(b), rel=0.15)


# ---------------------------------------------------------------- fresh-process determinism

_SCRIPT = r"""
import hashlib, json, sys
import trio
from rtagents.local.speech._espeak import EspeakVoice

mode, jobs = sys.argv[1], json.loads(sys.argv[2])
voices = {name: EspeakVoice(name, threaded=(mode != "inline")) for name, _ in jobs}

def describe(pcm, chunks):
    return {"sha": hashlib.sha256(pcm).hexdigest(), "bytes": len(pcm), "chunks": chunks}

async def main():
    out, order = [None] * len(jobs), []
    async def one(i):
        name, text = jobs[i]
        chunks = []
        agen = voices[name].synthesize(text)
        try:
            async for chunk in agen:
                if not chunks:
                    order.append(i)
                chunks.append(chunk)
        finally:
            await agen.aclose()
        out[i] = describe(b"".join(chunks), len(chunks))
    if mode == "concurrent":
        async with trio.open_nursery() as nursery:
            for i in range(len(jobs)):
                nursery.start_soon(one, i)
    else:
        for i in range(len(jobs)):
            await one(i)
    return {"results": out, "order": order}

if mode == "sync":
    results = []
    for name, text in jobs:
        pcm = voices[name].synthesize_sync(text)
        results.append(describe(pcm, None))
    print(json.dumps({"results": results, "order": list(range(len(jobs)))}))
else:
    print(json.dumps(trio.run(main)))
"""


def fresh(mode: str, jobs: list[tuple[str, str]]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode, json.dumps(jobs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("mode", ["threaded", "inline"])
def test_streaming_equals_sync_exactly_in_a_fresh_process(mode: str) -> None:
    jobs = [("en-us", PARIS), ("en-us", "Hello <b>there</b> & good night.")]
    sync = fresh("sync", jobs)["results"]
    streamed = fresh(mode, jobs)["results"]
    for s, a in zip(sync, streamed, strict=True):
        assert a["sha"] == s["sha"]
        assert a["bytes"] == s["bytes"]
        assert a["chunks"] > 1


def test_concurrent_utterances_are_serialized_exactly() -> None:
    jobs = [("en-us", PARIS), ("en", "The quick brown fox jumps over the lazy dog.")]
    concurrent = fresh("concurrent", jobs)
    order: list[int] = concurrent["order"]
    assert sorted(order) == [0, 1]
    # Spoken one after the other in the order they started: the same as blocking calls.
    sync = fresh("sync", [jobs[i] for i in order])["results"]
    for rank, i in enumerate(order):
        assert concurrent["results"][i]["sha"] == sync[rank]["sha"]


# ---------------------------------------------------------------- in-process behaviour


@pytest.fixture
def voice() -> EspeakVoice:
    return EspeakVoice()


def test_sync_sentence_is_plausible_speech(voice: EspeakVoice) -> None:
    pcm = voice.synthesize_sync(PARIS)
    assert len(pcm) % 2 == 0
    assert 1.0 <= seconds(pcm) <= 2.5
    assert rms(pcm) > 500
    stats = voice.statistics()
    assert isinstance(stats, VoiceStatistics)
    assert stats.utterances == 1
    assert stats.chunks == -(-len(pcm) // CHUNK_BYTES_40MS)
    assert stats.samples_out == len(pcm) // 2
    assert stats.synth_seconds > 0  # measured (how long it takes is benchmarks' business)
    assert stats.first_chunk_seconds_last is not None
    assert stats.first_chunk_seconds_last > 0


def test_slower_rate_speaks_longer() -> None:
    slow = EspeakVoice(words_per_minute=100).synthesize_sync(PARIS)
    fast = EspeakVoice(words_per_minute=300).synthesize_sync(PARIS)
    assert seconds(slow) > 1.8 * seconds(fast)


@pytest.mark.parametrize("threaded", [True, False])
async def test_async_stream_matches_sync(threaded: bool) -> None:
    voice = EspeakVoice(threaded=threaded)
    reference = voice.synthesize_sync(PARIS)
    chunks = await collect(voice, PARIS)
    assert len(chunks) > 1
    assert all(len(c) == CHUNK_BYTES_40MS for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= CHUNK_BYTES_40MS
    assert_close(b"".join(chunks), reference)
    stats = voice.statistics()
    assert stats.utterances == 2
    assert stats.samples_out == (len(reference) + sum(map(len, chunks))) // 2


@pytest.mark.parametrize("chunk_ms", [10, 20, 100])
async def test_chunks_are_chunk_ms_long(chunk_ms: int) -> None:
    voice = EspeakVoice(chunk_ms=chunk_ms)
    chunks = await collect(voice, PARIS)
    size = 2 * OUTPUT_RATE * chunk_ms // 1000
    assert all(len(c) == size for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= size


async def test_first_chunk_arrives_while_espeak_is_still_speaking(voice: EspeakVoice) -> None:
    async with aclosing(voice.synthesize(LONG)) as chunks:
        count = 0
        async for _chunk in chunks:
            if count == 0:
                # The utterance is only accounted for when espeak returns: it has not yet.
                assert voice.statistics().utterances == 0
            count += 1
    assert count > 100
    assert voice.statistics().utterances == 1
    assert voice.statistics().chunks == count


async def test_inline_mode_runs_on_the_mock_clock(autojump_clock: trio.testing.MockClock) -> None:
    voice = EspeakVoice(threaded=False)
    before = trio.current_time()
    chunks = await collect(voice, PARIS)
    assert len(chunks) > 1
    assert trio.current_time() == before  # no timers, no threads
    assert 1.0 <= seconds(b"".join(chunks)) <= 2.5


@pytest.mark.parametrize("threaded", [True, False])
async def test_early_close_aborts_and_the_voice_still_works(threaded: bool) -> None:
    voice = EspeakVoice(threaded=threaded)
    async with aclosing(voice.synthesize(LONG)) as chunks:
        async for first in chunks:
            assert len(first) == CHUNK_BYTES_40MS
            break
    aborted = voice.statistics()
    assert aborted.utterances == 1
    if threaded:
        # Promptly: at most what fits in the channel plus one espeak buffer, not ~700 chunks.
        assert aborted.chunks <= 16

    reference = EspeakVoice().synthesize_sync(PARIS)
    again = b"".join(await collect(voice, PARIS))
    assert_close(again, reference)
    assert voice.statistics().utterances == 2


async def test_cancellation_aborts_and_the_voice_still_works(voice: EspeakVoice) -> None:
    received = 0
    with trio.CancelScope() as scope:
        async with aclosing(voice.synthesize(LONG)) as chunks:
            async for _chunk in chunks:
                received += 1
                if received == 3:
                    scope.cancel()
                await trio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert received == 3
    assert voice.statistics().chunks <= 20
    assert_close(b"".join(await collect(voice, PARIS)), voice.synthesize_sync(PARIS))


async def test_two_tasks_two_voices_are_serialized() -> None:
    us, gb = EspeakVoice("en-us"), EspeakVoice("en")
    texts = {"us": PARIS, "gb": "The quick brown fox jumps over the lazy dog."}
    got: dict[str, list[bytes]] = {}

    async def speak(name: str, voice: EspeakVoice) -> None:
        got[name] = []
        async with aclosing(voice.synthesize(texts[name])) as chunks:
            async for chunk in chunks:
                got[name].append(chunk)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(speak, "us", us)
        nursery.start_soon(speak, "gb", gb)

    assert_close(b"".join(got["us"]), us.synthesize_sync(PARIS))
    assert_close(b"".join(got["gb"]), gb.synthesize_sync(texts["gb"]))
    assert len(got["us"]) > 1
    assert len(got["gb"]) > 1
    # en-gb and en-us differ audibly: nothing got mixed up between the streams.
    assert us.statistics().utterances == gb.statistics().utterances == 2


async def test_sync_call_from_the_event_loop_while_streaming_refuses_to_deadlock(
    voice: EspeakVoice,
) -> None:
    async with aclosing(voice.synthesize(LONG)) as chunks:
        async for _first in chunks:
            with pytest.raises(RuntimeError, match="deadlock"):
                voice.synthesize_sync(PARIS)
            break
    assert len(voice.synthesize_sync(PARIS)) > 0


def test_markup_is_spoken_as_plain_text(voice: EspeakVoice) -> None:
    plain = voice.synthesize_sync("Tom and Jerry.")
    marked = voice.synthesize_sync('<speak>Tom <break time="3s"/> & Jerry.</speak>')
    # Not SSML: the tags are read out (longer), and there is no three-second break either way.
    assert seconds(marked) > seconds(plain)
    assert seconds(marked) < 10


async def test_very_long_text_keeps_flowing() -> None:
    voice = EspeakVoice(words_per_minute=450)
    text = LONG * 3  # ~9,000 characters
    total = 0
    count = 0
    async with aclosing(voice.synthesize(text)) as chunks:
        async for chunk in chunks:
            total += len(chunk)
            count += 1
    assert count > 500
    assert seconds(b"\0" * total) > 60


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["klingon-xx", "", "en\0us", "é"])
def test_unknown_voice_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="voice"):
        EspeakVoice(name)


@pytest.mark.parametrize("wpm", [0, -5, 79, 451])
def test_bad_rate_is_a_value_error(wpm: int) -> None:
    with pytest.raises(ValueError, match="words_per_minute"):
        EspeakVoice(words_per_minute=wpm)


@pytest.mark.parametrize("chunk_ms", [0, -40, 5000])
def test_bad_chunk_ms_is_a_value_error(chunk_ms: int) -> None:
    with pytest.raises(ValueError, match="chunk_ms"):
        EspeakVoice(chunk_ms=chunk_ms)


@pytest.mark.parametrize("threaded", [True, False])
@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\0"])
async def test_blank_text_gives_nothing(text: str, threaded: bool) -> None:
    voice = EspeakVoice(threaded=threaded)
    assert voice.synthesize_sync(text) == b""
    assert await collect(voice, text) == []
    assert voice.statistics().utterances == 0


# ---------------------------------------------------------------- resampling and chunking


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=40_000),
    cuts=st.lists(st.integers(min_value=0, max_value=40_000), max_size=12),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_resampling_keeps_every_sample(n: int, cuts: list[int], seed: int) -> None:
    x = (np.random.default_rng(seed).standard_normal(n) * 3000).astype(np.int16)
    resampler = _StreamResampler(22050)
    bounds = sorted({0, n, *(c for c in cuts if c <= n)})
    out = [resampler.process(x[a:b]) for a, b in itertools.pairwise(bounds)]
    out.append(resampler.flush())
    produced = np.concatenate(out)
    assert abs(len(produced) - round(n * OUTPUT_RATE / 22050)) <= 2
    # Bit-exact whatever the cutting (no dither, no chunk dependence).
    whole = _StreamResampler(22050)
    assert np.array_equal(produced, np.concatenate([whole.process(x), whole.flush()]))


def test_digital_silence_stays_exact() -> None:
    resampler = _StreamResampler(22050)
    out = np.concatenate([resampler.process(np.zeros(5000, np.int16)), resampler.flush()])
    assert len(out) == round(5000 * OUTPUT_RATE / 22050)
    assert not out.any()


def test_espeak_utterance_keeps_every_sample(
    voice: EspeakVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[int] = []

    class Counting(_StreamResampler):
        def process(self, samples: Any) -> Any:
            fed.append(len(samples))
            return super().process(samples)

    monkeypatch.setattr(_espeak, "_StreamResampler", Counting)
    n_out = len(voice.synthesize_sync(PARIS)) // 2
    n_in = sum(fed)
    assert n_in > 20_000
    assert abs(n_out - round(n_in * OUTPUT_RATE / 22050)) <= 2


@given(sizes=st.lists(st.integers(min_value=0, max_value=3000), max_size=20))
def test_chunker_cuts_exact_chunks(sizes: list[int]) -> None:
    chunker = _Chunker(960)
    data = np.arange(sum(sizes), dtype=np.int16)
    out: list[bytes] = []
    start = 0
    for size in sizes:
        out += chunker.push(data[start : start + size])
        start += size
    tail = chunker.flush()
    assert all(len(c) == 1920 for c in out)
    assert len(tail) < 1920
    assert b"".join([*out, tail]) == data.astype("<i2").tobytes()


# ---------------------------------------------------------------- loading


def test_missing_espeak_names_both_ways_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import fails
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(SpeechUnavailable) as info:
        _espeak._load_library()
    assert "pip install 'rtagents[local]'" in str(info.value)
    assert "apt-get install espeak-ng" in str(info.value)


def test_importing_rtagents_does_not_load_espeak() -> None:
    probe = (
        "import sys, rtagents, rtagents.local, rtagents.local.speech._espeak\n"
        "maps = open('/proc/self/maps').read() if sys.platform == 'linux' else ''\n"
        "print('espeakng_loader' in sys.modules or 'espeak' in maps)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
