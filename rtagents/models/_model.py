"""The pluggable model: :class:`RealtimeModel`, what ``RealtimeRunner(agent, model=...)`` takes.

Theory of operation
-------------------
In the OpenAI Agents SDK a model object owns the connection and much of the session's logic.
Here a session owns the logic (turn table, response sequencing, truncation) and a model only
makes *links*: :meth:`RealtimeModel.open_link` returns a fresh single-use
:class:`~rtagents.models.ModelLink` for each connection, which the session runs in its own
nursery.  :class:`OpenAIRealtimeWebSocketModel` makes OpenAI Realtime WebSocket links;
``rtagents.testing.ScriptedModel`` is a scripted fake.  A model serves one session at a time.

The SDK's model surface is kept for apps that use it through ``session.model``:
``add_listener`` / ``remove_listener`` (listeners' ``on_event`` receive every model event — see
:mod:`rtagents.model_events` — from one task of the session, in order; when they fall 256
events behind, the oldest droppable ones are dropped and counted), ``send_event`` (the SDK's
model inputs, :mod:`rtagents.model_inputs`, or a GA client event, sent through the session so
that response sequencing and barge-in stay right) and ``close`` (closes the session).

:class:`RealtimeModelConfig` is the SDK's per-run connection dict (``RealtimeRunner.run(
model_config=...)``): ``api_key`` (string or sync/async callable), ``url``, ``headers``
(replace the Authorization header), ``initial_model_settings``, ``playback_tracker`` and
``call_id``.  :class:`TransportConfig` is the SDK's transport dict (pings, handshake timeout,
message size).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict

import attrs

from rtagents import model_inputs as mi
from rtagents import protocol as p
from rtagents._core.settings import (
    RealtimeSessionModelSettings,
    check_keys,
    session_config_from_settings,
)
from rtagents.models._link import ModelLink
from rtagents.models._openai import (
    ApiKey,
    ModelLinkError,
    OpenAIRealtimeConfig,
    OpenAIRealtimeLink,
)
from rtagents.models._tracker import RealtimePlaybackTracker

if TYPE_CHECKING:
    from rtagents.model_events import RealtimeModelEvent


class RealtimeModelConfig(TypedDict):
    """Options for one connection (every key optional)."""

    api_key: NotRequired[ApiKey]
    url: NotRequired[str]
    headers: NotRequired[dict[str, str]]
    initial_model_settings: NotRequired[RealtimeSessionModelSettings]
    playback_tracker: NotRequired[RealtimePlaybackTracker]
    call_id: NotRequired[str]


MODEL_CONFIG_KEYS = frozenset(RealtimeModelConfig.__annotations__)


class TransportConfig(TypedDict, total=False):
    """The SDK's WebSocket transport options (``None`` disables pings)."""

    ping_interval: float | None
    ping_timeout: float | None
    handshake_timeout: float
    max_size: int | None


class RealtimeModelListener(abc.ABC):
    """Receives model events (see :mod:`rtagents.model_events`)."""

    @abc.abstractmethod
    async def on_event(self, event: RealtimeModelEvent) -> None: ...


class ModelOwner(Protocol):
    """What a model needs of the session running it (the session implements this)."""

    async def send_message(self, message: Any) -> None: ...

    async def send_audio(self, data: bytes, *, commit: bool = False) -> None: ...

    def interrupt_response(self, response_id: str | None) -> None: ...

    async def send(self, event: p.ClientEvent) -> None: ...

    async def request_response(self, manual: p.ResponseCreate | None = None) -> None: ...

    async def close(self) -> None: ...


async def deliver_model_input(owner: ModelOwner, event: Any) -> None:
    """Carry out one of the SDK's model inputs (:mod:`rtagents.model_inputs`), or send a GA
    client event, through the session `owner`: a ``response.create`` takes its turn in the
    response sequencer; a raw message is checked against the GA protocol first."""
    if isinstance(event, mi.RealtimeModelSendRawMessage):
        message = event.message
        body = {"type": message["type"], **(message.get("other_data") or {})}
        wire = p.decode_client_event(json.dumps(body))
        if isinstance(wire, p.ClientProtocolError):
            raise ValueError(f"not a valid client event: {wire.reason}")
        event = wire
    if isinstance(event, mi.RealtimeModelSendUserInput):
        await owner.send_message(event.user_input)
    elif isinstance(event, mi.RealtimeModelSendAudio):
        await owner.send_audio(event.audio, commit=event.commit)
    elif isinstance(event, mi.RealtimeModelSendInterrupt):
        owner.interrupt_response(event.response_id)
    elif isinstance(event, mi.RealtimeModelSendSessionUpdate):
        update = session_config_from_settings(event.session_settings, defaults=False)
        await owner.send(p.SessionUpdate(session=update))
    elif isinstance(event, mi.RealtimeModelSendToolOutput):
        output = p.FunctionCallOutputItem(call_id=event.tool_call.call_id, output=event.output)
        await owner.send(p.ConversationItemCreate(item=output))
        if event.start_response:
            await owner.request_response()
    elif isinstance(event, p.ResponseCreate):
        await owner.request_response(event)
    elif isinstance(event, p.ClientEvent):
        await owner.send(event)
    else:
        raise TypeError(f"cannot send {type(event).__name__} to the model")


