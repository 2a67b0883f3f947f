"""WAV files at the edges: WavSource reads any rate, channel count and common sample format,
converting once to PCM16 mono at a supported rate; WavSink writes any rate and channel count;
bad files are clear ``ValueError``s (and clear CLI errors, never tracebacks)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
import trio

from rtagents import native
from rtagents.apps.cli import main
from rtagents.audio import WavSink, WavSource
from rtagents.audio.sources import read_wav
from tests.audio.wavfiles import wav_bytes


def speechish(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(np.clip(rng.normal(0, 6000, n), -32768, 32767), dtype="<i2")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, align: int | None = None) -> bytes:
    align = channels * bits // 8 if align is None else align
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    return b"fmt " + struct.pack("<I", len(fmt)) + fmt


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def data_chunk(frames: bytes, size: int | None = None) -> bytes:
    return b"data" + struct.pack("<I", len(frames) if size is None else size) + frames


# -- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", native.SUPPORTED_RATES)
def test_16_bit_mono_at_every_supported_rate_is_read_as_is(tmp_path: Path, rate: int) -> None:
    pcm = speechish(rate // 10).tobytes()
    path = write(tmp_path / "a.wav", wav_bytes(pcm, rate, 1, 16, extensible=False))
    source = WavSource(path, tail_silence_ms=20)
    assert (source.rate, source.file_rate, source.file_channels) == (rate, rate, 1)
    assert source.pcm == pcm + bytes(2 * (rate // 50))
    assert source.seconds == pytest.approx(0.12, abs=1e-3)


def test_stereo_and_multichannel_are_averaged(tmp_path: Path) -> None:
    left, right = speechish(4410, 1), speechish(4410, 2)
    stereo = np.stack([left, right], axis=1).astype("<i2").tobytes()
    path = write(tmp_path / "s.wav", wav_bytes(stereo, 44100, 2, 16, extensible=True))
    rate, channels, pcm = read_wav(path)
    expected = (left.astype(np.int32) + right) // 2
    assert (rate, channels, pcm) == (44100, 2, expected.astype("<i2").tobytes())
    six = np.repeat(left[:, None], 6, axis=1).astype("<i2").tobytes()
    path = write(tmp_path / "6.wav", wav_bytes(six, 48000, 6, 16, extensible=True))
    assert read_wav(path) == (48000, 6, left.tobytes())


@pytest.mark.parametrize("bits", [24, 32])
def test_24_and_32_bit_pcm_are_rounded_to_16_bits(tmp_path: Path, bits: int) -> None:
    wide = np.array([0, 1, -1, 127, 128, -128, -129, 2**23 - 1, -(2**23), 300000], np.int64)
    wide <<= bits - 24
    raw = np.stack([(wide >> s) & 0xFF for s in range(0, bits, 8)], axis=1).astype(np.uint8)
    path = write(tmp_path / "w.wav", wav_bytes(raw.tobytes(), 16000, 1, bits, extensible=True))
    shift = bits - 16
    expected = np.clip((wide + (1 << (shift - 1))) >> shift, -32768, 32767)
    assert read_wav(path) == (16000, 1, expected.astype("<i2").tobytes())
    assert list(expected[:7]) == [0, 0, 0, 0, 1, 0, -1]  # rounded, not truncated
    assert expected[7] == 32767  # rounding up at full scale saturates


def test_g711_wav_files_are_decoded(tmp_path: Path) -> None:
    codes = bytes(range(256))
    for tag, decode in ((7, native.ulaw_decode), (6, native.alaw_decode)):
        path = write(tmp_path / "g.wav", riff(fmt_chunk(tag, 1, 8000, 8), data_chunk(codes)))
        assert read_wav(path) == (8000, 1, decode(codes))


def test_odd_chunks_a_partial_frame_and_a_streamed_size_are_handled(tmp_path: Path) -> None:
    pcm = speechish(801).tobytes()
    junk = b"LIST" + struct.pack("<I", 3) + b"abc\0"  # odd size, padded
    path = write(
        tmp_path / "a.wav", riff(junk, fmt_chunk(1, 1, 8000, 16), data_chunk(pcm + b"\x01"))
    )
    assert read_wav(path) == (8000, 1, pcm)
    streamed = riff(fmt_chunk(1, 1, 8000, 16), data_chunk(pcm, size=0xFFFFFFFF))
    assert read_wav(write(tmp_path / "b.wav", streamed)) == (8000, 1, pcm)


def test_a_rate_is_converted_once_when_asked(tmp_path: Path) -> None:
    pcm = speechish(2205).tobytes()
    path = write(tmp_path / "a.wav", wav_bytes(pcm, 22050, 1, 16, extensible=False))
    source = WavSource(path, rate=24000)
    assert (source.rate, source.file_rate) == (24000, 22050)
    assert source.pcm == native.resample(pcm, 22050, 24000)
    with pytest.raises(ValueError, match=r"unsupported rate 12000 Hz: supported rates are 8000"):
        WavSource(path, rate=12000)


@pytest.mark.parametrize(("file_rate", "rate"), [(12000, 16000), (88200, 96000), (192000, 96000)])
def test_other_rates_go_to_the_next_supported_rate_up(
    tmp_path: Path, file_rate: int, rate: int
) -> None:
    t = np.arange(file_rate // 5) / file_rate
    x = np.rint(10000 * np.sin(2 * np.pi * 1000.3 * t)).astype("<i2")
    path = write(tmp_path / "a.wav", wav_bytes(x.tobytes(), file_rate, 1, 16, extensible=False))
    source = WavSource(path)
    assert source.rate == rate
    y = np.frombuffer(source.pcm, "<i2").astype(float)
    assert len(y) == round(len(x) * rate / file_rate)
    expected = 10000 * np.sin(2 * np.pi * 1000.3 * np.arange(len(y)) / rate)
    middle = slice(rate // 50, -rate // 50)  # time-aligned: no delay to fit
    error = y[middle] - expected[middle]
    assert 10 * np.log10(np.mean(expected[middle] ** 2) / np.mean(error**2)) > 75


# -- bad files --------------------------------------------------------------------------------

BAD = {
    "junk": (b"not a wav file at all", r"not a readable WAV file \(no RIFF/WAVE header\)"),
    "empty": (b"", "not a readable WAV file"),
    "cut in the header": (riff(fmt_chunk(1, 1, 8000, 16))[:30], "truncated fmt chunk"),
    "no data": (riff(fmt_chunk(1, 1, 8000, 16)), "no data chunk"),
    "no fmt": (riff(data_chunk(b"\0\0")), "data chunk before the fmt chunk"),
    "truncated data": (
        riff(fmt_chunk(1, 1, 8000, 16), data_chunk(bytes(100), size=1000)),
        "truncated WAV file: its data chunk should have 1000 bytes but the file ends after 100",
    ),
    "0 channels": (riff(fmt_chunk(1, 0, 8000, 16, 2), data_chunk(bytes(4))), "has 0 channels"),
    "0 Hz": (riff(fmt_chunk(1, 1, 0, 16), data_chunk(bytes(4))), "sample rate is 0 Hz"),
    "12-bit": (
        riff(fmt_chunk(1, 1, 8000, 12, 2), data_chunk(bytes(4))),
        r"unsupported sample width: only 16-bit PCM WAV files .*this one has 12-bit",
    ),
    "8-bit": (
        riff(fmt_chunk(1, 1, 8000, 8), data_chunk(bytes(4))),
        r"only 16-bit PCM WAV files .*this one has 8-bit",
    ),
    "float": (
        riff(fmt_chunk(3, 1, 8000, 32), data_chunk(bytes(8))),
        r"not a readable WAV file \(IEEE float samples\); only 16-bit PCM",
    ),
    "ADPCM": (
        riff(fmt_chunk(2, 1, 8000, 4, 256), data_chunk(bytes(8))),
        "compressed format 0x0002",
    ),
    "bad alignment": (riff(fmt_chunk(1, 2, 8000, 16, 3), data_chunk(bytes(8))), "header says 3"),
    "too slow": (
        riff(fmt_chunk(1, 1, 500, 16), data_chunk(bytes(8))),
        r"unsupported in_rate 500 Hz: supported rates are 8000, 11025.*1000 to 384000 Hz",
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_files_are_clear_value_errors(tmp_path: Path, name: str) -> None:
    data, message = BAD[name]
    path = write(tmp_path / "bad.wav", data)
    with pytest.raises(ValueError, match=message) as info:
        WavSource(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["junk", "truncated data", "0 channels", "12-bit"])
def test_the_demo_reports_bad_files_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = write(tmp_path / "bad.wav", BAD[name][0])
    assert main(["demo", "--input", str(path), "--output", str(tmp_path / "a.wav")]) == 2
    err = capsys.readouterr().err
    assert "cannot read --input" in err
    assert "Traceback" not in err


# -- writing ----------------------------------------------------------------------------------


async def test_a_stereo_44100_hz_sink_writes_what_it_is_given(tmp_path: Path) -> None:
    pcm = speechish(4410).tobytes()
    sink = WavSink(tmp_path / "o.wav", 44100, channels=2, realtime=False)
    assert (sink.rate, sink.file_rate, sink.channels) == (44100, 44100, 2)
    for i in range(0, len(pcm), 882):
        await sink.write(pcm[i : i + 882])
    await sink.aclose()
    with wave.open(str(tmp_path / "o.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (44100, 2, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert frames[:, 0].tobytes() == frames[:, 1].tobytes() == pcm
    assert WavSource(tmp_path / "o.wav").pcm == pcm  # and back


@pytest.mark.parametrize(("rate", "takes"), [(22050, 24000), (11025, 16000), (12000, 16000)])
async def test_other_sink_rates_are_converted_as_written(
    tmp_path: Path, rate: int, takes: int
) -> None:
    pcm = speechish(takes // 5).tobytes()
    sink = WavSink(tmp_path / "o.wav", rate, realtime=False)
    assert sink.rate == takes
    for i in range(0, len(pcm), 2 * takes // 50):
        await sink.write(pcm[i : i + 2 * takes // 50])
    await sink.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await sink.write(b"\0\0")
    file_rate, channels, written = read_wav(tmp_path / "o.wav")
    converter = native.Resampler.any_rate(takes, rate)
    assert (file_rate, channels) == (rate, 1)
    assert written == converter.process(pcm) + converter.flush()


def test_a_sink_refuses_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one channel"):
        WavSink(tmp_path / "o.wav", channels=0)
    with pytest.raises(ValueError, match="unsupported out_rate 500 Hz"):
        WavSink(tmp_path / "o.wav", 500)
    assert not (tmp_path / "o.wav").exists()
