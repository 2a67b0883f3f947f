"""Which agent a command runs: the ``AGENT`` of ``rtagents console``, ``web`` and ``serve``.

Theory of operation
-------------------
``AGENT`` names a :class:`~rtagents.RealtimeAgent`, or a factory returning one, as
``module:attribute`` (``myapp.agents:support``) or ``path/to/file.py:attribute``
(``./agent.py:build_agent``), the way uvicorn and LiveKit name an app.  The attribute may be
dotted (``myapp:agents.support``).  Without ``:attribute`` the module's ``agent`` is taken, or
else its only top-level ``RealtimeAgent``.

A module name is imported with the current directory first on ``sys.path`` (so ``rtagents web
agent:agent`` finds ``./agent.py``); a file is imported under a private module name with its own
directory on ``sys.path`` (so it can import its neighbours).  A factory is called with no
argument, or with the run context when it takes one parameter; it may be sync or async and must
return a ``RealtimeAgent``.

Every way this can fail — no such file, no such module, the module's own import failing, no such
attribute, a value of the wrong type, a factory that raises or returns something else — is an
:class:`AgentLoadError` whose message is one line naming the spec and what was wrong, for the
command line to print as is.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeAlias

from rtagents.agent import RealtimeAgent

#: What the commands run when no ``AGENT`` is given.
DEMO_AGENT = "rtagents.apps.demo_agent:demo_agent"


class AgentLoadError(ValueError):
    """``AGENT`` does not name a usable agent; the message is one line, fit to print."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and its message, whitespace folded."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _split(spec: str) -> tuple[str, str | None]:
    # rpartition, so a Windows path ("C:\\agents\\a.py:agent") keeps its drive letter.
    where, colon, attribute = spec.rpartition(":")
    if not colon or not where or ("\\" in attribute or "/" in attribute):
        return spec, None
    return where, attribute or None


def _is_path(where: str) -> bool:
    return where.endswith(".py") or os.sep in where or "/" in where


def _import_file(path_text: str, spec: str) -> ModuleType:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise AgentLoadError(f"{spec}: no file {path_text!r}")
    name = f"_rtagents_agent_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise AgentLoadError(f"{spec}: {path_text!r} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise AgentLoadError(f"{spec}: importing {path_text!r} failed: {one_line(exc)}") from exc
    return module


def _import_module(name: str, spec: str) -> ModuleType:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise AgentLoadError(f"{spec}: no module named {exc.name!r}") from exc
        raise AgentLoadError(f"{spec}: importing {name!r} failed: {one_line(exc)}") from exc
    except Exception as exc:
        raise AgentLoadError(f"{spec}: importing {name!r} failed: {one_line(exc)}") from exc


def _agents_in(module: ModuleType) -> list[str]:
    return sorted(k for k, v in vars(module).items() if isinstance(v, RealtimeAgent))


def _lookup(module: ModuleType, attribute: str | None, spec: str) -> Any:
    if attribute is None:
        if isinstance(getattr(module, "agent", None), RealtimeAgent | Callable):
            return module.agent
        found = _agents_in(module)
        if len(found) == 1:
            return getattr(module, found[0])
        hint = f"it defines {', '.join(found)}" if found else "it defines no RealtimeAgent"
        raise AgentLoadError(f"{spec}: say which agent, as {spec}:NAME ({hint})")
    value: Any = module
    walked: list[str] = []
    for part in attribute.split("."):
        if not hasattr(value, part):
            where = ".".join(walked) or module.__name__.removeprefix("_rtagents_agent_")
            found = _agents_in(module)
            hint = f" (agents there: {', '.join(found)})" if found and not walked else ""
            raise AgentLoadError(f"{spec}: {where!r} has no attribute {part!r}{hint}")
        value = getattr(value, part)
        walked.append(part)
    return value


def find_agent(spec: str) -> Any:
    """The object ``spec`` names: a ``RealtimeAgent`` or a factory (not yet called)."""
    spec = spec.strip()
    if not spec:
        raise AgentLoadError("AGENT is empty: give module:attribute or path/to/file.py:attribute")
    where, attribute = _split(spec)
    module = _import_file(where, spec) if _is_path(where) else _import_module(where, spec)
    value = _lookup(module, attribute, spec)
    if isinstance(value, RealtimeAgent) or callable(value):
        return value
    raise AgentLoadError(
        f"{spec}: is a {type(value).__name__}, not a RealtimeAgent or a function returning one"
    )


#: An agent factory: called per session (or call) with its context, sync or async.
AgentFactory: TypeAlias = Callable[..., "RealtimeAgent[Any] | Awaitable[RealtimeAgent[Any]]"]
#: What the app builders take: a spec, an agent, a factory, or None (the demo agent).
AgentLike: TypeAlias = "str | RealtimeAgent[Any] | AgentFactory | None"


def resolve_agent(agent: AgentLike) -> RealtimeAgent[Any] | AgentFactory:
    """An agent or a factory for ``agent``; a spec (``module:attr``, ``file.py:attr``; None is
    the demo agent) is imported now.  Raises :class:`AgentLoadError`."""
    if agent is None or isinstance(agent, str):
        found: RealtimeAgent[Any] | AgentFactory = find_agent(agent or DEMO_AGENT)
        return found
    if isinstance(agent, RealtimeAgent) or callable(agent):
        return agent
    raise TypeError(f"agent must be a spec, a RealtimeAgent or a factory, not {type(agent)}")


async def load_agent(spec: str | None, context: Any = None) -> RealtimeAgent[Any]:
    """The agent ``spec`` names (the demo agent for ``None``), a factory called (with
    ``context`` if it takes an argument).  Raises :class:`AgentLoadError`."""
    spec = DEMO_AGENT if spec is None else spec
    return await build_agent(find_agent(spec), context, spec)


async def build_agent(source: Any, context: Any = None, name: str = "AGENT") -> RealtimeAgent[Any]:
    """``source`` itself when it is an agent, else what the factory returns — called with
    ``context`` when it takes one argument, awaited when async (once per session or call).
    Raises :class:`AgentLoadError` naming ``name``."""
    if isinstance(source, RealtimeAgent):
        return source
    try:
        result = source(context) if _takes_an_argument(source) else source()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise AgentLoadError(f"{name}: the factory failed: {one_line(exc)}") from exc
    if not isinstance(result, RealtimeAgent):
        raise AgentLoadError(
            f"{name}: the factory returned a {type(result).__name__}, not a RealtimeAgent"
        )
    return result


def _takes_an_argument(factory: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) == 1 or (
        not positional and any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
    )
