"""What the agency needs of its session, and the one way a function call is answered.

Theory of operation
-------------------
The agency reaches the session only through :class:`SessionPort`: push an event for the app, send
a client event to the model, ask for a response, feed the turn machine, interrupt a response —
none of which waits on audio.  :func:`answer_call` is how every function call ends, whether a
tool ran, failed or was rejected, or a handoff happened: the output item goes to the model, the
history records it, and (unless told not to) a response is asked for so the model reads it.
"""

from __future__ import annotations

from typing import Protocol

from rtagents import protocol as p
from rtagents._core import turns
from rtagents._core.history import History
from rtagents.agent import ResolvedAgent
from rtagents.events import RealtimeSessionEvent


class SessionPort(Protocol):
    def push(self, event: RealtimeSessionEvent) -> None: ...
    async def send(self, event: p.ClientEvent) -> None: ...
    async def request_response(self) -> None: ...
    def feed(self, event: turns.TurnInput) -> None: ...
    def interrupt_response(self, response_id: str) -> None: ...
    def session_config(self, resolved: ResolvedAgent, *, initial: bool) -> p.SessionConfig: ...
    def is_latest_response(self, response_id: str) -> bool: ...


async def answer_call(
    port: SessionPort, history: History, call_id: str, output: str, *, respond: bool = True
) -> None:
    """Send the output item of call `call_id`, record it in the history, ask for a response."""
    item = p.FunctionCallOutputItem(call_id=call_id, output=output)
    await port.send(p.ConversationItemCreate(item=item))
    for event in history.set_tool_output(call_id, output):
        port.push(event)
    if respond:
        await port.request_response()
