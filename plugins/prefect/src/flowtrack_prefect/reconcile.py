"""Ending the runs of flow runs that nothing is left to end: Prefect is asked how they ended.

A flow run's own process ends its runs, and Prefect's runner ends them when it cancels the
flow run or sees its process crash (`recorder._end_elsewhere`). When both are gone (a machine
lost, both killed), no hook of Prefect's runs anywhere (Prefect issues #16436, #17259, #22766)
and the runs would stay RUNNING. Prefect's API still learns how the flow run ended: a user
cancels it, its zombie detection marks it Crashed once its heartbeats stop. `reconcile` reads
that back: for every RUNNING run tagged with a ``prefect.flow_run_id`` or
``prefect.task_run_id``, it reads the flow run (and the task run) from the Prefect API and
ends the run as Prefect says, at the time of Prefect's state.

A run is ended only when that state is final (or Cancelling) and at least ``grace_s`` old: a
live process ends its own runs soon after Prefect's final state (it may wait up to a minute
for versioning first), and its own end must win. A task run that Prefect does not know as
ended (its last states can die with its process) ends as its flow run did.

It runs once in the background of each process where a tracked flow starts (bounded in time,
on a daemon thread: it never delays the flow), and on demand as ``flowtrack prefect
reconcile``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowtrack_prefect.params import truncate

if TYPE_CHECKING:
    from flowtrack.entities import Run
    from flowtrack.store.base import TrackingStore

log = logging.getLogger("flowtrack.prefect")

ENV_AUTO = "FLOWTRACK_PREFECT_RECONCILE"  # "0" turns the background pass off
ENV_GRACE = "FLOWTRACK_PREFECT_RECONCILE_GRACE"  # seconds
DEFAULT_GRACE_S = 300.0
BACKGROUND_BUDGET_S = 30.0
BACKGROUND_MAX_RUNS = 1000
REQUEST_TIMEOUT_S = 10.0
_CHUNK = 200  # ids per Prefect API query: its default page limit
_OFF = ("0", "false", "no", "off")
RECONCILED_TAG = "flowtrack.prefect.reconciled"
LOCAL = "its flow run is recorded by this process"

# Prefect state type -> flowtrack status, for the states after which nothing runs.
_ENDS = {
    "COMPLETED": "FINISHED",
    "FAILED": "FAILED",
    "CRASHED": "FAILED",
    "CANCELLED": "KILLED",
    "CANCELLING": "KILLED",
}


@dataclass(frozen=True)
class PrefectState:
    """The part of a Prefect flow or task run's current state that decides a run's end."""

    type: str  # StateType value: "RUNNING", "CRASHED", ...
    name: str
    message: str
    timestamp_ms: int

    @property
    def status(self) -> str | None:
        return _ENDS.get(self.type)


@dataclass(frozen=True)
class Outcome:
    """What reconciling did (or, with dry_run, would do) to one RUNNING run."""

    run_id: str
    run_name: str
    flow_run_id: str | None
    task_run_id: str | None
    status: str | None = None  # FINISHED, FAILED or KILLED; None: the run stays RUNNING
    end_time: int | None = None  # ms since the epoch
    state: PrefectState | None = None  # the Prefect state that decided the end
    whose: str = ""  # "task run" or "flow run": whose state that is
    note: str = ""  # why the run is left RUNNING

    @property
    def reason(self) -> str:
        if self.state is None:
            return self.note
        message = f": {self.state.message}" if self.state.message else ""
        return f"{self.whose} {self.state.name}{message}"


def grace_from_env(default: float = DEFAULT_GRACE_S) -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_GRACE, default)))
    except ValueError:
        log.warning("flowtrack: %s must be a number of seconds; using %s", ENV_GRACE, default)
        return default


def reconcile(
    *,
    tracking_uri: str | None = None,
    experiments: Sequence[str] | None = None,
    grace_s: float = DEFAULT_GRACE_S,
    dry_run: bool = False,
    max_runs: int | None = None,
    deadline: float | None = None,
    skip: Collection[str] = (),
) -> list[Outcome]:
    """End the RUNNING Prefect runs whose flow (task) run has ended in Prefect.

    ``experiments``: names or ids to look in (default: every active experiment).
    ``deadline``: a `time.monotonic` value after which no more Prefect queries are made;
    the runs not read by then are left alone. ``skip``: flow run ids whose runs are left
    alone (read when each run is decided). Returns one outcome per RUNNING run found.
    """
    from flowtrack import config
    from flowtrack.tracking.stores import get_store

    uri = config.normalize_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
    store = get_store(uri)
    runs = running_runs(store, experiments, max_runs)
    if not runs:
        return []
    flow_ids = {r.data.tags["prefect.flow_run_id"] for r in runs if _tag(r, "flow")}
    task_ids = {r.data.tags["prefect.task_run_id"] for r in runs if _tag(r, "task")}
    flow_states, task_states = read_states(flow_ids, task_ids, deadline)
    now_ms = int(time.time() * 1000)
    outcomes = [
        Outcome(r.info.run_id, r.info.run_name, _tag(r, "flow"), _tag(r, "task"), note=LOCAL)
        if _tag(r, "flow") in skip
        else decide(r, flow_states, task_states, now_ms, int(grace_s * 1000))
        for r in runs
    ]
    if not dry_run:
        end_runs(store, outcomes)
    return outcomes


def _tag(run: Run, kind: str) -> str | None:
    return run.data.tags.get(f"prefect.{kind}_run_id") or None


def running_runs(
    store: TrackingStore, experiments: Sequence[str] | None = None, limit: int | None = None
) -> list[Run]:
    """The RUNNING runs tagged with a Prefect flow or task run id, at most ``limit``."""
    ids = _experiment_ids(store, experiments)
    found: dict[str, Run] = {}
    if not ids:
        return []
    for key in ("prefect.flow_run_id", "prefect.task_run_id"):
        query = f"attributes.status = 'RUNNING' and tags.`{key}` LIKE '%'"
        token: str | None = None
        while limit is None or len(found) < limit:
            page = store.search_runs(ids, query, max_results=1000, page_token=token)
            for run in page.items:
                found.setdefault(run.info.run_id, run)
            token = page.token
            if not token:
                break
    runs = list(found.values())
    return runs if limit is None else runs[:limit]


def _experiment_ids(store: TrackingStore, experiments: Sequence[str] | None) -> list[str]:
    from flowtrack.errors import NotFoundError

    if experiments:
        ids = []
        for item in experiments:
            experiment = store.get_experiment_by_name(item)
            if experiment is None and item.isdigit():
                experiment = store.get_experiment(item)
            if experiment is None:
                raise NotFoundError(
                    "experiment", item, "list them with `flowtrack experiments list`"
                )
            ids.append(experiment.experiment_id)
        return ids
    ids, token = [], None
    while True:
        page = store.search_experiments(max_results=1000, page_token=token)
        ids += [e.experiment_id for e in page.items]
        token = page.token
        if not token:
            return ids


def read_states(
    flow_run_ids: set[str], task_run_ids: set[str], deadline: float | None = None
) -> tuple[dict[str, PrefectState], dict[str, PrefectState]]:
    """The current states of these flow runs and task runs in the Prefect API, by id.

    Ids Prefect does not know (or that are not UUIDs) are missing from the answer.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterId,
    )

    flows: dict[str, PrefectState] = {}
    tasks: dict[str, PrefectState] = {}
    with get_client(sync_client=True, httpx_settings={"timeout": REQUEST_TIMEOUT_S}) as client:
        for chunk in _chunks(flow_run_ids, deadline):
            for flow_run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=len(chunk)
            ):
                _keep(flows, flow_run)
        for chunk in _chunks(task_run_ids, deadline):
            for task_run in client.read_task_runs(
                task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=chunk)), limit=len(chunk)
            ):
                _keep(tasks, task_run)
    return flows, tasks


