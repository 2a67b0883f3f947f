"""Connection settings as the SDK has them: headers replace the key, URLs naming a model are
kept, keys may be callables, ``call_id`` attaches to a call; secrets stay out of reprs."""

from __future__ import annotations

from typing import Any, cast

import pytest
import trio

from rtagents import OpenAIRealtimeSIPModel, OpenAIRealtimeWebSocketModel, get_api_key
from rtagents.models import ModelLinkError, OpenAIRealtimeConfig, OpenAIRealtimeLink
from rtagents.models import connection_config as merge


def test_custom_headers_replace_the_authorization_header() -> None:
    config = merge(OpenAIRealtimeConfig(api_key="sk-openai"), {"headers": {"api-key": "azure"}})
    assert config.handshake_headers({"OPENAI_API_KEY": "sk-env"}) == [("api-key", "azure")]
    assert "azure" not in repr(config)
    assert "sk-openai" not in repr(config)


def test_a_url_that_names_its_model_is_used_as_given() -> None:
    for url in (
        "wss://example.openai.azure.com/openai/v1/realtime?model=my-deployment",
        "wss://example.com/openai/realtime?api-version=2025-04-01&deployment=d",
        "ws://127.0.0.1:9/v1/realtime?call_id=rtc_1",
    ):
        assert merge(OpenAIRealtimeConfig(), {"url": url}).full_url() == url
    plain = merge(OpenAIRealtimeConfig(), {"url": "ws://127.0.0.1:9/v1/realtime"})
    assert plain.full_url() == "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"


def test_model_name_and_call_id_choose_what_to_talk_to() -> None:
    named = merge(OpenAIRealtimeConfig(), {"initial_model_settings": {"model_name": "m-1"}})
    assert named.full_url().endswith("?model=m-1")
    call = merge(OpenAIRealtimeConfig(), {"call_id": "rtc_9"})
    assert call.full_url().endswith("?call_id=rtc_9")
    assert call.model is None
    with pytest.raises(ValueError, match="call_id or"):
        merge(
            OpenAIRealtimeConfig(),
            {"call_id": "rtc_9", "initial_model_settings": {"model_name": "m"}},
        )


def test_unknown_model_config_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="'apikey'"):
        merge(OpenAIRealtimeConfig(), cast(Any, {"apikey": "x"}))
    with pytest.raises(TypeError, match="playback_tracker"):
        merge(OpenAIRealtimeConfig(), cast(Any, {"playback_tracker": object()}))


async def test_api_keys_from_strings_callables_and_coroutines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def from_vault() -> str:
        await trio.lowlevel.checkpoint()
        return "sk-async"

    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert await get_api_key("sk-str") == "sk-str"
    assert await get_api_key(lambda: "sk-sync") == "sk-sync"
    assert await get_api_key(from_vault) == "sk-async"
    assert await get_api_key(None) == "sk-env"
    with pytest.raises(ModelLinkError, match="returned int"):
        await get_api_key(cast(Any, lambda: 3))


async def test_the_link_sends_the_key_the_callable_returned() -> None:
    seen: list[tuple[str, list[tuple[bytes, bytes]]]] = []

    async def connector(nursery: Any, url: str, headers: Any, max_size: int) -> Any:
        seen.append((url, headers))
        raise ModelLinkError("stop here")

    async def key() -> str:
        return "sk-called"

    config = OpenAIRealtimeConfig(api_key=key, url="ws://127.0.0.1:9/v1/realtime")
    link = OpenAIRealtimeLink(config, connector=connector)
    with pytest.raises(ModelLinkError, match="stop here"):
        await link.run()
    ((url, headers),) = seen
    assert url == "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"
    assert headers == [(b"Authorization", b"Bearer sk-called")]
    assert "sk-called" not in repr(link)


def test_transport_config_maps_onto_the_link() -> None:
    model = OpenAIRealtimeWebSocketModel(
        transport_config={"ping_interval": None, "handshake_timeout": 3.0, "max_size": None}
    )
    link = model.open_link(OpenAIRealtimeConfig())
    assert link.config.keepalive_interval is None
    assert link.config.connect_timeout == 3.0
    assert link.config.max_message_size == 2**31 - 1
    with pytest.raises(ValueError, match="'ping'"):
        OpenAIRealtimeWebSocketModel(transport_config=cast(Any, {"ping": 1}))


def test_the_sip_model_needs_a_call_id() -> None:
    with pytest.raises(ModelLinkError, match="call_id"):
        OpenAIRealtimeSIPModel().open_link(OpenAIRealtimeConfig())
    link = OpenAIRealtimeSIPModel().open_link(OpenAIRealtimeConfig(model=None, call_id="rtc_1"))
    assert link.config.full_url().endswith("call_id=rtc_1")
