"""Interrupting the agent: ask for a long story, then ``session.interrupt()`` shortly after the
first audio arrives (as a "stop" button in an app would).  The outcome: the session reported
``audio_interrupted`` for the story, the server truncated the story item at about what was
heard (a raw ``conversation.item.truncated`` event), and the history then held the story's
transcript up to that point.  (What happens to the rest of the story differs: with server turn
detection's ``interrupt_response`` on, the SDK's ``interrupt()`` lets the response run on and
complete unheard; the port cancels it, so the story item ends ``incomplete``.)
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from rtagents import RealtimeAgent, RealtimeItem, RealtimeRunner, RealtimeSession

TIMEOUT_S = 10
LISTEN_S = 0.3  # how long the user listens before interrupting

agent = RealtimeAgent(name="Storyteller", instructions="Tell long stories.")


def spoken(item: RealtimeItem) -> str:
    if item.type != "message":
        return ""
    return "".join(getattr(part, "transcript", None) or "" for part in item.content)


async def interrupt_after_first_audio(session: RealtimeSession, first_audio: trio.Event) -> None:
    await first_audio.wait()
    await trio.sleep(LISTEN_S)
    await session.interrupt()


async def main(url: str) -> dict[str, Any]:
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    first_audio = trio.Event()
    interrupted: list[str] = []
    truncated: list[str] = []
    truncated_at_ms: list[int] = []
    heard: list[str] = []
    audio_items: list[str] = []
    history: list[RealtimeItem] = []
    errors: list[str] = []
    ended = False
    said: dict[str, str] = {}  # the transcript received for each item (heard or not)
    with trio.fail_after(TIMEOUT_S):
        async with session, trio.open_nursery() as tasks:
            tasks.start_soon(interrupt_after_first_audio, session, first_audio)
            await session.send_message("Tell me a long story.")
            async for event in session:
                if event.type == "audio":
                    first_audio.set()
                    if event.item_id not in audio_items:
                        audio_items.append(event.item_id)
                elif event.type == "audio_interrupted":
                    interrupted.append(event.item_id)
                elif event.type == "raw_model_event" and event.data.type == "transcript_delta":
                    said[event.data.item_id] = said.get(event.data.item_id, "") + event.data.delta
                elif event.type == "raw_model_event" and event.data.type == "raw_server_event":
                    if event.data.data["type"] == "conversation.item.truncated":
                        truncated.append(event.data.data["item_id"])
                        truncated_at_ms.append(event.data.data["audio_end_ms"])
                elif event.type == "history_updated":
                    history = list(event.history)
                    if truncated and not heard:
                        heard = [spoken(i) for i in history if i.item_id == truncated[0]]
                elif event.type == "history_added":
                    history.append(event.item)
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end":
                    ended = True
                if ended and heard:
                    break  # the story is over and the history shows what was heard of it
    story = [i for i in history if i.type == "message" and i.role == "assistant"]
    told = said.get(story[0].item_id, "") if story else ""
    return {
        "audio_interrupted_on_story": interrupted == audio_items,
        "truncated_story": truncated == audio_items,
        "truncated_at_about_heard_ms": [
            LISTEN_S * 500 <= ms <= LISTEN_S * 1000 + 500 for ms in truncated_at_ms
        ],
        "heard_a_prefix_of_the_story": [
            0 < len(h) < len(told) and told.startswith(h) for h in heard
        ],
        "story_status": [i.status for i in story],
        "errors": errors,
    }


if __name__ == "__main__":
    print(trio.run(main, sys.argv[1]))
