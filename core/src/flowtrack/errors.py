"""Exceptions raised by flowtrack.

Every error a user can cause names the field and the value that was wrong, and says what to do.
"""

from __future__ import annotations

from typing import Any


class FlowtrackError(Exception):
    """Base class of every flowtrack error."""


class InvalidInputError(FlowtrackError, ValueError):
    """A value given to flowtrack was rejected; nothing was changed."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "...'"
        super().__init__(f"invalid {field} {shown}: {reason}")


class NotFoundError(FlowtrackError, LookupError):
    """A run, experiment or other object does not exist."""

    def __init__(self, kind: str, ident: str, hint: str = "") -> None:
        self.kind = kind
        self.ident = ident
        message = f"{kind} {ident!r} does not exist"
        super().__init__(f"{message}; {hint}" if hint else message)


class ConflictError(FlowtrackError):
    """The request contradicts what the store already holds (a param's value, a run's state)."""


class StoreUnavailableError(FlowtrackError):
    """The store could not be reached or could not write; the operation may succeed later."""


class PluginError(FlowtrackError):
    """A plugin could not be loaded or returned something unusable."""
