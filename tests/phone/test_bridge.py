"""A Twilio call through the bridge: the fake Twilio peer on one end of a WebSocket, the local
Realtime model in memory on the other, on trio's mock clock."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import trio
import trio.testing
from trio_websocket import WebSocketConnection, wrap_client_stream, wrap_server_stream

from rtagents import RealtimeAgent, RealtimeRunConfig, native
from rtagents import items as it
from rtagents.events import RealtimeDtmf
from rtagents.phone import CallInfo, CallOptions, TrioWebSocketCallSocket, TwilioCall
from rtagents.protocol import twilio as tw
from rtagents.testing import FakeTwilioPeer, TurnsResponder, local_model, silence, voice

STORY = "Once upon a time there was a story that went on for a good few seconds. " * 2


Turns = TurnsResponder


def ulaw(pcm24k: bytes) -> bytes:
    return native.ulaw_encode(native.resample(pcm24k, 24000, 8000))


async def ws_pair(nursery: trio.Nursery) -> tuple[WebSocketConnection, WebSocketConnection]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    accepted: list[WebSocketConnection] = []

    async def accept() -> None:
        request = await wrap_server_stream(nursery, server_stream)
        accepted.append(await request.accept())

    nursery.start_soon(accept)
    client = await wrap_client_stream(nursery, client_stream, "twilio", "/media")  # type: ignore[arg-type]
    await trio.testing.wait_all_tasks_blocked()
    return client, accepted[0]


async def call(
    nursery: trio.Nursery, agent: Any, model: Any, **kw: Any
) -> tuple[FakeTwilioPeer, TwilioCall, list[Any]]:
    twilio_side, server_side = await ws_pair(nursery)
    events: list[Any] = []
    bridge = TwilioCall(
        TrioWebSocketCallSocket(server_side),
        agent,
        config=RealtimeRunConfig(link_factory=model.link_factory),
        on_event=events.append,
        **kw,
    )
    nursery.start_soon(bridge.run)
    peer = FakeTwilioPeer(twilio_side, custom_parameters={"caller": "+15550100"})
    await nursery.start(peer.run)
    return peer, bridge, events


async def test_a_call_hears_a_question_and_answers_in_ulaw(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = local_model(Turns("Hello, how can I help?"))
    built: list[CallInfo] = []

    def agent_for(info: CallInfo) -> RealtimeAgent[Any]:
        built.append(info)
        return RealtimeAgent(name="Phone")

    async with trio.open_nursery() as nursery:
        peer, bridge, events = await call(nursery, agent_for, model)
        peer.talk(ulaw(silence(0.3) + voice(1.0) + silence(0.2)))
        await trio.sleep(6)
        stats = bridge.statistics()
        await peer.hang_up()
        await bridge.ended.wait()
        nursery.cancel_scope.cancel()
    assert built[0].custom_parameters == {"caller": "+15550100"}
    assert built[0].call_sid == peer.call_sid
    (server,) = model.server.sessions
    audio_config = server.config.audio
    assert audio_config is not None
    assert audio_config.input is not None
    assert audio_config.input.format is not None
    assert audio_config.input.format.type == "audio/pcmu"  # no transcoding on the way in
    answer = [i for i in server.items if getattr(i.item, "role", "") == "assistant"]
    assert answer
    # Agent audio came back as 20 ms μ-law media frames, each followed by a mark.
    media = [m for m in peer.received if isinstance(m, tw.OutboundMedia)]
    marks = [m for m in peer.received if isinstance(m, tw.OutboundMark)]
    assert media
    assert all(len(m.payload) <= 160 for m in media)
    assert len(marks) == len(media) == stats.frames_out
    assert stats.heard_ms > 500  # the acknowledged (played) audio
    assert stats.malformed_in == 0
    assert any(
        e.type == "history_added" and isinstance(e.item, it.AssistantMessageItem) for e in events
    )


@attrs.frozen
class StoryInterrupted:
    """A call where the caller talks over a long answer: what happened."""

    model: Any
    peer: FakeTwilioPeer
    events: list[Any]
    stats: Any
    heard_before: float  # ms acknowledged before the caller talked over it
    heard_at_interrupt: list[float]


async def interrupt_a_story(options: CallOptions | None = None, *, after_s: float = 3) -> Any:
    """The caller asks, the agent tells a story (faster than it plays), the caller talks over
    it after 3 s of it; `after_s` more seconds, then the caller hangs up."""
    model = local_model(Turns(STORY, "Yes?"), pace=0.05)  # the story arrives faster than it plays
    heard_at_interrupt: list[float] = []
    async with trio.open_nursery() as nursery:
        agent = RealtimeAgent(name="Teller")
        peer, bridge, events = await call(nursery, agent, model, options=options)
        record = bridge.on_event
        assert record is not None

        def watch(event: Any) -> None:
            if event.type == "audio_interrupted":
                heard_at_interrupt.append(bridge.statistics().heard_ms)
            record(event)

        bridge.on_event = watch
        peer.talk(ulaw(voice(1.0) + silence(0.2)))
        await trio.sleep(1.2 + 3.0)  # the story plays for a while
        heard_before = bridge.statistics().heard_ms
        assert heard_before > 1000
        peer.talk(ulaw(voice(0.8, seed=2) + silence(0.2)))  # the caller talks over it
        await trio.sleep(after_s)
        stats = bridge.statistics()
        await peer.hang_up()
        nursery.cancel_scope.cancel()
    return StoryInterrupted(model, peer, events, stats, heard_before, heard_at_interrupt)


async def test_a_barge_in_clears_and_truncates_at_acknowledged_audio(
    autojump_clock: trio.testing.MockClock,
) -> None:
    story = await interrupt_a_story()
    model, peer, events, stats = story.model, story.peer, story.events, story.stats
    heard_before, heard_at_interrupt = story.heard_before, story.heard_at_interrupt
    assert stats.clears >= 1
    assert peer.clear_times
    cleared_at = peer.clear_times[0]
    # Nothing of the story played after the clear (the fake Twilio obeys it; the bridge sent
    # no more of it: late deltas were dropped).
    story_id = next(e.item_id for e in events if e.type == "audio_interrupted")
    (server,) = model.server.sessions
    stored = {s.item.id: s for s in server.items}
    truncated_ms = stored[story_id].audio_ms
    # Truncated exactly at what Twilio had acknowledged as played when the barge-in came.
    assert heard_before <= truncated_ms
    assert truncated_ms == int(heard_at_interrupt[0])
    played_after = peer.player.played_audio(since=cleared_at + 0.001)
    interrupted = [e for e in events if e.type == "audio_interrupted"]
    assert [e.item_id for e in interrupted] == [story_id]
    assert len(played_after) < 8000  # only the answer to the second turn, if any


async def test_bad_frames_dtmf_and_a_hang_up_mid_answer(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    model = local_model(Turns(STORY), pace=0.05)
    async with trio.open_nursery() as nursery:
        peer, bridge, events = await call(
            nursery, RealtimeAgent(name="Teller"), model, recording_dir=tmp_path
        )
        await peer.send_raw("not json")
        await peer.send_raw(json.dumps({"event": "media", "streamSid": "MZ", "media": {}}))
        await peer.send_raw(b"\xff\xfe")
        await peer.press("7")
        peer.talk(ulaw(voice(1.0) + silence(0.2)))
        await trio.sleep(2.5)  # mid-answer
        assert bridge.statistics().malformed_in == 3
        hung_up_at = trio.current_time()
        await peer.hang_up()
        await bridge.ended.wait()
        assert trio.current_time() - hung_up_at <= 1.0  # every task of the call ended
        nursery.cancel_scope.cancel()
    assert RealtimeDtmf("7") in events
    assert bridge.session is not None
    assert bridge.session.statistics().state  # (closed cleanly: statistics still readable)
    (recording,) = await trio.to_thread.run_sync(lambda: list(tmp_path.glob("*.wav")))
    with wave.open(str(recording), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert np.abs(stereo[:, 0]).max() > 300  # the caller
    assert np.abs(stereo[:, 1]).max() > 300  # the agent, as sent to Twilio
