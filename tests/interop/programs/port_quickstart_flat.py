"""Quickstart with the flat session settings: speak a question, hear the answer.

The settings use the flat aliases (voice, modalities, input/output_audio_format,
input_audio_transcription, turn_detection).  The question is a WAV file (24 kHz mono PCM16)
streamed like a microphone, 20 ms chunks at real time, then a second of silence so that the
server's VAD ends the turn.  Command line: the server URL, then the WAV file.
"""

from __future__ import annotations

import sys
import wave
from typing import Any

import trio

from rtagents import RealtimeAgent, RealtimeItem, RealtimeRunner, RealtimeSession

SAMPLE_RATE = 24000
CHUNK_S = 0.02
TIMEOUT_S = 20

agent = RealtimeAgent(
    name="Assistant",
    instructions="You are a helpful voice assistant. Keep responses short and conversational.",
)

runner = RealtimeRunner(
    starting_agent=agent,
    config={
        "model_settings": {
            "voice": "alloy",
            "modalities": ["audio"],
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
            },
        }
    },
)


def read_wav(path: str) -> bytes:
    with wave.open(path, "rb") as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (SAMPLE_RATE, 2, 1)
        return wav.readframes(wav.getnframes())


def spoken(item: RealtimeItem) -> str:
    """The transcript of what a message says aloud."""
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def stream_microphone(session: RealtimeSession, pcm: bytes) -> None:
    pcm += bytes(2 * SAMPLE_RATE)  # a second of silence after the question
    chunk = int(2 * SAMPLE_RATE * CHUNK_S)
    for start in range(0, len(pcm), chunk):
        await session.send_audio(pcm[start : start + chunk])
        await trio.sleep(CHUNK_S)


async def main(url: str, wav_path: str) -> dict[str, Any]:
    question = read_wav(wav_path)
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    audio_bytes = 0
    user_transcript: str | None = None
    answer: str | None = None
    errors: list[str] = []
    with trio.fail_after(TIMEOUT_S):
        async with session, trio.open_nursery() as tasks:
            tasks.start_soon(stream_microphone, session, question)
            async for event in session:
                if event.type == "audio":
                    audio_bytes += len(event.audio.data)
                elif event.type == "history_updated":
                    for item in event.history:
                        if item.type == "message" and item.role == "user":
                            user_transcript = spoken(item) or user_transcript
                        elif item.type == "message" and item.role == "assistant":
                            answer = spoken(item) or answer
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end":
                    break
    return {
        "user_transcript": user_transcript,
        "answer": answer,
        "audio_received": audio_bytes > 0,
        "errors": errors,
    }


if __name__ == "__main__":
    print(trio.run(main, sys.argv[1], sys.argv[2]))