def _chunks(ids: set[str], deadline: float | None) -> Iterator[list[uuid.UUID]]:
    valid = []
    for text in sorted(ids):
        try:
            valid.append(uuid.UUID(text))
        except ValueError:
            log.warning("flowtrack: %r is not a Prefect run id; its runs are left alone", text)
    for start in range(0, len(valid), _CHUNK):
        if deadline is not None and time.monotonic() > deadline:
            log.info("flowtrack: reconciling stopped at its time budget")
            return
        yield valid[start : start + _CHUNK]


def _keep(states: dict[str, PrefectState], prefect_run: Any) -> None:
    state = prefect_run.state
    if state is None:
        return
    stamp = state.timestamp
    if stamp.tzinfo is None:  # Prefect's are aware; a naive one would be UTC
        stamp = stamp.replace(tzinfo=dt.UTC)
    states[str(prefect_run.id)] = PrefectState(
        type=str(getattr(state.type, "value", state.type)),
        name=state.name or str(getattr(state.type, "value", state.type)).title(),
        message=state.message or "",
        timestamp_ms=int(stamp.timestamp() * 1000),
    )


def decide(
    run: Run,
    flow_states: dict[str, PrefectState],
    task_states: dict[str, PrefectState],
    now_ms: int,
    grace_ms: int,
) -> Outcome:
    """How one RUNNING run ends, from its task run's state, else its flow run's."""
    flow_run_id, task_run_id = _tag(run, "flow"), _tag(run, "task")
    own = task_states.get(task_run_id) if task_run_id else None
    flow = flow_states.get(flow_run_id) if flow_run_id else None
    chosen, whose = None, ""
    if own is not None and own.status:
        chosen, whose = own, "task run"
    elif flow is not None and flow.status:
        chosen, whose = flow, "flow run"
    ids = (run.info.run_id, run.info.run_name, flow_run_id, task_run_id)
    if chosen is None:
        known = own or flow
        if known is None:
            return Outcome(*ids, note="not found in the Prefect API")
        kind = "task run" if known is own else "flow run"
        return Outcome(*ids, note=f"{kind} is {known.name} in Prefect")
    if now_ms - chosen.timestamp_ms < grace_ms:
        return Outcome(*ids, note=f"{whose} {chosen.name} less than the grace period ago")
    end_time = max(chosen.timestamp_ms, run.info.start_time or 0)
    return Outcome(*ids, chosen.status, end_time, chosen, whose)


