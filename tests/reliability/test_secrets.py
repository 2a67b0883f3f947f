"""Secrets stay out of reprs, logs and the frame locals a crash reporter records."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rtagents import RealtimeRunConfig
from rtagents.models import ModelLinkError, OpenAIRealtimeConfig, OpenAIRealtimeLink

KEY = "sk-VERY-SECRET-0123456789"
TOKEN = "tok-custom-98765"


def test_no_header_value_shows_in_a_config_repr() -> None:
    config = OpenAIRealtimeConfig(api_key=KEY, headers={"X-Custom-Token": TOKEN, "api-key": KEY})
    text = repr(config) + repr(RealtimeRunConfig(model=config))
    assert KEY not in text
    assert TOKEN not in text
    assert "X-Custom-Token" in text  # the names are shown


async def test_frame_locals_of_a_failed_connect_hold_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def connector(nursery: Any, url: str, headers: Any, max_size: int) -> Any:
        raise OSError("network unreachable")

    caplog.set_level(logging.DEBUG)
    config = OpenAIRealtimeConfig(api_key=KEY, url="ws://127.0.0.1:9/v1/realtime")
    link = OpenAIRealtimeLink(config, connector=connector)
    with pytest.raises(ModelLinkError) as caught:
        await link.run()
    seen: list[str] = [str(caught.value), caplog.text]
    tb = caught.value.__traceback__
    error: BaseException | None = caught.value
    while error is not None:  # the exception and what it came from, with every frame's locals
        tb = error.__traceback__
        while tb is not None:
            seen.extend(repr(v) for v in tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    assert not any(KEY in text for text in seen)
