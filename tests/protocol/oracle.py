"""Conformance oracle: check wire dicts against the official ``openai`` Realtime GA types.

The ``openai`` package is only a test dependency.  Its models allow extra keys, so a misspelt or
beta-era key would validate silently; :func:`undeclared_keys` walks the parsed model and lists
every key the schema does not declare, and the ``assert_*`` helpers fail on any.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, get_args

import pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import Field, TypeAdapter

# openai marks its unions with its own PropertyInfo(discriminator=...), which pydantic ignores;
# re-annotating makes pydantic dispatch on "type" and report errors for one member only.
CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(
    Annotated[RealtimeClientEvent, Field(discriminator="type")]
)
SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)


def _models_by_type(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    members = get_args(get_args(union)[0])
    table = {}
    for model in members:
        (tag,) = get_args(model.model_fields["type"].annotation)
        table[tag] = model
    return table


#: The official model class of every event, by its ``type``.
CLIENT_MODELS = _models_by_type(RealtimeClientEvent)
SERVER_MODELS = _models_by_type(RealtimeServerEvent)


def undeclared_keys(model: object, path: str = "$") -> list[str]:
    found: list[str] = []
    if isinstance(model, pydantic.BaseModel):
        found += [f"{path}.{key}" for key in model.model_extra or {}]
        for name in type(model).model_fields:
            found += undeclared_keys(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list | tuple):
        for index, item in enumerate(model):
            found += undeclared_keys(item, f"{path}[{index}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            found += undeclared_keys(item, f"{path}.{key}")
    return found


def _check_strict(adapter: TypeAdapter[Any], wire: dict[str, Any]) -> None:
    parsed = adapter.validate_python(wire, strict=True)
    extra = undeclared_keys(parsed)
    assert not extra, f"undeclared keys in {wire.get('type')}: {extra}"
    # Nothing may be coerced or dropped: the model dumps back to exactly what we sent.
    assert parsed.model_dump(mode="json", exclude_unset=True) == wire
    # The exact text we put on the wire validates too.
    adapter.validate_json(json.dumps(wire), strict=True)


def assert_valid_client_event(wire: dict[str, Any]) -> None:
    """Strict: exact types, declared keys only."""
    _check_strict(CLIENT_EVENT, wire)


def assert_valid_server_event(wire: dict[str, Any]) -> None:
    """Strict, for server events our own encoders produce."""
    _check_strict(SERVER_EVENT, wire)


def parse_server_event(wire: dict[str, Any]) -> Any:
    """Lenient, for frames a real server sends (it may be ahead of the types)."""
    return SERVER_EVENT.validate_python(wire)


def assert_valid_sip_webhook(wire: dict[str, Any]) -> None:
    """Strict, for the ``realtime.call.incoming`` webhook bodies our fakes send."""
    from openai.types.webhooks import RealtimeCallIncomingWebhookEvent

    _check_strict(TypeAdapter(RealtimeCallIncomingWebhookEvent), wire)


def assert_valid_session_create(wire: dict[str, Any]) -> None:
    """Strict, for a Calls API accept body (a GA session create request)."""
    from openai.types.realtime import RealtimeSessionCreateRequest

    _check_strict(TypeAdapter(RealtimeSessionCreateRequest), wire)
