"""Session actors: thin trio loops around the sans-IO cores (capture, VAD, playback, tools),
with the bounded, drop-oldest audio queues between them.  Each runs in the session's nursery."""

from ._queue import AudioFrame as AudioFrame
from ._queue import AudioQueue as AudioQueue
from ._queue import QueueStatistics as QueueStatistics
from .capture import AudioSource as AudioSource
from .capture import CaptureActor as CaptureActor
from .capture import CaptureStatistics as CaptureStatistics
from .capture import IteratorSource as IteratorSource
from .capture import SoundDeviceSource as SoundDeviceSource
from .capture import WavSource as WavSource
from .playback import AudioSink as AudioSink
from .playback import NullSink as NullSink
from .playback import PlaybackActor as PlaybackActor
from .playback import PlaybackPosition as PlaybackPosition
from .playback import PlaybackStatistics as PlaybackStatistics
from .playback import SoundDeviceSink as SoundDeviceSink
from .playback import WavSink as WavSink
from .tools import ToolCall as ToolCall
from .tools import ToolExecutor as ToolExecutor
from .tools import ToolResult as ToolResult
from .tools import ToolStatistics as ToolStatistics
from .vad import Detector as Detector
from .vad import EnergyDetector as EnergyDetector
from .vad import VadActor as VadActor
from .vad import VadSpeechStarted as VadSpeechStarted
from .vad import VadSpeechStopped as VadSpeechStopped
from .vad import VadStatistics as VadStatistics

__all__ = [
    "AudioFrame",
    "AudioQueue",
    "AudioSink",
    "AudioSource",
    "CaptureActor",
    "CaptureStatistics",
    "Detector",
    "EnergyDetector",
    "IteratorSource",
    "NullSink",
    "PlaybackActor",
    "PlaybackPosition",
    "PlaybackStatistics",
    "QueueStatistics",
    "SoundDeviceSink",
    "SoundDeviceSource",
    "ToolCall",
    "ToolExecutor",
    "ToolResult",
    "ToolStatistics",
    "VadActor",
    "VadSpeechStarted",
    "VadSpeechStopped",
    "VadStatistics",
    "WavSink",
    "WavSource",
]
