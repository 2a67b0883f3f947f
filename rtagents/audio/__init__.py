"""Audio at the edges: sources and sinks, the frame and queue they share, format converters.

Sources (:mod:`.sources`) and sinks (:mod:`.sinks`) are what an app plugs into a session
(``RealtimeRunConfig(audio_source=..., audio_sink=...)``); the actors read and write them.
"""

from .convert import Decoder as Decoder
from .convert import Encoder as Encoder
from .queue import AudioFrame as AudioFrame
from .queue import AudioQueue as AudioQueue
from .queue import QueueStatistics as QueueStatistics
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
    "Decoder",
    "DevicePacer",
    "Encoder",
    "IteratorSource",
    "NullSink",
    "QueueStatistics",
    "SoundDeviceSink",
    "SoundDeviceSource",
    "WavSink",
    "WavSource",
]
