"""A responder for the local model that says one scripted text per turn."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rtagents.local import ResponseContext, ResponsePart, ScriptedResponder


class TurnsResponder:
    """Answers the n-th response with the n-th of ``texts`` (then repeats the last), spoken by
    the scripted voice (``local_model(TurnsResponder("Hello.", "Bye."))``)."""

    def __init__(self, *texts: str) -> None:
        if not texts:
            raise ValueError("give at least one text")
        self.texts = texts
        self.count = 0
        self.voice = ScriptedResponder()

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        text = self.texts[min(self.count, len(self.texts) - 1)]
        self.count += 1
        for part in self.voice.speak(text, context.audio_output):
            yield part
