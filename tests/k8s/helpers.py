"""Waiting for the watcher and reading what it recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import flowtrack

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30.0, what: str = "") -> T:
    """``check()``'s first truthy result within ``timeout`` seconds (assertions retried)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
            if found:
                return found
        except (AssertionError, flowtrack.NotFoundError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what} (last: {last!r})")


def k8s_runs(experiment: str = "Default") -> list[Any]:
    flowtrack.flush(10)
    client = flowtrack.Client()
    try:
        runs = client.search_runs(experiment, max_results=1000)
    except flowtrack.NotFoundError:
        return []
    return [r for r in runs.items if r.info.source_type == "k8s"]


def run_of(job: dict[str, Any], experiment: str = "Default") -> Any:
    uid = job["metadata"]["uid"]
    found = [r for r in k8s_runs(experiment) if r.data.tags.get("k8s.uid") == uid]
    return found[0] if found else None


def ended_run(job: dict[str, Any], experiment: str = "Default", timeout: float = 30.0) -> Any:
    def check() -> Any:
        run = run_of(job, experiment)
        return run if run is not None and run.info.status != "RUNNING" else None

    return eventually(check, timeout, f"the run of Job {job['metadata']['name']} ends")
