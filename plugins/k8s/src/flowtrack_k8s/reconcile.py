"""Runs whose Job went away while no watcher was watching.

A Job deleted while the watcher was down (``ttlSecondsAfterFinished`` removes finished Jobs
within seconds, ``kubectl delete`` anytime) is not in the next list, and no DELETED event
ever tells of it. So after each list of Jobs, the runs the store still has RUNNING for Jobs
of the watched namespaces that the list does not hold are ended KILLED, with a warning tag
that says their outcome is unknown; so are their index runs, and a CronJob's run whose Job
this was. Runs created in this term cannot be among them: the recorder handles the list
before anything the watch sees after it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator

from flowtrack import config
from flowtrack.entities import Run
from flowtrack.errors import FlowtrackError
from flowtrack.store.base import TrackingStore as Store
from flowtrack.store.events import Event

log = logging.getLogger("flowtrack.k8s")

WARNING_KEY = "k8s.warning.vanished"
WARNING = (
    "the Job was gone (deleted, or its flowtrack.dev/track label removed) when the watcher "
    "listed Jobs: it ended while no watcher was watching, so its outcome is unknown"
)
_RUNNING = "attributes.source_type = 'k8s' and attributes.status = 'RUNNING'"


def vanished_job_runs(store: Store, listed: set[str], namespace: str | None) -> list[Run]:
    """RUNNING Job runs of ``namespace`` (None: any) whose Job uid is not in ``listed``."""
    wanted = f"{_RUNNING} and tags.`k8s.kind` = 'Job'"
    if namespace is not None:
        wanted += f" and tags.`k8s.namespace` = '{namespace}'"
    return [r for r in _search(store, wanted) if r.data.tags.get("k8s.uid") not in listed]


def end_events(store: Store, run: Run) -> list[Event]:
    """The events that end ``run`` KILLED with the warning, and its running k8s relatives."""
    now = int(time.time() * 1000)
    ids = [run.info.run_id]
    children = store.get_child_run_ids(run.info.run_id)
    relatives = store.get_runs([*children, *filter(None, [run.info.parent_run_id])])
    for other in relatives:
        is_cronjob = other.data.tags.get("k8s.kind") == "CronJob"
        if other.info.status == "RUNNING" and (other.info.run_id in children or is_cronjob):
            ids.append(other.info.run_id)
    events: list[Event] = [
        {"op": "tag", "run_id": i, "key": WARNING_KEY, "value": WARNING} for i in ids
    ]
    events += [{"op": "update_run", "run_id": i, "status": "KILLED", "end_time": now} for i in ids]
    return events


def _search(store: Store, filter_string: str) -> Iterator[Run]:
    experiments: list[str] = []
    token: str | None = None
    while True:
        page = store.search_experiments(max_results=1000, page_token=token)
        experiments += [e.experiment_id for e in page.items]
        token = page.token
        if not token:
            break
    for start in range(0, len(experiments), 100):
        token = None
        while True:
            page = store.search_runs(
                experiments[start : start + 100], filter_string, max_results=1000, page_token=token
            )
            yield from page.items
            token = page.token
            if not token:
                break


def close_vanished(listed: set[str], namespace: str | None) -> int:
    """End the runs of Jobs that went away unseen; how many. Never raises: a store that is
    down or slow is retried at the next list."""
    from flowtrack.tracking.bounded import bounded
    from flowtrack.tracking.stores import get_store
    from flowtrack.tracking.writer import get_writer

    uri = config.get_tracking_uri()
    try:
        store = get_store(uri)
        stale = bounded(lambda: vanished_job_runs(store, listed, namespace))
        for run in stale:
            log.warning(
                "flowtrack: Job %s/%s: %s",
                run.data.tags.get("k8s.namespace"),
                run.data.tags.get("k8s.job"),
                WARNING,
            )
            events = bounded(functools.partial(end_events, store, run))
            get_writer(uri).submit(events)
    except FlowtrackError as exc:
        log.warning("flowtrack: runs of Jobs gone while unwatched not checked now: %s", exc)
        return 0
    return len(stale)
