"""Starting sessions: :class:`RealtimeRunner` (the OpenAI Agents SDK's shape) and
:func:`open_session` (the trio-first one)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from rtagents.agent import RealtimeAgent
from rtagents.config import RealtimeRunConfig
from rtagents.session import RealtimeSession


@contextlib.asynccontextmanager
async def open_session(
    agent: RealtimeAgent, config: RealtimeRunConfig | None = None, *, context: Any = None
) -> AsyncIterator[RealtimeSession]:
    """The trio-first entry point: a connected session for the duration of the block."""
    async with RealtimeSession(agent, config or RealtimeRunConfig(), context) as session:
        yield session


class RealtimeRunner:
    """Mirrors the OpenAI Agents SDK: ``async with await RealtimeRunner(agent).run() as s``."""

    def __init__(self, starting_agent: RealtimeAgent, *, config: RealtimeRunConfig | None = None):
        self.starting_agent = starting_agent
        self.config = config or RealtimeRunConfig()

    async def run(
        self, *, context: Any = None, config: RealtimeRunConfig | None = None
    ) -> RealtimeSession:
        """A session, not yet connected (no I/O happens until ``async with``).  `context` is
        the app's object, handed to tools, guardrails, hooks and dynamic instructions."""
        return RealtimeSession(self.starting_agent, config or self.config, context)
