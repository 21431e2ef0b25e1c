"""Applying a batch of events in one transaction: the write path of the SQL store.

One SELECT learns the state of every run the batch touches, then each table gets one bulk
statement; metric points are packed into one block row per run and key (store/sql/blocks.py).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, tuple_

from flowtrack.entities import LifecycleStage, RunStatus, SourceType
from flowtrack.store.events import DIRECTIONS, Applied, Event, Rejection
from flowtrack.store.sql import schema
from flowtrack.store.sql.blocks import pack
from flowtrack.store.sql.dialect import insert_ignore, upsert

ExperimentResolver = Callable[[Connection, Event], int]
ArtifactUriFor = Callable[[Connection, int, str], str]

_TERMINAL = frozenset({RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED})


class _Batch:
    def __init__(self, conn: Connection, events: Sequence[Event]) -> None:
        self.conn = conn
        # Runs a create_run names are looked up too: one made by an earlier batch (an
        # orchestrator's processes all send the create_run of a run whose id they compute)
        # makes the create a no-op rather than a duplicate row.
        self.state, self.pending = _run_states(conn, {e["run_id"] for e in events})
        known_runs = [e for e in events if e["op"] == "param" and e["run_id"] in self.state]
        self.existing_params = _existing_params(conn, known_runs)
        self.rejections: list[Rejection] = []
        self.new_runs: list[dict[str, Any]] = []
        self.new_rows: dict[str, dict[str, Any]] = {}
        self.params: dict[tuple[str, str], dict[str, Any]] = {}
        self.tags: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted_tags: list[tuple[str, str]] = []
        self.metrics: list[Point] = []
        self.updates: dict[str, dict[str, Any]] = {}
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}
        self.links: list[Event] = []
        self.new_versions: list[str] = []

    def refuse(self, event: Event) -> bool:
        problem = _refusal(event["op"], self.state.get(event["run_id"]))
        if problem:
            self.rejections.append(Rejection(event, problem))
        return problem is not None

    def create_run(
        self, e: Event, resolve_experiment: ExperimentResolver, artifact_uri_for: ArtifactUriFor
    ) -> None:
        run_id = e["run_id"]
        provisional = e.get("source_type") == SourceType.PENDING
        if run_id in self.state:
            # An earlier delivery created it: a repeated create is a no-op, but the owner's
            # create completes a run a process logging to it made provisionally.
            if run_id in self.pending and not provisional:
                self.complete(e, _run_row(self.conn, e, resolve_experiment, artifact_uri_for))
            return
        row = _run_row(self.conn, e, resolve_experiment, artifact_uri_for)
        self.new_runs.append(row)
        self.new_rows[run_id] = row
        self.state[run_id] = (row["status"], row["lifecycle_stage"])
        if provisional:
            self.pending.add(run_id)
        self.add_tags(e)

    def complete(self, e: Event, row: dict[str, Any]) -> None:
        """The owner's create fills in a provisional run. Its status, end and artifact root
        stay: the process that made it may have ended it or written files there already."""
        run_id = e["run_id"]
        self.pending.discard(run_id)
        change = {k: row[k] for k in _COMPLETED_COLUMNS}
        new_row = self.new_rows.get(run_id)
        if new_row is not None:
            new_row.update(change)
        else:
            self.updates.setdefault(run_id, {}).update(change)
        self.add_tags(e)

    def add_tags(self, e: Event) -> None:
        for key, value in (e.get("tags") or {}).items():
            self.tag({"run_id": e["run_id"], "key": key, "value": value})

    def metric(self, e: Event) -> None:
        self.metrics.append((e["run_id"], e["key"], e["value"], e["timestamp"], e["step"]))

    def metric_set(self, e: Event) -> None:
        run_id, timestamp, step = e["run_id"], e["timestamp"], e["step"]
        self.metrics.extend((run_id, k, v, timestamp, step) for k, v in e["values"].items())

    def param(self, e: Event) -> None:
        key = (e["run_id"], e["key"])
        known = self.existing_params.get(key, self.params.get(key, {}).get("value"))
        if known is None:
            self.params[key] = {"run_id": e["run_id"], "key": e["key"], "value": e["value"]}
        elif known != e["value"]:
            self.rejections.append(
                Rejection(
                    e,
                    f"param {e['key']!r} already has value {known!r}; params are immutable, "
                    f"so {e['value']!r} was not logged (use a new key or a new run)",
                )
            )

    def tag(self, e: Event) -> None:
        self.tags[(e["run_id"], e["key"])] = {
            "run_id": e["run_id"],
            "key": e["key"],
            "value": e["value"],
        }

    def delete_tag(self, e: Event) -> None:
        self.tags.pop((e["run_id"], e["key"]), None)
        self.deleted_tags.append((e["run_id"], e["key"]))

    def update_run(self, e: Event) -> None:
        run_id = e["run_id"]
        change: dict[str, Any] = {k: e[k] for k in ("status", "end_time", "run_name") if k in e}
        if change.get("status") == RunStatus.RUNNING:
            change["end_time"] = None
        new_row = self.new_rows.get(run_id)
        if new_row is not None:
            new_row.update(change)  # created in this batch: the INSERT carries the end state
        else:
            self.updates.setdefault(run_id, {}).update(change)
        status, stage = self.state[run_id]
        self.state[run_id] = (change.get("status", status), stage)

    def dataset(self, e: Event) -> None:
        row = {c: e.get(c) for c in _VERSION_COLUMNS}
        known = self.datasets.setdefault((e["uri"], e["digest"]), row)
        if known["created_by_run_id"] is None:
            known["created_by_run_id"] = row["created_by_run_id"]

    def run_dataset(self, e: Event) -> None:
        if e.get("direction") not in DIRECTIONS:
            self.rejections.append(
                Rejection(e, f"direction {e.get('direction')!r} must be input or output")
            )
        else:
            self.links.append(e)

    def write_lineage(self) -> None:
        """Versions first (new ones inserted, a missing creator filled in), then the links."""
        conn, v = self.conn, schema.dataset_versions.c
        places = set(self.datasets) | {(e["uri"], e["digest"]) for e in self.links}
        if not places:
            return
        known = _versions_at(conn, places)
        fresh = [row for place, row in self.datasets.items() if place not in known]
        if fresh:
            insert_ignore(conn, schema.dataset_versions, fresh, ["uri", "digest"])
            known = _versions_at(conn, places)
            self.new_versions = [
                r["version_id"]
                for r in fresh
                if known.get((r["uri"], r["digest"]), ("",))[0] == r["version_id"]
            ]
        creators: dict[str, str] = {}
        for place, row in self.datasets.items():
            if row["created_by_run_id"] and place in known and known[place][1] is None:
                creators.setdefault(known[place][0], row["created_by_run_id"])
        links: dict[tuple[str, str, str], dict[str, Any]] = {}
        for e in self.links:
            found = known.get((e["uri"], e["digest"]))
            if found is None:
                self.rejections.append(
                    Rejection(
                        e,
                        f"no dataset version at {e['uri']!r} with digest {e['digest']!r}; "
                        "send its dataset event first",
                    )
                )
                continue
            version_id, creator = found
            links[(e["run_id"], version_id, e["direction"])] = {
                "run_id": e["run_id"],
                "version_id": version_id,
                "direction": e["direction"],
            }
            if e["direction"] == "output" and creator is None:
                creators.setdefault(version_id, e["run_id"])
        insert_ignore(
            conn, schema.run_datasets, list(links.values()), ["run_id", "version_id", "direction"]
        )
        for version_id, run_id in creators.items():
            conn.execute(
                schema.dataset_versions.update()
                .where(v.version_id == version_id, v.created_by_run_id.is_(None))
                .values(created_by_run_id=run_id)
            )

    def write(self) -> None:
        conn = self.conn
        if self.new_runs:
            conn.execute(schema.runs.insert(), self.new_runs)
        insert_ignore(conn, schema.params, list(self.params.values()), ["run_id", "key"])
        t = schema.tags
        for run_id, key in self.deleted_tags:
            conn.execute(t.delete().where(t.c.run_id == run_id, t.c.key == key))
        upsert(conn, t, list(self.tags.values()), ["run_id", "key"], ["value"])
        if self.metrics:
            conn.execute(schema.metric_blocks.insert(), _blocks(self.metrics))
            upsert(
                conn,
                schema.latest_metrics,
                _latest(self.metrics),
                ["run_id", "key"],
                ["value", "timestamp", "step"],
                where=_is_newer,
            )
        for run_id, change in self.updates.items():
            conn.execute(
                schema.runs.update().where(schema.runs.c.run_id == run_id).values(**change)
            )
        self.write_lineage()


def apply_events(
    conn: Connection,
    events: Sequence[Event],
    resolve_experiment: ExperimentResolver,
    artifact_uri_for: ArtifactUriFor,
) -> list[Rejection]:
    batch = _Batch(conn, events)
    handlers: dict[str, Callable[[Event], None]] = {
        "metric": batch.metric,
        "metrics": batch.metric_set,
        "param": batch.param,
        "tag": batch.tag,
        "delete_tag": batch.delete_tag,
        "update_run": batch.update_run,
        "dataset": batch.dataset,
        "run_dataset": batch.run_dataset,
    }
    # Runs already checked in this batch; any event that changes a run's state clears it.
    accepted: set[str] = set()
    for event in events:
        op = event["op"]
        run_id = event["run_id"]
        if op == "create_run":
            batch.create_run(event, resolve_experiment, artifact_uri_for)
            continue
        if op == "artifacts":
            continue  # the files are stored already; the event exists for the plugins
        if op == "update_run":
            accepted.discard(run_id)
        elif run_id not in accepted:
            if batch.refuse(event):
                continue
            accepted.add(run_id)
        if op == "update_run" and batch.refuse(event):
            continue
        handlers[op](event)
    batch.write()
    return Applied(batch.rejections, batch.new_versions)


def _is_newer(excluded: Any) -> Any:
    # MLflow's rule: the latest value is the one at the highest step, then the latest time.
    lm = schema.latest_metrics.c
    return or_(
        excluded.step > lm.step,
        and_(excluded.step == lm.step, excluded.timestamp >= lm.timestamp),
    )


Point = tuple[str, str, float, int, int]  # run_id, key, value, timestamp, step


def _blocks(metrics: list[Point]) -> list[dict[str, Any]]:
    series: dict[tuple[str, str], tuple[list[int], list[int], list[float]]] = {}
    for run_id, key, value, timestamp, step in metrics:
        s = series.get((run_id, key))
        if s is None:
            s = series[(run_id, key)] = ([], [], [])
        s[0].append(step)
        s[1].append(timestamp)
        s[2].append(value)
    return [
        {
            "run_id": run_id,
            "key": key,
            "min_step": min(steps),
            "max_step": max(steps),
            "count": len(steps),
            "data": pack(steps, stamps, values),
        }
        for (run_id, key), (steps, stamps, values) in series.items()
    ]


def _latest(metrics: list[Point]) -> list[dict[str, Any]]:
    best: dict[tuple[str, str], Point] = {}
    for m in metrics:
        k = (m[0], m[1])
        b = best.get(k)
        if b is None or (m[4], m[3]) >= (b[4], b[3]):
            best[k] = m
    return [
        {
            "run_id": m[0],
            "key": m[1],
            "value": None if math.isnan(m[2]) else m[2],
            "timestamp": m[3],
            "step": m[4],
        }
        for m in best.values()
    ]


def _refusal(op: str, state: tuple[str, str] | None) -> str | None:
    if state is None:
        return "the run does not exist (start it with flowtrack.start_run first)"
    status, stage = state
    if stage == LifecycleStage.DELETED:
        return "the run is deleted; restore it with `flowtrack runs restore` to log to it"
    if op != "update_run" and status in _TERMINAL:
        return f"the run is {status}; resume it with flowtrack.start_run(run_id=...) to log more"
    return None


_VERSION_COLUMNS = (
    "version_id",
    "name",
    "uri",
    "digest",
    "algorithm",
    "size",
    "file_count",
    "mode",
    "created_by_run_id",
    "created_time",
)


def _versions_at(
    conn: Connection, places: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(uri, digest) -> (version_id, created_by_run_id) of the versions already stored."""
    v = schema.dataset_versions.c
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    ordered = sorted(places)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        rows = conn.execute(
            select(v.uri, v.digest, v.version_id, v.created_by_run_id).where(
                tuple_(v.uri, v.digest).in_(chunk)
            )
        )
        out.update({(r.uri, r.digest): (r.version_id, r.created_by_run_id) for r in rows})
    return out


