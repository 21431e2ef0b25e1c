"""What the web UI asks that the store interface has no call for: an experiment's run counts with
its last activity, and the param, metric and tag keys its runs use (the runs table's columns).

One grouped SQL statement each on SQL stores; other stores get the same answer the slow way,
through the store interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, union_all

from flowtrack.entities import LifecycleStage, ViewType
from flowtrack.store.base import TrackingStore

# Keys beyond this many per kind are left out of the column chooser (and said so).
MAX_KEYS = 2000


def sql_engine(store: TrackingStore) -> Any | None:
    from flowtrack.store.sql.store import SqlStore

    return store.engine if isinstance(store, SqlStore) else None


def require_sql(store: TrackingStore, what: str) -> Any:
    """The SQL store's engine, or StoreUnavailableError saying ``what`` needs one."""
    from flowtrack.errors import StoreUnavailableError

    engine = sql_engine(store)
    if engine is None:
        raise StoreUnavailableError(f"{what} only on a SQL store (SQLite, PostgreSQL)")
    return engine


def run_activity(store: TrackingStore, experiment_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """experiment id -> {"runs": active runs, "last_activity": latest start or end in ms (0)}."""
    from flowtrack.store.sql import schema

    ids = [int(e) for e in experiment_ids]
    engine = sql_engine(store)
    if engine is None:
        counts = store.count_runs([str(e) for e in ids])
        return {str(e): {"runs": counts.get(str(e), 0), "last_activity": 0} for e in ids}
    r = schema.runs.c
    query = (
        select(
            r.experiment_id,
            func.count(),
            func.max(r.start_time),
            func.max(func.coalesce(r.end_time, 0)),
        )
        .where(r.experiment_id.in_(ids), r.lifecycle_stage == LifecycleStage.ACTIVE)
        .group_by(r.experiment_id)
    )
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for exp, count, started, ended in conn.execute(query):
            found[str(exp)] = {"runs": int(count), "last_activity": max(started or 0, ended or 0)}
    return {str(e): found.get(str(e), {"runs": 0, "last_activity": 0}) for e in ids}


def column_keys(store: TrackingStore, experiment_id: str) -> dict[str, Any]:
    """{"params": [...], "metrics": [...], "tags": [...], "truncated": bool}: sorted keys used by
    the experiment's active runs."""
    from flowtrack.store.sql import schema

    engine = sql_engine(store)
    if engine is None:
        return _keys_by_search(store, experiment_id)
    r = schema.runs.c
    runs = select(r.run_id).where(
        r.experiment_id == int(experiment_id), r.lifecycle_stage == LifecycleStage.ACTIVE
    )
    parts = []
    for kind, table in (
        ("params", schema.params),
        ("metrics", schema.latest_metrics),
        ("tags", schema.tags),
    ):
        parts.append(select(_kind(kind), table.c.key).where(table.c.run_id.in_(runs)).distinct())
    keys: dict[str, list[str]] = {"params": [], "metrics": [], "tags": []}
    with engine.connect() as conn:
        for kind, key in conn.execute(union_all(*parts)):
            keys[kind].append(key)
    return _finish(keys)


def _kind(kind: str) -> Any:
    from sqlalchemy import String, literal

    return literal(kind, String(8)).label("kind")


def _finish(keys: dict[str, list[str]]) -> dict[str, Any]:
    truncated = any(len(v) > MAX_KEYS for v in keys.values())
    out: dict[str, Any] = {k: sorted(set(v))[:MAX_KEYS] for k, v in keys.items()}
    out["truncated"] = truncated
    return out


def _keys_by_search(store: TrackingStore, experiment_id: str) -> dict[str, Any]:
    keys: dict[str, set[str]] = {"params": set(), "metrics": set(), "tags": set()}
    token = None
    while True:
        page = store.search_runs([experiment_id], None, None, ViewType.ACTIVE_ONLY, 1000, token)
        for run in page.items:
            keys["params"].update(run.data.params)
            keys["metrics"].update(run.data.metrics)
            keys["tags"].update(run.data.tags)
        token = page.token
        if not token:
            return _finish({k: list(v) for k, v in keys.items()})
