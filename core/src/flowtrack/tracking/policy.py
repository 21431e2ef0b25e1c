"""How the module-level API treats errors and hands events on.

Tracking never breaks the user's task: a bad key, a second value for a param, an unknown run
is logged as an error naming the field and the value, and nothing is written. With
``FLOWTRACK_STRICT=1`` the same errors raise, and events are written synchronously, so a store
fault raises too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flowtrack import config
from flowtrack.errors import FlowtrackError
from flowtrack.store.events import Event
from flowtrack.tracking.context import RunState
from flowtrack.tracking.stores import get_store
from flowtrack.tracking.writer import get_writer

log = logging.getLogger("flowtrack")

P = ParamSpec("P")
T = TypeVar("T")


def report(exc: Exception) -> None:
    if config.strict_mode():
        raise exc
    log.error("flowtrack: %s", exc)


def guarded(default: T) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Run the call; on a flowtrack error report it and return ``default`` (raise if strict)."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return fn(*args, **kwargs)
            except FlowtrackError as exc:
                report(exc)
                return default

        return wrapper

    return decorate


def submit(state: RunState, events: list[Event]) -> None:
    if state.strict:
        rejections = get_store(state.uri).apply_events(events)
        if rejections:
            raise FlowtrackError("; ".join(str(r) for r in rejections))
        return
    get_writer(state.uri).submit(events)
