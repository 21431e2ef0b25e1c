"""A task's Airflow assets as versioned data: inlets as inputs, outlets as outputs of its run.

Local files (``file://`` URIs or plain paths) are versioned by content; other URLs (``s3://``
...) by a reference fingerprint of their metadata, through fsspec. Hashing runs on one
background thread per process, in a copy of the task's context (so the versions land in the
task's run), never on the task's path; the task process waits for it before it exits
(`wait`). A task's end is queued behind its versioning, since the store takes no datasets for
a run that has ended.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

log = logging.getLogger("flowtrack.airflow")

# How long a task process's exit waits for its versioning (hashing large files).
WAIT_S = 60.0

_pool: list[ThreadPoolExecutor] = []
_jobs: list[Future[None]] = []


def uris(objects: Any) -> list[tuple[str, str | None]]:
    """(uri, name) of the assets among a task's inlets or outlets (aliases have no uri)."""
    found = []
    for obj in objects or ():
        uri = getattr(obj, "uri", None)
        if isinstance(uri, str) and uri:
            name = getattr(obj, "name", None)
            found.append((uri, name if isinstance(name, str) and name != uri else None))
    return found


def in_background(job: Callable[[], None]) -> None:
    """Run ``job`` after the jobs queued before it, in a copy of the caller's context."""
    if not _pool:
        _pool.append(ThreadPoolExecutor(1, thread_name_prefix="flowtrack-airflow"))
    _jobs.append(_pool[0].submit(contextvars.copy_context().run, logged(job)))


def logged(job: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:
            log.warning(
                "flowtrack: versioning a task's assets or return value failed", exc_info=True
            )

    return run


def version(found: list[tuple[str, str | None]], direction: str) -> None:
    """Log each asset as an input or output of the active run (errors are logged per asset)."""
    import flowtrack

    log_one = flowtrack.log_input if direction == "input" else flowtrack.log_output
    for uri, name in found:
        log_one(uri, name=name)


def wait(timeout: float = WAIT_S) -> bool:
    """Wait for the queued versioning; False if some is still running after ``timeout``."""
    pending = list(_jobs)
    _jobs.clear()
    if not pending:
        return True
    _, not_done = wait_for(pending, timeout=timeout)
    return not not_done
