"""Public test helpers: fakes and scripted peers for testing code built on rtagents.

* :func:`local_model` — the real local Realtime server behind an in-memory transport, as a
  session ``link_factory`` (whole sessions on ``trio.testing.MockClock``);
* :class:`ChaosModel` / :func:`chaos_model` — the local model with a :class:`Fault` (cut,
  stall, delay, corrupt) at a chosen event of a chosen connection;
* :class:`ScriptedModel` — a scripted model link (expected sends, injected server events);
* :class:`TurnsResponder` — the local model's answers, one scripted text per turn;
* :class:`FakeAudioSource` / :class:`FakeAudioSink` — audio devices on the trio clock;
  :func:`voice` / :func:`silence` make PCM16 test audio;
* :func:`open_local_realtime_server` — the local server on a free loopback port;
* :func:`server_events` — the raw events of a session's stream that carry server messages;
* :func:`open_fake_chat_server` — a fake OpenAI-compatible chat-completions endpoint
  (:class:`FakeReply` scripts its answers) for testing chat brains;
* :class:`FakeTwilioPeer` — Twilio's end of a Media Streams call (caller audio at real time,
  marks echoed as :class:`RemotePlayer` plays the agent's audio, ``clear`` obeyed, DTMF, hang-up);
* :class:`FakeSipProvider` — OpenAI's side of SIP calls (signed ``realtime.call.incoming``
  webhooks, the Calls API, each call's media leg on the local server and its ``?call_id=``
  control socket), in memory or on real sockets (:func:`provider_app`); needs ``httpx``;
* :mod:`rtagents.testing.corpus` — real speech: five public-domain LibriVox clips with
  transcripts and word timings (:func:`librivox_clips`), the telephone path
  (:func:`telephone_ulaw`) and word accuracy (:func:`word_accuracy`).
"""

from rtagents.local import LocalServer as LocalServer
from rtagents.local import Rule as Rule
from rtagents.local import ScriptedResponder as ScriptedResponder
from rtagents.local import open_local_realtime_server as open_local_realtime_server

from ._audio import FakeAudioSink as FakeAudioSink
from ._audio import FakeAudioSource as FakeAudioSource
from ._audio import silence as silence
from ._audio import voice as voice
from ._chaos import ChaosModel as ChaosModel
from ._chaos import Fault as Fault
from ._chaos import chaos_model as chaos_model
from ._events import server_events as server_events
from ._fake_chat import FakeChatServer as FakeChatServer
from ._fake_chat import FakeReply as FakeReply
from ._fake_chat import open_fake_chat_server as open_fake_chat_server
from ._memory import LocalModel as LocalModel
from ._memory import local_model as local_model
from ._scripted import ScriptedModel as ScriptedModel
from ._scripted import Step as Step
from ._scripted import UnexpectedSend as UnexpectedSend
from ._turns import TurnsResponder as TurnsResponder
from ._twilio_peer import FakeTwilioPeer as FakeTwilioPeer
from ._twilio_peer import RemotePlayer as RemotePlayer
from .corpus import Clip as Clip
from .corpus import librivox_clip as librivox_clip
from .corpus import librivox_clips as librivox_clips
from .corpus import telephone_ulaw as telephone_ulaw
from .corpus import word_accuracy as word_accuracy

_SIP = ("FAKE_API", "FakeSipCall", "FakeSipProvider", "deliver_to", "provider_app")

__all__ = [
    "FAKE_API",
    "ChaosModel",
    "Clip",
    "FakeAudioSink",
    "FakeAudioSource",
    "FakeChatServer",
    "FakeReply",
    "FakeSipCall",
    "FakeSipProvider",
    "FakeTwilioPeer",
    "Fault",
    "LocalModel",
    "LocalServer",
    "RemotePlayer",
    "Rule",
    "ScriptedModel",
    "ScriptedResponder",
    "Step",
    "TurnsResponder",
    "UnexpectedSend",
    "chaos_model",
    "deliver_to",
    "librivox_clip",
    "librivox_clips",
    "local_model",
    "open_fake_chat_server",
    "open_local_realtime_server",
    "provider_app",
    "server_events",
    "silence",
    "telephone_ulaw",
    "voice",
    "word_accuracy",
]


def __getattr__(name: str) -> object:
    if name in _SIP:  # imported on first use: it needs httpx
        from . import _sip

        return getattr(_sip, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
