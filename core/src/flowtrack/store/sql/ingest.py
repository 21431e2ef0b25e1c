"""Applying a batch of events in one transaction: the write path of the SQL store.

One SELECT learns the state of every run the batch touches, then each table gets one bulk
statement, so a batch of 10,000 metrics costs about what SQLite's own insert rate allows.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from flowtrack.entities import LifecycleStage, RunStatus
from flowtrack.store.events import Event, Rejection
from flowtrack.store.sql import schema
from flowtrack.store.sql.dialect import insert_ignore, upsert

ExperimentResolver = Callable[[Connection, Event], int]
ArtifactUriFor = Callable[[Connection, int, str], str]


def apply_events(
    conn: Connection,
    events: Sequence[Event],
    resolve_experiment: ExperimentResolver,
    artifact_uri_for: ArtifactUriFor,
) -> list[Rejection]:
    rejections: list[Rejection] = []
    run_ids = {e["run_id"] for e in events if "run_id" in e}
    state = _run_states(conn, run_ids)
    existing_params = _existing_params(conn, [e for e in events if e["op"] == "param"])

    new_runs: list[dict[str, Any]] = []
    params: dict[tuple[str, str], dict[str, Any]] = {}
    tags: dict[tuple[str, str], dict[str, Any]] = {}
    deleted_tags: list[tuple[str, str]] = []
    metrics: list[dict[str, Any]] = []
    updates: dict[str, dict[str, Any]] = {}

    for event in events:
        op = event["op"]
        run_id: str = event["run_id"]
        if op == "create_run":
            if run_id in state:
                continue  # created by an earlier delivery of the same event: idempotent
            row = _run_row(conn, event, resolve_experiment, artifact_uri_for)
            new_runs.append(row)
            state[row["run_id"]] = (row["status"], row["lifecycle_stage"])
            for key, value in (event.get("tags") or {}).items():
                tags[(row["run_id"], key)] = {"run_id": row["run_id"], "key": key, "value": value}
            continue
        if op == "artifacts":
            continue  # the files are stored already; the event exists for the plugins
        problem = _refusal(op, state.get(run_id))
        if problem:
            rejections.append(Rejection(event, problem))
            continue
        if op == "metric":
            value = event["value"]
            metrics.append(
                {
                    "run_id": run_id,
                    "key": event["key"],
                    "value": None if math.isnan(value) else value,
                    "timestamp": event["timestamp"],
                    "step": event["step"],
                }
            )
        elif op == "param":
            key = (run_id, event["key"])
            known = existing_params.get(key, params.get(key, {}).get("value"))
            if known is None:
                params[key] = {"run_id": run_id, "key": event["key"], "value": event["value"]}
            elif known != event["value"]:
                rejections.append(
                    Rejection(
                        event,
                        f"param {event['key']!r} already has value {known!r}; params are "
                        f"immutable, so {event['value']!r} was not logged (use a new key or "
                        "a new run)",
                    )
                )
        elif op == "tag":
            tags[(run_id, event["key"])] = {
                "run_id": run_id,
                "key": event["key"],
                "value": event["value"],
            }
        elif op == "delete_tag":
            tags.pop((run_id, event["key"]), None)
            deleted_tags.append((run_id, event["key"]))
        elif op == "update_run":
            change: dict[str, Any] = {
                k: event[k] for k in ("status", "end_time", "run_name") if k in event
            }
            if change.get("status") == RunStatus.RUNNING:
                change["end_time"] = None
            updates.setdefault(run_id, {}).update(change)
            status, stage = state[run_id]
            state[run_id] = (change.get("status", status), stage)

    if new_runs:
        conn.execute(schema.runs.insert(), new_runs)
    _write_rows(conn, params, tags, deleted_tags, metrics, updates)
    return rejections


def _write_rows(
    conn: Connection,
    params: dict[tuple[str, str], dict[str, Any]],
    tags: dict[tuple[str, str], dict[str, Any]],
    deleted_tags: list[tuple[str, str]],
    metrics: list[dict[str, Any]],
    updates: dict[str, dict[str, Any]],
) -> None:
    insert_ignore(conn, schema.params, list(params.values()), ["run_id", "key"])
    t = schema.tags
    for run_id, key in deleted_tags:
        conn.execute(t.delete().where(t.c.run_id == run_id, t.c.key == key))
    upsert(conn, t, list(tags.values()), ["run_id", "key"], ["value"])
    if metrics:
        conn.execute(schema.metrics.insert(), metrics)
        upsert(
            conn,
            schema.latest_metrics,
            _latest(metrics),
            ["run_id", "key"],
            ["value", "timestamp", "step"],
            where=_is_newer,
        )
    for run_id, change in updates.items():
        conn.execute(schema.runs.update().where(schema.runs.c.run_id == run_id).values(**change))


def _is_newer(excluded: Any) -> Any:
    # MLflow's rule: the latest value is the one at the highest step, then the latest time.
    lm = schema.latest_metrics.c
    return or_(
        excluded.step > lm.step,
        and_(excluded.step == lm.step, excluded.timestamp >= lm.timestamp),
    )


def _latest(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for m in metrics:
        k = (m["run_id"], m["key"])
        b = best.get(k)
        if b is None or (m["step"], m["timestamp"]) >= (b["step"], b["timestamp"]):
            best[k] = m
    return list(best.values())


def _refusal(op: str, state: tuple[str, str] | None) -> str | None:
    if state is None:
        return "the run does not exist (start it with flowtrack.start_run first)"
    status, stage = state
    if stage == LifecycleStage.DELETED:
        return "the run is deleted; restore it with `flowtrack runs restore` to log to it"
    if op != "update_run" and status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED):
        return f"the run is {status}; resume it with flowtrack.start_run(run_id=...) to log more"
    return None


def _run_states(conn: Connection, run_ids: set[str]) -> dict[str, tuple[str, str]]:
    if not run_ids:
        return {}
    r = schema.runs.c
    rows = conn.execute(select(r.run_id, r.status, r.lifecycle_stage).where(r.run_id.in_(run_ids)))
    return {row.run_id: (row.status, row.lifecycle_stage) for row in rows}


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
