"""SIP calls end to end against the fakes: OpenAI's side (webhooks, the Calls API, the call's
media leg and control socket) is rtagents.testing.FakeSipProvider over the local Realtime
server; our side is create_sip_app driven through httpx's in-memory ASGI transport; all on
trio's mock clock."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import trio

from rtagents import RealtimeAgent, function_tool, native
from rtagents.events import RealtimeDtmf
from rtagents.phone.calls import CallsClient
from rtagents.phone.sip import SipCallInfo, SipService
from rtagents.phone.sip_app import WEBHOOK_PATH, create_sip_app
from rtagents.protocol import calls as c
from rtagents.testing import TurnsResponder, silence, voice
from rtagents.testing._sip import FAKE_API, FakeSipProvider, deliver_to
from tests._processes import rtagents_process

QUESTION = native.ulaw_encode(
    native.resample(silence(0.3) + voice(1.0) + silence(0.8), 24000, 8000)
)


@function_tool
def opening_hours(day: str) -> str:
    """When the shop is open on `day`."""
    return "nine to five"


AGENT = RealtimeAgent(
    name="Desk", instructions="You answer the shop's phone.", tools=[opening_hours]
)


class Harness:
    def __init__(self, provider: FakeSipProvider, app: Any, http: httpx.AsyncClient) -> None:
        self.provider = provider
        self.app = app
        self.http = http
        self.service: SipService = app.state.rtagents_sip
        self.events: list[tuple[str, Any]] = []
        self.deliver = deliver_to(http, WEBHOOK_PATH)

    async def call(self, **kwargs: Any) -> Any:
        return await self.provider.place_call(self.deliver, **kwargs)


@pytest.fixture
async def harness(nursery: trio.Nursery, autojump_clock: Any) -> Harness:
    return await open_harness(nursery)


async def open_harness(nursery: trio.Nursery, agent: Any = AGENT, **options: Any) -> Harness:
    provider = await nursery.start(
        FakeSipProvider(TurnsResponder("Hello, shop desk.", "We open at nine.")).run
    )
    client = CallsClient(provider.api_key, base_url=FAKE_API, transport=provider.transport())
    events: list[tuple[str, Any]] = []
    app = create_sip_app(
        agent,
        webhook_secret=provider.secret,
        client=client,
        model=provider.model,
        on_event=lambda call, event: events.append((call.info.call_id, event)),
        **options,
    )
    await nursery.start(app.state.rtagents_sip.run)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    harness = Harness(provider, app, http)
    harness.events = events
    return harness


async def wait_for(predicate: Any, seconds: float = 30.0) -> None:
    with trio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 (a condition of many objects)
            await trio.sleep(0.01)


async def test_a_call_is_accepted_greeted_answered_and_hung_up(harness: Harness) -> None:
    call = await harness.call()
    assert call.webhook_status == 200
    assert call.state == "accepted"
    body = call.accept_body
    assert body is not None
    assert body["type"] == "realtime"
    assert body["instructions"] == "You answer the shop's phone."
    assert [t["name"] for t in body["tools"]] == ["opening_hours"]
    assert "format" not in body.get("audio", {}).get("input", {})
    await wait_for(lambda: call.attaches == 1 and len(call.heard) > 0)
    assert any(e["type"] == "response.create" for e in call.control_sent)
    greeting = len(call.heard)
    await call.say(QUESTION)
    await wait_for(lambda: len(call.heard) > greeting)
    await call.press("7")
    await wait_for(lambda: any(isinstance(e, RealtimeDtmf) for _, e in harness.events))
    await call.hang_up()
    service = harness.service
    await wait_for(lambda: not service.calls)
    stats = service.recent[-1]
    assert stats.call_id == call.call_id
    assert stats.ended_by == "caller"
    assert stats.dtmf == 1
    assert call.format_violations == 0
    assert [a for a, _, _ in harness.provider.requests] == ["accept"]  # no hangup: the caller did


async def test_the_accept_body_is_a_valid_session_create_request(harness: Harness) -> None:
    from tests.protocol.oracle import assert_valid_session_create

    call = await harness.call()
    assert call.accept_body is not None
    assert_valid_session_create(call.accept_body)
    await call.hang_up()


async def test_forged_tampered_stale_and_unsigned_webhooks_are_refused(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    provider, http = harness.provider, harness.http
    body = c.webhook_body(c.IncomingCall("evt_x", "rtc_forged", 1, ()))
    forger = FakeSipProvider()  # another secret
    cases = {
        "forged": forger.signed_headers(body),
        "unsigned": {"content-type": "application/json"},
        "stale": provider.signed_headers(body, timestamp=int(provider.clock()) - 3600),
        "future": provider.signed_headers(body, timestamp=int(provider.clock()) + 3600),
    }
    for name, headers in cases.items():
        answer = await http.post(WEBHOOK_PATH, content=body, headers=headers)
        assert answer.status_code == 400, name
    tampered = provider.signed_headers(body)
    answer = await http.post(
        WEBHOOK_PATH, content=body.replace(b"rtc_forged", b"rtc_other"), headers=tampered
    )
    assert answer.status_code == 400
    assert provider.requests == []  # nothing was accepted or rejected
    assert harness.service.counts["forged"] == 5
    assert provider.secret not in caplog.text
    assert forger.secret not in caplog.text


async def test_a_replayed_webhook_is_not_acted_on_twice(harness: Harness) -> None:
    provider, http = harness.provider, harness.http
    sent: list[tuple[bytes, dict[str, str]]] = []

    async def deliver(body: bytes, headers: dict[str, str]) -> int:
        sent.append((body, headers))
        return await harness.deliver(body, headers)

    call = await provider.place_call(deliver)
    assert call.state == "accepted"
    body, headers = sent[0]
    again = await http.post(WEBHOOK_PATH, content=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == {"ignored": "delivered before"}
    # The same call under a new webhook id (a retry OpenAI signed anew) is not accepted twice.
    fresh = await http.post(WEBHOOK_PATH, content=body, headers=provider.signed_headers(body))
    assert fresh.json() == {"ignored": "call already running"}
    assert [a for a, _, _ in provider.requests] == ["accept"]
    await call.hang_up()


async def test_other_events_and_malformed_bodies(harness: Harness) -> None:
    provider, http = harness.provider, harness.http
    other = json.dumps({"id": "evt_2", "type": "batch.completed", "data": {}}).encode()
    answer = await http.post(WEBHOOK_PATH, content=other, headers=provider.signed_headers(other))
    assert answer.status_code == 200
    junk = b'{"id": "evt_3", "type": "realtime.call.incoming", "data": {}}'
    answer = await http.post(WEBHOOK_PATH, content=junk, headers=provider.signed_headers(junk))
    assert answer.status_code == 400
    assert provider.requests == []


async def test_calls_beyond_max_calls_are_rejected_busy(
    nursery: trio.Nursery, autojump_clock: Any
) -> None:
    harness = await open_harness(nursery, max_calls=1)
    first = await harness.call()
    second = await harness.call()
    assert first.state == "accepted"
    assert second.state == "rejected"
    assert second.reject_status == 486
    await first.hang_up()
    await wait_for(lambda: not harness.service.calls)
    third = await harness.call()
    assert third.state == "accepted"
    await third.hang_up()


async def test_a_factory_gets_the_call_and_a_failing_one_rejects_only_that_call(
    nursery: trio.Nursery, autojump_clock: Any
) -> None:
    seen: list[SipCallInfo] = []

    def factory(info: SipCallInfo) -> RealtimeAgent:
        if info is not None:
            seen.append(info)
            if "+1555666" in (info.caller or ""):
                raise RuntimeError("no agent for that caller")
        return AGENT

    harness = await open_harness(nursery, agent=factory)
    bad = await harness.call(sip_headers=[("From", "<sip:+1555666@x>")])
    assert bad.state == "rejected"
    assert bad.reject_status == 500
    good = await harness.call()
    assert good.state == "accepted"
    assert seen[-1].call_id == good.call_id
    assert seen[-1].callee is not None
    await good.hang_up()


async def test_a_caller_gone_before_the_accept_is_nothing_to_do(harness: Harness) -> None:
    provider = harness.provider

    async def hang_up_first(body: bytes, headers: dict[str, str]) -> int:
        await provider.calls[c.parse_webhook(body).call_id].hang_up()  # type: ignore[union-attr]
        return await harness.deliver(body, headers)

    call = await provider.place_call(hang_up_first)
    assert call.webhook_status == 200
    assert call.state == "ended"
    assert harness.service.counts["gone"] == 1
    assert not harness.service.calls


async def test_an_api_failure_answers_502_so_the_webhook_comes_again(harness: Harness) -> None:
    provider = harness.provider
    real = provider._handle
    failures = [httpx.Response(500, json={"error": {"message": "try later"}})]

    async def flaky(request: httpx.Request) -> httpx.Response:
        return failures.pop() if failures else await real(request)

    harness.service.client = CallsClient(
        provider.api_key, base_url=FAKE_API, transport=httpx.MockTransport(flaky)
    )
    sent: list[tuple[bytes, dict[str, str]]] = []

    async def deliver(body: bytes, headers: dict[str, str]) -> int:
        sent.append((body, headers))
        return await harness.deliver(body, headers)

    call = await provider.place_call(deliver)
    assert call.webhook_status == 502
    assert call.state == "ringing"
    body, _ = sent[0]
    retry = await harness.http.post(
        WEBHOOK_PATH, content=body, headers=provider.signed_headers(body)
    )
    assert retry.status_code == 200
    assert call.state == "accepted"
    await call.hang_up()


async def test_an_unreachable_api_is_a_502_without_the_key(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    harness.service.client = CallsClient(
        "sk-secret-key-1234", base_url=FAKE_API, transport=httpx.MockTransport(refuse)
    )
    with caplog.at_level(logging.INFO):
        call = await harness.call()
    assert call.webhook_status == 502
    assert "sk-secret-key-1234" not in caplog.text
    assert "sk-secret-key-1234" not in repr(harness.service.client)


async def test_hanging_up_from_our_side_ends_the_sip_leg(harness: Harness) -> None:
    call = await harness.call()
    await wait_for(lambda: call.attaches == 1)
    (ours,) = harness.service.calls.values()
    ours.hang_up()
    await wait_for(lambda: not harness.service.calls)
    assert call.state == "ended"
    assert [a for a, _, _ in harness.provider.requests] == ["accept", "hangup"]
    assert harness.service.recent[-1].ended_by == "agent"


async def test_a_hang_up_mid_answer_ends_every_task_of_the_call(harness: Harness) -> None:
    call = await harness.call()
    await wait_for(lambda: len(call.heard) > 0)  # the greeting is playing
    (ours,) = harness.service.calls.values()
    await call.hang_up()
    await wait_for(lambda: not harness.service.calls)
    assert ours.session is not None
    assert ours.session.ended_by is not None
    nursery = harness.service._nursery
    assert nursery is not None
    assert nursery.child_tasks == set()


async def test_a_broken_control_socket_attaches_again_without_repeating_the_call(
    harness: Harness,
) -> None:
    call = await harness.call()
    await wait_for(lambda: call.attaches == 1 and len(call.heard) > 0)
    sent_before = len(call.control_sent)
    await call.drop_control()
    await wait_for(lambda: call.attaches == 2)
    assert call.state == "accepted"
    # The call's session lives on at the server: nothing is re-created or said again.
    again = [e["type"] for e in call.control_sent[sent_before:]]
    assert "conversation.item.create" not in again
    assert "response.create" not in again
    await call.press("9")
    await wait_for(lambda: any(isinstance(e, RealtimeDtmf) for _, e in harness.events))
    await call.hang_up()
    await wait_for(lambda: not harness.service.calls)
    assert harness.service.recent[-1].ended_by == "caller"


async def test_a_greeting_is_said_as_given(nursery: trio.Nursery, autojump_clock: Any) -> None:
    harness = await open_harness(nursery, greeting="Thanks for calling the shop.")
    call = await harness.call()
    await wait_for(lambda: any(e["type"] == "response.create" for e in call.control_sent))
    (create,) = [e for e in call.control_sent if e["type"] == "response.create"]
    assert "Thanks for calling the shop." in create["response"]["instructions"]
    await call.hang_up()


async def test_the_server_plays_the_audio_so_a_barge_in_truncates_nothing(harness: Harness) -> None:
    harness.provider.forward_audio = True  # even with audio deltas on the control socket
    call = await harness.call()
    await wait_for(lambda: len(call.heard) > 0)
    await call.say(QUESTION)  # talks over the greeting
    await wait_for(lambda: harness.provider.server.sessions[-1].conversation is not None)
    await trio.sleep(2)
    sent = [e["type"] for e in call.control_sent]
    assert "conversation.item.truncate" not in sent
    assert "conversation.item.delete" not in sent
    await call.hang_up()


async def test_the_service_refuses_webhooks_until_it_runs() -> None:
    provider = FakeSipProvider()
    service = SipService(AGENT, provider.secret, CallsClient("k", base_url=FAKE_API))
    answer = await service.webhook(b"{}", {})
    assert answer.status == 503


def test_create_sip_app_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        create_sip_app(AGENT, webhook_secret="")


def test_reprs_hide_the_secret() -> None:
    provider = FakeSipProvider()
    service = SipService(AGENT, provider.secret, CallsClient("sk-123", base_url=FAKE_API))
    assert provider.secret not in repr(service)
    assert provider.secret not in repr(provider)
    assert "sk-123" not in repr(service)


# -- rtagents serve sip ---------------------------------------------------------------------------


def test_serve_sip_says_what_it_needs_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtagents.apps.cli import main as rtagents_main

    cases = [
        ({}, [], "OPENAI_API_KEY is not set"),
        ({"OPENAI_API_KEY": "sk-x"}, [], "OPENAI_WEBHOOK_SECRET is not set"),
        ({"OPENAI_API_KEY": "sk-x", "OPENAI_WEBHOOK_SECRET": "whsec_!!"}, [], "not valid base64"),
        (
            {"OPENAI_API_KEY": "k", "OPENAI_WEBHOOK_SECRET": "s"},
            ["--api-base", "ftp://x"],
            "https://",
        ),
        ({"OPENAI_API_KEY": "k", "OPENAI_WEBHOOK_SECRET": "s"}, ["--max-calls", "0"], "at least 1"),
        ({"OPENAI_API_KEY": "k", "OPENAI_WEBHOOK_SECRET": "s"}, ["nope_module:x"], "no module"),
    ]
    for env, argv, says in cases:
        for name in ("OPENAI_API_KEY", "OPENAI_WEBHOOK_SECRET"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert rtagents_main(["serve", "sip", *argv, "--port", "0"]) == 2, says
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith("rtagents serve sip: "), err
        assert says in err, err
        assert "sk-x" not in err


def test_serve_sip_takes_a_real_call_over_real_sockets(tmp_path: Any) -> None:
    """The command in a subprocess; the fake OpenAI (Calls API and control sockets) on hypercorn
    in this process; a signed webhook, an accepted call greeted and answered, a key press, the
    caller hanging up, Ctrl-C -> status 0."""
    import os
    import signal
    from pathlib import Path

    from rtagents.apps.serving import serve_app
    from rtagents.testing._sip import provider_app

    root = Path(__file__).resolve().parents[2]
    agent_file = tmp_path / "desk.py"
    agent_file.write_text(
        "from rtagents import RealtimeAgent\n"
        "agent = RealtimeAgent(name='Desk', instructions='You answer the phone.')\n"
    )

    responder = TurnsResponder("Hello.", "Nine.")

    async def main() -> tuple[Any, str, str]:
        async with trio.open_nursery() as nursery:
            provider = await nursery.start(FakeSipProvider(responder).run)
            base = await serve_app(nursery, provider_app(provider), "127.0.0.1", 0)
            env = {
                **os.environ,
                "PYTHONPATH": str(root),
                "OPENAI_API_KEY": provider.api_key,
                "OPENAI_WEBHOOK_SECRET": provider.secret,
            }
            argv = ["serve", "sip", f"{agent_file}:agent", "--port", "0", "--greeting", "Hi!"]
            argv += ["--api-base", f"{base.rstrip('/')}/v1", "--stats"]
            with rtagents_process(argv, env=env, cwd=tmp_path) as process:
                try:
                    assert process.stdout is not None
                    assert process.stderr is not None
                    first = await trio.to_thread.run_sync(process.stdout.readline)
                    assert first.startswith("listening on http://127.0.0.1:"), first
                    url = first.split()[-1]
                    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                        assert (await http.get("/")).text == "ok"
                        call = await provider.place_call(deliver_to(http))
                        assert call.webhook_status == 200
                        assert call.state == "accepted"

                        async def stats() -> dict[str, Any]:
                            answer: dict[str, Any] = (await http.get("/openai/stats")).json()
                            return answer

                        with trio.fail_after(20):
                            while not call.heard:  # noqa: ASYNC110
                                await trio.sleep(0.05)
                            await call.say(QUESTION)
                            await call.press("5")
                            while responder.count < 2 or (await stats())["calls"][0]["dtmf"] < 1:  # noqa: ASYNC110
                                await trio.sleep(0.05)
                        during = await stats()
                        await call.hang_up()
                        with trio.fail_after(10):
                            while (await stats())["open"]:  # noqa: ASYNC110
                                await trio.sleep(0.05)
                        ended = await stats()
                    process.send_signal(signal.SIGINT)
                    status = await trio.to_thread.run_sync(lambda: process.wait(timeout=15))
                    out, err = process.stdout.read(), process.stderr.read()
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
            nursery.cancel_scope.cancel()
        assert status == 0
        assert during["open"] == 1
        assert ended["calls"][-1]["ended_by"] == "caller"
        assert ended["calls"][-1]["dtmf"] == 1
        return call, out + first, err

    call, out, err = trio.run(main)
    assert "Traceback" not in err
    assert "/openai/webhook" in out
    (create,) = [e for e in call.control_sent if e["type"] == "response.create"]
    assert "Hi!" in create["response"]["instructions"]
    assert call.format_violations == 0
    assert responder.count == 2  # the greeting and the answer to the question
    assert len(call.heard) == 8 * 60 * len("Hello.Nine.")  # μ-law at 8 kHz, 60 ms a character
