"""A brain for the local server: any OpenAI-compatible chat-completions endpoint.

Theory of operation
-------------------
:class:`ChatCompletionsBrain` is a :class:`~rtagents.local.Responder` that produces text and
tool calls only (``Say(text)`` with no audio, and ``CallTool``); another component speaks the
text.  It works with anything that serves ``POST {base_url}/chat/completions`` the way OpenAI
does: llama.cpp's ``llama-server``, Ollama, vLLM, OpenAI itself.

For each response it translates the realtime context into one chat request:

* ``messages``: a system message with the instructions (the response's override, else the
  session's; left out when empty), then the conversation in order.  User messages are their
  typed text and audio transcripts joined by spaces (a user turn with no transcript yet is left
  out); assistant messages are their text and audio transcripts; consecutive function calls
  become one assistant message with ``tool_calls``; function outputs become ``tool`` messages.
* ``tools``: the function tools of the response override, else of the session (key left out
  when there are none), plus ``tool_choice`` when one is set.
* ``stream: true``.

The reply is a server-sent-event stream of ``chat.completion.chunk`` objects.  Content deltas
are yielded as ``Say`` parts as they arrive, so speech can start on the first words.  Tool-call
deltas are gathered by ``index`` (the id and name come first, the arguments in pieces) and
yielded as one ``CallTool`` per call when the model finishes (``finish_reason: "tool_calls"``)
or the stream ends.  A server that ignores ``stream`` and answers with one JSON body works too.

Every failure (unreachable server, timeout, an HTTP error status, a malformed stream or an
error object inside it) raises :class:`~rtagents.local.ResponderError`, which fails this one
response and leaves the conversation going.  The API key is sent as a bearer token and is kept
out of ``repr``, error messages and anything echoed back by the server.

httpx (from ``rtagents[local]``) is imported when a brain is built; without it the constructor
raises :class:`SpeechUnavailable`.  The HTTP client is created on first use and closed by
:meth:`ChatCompletionsBrain.aclose` (or ``async with brain:``).
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import trio

from rtagents import protocol as p

from .._responders import CallTool, ResponderError, ResponseContext, ResponsePart, Say
from ._errors import SpeechUnavailable

if TYPE_CHECKING:
    import httpx

JSONDict = dict[str, Any]

_EXCERPT_CHARS = 200
#: How long to wait for the end of a body after ``data: [DONE]``.
_DRAIN_SECONDS = 0.5


@attrs.frozen
class ChatStatistics:
    """Counters of a brain: requests made, requests failed, tool calls produced, and for the
    latest reply that produced anything, the seconds from sending the request to its first
    content or tool-call delta."""

    requests: int = 0
    failures: int = 0
    tool_calls: int = 0
    first_token_seconds_last: float | None = None


def _require_httpx() -> None:
    try:
        import httpx  # noqa: F401
    except ImportError as exc:
        raise SpeechUnavailable(
            "the chat-completions brain needs httpx: pip install 'rtagents[local]'"
        ) from exc


@attrs.define
class ChatCompletionsBrain:
    """A responder backed by an OpenAI-compatible ``/chat/completions`` endpoint."""

    #: The API root, e.g. ``"http://127.0.0.1:8080/v1"``; requests go to
    #: ``{base_url}/chat/completions``.
    base_url: str
    model: str
    api_key: str | None = attrs.field(default=None, repr=False)
    #: Seconds allowed to connect, and between two pieces of the reply.
    timeout: float = 30.0
    temperature: float | None = None
    max_tokens: int | None = None

    _client: httpx.AsyncClient | None = attrs.field(default=None, init=False, repr=False)
    _requests: int = attrs.field(default=0, init=False, repr=False)
    _failures: int = attrs.field(default=0, init=False, repr=False)
    _tool_calls: int = attrs.field(default=0, init=False, repr=False)
    _first_token: float | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _require_httpx()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ChatCompletionsBrain:
        """Configure from ``RTAGENTS_CHAT_URL`` (required), ``RTAGENTS_CHAT_MODEL`` (default
        ``"local"``) and ``RTAGENTS_CHAT_API_KEY`` (else ``OPENAI_API_KEY``, but only for
        ``api.openai.com``)."""
        url = environ.get("RTAGENTS_CHAT_URL", "").strip()
        if not url:
            raise ValueError(
                "RTAGENTS_CHAT_URL is not set: give the chat-completions API root, "
                "e.g. http://127.0.0.1:8080/v1"
            )
        model = environ.get("RTAGENTS_CHAT_MODEL", "").strip() or "local"
        api_key = environ.get("RTAGENTS_CHAT_API_KEY") or None
        if api_key is None and urllib.parse.urlsplit(url).hostname == "api.openai.com":
            api_key = environ.get("OPENAI_API_KEY") or None
        return cls(base_url=url, model=model, api_key=api_key)

    # -- the responder -------------------------------------------------------------------------

    async def respond(self, context: ResponseContext) -> AsyncGenerator[ResponsePart, None]:
        try:
            async with contextlib.aclosing(self._respond(context)) as parts:
                async for part in parts:
                    if isinstance(part, CallTool):
                        self._tool_calls += 1
                    yield part
        except ResponderError:
            self._failures += 1
            raise

    async def _respond(self, context: ResponseContext) -> AsyncGenerator[ResponsePart, None]:
        import httpx

        client = self._get_client()
        body = self.request_body(context)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._requests += 1
        started = trio.current_time()
        first = True
        try:
            async with client.stream("POST", self.endpoint, json=body, headers=headers) as reply:
                if not 200 <= reply.status_code < 300:
                    text = (await reply.aread()).decode("utf-8", "replace")
                    raise ResponderError(
                        f"{self._where()} answered HTTP {reply.status_code}: {self._excerpt(text)}"
                    )
                if "application/json" in reply.headers.get("content-type", ""):
                    parts = self._parse_whole(await reply.aread())
                    if parts:
                        self._first_token = trio.current_time() - started
                    for part in parts:
                        yield part
                    return
                calls = _ToolCalls()
                lines = aiter(reply.aiter_lines())
                try:
                    async with contextlib.aclosing(self._chunks(lines)) as chunks:
                        async for chunk in chunks:
                            choices = chunk.get("choices")
                            choice = _first(choices)
                            delta = _as_dict(choice.get("delta"))
                            content = delta.get("content")
                            tool_deltas = delta.get("tool_calls")
                            if first and (content or tool_deltas):
                                first = False
                                self._first_token = trio.current_time() - started
                            if isinstance(tool_deltas, list):
                                calls.add(tool_deltas)
                            if isinstance(content, str) and content:
                                yield Say(content)
                            if choice.get("finish_reason") == "tool_calls":
                                for call in calls.flush():
                                    yield call
                    for call in calls.flush():
                        yield call
                finally:
                    await _finish(reply, lines)
        except httpx.TimeoutException as exc:
            raise ResponderError(
                f"{self._where()} timed out after {self.timeout:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.ConnectError as exc:
            raise ResponderError(
                f"cannot reach {self._where()}: {type(exc).__name__}: {self._excerpt(str(exc))}"
            ) from exc
        except httpx.HTTPError as exc:
            raise ResponderError(
                f"{self._where()} failed: {type(exc).__name__}: {self._excerpt(str(exc))}"
            ) from exc

    async def _chunks(self, lines: AsyncIterator[str]) -> AsyncGenerator[JSONDict, None]:
        """The JSON objects of an SSE stream, up to ``[DONE]`` or the end of the body.

        After ``[DONE]`` the rest of the body (normally just its end) is read for a moment, so
        that the connection can be reused.
        """
        data: list[str] = []
        ended = False
        while not ended:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                line, ended = "", True
            if line:
                if line.startswith(":"):
                    continue  # a comment or keep-alive
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value[1:] if value.startswith(" ") else value)
                continue  # event:, id:, retry: and unknown fields mean nothing here
            if not data:
                continue
            text = "\n".join(data).strip()
            data = []
            if text == "[DONE]":
                with trio.move_on_after(_DRAIN_SECONDS):
                    await _drain(lines)
                return
            chunk = self._decode(text.encode())
            error = chunk.get("error")
            if error is not None:
                raise ResponderError(f"{self._where()} reported an error: {self._error(error)}")
            yield chunk

    def _parse_whole(self, raw: bytes) -> list[ResponsePart]:
        reply = self._decode(raw)
        if reply.get("error") is not None:
            raise ResponderError(
                f"{self._where()} reported an error: {self._error(reply['error'])}"
            )
        choices = reply.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ResponderError(f"{self._where()} answered without choices")
        message = _as_dict(_as_dict(choices[0]).get("message"))
        parts: list[ResponsePart] = []
        content = message.get("content")
        if isinstance(content, str) and content:
            parts.append(Say(content))
        tool_calls = message.get("tool_calls")
        if isinstance(tool_calls, list):
            calls = _ToolCalls()
            calls.add([{"index": i, **_as_dict(c)} for i, c in enumerate(tool_calls)])
            parts.extend(calls.flush())
        return parts

    def _decode(self, raw: bytes) -> JSONDict:
        try:
            value = json.loads(raw)
        except ValueError as exc:
            text = raw.decode("utf-8", "replace")
            raise ResponderError(
                f"{self._where()} sent invalid JSON ({exc}): {self._excerpt(text)}"
            ) from None
        if not isinstance(value, dict):
            raise ResponderError(
                f"{self._where()} sent JSON that is not an object: {self._excerpt(str(value))}"
            )
        return value

    # -- the request ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"

    def request_body(self, context: ResponseContext) -> JSONDict:
        """The JSON body of the chat request for `context`."""
        params = context.params
        body: JSONDict = {
            "model": self.model,
            "messages": build_messages(context),
            "stream": True,
        }
        tools = params.tools if params is not None and isinstance(params.tools, tuple) else None
        if tools is None:
            tools = context.session.tools if isinstance(context.session.tools, tuple) else ()
        functions = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description or "",
                    "parameters": tool.parameters or {"type": "object", "properties": {}},
                },
            }
            for tool in tools
            if isinstance(tool, p.FunctionTool)
        ]
        if functions:
            body["tools"] = functions
            choice = params.tool_choice if params is not None else None
            if choice is None:
                choice = context.session.tool_choice
            if isinstance(choice, str):
                body["tool_choice"] = choice
            elif isinstance(choice, p.FunctionToolChoice):
                body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return body

    # -- resources and statistics --------------------------------------------------------------

    def _get_client(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> ChatCompletionsBrain:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def statistics(self) -> ChatStatistics:
        return ChatStatistics(
            requests=self._requests,
            failures=self._failures,
            tool_calls=self._tool_calls,
            first_token_seconds_last=self._first_token,
        )

    # -- messages that never leak the key ------------------------------------------------------

    def _where(self) -> str:
        """The endpoint for messages, without any user:password part of the URL."""
        parts = urllib.parse.urlsplit(self.endpoint)
        if parts.username is not None or parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port is not None else host
            parts = parts._replace(netloc=netloc)
        return f"chat completions at {urllib.parse.urlunsplit(parts)}"

    def _excerpt(self, text: str) -> str:
        if self.api_key:
            text = text.replace(self.api_key, "[redacted]")
        text = " ".join(text.split())
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS] + "…"
        return text or "(empty body)"

    def _error(self, error: object) -> str:
        message = _as_dict(error).get("message")
        return self._excerpt(message if isinstance(message, str) else json.dumps(error))


def build_messages(context: ResponseContext) -> list[JSONDict]:
    """The chat ``messages`` for a response context (see the module docstring)."""
    messages: list[JSONDict] = []
    params = context.params
    instructions = context.session.instructions
    if params is not None and isinstance(params.instructions, str):
        instructions = params.instructions
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    pending_calls: list[JSONDict] = []

    def flush_calls() -> None:
        if pending_calls:
            messages.append({"role": "assistant", "content": None, "tool_calls": pending_calls[:]})
            pending_calls.clear()

    for position, item in enumerate(context.conversation):
        if isinstance(item, p.FunctionCallItem):
            pending_calls.append(
                {
                    "id": item.call_id or f"call_{position}",
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments or "{}"},
                }
            )
            continue
        flush_calls()
        if isinstance(item, p.FunctionCallOutputItem):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        elif isinstance(item, p.MessageItem):
            pieces = []
            for part in item.content:
                if isinstance(part, p.InputTextContent | p.OutputTextContent):
                    text = part.text
                elif isinstance(part, p.InputAudioContent | p.OutputAudioContent):
                    text = part.transcript
                else:
                    continue  # images are not sent
                if isinstance(text, str) and text.strip():
                    pieces.append(text.strip())
            if pieces:
                messages.append({"role": item.role, "content": " ".join(pieces)})
    flush_calls()
    return messages


@attrs.define
class _ToolCalls:
    """Tool calls assembled from stream deltas, by ``index``."""

    calls: dict[int, tuple[str, list[str]]] = attrs.field(factory=dict)

    def add(self, deltas: list[Any]) -> None:
        for position, raw in enumerate(deltas):
            delta = _as_dict(raw)
            index = delta.get("index", position)
            if not isinstance(index, int):
                index = position
            function = _as_dict(delta.get("function"))
            name, arguments = self.calls.get(index, ("", []))
            if isinstance(function.get("name"), str) and function["name"]:
                name = function["name"]
            piece = function.get("arguments")
            if isinstance(piece, str):
                arguments.append(piece)
            elif isinstance(piece, dict):  # some servers send the arguments as an object
                arguments.append(json.dumps(piece))
            self.calls[index] = (name, arguments)

    def flush(self) -> list[CallTool]:
        parts = []
        for index in sorted(self.calls):
            name, arguments = self.calls[index]
            if not name:
                raise ResponderError(f"the model sent tool call #{index} without a name")
            parts.append(CallTool(name=name, arguments="".join(arguments).strip() or "{}"))
        self.calls.clear()
        return parts


def _as_dict(value: object) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _first(choices: object) -> JSONDict:
    return _as_dict(choices[0]) if isinstance(choices, list) and choices else {}


async def _drain(lines: AsyncIterator[str], limit: int = 10_000) -> None:
    """Read what is left of a finished reply (at most `limit` lines); errors no longer matter."""
    for _ in range(limit):
        try:
            await anext(lines)
        except Exception:  # StopAsyncIteration at the end, or a network error
            return


async def _finish(reply: httpx.Response, lines: AsyncIterator[str]) -> None:
    """Close `reply` and run its line iterator to its end.

    httpx and httpcore read a body through a chain of async generators, and trio warns about
    every one that is garbage collected unfinished (encode/httpx#3686).  When a response is
    abandoned midway (a barge-in cancels it, or a malformed stream ends it), closing the reply
    closes the connection; the next read then fails, and that error runs through the whole
    chain and finishes each generator.  A reply already read to its end finishes at once.
    """
    await reply.aclose()
    for _ in range(10_000):
        try:
            await anext(lines)
        except StopAsyncIteration:
            return
        except Exception:
            return
