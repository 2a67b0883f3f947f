"""``rtagents web``: your agent in a browser.

* :func:`create_app` — an ASGI app (Starlette) with the page at ``/`` and its WebSocket at
  ``/ws``; mount it in your own Starlette or FastAPI app, served by hypercorn's trio worker;
* :func:`add_arguments` / :func:`main` — the ``rtagents web [AGENT] --host --port`` command.

The page's wire protocol is :mod:`rtagents.web.protocol`; what the page is told about a
session, :mod:`rtagents.web.view`; the adapter, :mod:`rtagents.web.app`.  Importing this package
imports neither Starlette nor hypercorn (the ``web`` extra): :func:`create_app` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cli import add_arguments as add_arguments
from .cli import main as main

if TYPE_CHECKING:
    from .app import create_app as create_app

__all__ = ["add_arguments", "create_app", "main"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
