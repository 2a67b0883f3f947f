"""The Calls API client: accept, reject, hang up and transfer OpenAI SIP calls, over httpx.

A thin adapter: the requests and the reading of their answers are
:mod:`rtagents.protocol.calls`; this sends them with an ``httpx.AsyncClient`` (it runs on trio)
with the Bearer key, a timeout, and no retries of its own — a failed accept makes the webhook
answer 5xx, and OpenAI delivers the webhook again.  ``transport`` lets tests (and
:class:`rtagents.testing.FakeSipProvider`) answer in memory.  The key never appears in a repr,
a log line or an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx

from rtagents.protocol import calls as c

log = logging.getLogger("rtagents.phone")

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class CallsAPIError(Exception):
    """The Calls API could not be reached or refused a request (status 0: not reached)."""

    def __init__(self, action: str, status: int, message: str) -> None:
        super().__init__(f"{action} failed: {message}" + (f" (HTTP {status})" if status else ""))
        self.action = action
        self.status = status


class CallsClient:
    """OpenAI's Calls API (``POST /realtime/calls/{call_id}/...``).  ``api_key`` defaults to
    ``OPENAI_API_KEY``; ``base_url`` to OpenAI's (any compatible server, e.g. a fake)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<CallsClient {self.base_url} (key hidden)>"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, request: c.CallsRequest) -> c.CallsResponse:
        """Send one request; its answer (``ok``, ``gone`` or an API error status).  Raises
        :class:`CallsAPIError` (status 0) when the API cannot be reached."""
        headers = {"Content-Type": "application/json"} if request.body is not None else {}
        try:
            answer = await self._client.request(
                request.method, request.path, content=request.body, headers=headers
            )
        except httpx.HTTPError as exc:
            reason = type(exc).__name__  # never str(exc): it may quote the request
            message = f"cannot reach {self.base_url}: {reason}"
            raise CallsAPIError(request.action, 0, message) from None
        return c.read_response(answer.status_code, answer.content)

    async def _checked(self, request: c.CallsRequest) -> c.CallsResponse:
        response = await self.send(request)
        if not response.ok and not response.gone:
            raise CallsAPIError(request.action, response.status, response.message)
        return response

    async def accept(self, call_id: str, session: Mapping[str, Any]) -> bool:
        """Accept the call with ``session``; False when it is already gone (404)."""
        return (await self._checked(c.accept_request(call_id, session))).ok

    async def reject(self, call_id: str, status_code: int = 603) -> bool:
        """Reject the call (SIP ``status_code``); False when it is already gone."""
        return (await self._checked(c.reject_request(call_id, status_code))).ok

    async def hangup(self, call_id: str) -> bool:
        """Hang up; False when the call had already ended."""
        return (await self._checked(c.hangup_request(call_id))).ok

    async def refer(self, call_id: str, target_uri: str) -> bool:
        """Transfer the call to ``target_uri``; False when it had already ended."""
        return (await self._checked(c.refer_request(call_id, target_uri))).ok
