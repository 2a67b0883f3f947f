"""The SDK's CLI demo (examples/realtime/cli/demo.py) without a sound card.

A fake output stream stands in for ``sounddevice.OutputStream``: a thread calls the output
callback for every 40 ms block at real time, and the callback reports each slice it plays to
the ``RealtimePlaybackTracker``, so the session knows what the user actually heard.  The
microphone is a WAV file (24 kHz mono PCM16) of a spoken question, read in 40 ms chunks at
real time.  Command line: the server URL, then the WAV file.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
from agents import function_tool
from agents.realtime import (
    RealtimeAgent,
    RealtimeModelConfig,
    RealtimePlaybackTracker,
    RealtimeRunner,
    RealtimeSession,
    RealtimeSessionEvent,
)

CHUNK_LENGTH_S = 0.04  # 40 ms, as in the demo
SAMPLE_RATE = 24000
FORMAT = np.int16
TIMEOUT_S = 20

Samples = np.ndarray[Any, np.dtype[Any]]


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"The weather in {city} is sunny."


agent = RealtimeAgent(
    name="Assistant",
    instructions="You always greet the user with 'Top of the morning to you'.",
    tools=[get_weather],
)


class FakeOutputStream:
    """Calls ``callback(outdata, frames)`` for each block, at real time, from its own thread."""

    def __init__(self, callback: Callable[[Samples, int], None], blocksize: int) -> None:
        self.callback = callback
        self.blocksize = blocksize
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic()
        while not self._stopped.is_set():
            self.callback(np.zeros((self.blocksize, 1), dtype=FORMAT), self.blocksize)
            deadline += self.blocksize / SAMPLE_RATE
            self._stopped.wait(max(0.0, deadline - time.monotonic()))


class NoUIDemo:
    def __init__(self, wav_path: str) -> None:
        self.wav_path = wav_path
        self.session: RealtimeSession | None = None
        # Playback tracker lets the model know our real playback progress
        self.playback_tracker = RealtimePlaybackTracker()
        # (samples, item_id, content_index), played by the output callback
        self.output_queue: queue.Queue[tuple[Samples, str, int]] = queue.Queue(maxsize=0)
        self.interrupt_event = threading.Event()
        self.current_audio_chunk: tuple[Samples, str, int] | None = None
        self.chunk_position = 0
        self.answered = False  # the agent's spoken answer has fully arrived
        self.drained = threading.Event()  # ... and has been played
        self.turn_had_audio = False
        self.received_bytes = 0
        self.item_bytes: dict[str, int] = {}
        self.played_bytes = 0
        self.user_transcript: str | None = None
        self.answer: str | None = None
        self.tool_outputs: list[str] = []
        self.errors: list[str] = []

    def _output_callback(self, outdata: Samples, frames: int) -> None:
        """Plays queued audio into `outdata` and tells the playback tracker what was played."""
        outdata.fill(0)
        if self.interrupt_event.is_set():
            self.current_audio_chunk = None
            while not self.output_queue.empty():
                self.output_queue.get_nowait()
            self.interrupt_event.clear()
            return
        filled = 0
        while filled < frames:
            if self.current_audio_chunk is None:
                try:
                    self.current_audio_chunk = self.output_queue.get_nowait()
                    self.chunk_position = 0
                except queue.Empty:
                    break
            samples, item_id, content_index = self.current_audio_chunk
            count = min(frames - filled, len(samples) - self.chunk_position)
            chunk = samples[self.chunk_position : self.chunk_position + count]
            outdata[filled : filled + count, 0] = chunk
            filled += count
            self.chunk_position += count
            self.playback_tracker.on_play_bytes(
                item_id=item_id, item_content_index=content_index, bytes=chunk.tobytes()
            )
            self.played_bytes += chunk.nbytes
            if self.chunk_position >= len(samples):
                self.current_audio_chunk = None
        if self.answered and self.current_audio_chunk is None and self.output_queue.empty():
            self.drained.set()

    async def run(self, url: str) -> dict[str, Any]:
        self.audio_player = FakeOutputStream(
            callback=self._output_callback, blocksize=int(SAMPLE_RATE * CHUNK_LENGTH_S)
        )
        self.audio_player.start()
        try:
            runner = RealtimeRunner(agent)
            # Attach the playback tracker and enable server-side interruptions + auto response.
            model_config: RealtimeModelConfig = {
                "url": url,
                "api_key": "sk-local-test",
                "playback_tracker": self.playback_tracker,
                "initial_model_settings": {
                    "model_name": "gpt-realtime-2.1",
                    "turn_detection": {
                        "type": "semantic_vad",
                        "interrupt_response": True,
                        "create_response": True,
                    },
                },
            }
            async with asyncio.timeout(TIMEOUT_S):
                session = await runner.run(model_config=model_config)
                async with session, asyncio.TaskGroup() as tasks:
                    self.session = session
                    tasks.create_task(self.capture_audio())
                    async for event in session:
                        await self._on_event(event)
                        if self.answered:
                            break
                    # Let the answer play out; then what the tracker knows: the item played
                    # last, and how much of it was heard.
                    played = await asyncio.to_thread(self.drained.wait, TIMEOUT_S)
                    state = self.playback_tracker.get_state()
        finally:
            self.audio_player.stop()
        item_id = state["current_item_id"]
        heard_ms = state["elapsed_ms"]
        return {
            "user_transcript": self.user_transcript,
            "tool_outputs": self.tool_outputs,
            "answer": self.answer,
            "audio_received": self.received_bytes > 0,
            "played_all": played and self.played_bytes == self.received_bytes,
            "tracker_heard_the_answer": item_id is not None
            and heard_ms is not None
            and round(heard_ms) == round(self.item_bytes.get(item_id, 0) / 48),
            "errors": self.errors,
        }

    async def capture_audio(self) -> None:
        """The microphone: the question, then a second of silence, at real time."""
        assert self.session is not None
        with wave.open(self.wav_path, "rb") as wav:
            pcm = wav.readframes(wav.getnframes()) + bytes(2 * SAMPLE_RATE)
        read_size = int(SAMPLE_RATE * CHUNK_LENGTH_S) * 2
        for start in range(0, len(pcm), read_size):
            await self.session.send_audio(pcm[start : start + read_size])
            await asyncio.sleep(CHUNK_LENGTH_S)

    async def _on_event(self, event: RealtimeSessionEvent) -> None:
        if event.type == "agent_start":
            self.turn_had_audio = False
        elif event.type == "agent_end":
            self.answered = self.turn_had_audio
        elif event.type == "tool_end":
            self.tool_outputs.append(str(event.output))
        elif event.type == "audio":
            self.turn_had_audio = True
            self.received_bytes += len(event.audio.data)
            self.item_bytes[event.item_id] = self.item_bytes.get(event.item_id, 0) + len(
                event.audio.data
            )
            np_audio = np.frombuffer(event.audio.data, dtype=np.int16)
            self.output_queue.put_nowait((np_audio, event.item_id, event.content_index))
        elif event.type == "audio_interrupted":
            self.interrupt_event.set()
        elif event.type == "error":
            self.errors.append(str(event.error))
        elif event.type == "history_updated":
            for item in event.history:
                if item.type != "message":
                    continue
                texts = [getattr(part, "transcript", None) for part in item.content]
                text = " ".join(t for t in texts if t)
                if item.role == "user" and text:
                    self.user_transcript = text
                elif item.role == "assistant" and text:
                    self.answer = text


async def main(url: str, wav_path: str) -> dict[str, Any]:
    return await NoUIDemo(wav_path).run(url)


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], sys.argv[2])))
