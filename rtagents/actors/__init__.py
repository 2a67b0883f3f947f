"""Session actors: thin trio loops around the sans-IO cores — capture, uplink, VAD, playback,
tools — each run in (or called from) the session's nursery.  Sources, sinks, the audio frame
and queue they share are in :mod:`rtagents.audio`."""

from .capture import CaptureActor as CaptureActor
from .capture import CaptureStatistics as CaptureStatistics
from .playback import PlaybackActor as PlaybackActor
from .playback import PlaybackPosition as PlaybackPosition
from .playback import PlaybackStatistics as PlaybackStatistics
from .tools import ToolCall as ToolCall
from .tools import ToolExecutor as ToolExecutor
from .tools import ToolResult as ToolResult
from .tools import ToolStatistics as ToolStatistics
from .uplink import Uplink as Uplink
from .uplink import UplinkStatistics as UplinkStatistics
from .vad import VadActor as VadActor
from .vad import VadSpeechStarted as VadSpeechStarted
from .vad import VadSpeechStopped as VadSpeechStopped
from .vad import VadStatistics as VadStatistics

__all__ = [
    "CaptureActor",
    "CaptureStatistics",
    "PlaybackActor",
    "PlaybackPosition",
    "PlaybackStatistics",
    "ToolCall",
    "ToolExecutor",
    "ToolResult",
    "ToolStatistics",
    "Uplink",
    "UplinkStatistics",
    "VadActor",
    "VadSpeechStarted",
    "VadSpeechStopped",
    "VadStatistics",
]
