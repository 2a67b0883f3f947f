"""The errors of tool schemas and arguments (shared by :mod:`rtagents._core.schema` and its
helpers), and pydantic's validation errors read as argument errors — without importing pydantic
unless the app already has."""

from __future__ import annotations

import sys
from typing import Any


class ToolSchemaError(TypeError):
    """A tool's signature cannot be described to the model."""


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool's schema."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def is_validation_error(error: BaseException) -> bool:
    if "pydantic_core" not in sys.modules:
        return False
    from pydantic_core import ValidationError

    return isinstance(error, ValidationError)


def argument_error(error: Any, path: str) -> ToolArgumentError:
    """A pydantic ``ValidationError`` as the model should read it."""
    problems = []
    for detail in error.errors(include_url=False):
        where = path
        for part in detail.get("loc", ()):
            where = join_path(where, part)
        problems.append((where, str(detail.get("msg", "invalid value"))))
    if len(problems) == 1:
        return ToolArgumentError(*problems[0])
    text = "; ".join(f"{where}: {msg}" if where else msg for where, msg in problems)
    failure = ToolArgumentError("", text or str(error))
    failure.path = path
    return failure
