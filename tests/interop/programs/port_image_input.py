"""Image input: a structured user message with text and an image (a data URL), as the SDK's
web demo sends a picture.  The outcome is what the session history says the user message
holds, and the agent's answer.  Command line: the server URL, then the PNG file.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import trio

from rtagents import RealtimeAgent, RealtimeRunner, RealtimeUserInputMessage

TIMEOUT_S = 10

agent = RealtimeAgent(
    name="Describer",
    instructions="Describe the pictures the user shows you in one sentence.",
)


def image_data_url(path: str) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


async def main(url: str, image_path: str) -> dict[str, Any]:
    data_url = image_data_url(image_path)
    message: RealtimeUserInputMessage = {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Please describe this image."},
            {"type": "input_image", "image_url": data_url, "detail": "high"},
        ],
    }
    runner = RealtimeRunner(agent, config={"model_settings": {"output_modalities": ["text"]}})
    session = await runner.run(model_config={"url": url, "api_key": "sk-local-test"})
    items: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    with trio.fail_after(TIMEOUT_S):
        async with session:
            await session.send_message(message)
            async for event in session:
                if event.type == "history_added":
                    items[event.item.item_id] = event.item.model_dump()
                elif event.type == "history_updated":
                    items.update((item.item_id, item.model_dump()) for item in event.history)
                elif event.type == "error":
                    errors.append(str(event.error))
                elif event.type == "agent_end":
                    break
    user = [i for i in items.values() if i["type"] == "message" and i["role"] == "user"]
    answer = [i for i in items.values() if i["type"] == "message" and i["role"] == "assistant"]
    images = [c for c in user[0]["content"] if c["type"] == "input_image"] if user else []
    return {
        "user_content_types": [c["type"] for c in user[0]["content"]] if user else None,
        "image_url_kept": bool(images) and images[0]["image_url"] == data_url,
        "answer": "".join(c.get("text") or "" for c in answer[0]["content"]) if answer else None,
        "errors": errors,
    }


if __name__ == "__main__":
    print(trio.run(main, sys.argv[1], sys.argv[2]))