def connection_config(
    base: OpenAIRealtimeConfig, model_config: RealtimeModelConfig | None
) -> OpenAIRealtimeConfig:
    """`base` with an SDK ``model_config`` laid over it (``model_name`` of its initial settings
    picks the model; ``call_id`` replaces the model)."""
    if not model_config:
        return base
    check_keys(model_config, MODEL_CONFIG_KEYS, "model_config")
    changes: dict[str, Any] = {}
    for key in ("api_key", "url", "headers"):
        if key in model_config:
            changes[key] = model_config[key]
    settings = model_config.get("initial_model_settings") or {}
    if model_config.get("call_id"):
        if settings.get("model_name"):
            raise ValueError(
                "model_config: give call_id or initial_model_settings['model_name'], not both "
                "(a call's model was fixed when it was accepted)"
            )
        changes["call_id"] = model_config["call_id"]
        changes["model"] = None
    elif settings.get("model_name"):
        changes["model"] = settings["model_name"]
    tracker = model_config.get("playback_tracker")
    if tracker is not None and not hasattr(tracker, "get_state"):
        raise TypeError("model_config['playback_tracker'] must be a RealtimePlaybackTracker")
    return attrs.evolve(base, **changes)


class RealtimeModel(abc.ABC):
    """See the module docstring.  Subclasses implement :meth:`open_link`."""

    #: Whether each ``open_link`` gives a fresh connection (a session may then reconnect).
    supports_reconnect: bool = True
    # Class-level defaults, so subclasses need not call this __init__ (attrs classes do not).
    _owner: ModelOwner | None = None
    _listeners: tuple[RealtimeModelListener, ...] = ()

    @abc.abstractmethod
    def open_link(self, config: OpenAIRealtimeConfig) -> ModelLink:
        """A new, not yet running link for one connection with `config`."""

    # -- the session's side -----------------------------------------------------------------

    def attach(self, owner: ModelOwner) -> None:
        if self._owner is not None and self._owner is not owner:
            raise ModelLinkError(
                "this model already serves a running session (make one model per session)"
            )
        self._owner = owner

    def detach(self, owner: ModelOwner) -> None:
        if self._owner is owner:
            self._owner = None

    @property
    def listeners(self) -> tuple[RealtimeModelListener, ...]:
        return self._listeners

    # -- the SDK's surface ------------------------------------------------------------------

    def add_listener(self, listener: RealtimeModelListener) -> None:
        if listener not in self._listeners:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: RealtimeModelListener) -> None:
        self._listeners = tuple(x for x in self._listeners if x is not listener)

    async def send_event(self, event: Any) -> None:
        """Send a model input (:mod:`rtagents.model_inputs`) or a GA client event through the
        session this model serves."""
        if self._owner is None:
            raise ModelLinkError("the model is not connected (it sends through a session)")
        await deliver_model_input(self._owner, event)

    async def close(self) -> None:
        """Close the session this model serves (if any)."""
        if self._owner is not None:
            await self._owner.close()


class OpenAIRealtimeWebSocketModel(RealtimeModel):
    """OpenAI Realtime over WebSocket (``transport_config``: the SDK's ping and size options,
    mapped onto the link's keepalive and message size)."""

    def __init__(self, *, transport_config: TransportConfig | None = None) -> None:
        transport = dict(transport_config or {})
        check_keys(transport, frozenset(TransportConfig.__annotations__), "transport_config")
        self.transport_config = transport

    def open_link(self, config: OpenAIRealtimeConfig) -> OpenAIRealtimeLink:
        transport = self.transport_config
        changes: dict[str, Any] = {}
        if "ping_interval" in transport:
            changes["keepalive_interval"] = transport["ping_interval"]
        if transport.get("ping_timeout") is not None:
            changes["keepalive_timeout"] = transport["ping_timeout"]
        if transport.get("handshake_timeout") is not None:
            changes["connect_timeout"] = transport["handshake_timeout"]
        if "max_size" in transport:
            changes["max_message_size"] = transport["max_size"] or 2**31 - 1
        return OpenAIRealtimeLink(attrs.evolve(config, **changes))


class OpenAIRealtimeSIPModel(OpenAIRealtimeWebSocketModel):
    """Attaches to a SIP call accepted through OpenAI's Calls API: needs ``call_id``."""

    def open_link(self, config: OpenAIRealtimeConfig) -> OpenAIRealtimeLink:
        if config.call_id is None:
            raise ModelLinkError("OpenAIRealtimeSIPModel needs model_config['call_id']")
        return super().open_link(config)


class LinkFactoryModel(RealtimeModel):
    """A model from a link factory (``RealtimeRunConfig.link_factory``)."""

    def __init__(self, factory: Callable[[OpenAIRealtimeConfig], ModelLink]) -> None:
        self.factory = factory
        # A bound method of a model (``model.link_factory``) says what that model can do.
        owner = getattr(factory, "__self__", None)
        self.supports_reconnect = bool(getattr(owner, "supports_reconnect", True))

    def open_link(self, config: OpenAIRealtimeConfig) -> ModelLink:
        return self.factory(config)
