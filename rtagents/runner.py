"""Starting sessions: :class:`RealtimeRunner` (the OpenAI Agents SDK's shape) and
:func:`open_session` (the trio-first one).

``RealtimeRunner(agent, model=None, config=None)`` and ``await runner.run(context=None,
model_config=None)`` are the SDK's calls: ``config`` is the SDK's ``RealtimeRunConfig`` dict (or
our :class:`~rtagents.config.RealtimeRunConfig`), ``model_config`` its ``RealtimeModelConfig``
dict.  ``run`` only builds the session; it connects on ``async with``.  Without ``model`` each
run gets its own OpenAI model object, so one runner may serve many concurrent sessions (the SDK
shares one model per runner, one session at a time).

The class-level shape ``await RealtimeRunner.run(agent, session=..., context=..., hooks=...,
config=...)`` is accepted too: ``session`` is the session's model settings (the SDK's settings
dict or a ``SessionConfig``), ``hooks`` the run hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, overload

import attrs

from rtagents import protocol as p
from rtagents.agent import RealtimeAgent
from rtagents.config import RealtimeRunConfig, RealtimeSessionModelSettings
from rtagents.hooks import RealtimeRunHooks
from rtagents.models import OpenAIRealtimeSIPModel, RealtimeModel, RealtimeModelConfig
from rtagents.session import RealtimeSession

RunConfigLike = RealtimeRunConfig | Mapping[str, Any] | None


@contextlib.asynccontextmanager
async def open_session(
    agent: RealtimeAgent,
    config: RunConfigLike = None,
    *,
    context: Any = None,
    model: RealtimeModel | None = None,
    model_config: RealtimeModelConfig | None = None,
) -> AsyncIterator[RealtimeSession]:
    """The trio-first entry point: a connected session for the duration of the block."""
    session = RealtimeSession(agent, config, context, model=model, model_config=model_config)
    async with session:
        yield session


class _Run:
    """``run`` on an instance (the SDK's call) or on the class (the seed's one-call shape)."""

    @overload
    def __get__(self, instance: None, owner: type[RealtimeRunner]) -> _ClassRun: ...

    @overload
    def __get__(self, instance: RealtimeRunner, owner: type[RealtimeRunner]) -> _InstanceRun: ...

    def __get__(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            return _class_run
        return instance._run


_InstanceRun = Callable[..., Awaitable[RealtimeSession]]
_ClassRun = Callable[..., Awaitable[RealtimeSession]]


async def _class_run(
    agent: RealtimeAgent,
    *,
    session: RealtimeSessionModelSettings | p.SessionConfig | None = None,
    context: Any = None,
    hooks: RealtimeRunHooks | None = None,
    config: RunConfigLike = None,
    model: RealtimeModel | None = None,
    model_config: RealtimeModelConfig | None = None,
) -> RealtimeSession:
    """``RealtimeRunner.run(agent, session=..., context=..., hooks=..., config=...)``."""
    run_config = RealtimeRunConfig.coerce(config)
    changes: dict[str, Any] = {}
    if session is not None:
        if run_config.model_settings is not None:
            raise ValueError("give the session settings once: session= or config.model_settings")
        changes["model_settings"] = session
    if hooks is not None:
        changes["hooks"] = hooks
    run_config = attrs.evolve(run_config, **changes)
    runner: RealtimeRunner = RealtimeRunner(agent, model=model, config=run_config)
    return await runner._run(context=context, model_config=model_config)


class RealtimeRunner:
    """Mirrors the OpenAI Agents SDK: ``async with await RealtimeRunner(agent).run() as s``."""

    def __init__(
        self,
        starting_agent: RealtimeAgent,
        *,
        model: RealtimeModel | None = None,
        config: RunConfigLike = None,
    ) -> None:
        if not isinstance(starting_agent, RealtimeAgent):
            raise TypeError(
                f"starting_agent must be a RealtimeAgent, not {type(starting_agent).__name__}"
            )
        if model is not None and not isinstance(model, RealtimeModel):
            raise TypeError(f"model must be a RealtimeModel, not {type(model).__name__}")
        self.starting_agent = starting_agent
        self.model = model
        self.config = RealtimeRunConfig.coerce(config)  # checked now, not at connect time

    run = _Run()

    async def _run(
        self,
        *,
        context: Any = None,
        model_config: RealtimeModelConfig | None = None,
        config: RunConfigLike = None,
    ) -> RealtimeSession:
        """A session, not yet connected (no I/O happens until ``async with``).  `context` is
        the app's object, handed to tools, guardrails, hooks and dynamic instructions;
        `model_config` the SDK's connection dict; `config` (ours) replaces the runner's."""
        run_config = RealtimeRunConfig.coerce(config) if config is not None else self.config
        return RealtimeSession(
            self.starting_agent, run_config, context, model=self.model, model_config=model_config
        )


async def build_initial_session_payload(
    agent: RealtimeAgent,
    *,
    context: Any = None,
    model_config: RealtimeModelConfig | None = None,
    run_config: RunConfigLike = None,
    overrides: RealtimeSessionModelSettings | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The session a run of `agent` would start with, as the GA session object (``type:
    "realtime"``) that accepts a SIP call (``POST /realtime/calls/{call_id}/accept``): its
    instructions, tools, voice, turn detection and transcription, with no audio formats (the
    SIP leg negotiates the codec).  The SDK's ``OpenAIRealtimeSIPModel.
    build_initial_session_payload`` (also reachable under that name); ``overrides`` are SDK
    settings laid over the run's and the connection's initial ones."""
    from rtagents.config import SessionSettings
    from rtagents.context import RunContextWrapper
    from rtagents.models._model import connection_config

    config = RealtimeRunConfig.coerce(run_config)
    connection = connection_config(config.model, model_config)
    initial = {**((model_config or {}).get("initial_model_settings") or {}), **(overrides or {})}
    settings = SessionSettings.build(config, initial, attach_to_call=True)
    resolved = await agent.resolve(RunContextWrapper(context))
    session = settings.for_agent(resolved, initial=True)
    if session.model is None and connection.model is not None:
        session = attrs.evolve(session, model=connection.model)
    payload: dict[str, Any] = session.to_wire()
    return payload


# The SDK's spelling: a static method of the SIP model (defined here, above the models layer,
# because a session's settings are built from the run config).
OpenAIRealtimeSIPModel.build_initial_session_payload = staticmethod(  # type: ignore[attr-defined]
    build_initial_session_payload
)
