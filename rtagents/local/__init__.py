"""A local server speaking the OpenAI Realtime (GA) protocol over WebSocket, on loopback.

Sessions, tests and benchmarks can run against it with no key and no network.  What it says
comes from a pluggable :class:`Responder`; :class:`ScriptedResponder` is deterministic and
rule-based (a synthetic voice-like signal, not speech).  With a :class:`Transcriber` the server
also hears: :mod:`rtagents.local.speech` has the offline speech cascade (pocketsphinx ears, a
rule-based or chat-completions brain, an espeak-ng voice) behind ``rtagents demo``.

Turn detection is server VAD over an energy classifier by default; :func:`load_detection` gives
a server Silero's classifier and smart-turn for ``semantic_vad`` (``rtagents local-server --vad
--turn-model``; the models come from ``rtagents fetch-models``).

Every connection is bounded (:class:`Limits`: handshake time, message size, event and byte
budgets, a client that stops reading) and so is every session (input buffer, conversation, a
response's length), so one client cannot stall or exhaust the server for the others.
"""

from ._config import DEFAULT_SESSION as DEFAULT_SESSION
from ._core import ServerSession as ServerSession
from ._detection import Detection as Detection
from ._detection import load_detection as load_detection
from ._limits import Limits as Limits
from ._responders import CallTool as CallTool
from ._responders import Responder as Responder
from ._responders import ResponderError as ResponderError
from ._responders import ResponseContext as ResponseContext
from ._responders import ResponsePart as ResponsePart
from ._responders import Rule as Rule
from ._responders import Say as Say
from ._responders import ScriptedResponder as ScriptedResponder
from ._responders import synthetic_voice as synthetic_voice
from ._server import LocalServer as LocalServer
from ._server import open_local_realtime_server as open_local_realtime_server
from ._server import serve_local_realtime as serve_local_realtime
from ._timeline import Mark as Mark
from ._timeline import Timeline as Timeline
from ._transcriber import Transcriber as Transcriber
from ._transcriber import Utterance as Utterance
from ._vad import EnergyVad as EnergyVad

__all__ = [
    "DEFAULT_SESSION",
    "CallTool",
    "Detection",
    "EnergyVad",
    "Limits",
    "LocalServer",
    "Mark",
    "Responder",
    "ResponderError",
    "ResponseContext",
    "ResponsePart",
    "Rule",
    "Say",
    "ScriptedResponder",
    "ServerSession",
    "Timeline",
    "Transcriber",
    "Utterance",
    "load_detection",
    "open_local_realtime_server",
    "serve_local_realtime",
    "synthetic_voice",
]
