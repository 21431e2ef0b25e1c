"""Reading what a Prefect flow recorded."""

from __future__ import annotations

import time
from typing import Any

import flowtrack
from flowtrack.entities import Run


def runs_of(experiment: str) -> list[Run]:
    flowtrack.flush()
    client = flowtrack.Client()
    return list(client.search_runs(experiment, max_results=1000).items)


def flow_run(runs: list[Run], flow_run_id: str) -> Run:
    found = [
        r
        for r in runs
        if r.data.tags.get("prefect.flow_run_id") == flow_run_id
        and "prefect.task_run_id" not in r.data.tags
    ]
    assert len(found) == 1, [r.data.tags for r in runs]
    return found[0]


def children(runs: list[Run], parent: Run) -> list[Run]:
    return [r for r in runs if r.info.parent_run_id == parent.info.run_id]


def by_task(runs: list[Run], name: str) -> list[Run]:
    return [r for r in runs if r.data.tags.get("prefect.task_name") == name]


def wait_for(check: Any, seconds: float = 90) -> Any:
    """``check()``'s first truthy answer, polled twice a second; its last answer at the end."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)
