"""Errors of the optional speech components."""

from __future__ import annotations


class SpeechUnavailable(RuntimeError):
    """An optional speech engine is not installed or cannot be loaded.

    The message names the engine and how to get it (usually ``pip install 'rtagents[local]'``).
    """
