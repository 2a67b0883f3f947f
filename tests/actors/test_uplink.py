"""Formats converted once at the edges: converters, the uplink, playback of G.711."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import native
from rtagents import protocol as p
from rtagents.actors import PlaybackActor, Uplink
from rtagents.audio import AudioFrame, Decoder, Encoder
from rtagents.models import ModelLinkError
from rtagents.testing import FakeAudioSink, voice

FORMATS = [p.AudioFormat.pcm(), p.AudioFormat.pcmu(), p.AudioFormat.pcma()]


def two_passes_encode(pcm: bytes, rate: int, fmt: p.AudioFormat) -> bytes:
    at_rate = native.resample(pcm, rate, fmt.sample_rate) if rate != fmt.sample_rate else pcm
    return fmt.from_pcm16(at_rate)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.type)
@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_the_encoder_is_the_two_pass_conversion_in_one(rate: int, fmt: p.AudioFormat) -> None:
    pcm = voice(0.5, rate)
    encoder = Encoder(rate, fmt)
    streamed = b"".join(encoder.process(pcm[i : i + 640]) for i in range(0, len(pcm), 640))
    streamed += encoder.flush()
    assert streamed == two_passes_encode(pcm, rate, fmt)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.type)
@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_the_decoder_is_the_two_pass_conversion_in_one(rate: int, fmt: p.AudioFormat) -> None:
    data = fmt.from_pcm16(voice(0.5, fmt.sample_rate))
    decoder = Decoder(fmt, rate)
    step = 160 * fmt.sample_width
    streamed = b"".join(decoder.process(data[i : i + step]) for i in range(0, len(data), step))
    streamed += decoder.flush()
    pcm = fmt.to_pcm16(data)
    expected = native.resample(pcm, fmt.sample_rate, rate) if rate != fmt.sample_rate else pcm
    assert streamed == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_any_chunking_encodes_alike(sizes: list[int]) -> None:
    pcm = voice(0.3, 48000)
    encoder = Encoder(48000, p.AudioFormat.pcmu())
    out, at = b"", 0
    for size in sizes * 50:
        if at >= len(pcm):
            break
        out += encoder.process(pcm[at : at + 2 * size])
        at += 2 * size
    out += encoder.process(pcm[at:]) + encoder.flush()
    assert out == two_passes_encode(pcm, 48000, p.AudioFormat.pcmu())


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def send_audio_nowait(self, event: p.ClientEvent | str) -> None:
        if self.closed:
            raise ModelLinkError("the model link is closed")
        assert isinstance(event, str)  # encoded once, at the uplink
        decoded = p.decode_client_event(event)  # the server role's strict reading of it
        assert isinstance(decoded, p.InputAudioBufferAppend)
        self.sent.append(bytes(decoded.audio))


def test_captured_frames_and_app_audio_share_the_uplink() -> None:
    link = FakeLink()
    uplink = Uplink(link, p.AudioFormat.pcmu())  # type: ignore[arg-type]
    pcm = voice(0.02, 48000)
    uplink.send_nowait(AudioFrame(pcm, 48000, 0.0, 1))
    uplink.send_encoded_nowait(b"\xff" * 160)
    uplink.send_nowait(AudioFrame(pcm, 48000, 0.02, 2))
    assert uplink.seq == 3
    assert link.sent[1] == b"\xff" * 160
    assert link.sent[0] + link.sent[2] == Encoder(48000, p.AudioFormat.pcmu()).process(pcm + pcm)
    # a session.updated to PCM: the next frame is sent as PCM16 at 24 kHz
    uplink.set_format(p.AudioFormat.pcm())
    uplink.send_nowait(AudioFrame(pcm, 48000, 0.04, 3))
    assert link.sent[3] == Encoder(48000, p.AudioFormat.pcm()).process(pcm)
    stats = uplink.statistics()
    assert (stats.frames, stats.format, stats.not_sent) == (4, "audio/pcm", 0)


def test_audio_after_the_link_closed_is_counted_not_raised() -> None:
    link = FakeLink()
    uplink = Uplink(link, p.AudioFormat.pcm())  # type: ignore[arg-type]
    link.closed = True
    uplink.send_encoded_nowait(bytes(960))
    assert uplink.statistics().not_sent == 1
    assert uplink.seq == 0


async def test_playback_decodes_g711_once_and_follows_a_format_change(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = FakeAudioSink(rate=48000)
    player = PlaybackActor(sink, input_format=p.AudioFormat.pcmu())
    ulaw = native.ulaw_encode(voice(0.2, 8000))
    pcm = voice(0.2, 24000)
    async with trio.open_nursery() as nursery:
        await nursery.start(player.run)
        player.enqueue("a", 0, ulaw)
        player.end_item("a")
        player.set_input_format(p.AudioFormat.pcm())
        player.enqueue("b", 0, pcm)
        player.end_item("b")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    written = sink.audio()
    first = Decoder(p.AudioFormat.pcmu(), 48000)
    second = Decoder(p.AudioFormat.pcm(), 48000)
    a = first.process(ulaw) + first.flush()
    b = second.process(pcm) + second.flush()
    assert written == a + b  # each item decoded in one pass, nothing lost or added
