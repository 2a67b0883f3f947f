"""A phone call in real human speech: a LibriVox reader asks, over 8 kHz μ-law, and the local
speech model (pocketsphinx with the open vocabulary → rules → espeak-ng) hears and answers.

The caller is :class:`FakeTwilioPeer` on one end of an in-memory WebSocket, the bridge
(:class:`TwilioCall`, μ-law passed through) on the other, the local model in memory behind it,
all on trio's MockClock.  Recognition and synthesis run inline (``threaded=False``) so virtual
time stays deterministic: a decode takes real CPU time while virtual time stands still.

The word-accuracy floor is measured: through this call the clip is heard as "he was not an old
those young man" (75%: a call's first turn, on a cold decoder); over the five clips fed to the
recognizer directly, 62% (``python -m benchmarks.speech_accuracy``, row 8k-ulaw cold; 36.6%
before the open vocabulary's CMN started from a speech mean).  The floor leaves margin below
that; recognition is deterministic (seeded noise, inline decoding).
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from rtagents import RealtimeAgent, RealtimeRunConfig
from rtagents import items as it
from rtagents.phone import TrioWebSocketCallSocket, TwilioCall
from rtagents.protocol import twilio as tw
from rtagents.testing import FakeTwilioPeer, local_model
from rtagents.testing.corpus import librivox_clip, telephone_ulaw, word_accuracy

from .test_bridge import ws_pair

speech = pytest.importorskip("rtagents.local.speech")
try:
    speech.EspeakVoice(threaded=False)
    speech.PocketsphinxRecognizer(threaded=False)
except speech.SpeechUnavailable as exc:  # pragma: no cover - the [local] extra is missing
    pytest.skip(f"no local speech model: {exc}", allow_module_level=True)

CLIP = "0880"  # "he was not an ill disposed young man", 2.99 s
FLOOR = 0.6  # measured 0.75 through this call (the cold decoder)


def user_transcripts(server: Any) -> list[str]:
    return [
        " ".join(getattr(part, "transcript", None) or "" for part in stored.item.content)
        for stored in server.items
        if getattr(stored.item, "role", "") == "user"
    ]


async def test_a_caller_asks_in_real_speech_and_hears_a_spoken_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clip = librivox_clip(CLIP)
    parts = speech.speech_model(threaded=False)  # no grammar: the open vocabulary
    model = local_model(parts.responder, transcriber=parts.recognizer)
    events: list[Any] = []
    async with trio.open_nursery() as nursery:
        twilio_side, server_side = await ws_pair(nursery)
        bridge = TwilioCall(
            TrioWebSocketCallSocket(server_side),
            RealtimeAgent(name="Phone"),
            config=RealtimeRunConfig(link_factory=model.link_factory),
            on_event=events.append,
        )
        nursery.start_soon(bridge.run)
        peer = FakeTwilioPeer(twilio_side)
        await nursery.start(peer.run)
        asked_at = trio.current_time()
        # The recording as the phone network carries it, then the line goes quiet.
        peer.talk(telephone_ulaw(clip.pcm16, clip.rate) + telephone_ulaw(bytes(16000), 8000))
        await trio.sleep(clip.duration + 1.0 + 8.0)
        stats = bridge.statistics()
        await peer.hang_up()
        await bridge.ended.wait()
        nursery.cancel_scope.cancel()

    (server,) = model.server.sessions
    assert server.input_format is not None
    assert server.input_format.type == "audio/pcmu"  # the caller's μ-law, not transcoded
    (heard,) = user_transcripts(server)
    accuracy = word_accuracy(clip.transcript, heard)
    assert accuracy >= FLOOR, f"heard {heard!r} for {clip.transcript!r} ({accuracy:.0%})"
    assert parts.recognizer.statistics().utterances == 1
    # The agent answered, in words and in μ-law audio that the caller's phone played.
    assert any(
        e.type == "history_added" and isinstance(e.item, it.AssistantMessageItem) for e in events
    )
    (answer,) = [s for s in server.items if getattr(s.item, "role", "") == "assistant"]
    content = getattr(answer.item, "content", ())
    said = " ".join(getattr(part, "transcript", None) or "" for part in content)
    assert len(said.split()) >= 3, said
    media = [m for m in peer.received if isinstance(m, tw.OutboundMedia)]
    assert media
    assert all(len(m.payload) <= 160 for m in media)
    played = peer.player.played_audio(since=asked_at + clip.speech_end)
    assert len(played) > 8000  # more than a second of the answer reached the caller's ear
    assert stats.heard_ms > 1000
    assert stats.malformed_in == 0
