"""Audio at the edges: sources and sinks, the frame and queue they share, format converters.

Sources (:mod:`.sources`) and sinks (:mod:`.sinks`) are what an app plugs into a session
(``RealtimeRunConfig(audio_source=..., audio_sink=...)``); the actors read and write them.
:mod:`.recorder` writes a conversation to a stereo WAV as it happens.
"""

from .convert import Decoder as Decoder
from .convert import Encoder as Encoder
from .queue import AudioFrame as AudioFrame
from .queue import AudioQueue as AudioQueue
from .queue import QueueStatistics as QueueStatistics
from .recorder import CallRecorder as CallRecorder
from .recorder import RecorderStatistics as RecorderStatistics
from .recorder import RecordingSink as RecordingSink
from .recorder import RecordingTap as RecordingTap
from .sinks import AudioSink as AudioSink
from .sinks import DevicePacer as DevicePacer
from .sinks import NullSink as NullSink
from .sinks import SoundDeviceSink as SoundDeviceSink
from .sinks import WavSink as WavSink
from .sources import AudioSource as AudioSource
from .sources import IteratorSource as IteratorSource
from .sources import SoundDeviceSource as SoundDeviceSource
from .sources import WavSource as WavSource

__all__ = [
    "AudioFrame",
    "AudioQueue",
    "AudioSink",
    "AudioSource",
    "CallRecorder",
    "Decoder",
    "DevicePacer",
    "Encoder",
    "IteratorSource",
    "NullSink",
    "QueueStatistics",
    "RecorderStatistics",
    "RecordingSink",
    "RecordingTap",
    "SoundDeviceSink",
    "SoundDeviceSource",
    "WavSink",
    "WavSource",
]