def _run_states(conn: Connection, run_ids: set[str]) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """(status, lifecycle stage) of the runs that exist, and which of them are provisional."""
    if not run_ids:
        return {}, set()
    r = schema.runs.c
    rows = conn.execute(
        select(r.run_id, r.status, r.lifecycle_stage, r.source_type).where(r.run_id.in_(run_ids))
    ).all()
    states = {row.run_id: (row.status, row.lifecycle_stage) for row in rows}
    return states, {row.run_id for row in rows if row.source_type == SourceType.PENDING}


# What the owner's create_run sets on a provisional run.
_COMPLETED_COLUMNS = (
    "experiment_id",
    "run_name",
    "parent_run_id",
    "start_time",
    "user_id",
    "source_type",
    "source_ref",
)


def _existing_params(conn: Connection, events: list[Event]) -> dict[tuple[str, str], str]:
    if not events:
        return {}
    p = schema.params.c
    run_ids = {e["run_id"] for e in events}
    keys = {e["key"] for e in events}
    rows = conn.execute(
        select(p.run_id, p.key, p.value).where(p.run_id.in_(run_ids), p.key.in_(keys))
    )
    return {(row.run_id, row.key): row.value for row in rows}


def _run_row(
    conn: Connection,
    event: Event,
    resolve_experiment: ExperimentResolver,
    artifact_uri_for: ArtifactUriFor,
) -> dict[str, Any]:
    experiment_id = resolve_experiment(conn, event)
    run_id = event["run_id"]
    return {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "run_name": event.get("run_name") or run_id[:8],
        "parent_run_id": event.get("parent_run_id"),
        "status": event.get("status", RunStatus.RUNNING),
        "start_time": event.get("start_time") or int(time.time() * 1000),
        "end_time": None,
        "lifecycle_stage": LifecycleStage.ACTIVE,
        "user_id": event.get("user_id") or "",
        "source_type": event.get("source_type") or "python",
        "source_ref": json.dumps(event.get("source_ref") or {}, sort_keys=True),
        "artifact_uri": artifact_uri_for(conn, experiment_id, run_id),
        "deleted_time": None,
    }
