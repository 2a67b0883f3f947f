"""Manual turn control: turn detection off, the program commits the audio itself
(``send_audio(..., commit=True)``) and asks for the answer with a raw ``response.create``
sent through the model transport (``session.model.send_event``), as the SDK guide shows.
Command line: the server URL, then the WAV file.
"""

from __future__ import annotations

import asyncio
import sys
import wave
from typing import Any

from agents.realtime import RealtimeAgent, RealtimeItem, RealtimeRunner
from agents.realtime.model_inputs import RealtimeModelSendRawMessage

TIMEOUT_S = 10

agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.")


def spoken(item: RealtimeItem) -> str:
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def main(url: str, wav_path: str) -> dict[str, Any]:
    with wave.open(wav_path, "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    runner = RealtimeRunner(agent, config={"model_settings": {"turn_detection": None}})
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    server_events: list[str] = []
    audio_bytes = 0
    history: list[RealtimeItem] = []
    errors: list[str] = []
    async with asyncio.timeout(TIMEOUT_S):
        async with session:
            chunks = [pcm[start : start + 4800] for start in range(0, len(pcm), 4800)]
            for chunk in chunks[:-1]:
                await session.send_audio(chunk)
            await session.send_audio(chunks[-1], commit=True)
            await session.model.send_event(
                RealtimeModelSendRawMessage(message={"type": "response.create"})
            )
            async for event in session:
                if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                    kind = event.data.data["type"]
                    if kind.startswith("input_audio_buffer.") or kind == "response.created":
                        server_events.append(kind)
                elif event.type == "audio":
                    audio_bytes += len(event.audio.data)
                elif event.type == "history_updated":
                    history = list(event.history)
                elif event.type == "history_added":
                    history.append(event.item)
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end":
                    break
    user = [i for i in history if i.type == "message" and i.role == "user"]
    return {
        "server_events": server_events,
        "user_content_types": [[part.type for part in i.content] for i in user],
        "answers": [spoken(i) for i in history if i.type == "message" and i.role == "assistant"],
        "audio_received": audio_bytes > 0,
        "errors": errors,
    }


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], sys.argv[2])))