def end_runs(store: TrackingStore, outcomes: Sequence[Outcome]) -> None:
    """Write the ends that `decide` chose: Prefect's state as tags, then the status.

    The runs are read again first: one that its own process ended meanwhile keeps its end.
    """
    chosen = [o for o in outcomes if o.status is not None]
    if not chosen:
        return
    runs = store.get_runs([o.run_id for o in chosen])
    still = {r.info.run_id for r in runs if r.info.status == "RUNNING"}
    events: list[dict[str, Any]] = []
    for outcome in chosen:
        if outcome.run_id not in still:
            continue
        state = outcome.state
        assert state is not None  # set with every status
        tags = {
            "prefect.state": state.name,
            RECONCILED_TAG: f"from the {outcome.whose}'s state in Prefect",
        }
        if state.message:
            tags["prefect.state_message"] = truncate(state.message, 8000)
        if outcome.status == "FAILED":
            tags["flowtrack.error"] = truncate(f"Prefect {outcome.reason}", 8000)
        events += [
            {"op": "tag", "run_id": outcome.run_id, "key": k, "value": v} for k, v in tags.items()
        ]
        events.append(
            {
                "op": "update_run",
                "run_id": outcome.run_id,
                "status": outcome.status,
                "end_time": outcome.end_time,
            }
        )
    if events:
        for rejection in store.apply_events(events):
            log.warning("flowtrack: reconciling: %s", rejection)


# -- once per process, in the background ------------------------------------------------------

_background: list[threading.Thread] = []
_background_lock = threading.Lock()
# Flow runs this process records, noted while its pass runs: their runs are its own to end
# (Prefect may already say Completed while the process is still writing their ends).
_local: set[str] = set()


def start_background() -> threading.Thread | None:
    """Reconcile once in this process, on a daemon thread, within BACKGROUND_BUDGET_S."""
    if os.environ.get(ENV_AUTO, "").strip().lower() in _OFF:
        return None
    from flowtrack import config

    uri = config.get_tracking_uri()
    with _background_lock:
        if _background:
            return None
        thread = threading.Thread(
            target=_background_pass, args=(uri,), name="flowtrack-prefect-reconcile", daemon=True
        )
        _background.append(thread)
    thread.start()
    return thread


def note_local(flow_run_id: str) -> None:
    """Leave the runs of this flow run (recorded by this process) to this process."""
    with _background_lock:
        if _background and _background[0].is_alive():
            _local.add(flow_run_id)


def wait_background(timeout: float) -> bool:
    """Wait for this process's background pass (tests, scripts); True if it is done."""
    with _background_lock:
        threads = list(_background)
    for thread in threads:
        thread.join(timeout)
    return not any(t.is_alive() for t in threads)


def _background_pass(tracking_uri: str) -> None:
    try:
        outcomes = reconcile(
            tracking_uri=tracking_uri,
            grace_s=grace_from_env(),
            max_runs=BACKGROUND_MAX_RUNS,
            deadline=time.monotonic() + BACKGROUND_BUDGET_S,
            skip=_local,
        )
    except Exception as exc:  # a store or Prefect API that is down: the next process retries
        log.info("flowtrack: could not reconcile Prefect runs: %s", exc)
        return
    finally:
        with _background_lock:
            _local.clear()
    ended = [o for o in outcomes if o.status]
    if ended:
        log.info(
            "flowtrack: ended %d run(s) whose Prefect flow runs had ended: %s",
            len(ended),
            ", ".join(f"{o.run_id} {o.status}" for o in ended),
        )
