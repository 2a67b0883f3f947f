"""The fake Twilio: its playback model, and the peer over a real WebSocket on the mock clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from trio_websocket import WebSocketConnection, wrap_client_stream, wrap_server_stream

from rtagents.protocol import twilio as tw
from rtagents.testing import FakeTwilioPeer, RemotePlayer

FRAME = b"\x10" * 160  # 20 ms of μ-law


def test_marks_echo_when_the_audio_before_them_has_played() -> None:
    player = RemotePlayer()
    player.media(FRAME, 0.0)
    player.mark("m1", 0.0)
    player.media(FRAME, 0.005)  # queued behind: plays from 0.020
    player.mark("m2", 0.005)
    assert player.advance(0.019) == []
    assert player.advance(0.020) == ["m1"]
    assert player.next_due() == pytest.approx(0.040)
    assert player.advance(0.041) == ["m2"]
    assert player.played_audio() == FRAME * 2
    player.mark("idle", 1.0)  # nothing queued: due at once
    assert player.advance(1.0) == ["idle"]


def test_clear_cuts_the_playing_chunk_and_echoes_pending_marks() -> None:
    player = RemotePlayer()
    for n in range(5):
        player.media(FRAME, 0.0)
        player.mark(f"m{n}", 0.0)
    echoed = player.clear(0.030)  # 1.5 frames played
    assert echoed == ["m0", "m1", "m2", "m3", "m4"]  # m0 played; the rest discarded
    assert player.played_audio() == FRAME + FRAME[:80]
    assert player.buffered_ms == 0
    assert player.clears == 1
    player.media(FRAME, 0.031)  # plays at once after a clear
    player.mark("after", 0.031)
    assert player.advance(0.052) == ["after"]


async def _ws_pair(nursery: trio.Nursery) -> tuple[WebSocketConnection, WebSocketConnection]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    requests: list[WebSocketConnection] = []

    async def accept() -> None:
        request = await wrap_server_stream(nursery, server_stream)
        requests.append(await request.accept())

    nursery.start_soon(accept)
    client = await wrap_client_stream(nursery, client_stream, "twilio", "/media")  # type: ignore[arg-type]
    await trio.testing.wait_all_tasks_blocked()
    return client, requests[0]


async def test_the_peer_streams_acknowledges_and_obeys_clear(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        twilio_side, server_side = await _ws_pair(nursery)
        peer = FakeTwilioPeer(twilio_side, custom_parameters={"caller": "+15550100"})
        await nursery.start(peer.run)
        peer.talk(b"\x20" * 800)  # 100 ms of speech
        got: list[tw.TwilioMessage] = []
        for _ in range(2):
            got.append(tw.parse_twilio_message(await server_side.get_message()))
        assert isinstance(got[0], tw.Connected)
        assert isinstance(got[1], tw.Start)
        assert got[1].custom_parameters == {"caller": "+15550100"}
        sid = got[1].stream_sid
        # The agent answers: 10 frames and a mark after each, sent at once.
        t0 = trio.current_time()
        for n in range(10):
            await server_side.send_message(tw.media_message(sid, FRAME))
            await server_side.send_message(tw.mark_message(sid, f"m{n}"))
        marks: list[tuple[str, float]] = []
        media: list[tw.Media] = []
        while len(marks) < 3:
            message = tw.parse_twilio_message(await server_side.get_message())
            if isinstance(message, tw.Mark):
                marks.append((message.name, trio.current_time() - t0))
            elif isinstance(message, tw.Media):
                media.append(message)
        assert [name for name, _ in marks] == ["m0", "m1", "m2"]
        assert [round(at, 3) for _, at in marks] == [0.02, 0.04, 0.06]  # as the audio played
        # Barge-in: clear; the pending marks come back at once; nothing more plays.
        await server_side.send_message(tw.clear_message(sid))
        cleared_at = trio.current_time()
        rest: list[str] = []
        while len(rest) < 7:
            message = tw.parse_twilio_message(await server_side.get_message())
            if isinstance(message, tw.Mark):
                rest.append(message.name)
                assert trio.current_time() == cleared_at
            elif isinstance(message, tw.Media):
                media.append(message)
        with trio.move_on_after(0.2):  # the rest of the speech, then silence
            while True:
                message = tw.parse_twilio_message(await server_side.get_message())
                if isinstance(message, tw.Media):
                    media.append(message)
        assert rest == [f"m{n}" for n in range(3, 10)]
        assert peer.player.played_audio(since=cleared_at) == b""
        # Caller audio: 20 ms frames, numbered; the 100 ms of speech as five frames in a row.
        speech = [m.chunk for m in media if m.payload == b"\x20" * 160]
        assert len(speech) == 5
        assert speech == list(range(speech[0], speech[0] + 5))
        assert all(m.payload == tw.ULAW_SILENCE * 160 for m in media if m.chunk not in speech)
        assert [m.chunk for m in media] == list(range(1, len(media) + 1))
        assert all(len(m.payload) == 160 for m in media)
        # Frames Twilio would refuse are recorded, not fatal.
        await server_side.send_message('{"event":"media","streamSid":"MZ"}')
        await peer.press("5")
        dtmf = tw.parse_twilio_message(await server_side.get_message())
        while not isinstance(dtmf, tw.Dtmf):
            dtmf = tw.parse_twilio_message(await server_side.get_message())
        assert dtmf.digit == "5"
        assert len(peer.malformed) == 1
        await peer.hang_up()
        stop = tw.parse_twilio_message(await server_side.get_message())
        while not isinstance(stop, tw.Stop):
            stop = tw.parse_twilio_message(await server_side.get_message())
        await peer.ended.wait()
        assert peer.statistics()["clears"] == 1
        nursery.cancel_scope.cancel()
