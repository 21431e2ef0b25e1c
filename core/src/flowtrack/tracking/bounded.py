"""Store calls made on the user's thread, bounded in time.

A few calls cannot be deferred to the writer (``start_run`` must learn the experiment's
artifact location). Each runs on a daemon thread and the caller waits at most
FLOWTRACK_FLUSH_TIMEOUT seconds; past that it is treated like an unreachable store.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flowtrack.errors import StoreUnavailableError

T = TypeVar("T")


def timeout_s() -> float:
    try:
        return float(os.environ.get("FLOWTRACK_FLUSH_TIMEOUT", "5"))
    except ValueError:
        return 5.0


def bounded(fn: Callable[[], T], timeout: float | None = None) -> T:
    limit = timeout_s() if timeout is None else timeout
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            result["error"] = exc

    thread = threading.Thread(target=target, name="flowtrack-lookup", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise StoreUnavailableError(f"the store did not answer within {limit:g} s")
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value
