"""The Pipelines pages' queries: orchestrator runs (Airflow DAG runs, Prefect flow runs, later
Spark applications and Kubernetes workflows) that hold task runs, and one such run as the graph
of its task runs.

A *pipeline run* is a run whose source is an orchestrator, that has child runs, and whose
parent (if any) is not a run of the same orchestrator: a Prefect subflow is part of its flow
run's pipeline (a node linking to its own graph), an Airflow task's Spark application is a
pipeline of its own. Everything is answered by a few grouped SQL statements (no per-task store
calls), so a DAG of hundreds of tasks and a list of thousands of DAG runs open at once.

Edges come from what the adapters record on each task run: ``airflow.upstream`` (the task's
upstream task ids) and ``prefect.upstream`` (the task runs its inputs came from). A pipeline
without either (recorded by an older adapter) gets edges from its data lineage (task A wrote a
dataset version task B read), else none: the page says which.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.sql import Select

from flowtrack.entities import LifecycleStage
from flowtrack.store.base import TrackingStore
from flowtrack.ui.queries import require_sql

ORCHESTRATORS = ("airflow", "prefect", "spark", "k8s")
PAGE = 50
MAX_PAGE = 200
MAX_NAMES = 500
MAX_TASKS = 2000
# The tag naming a pipeline (dag_id, flow name); the run name where there is none.
NAME_TAGS = ("airflow.dag_id", "prefect.flow_name")
STATE_TAGS = ("airflow.state", "prefect.state")
TASK_TAGS = (
    *STATE_TAGS,
    "airflow.task_id",
    "airflow.map_index",
    "airflow.try_number",
    "airflow.upstream",
    "airflow.operator",
    "prefect.task_name",
    "prefect.task_run_id",
    "prefect.upstream",
    "prefect.attempts",
)
# Prefect's state names, as the states the page colours (Airflow's own are kept as they are).
_PREFECT = {
    "completed": "success",
    "cached": "success",
    "failed": "failed",
    "crashed": "failed",
    "cancelled": "cancelled",
    "cancelling": "cancelled",
    "running": "running",
    "retrying": "up_for_retry",
    "awaitingretry": "up_for_retry",
    "pending": "queued",
    "scheduled": "queued",
    "late": "queued",
}
_STATUS = {
    "FINISHED": "success",
    "FAILED": "failed",
    "RUNNING": "running",
    "KILLED": "cancelled",
    "SCHEDULED": "queued",
}


def _engine(store: TrackingStore) -> Any:
    return require_sql(store, "pipelines are shown")


def state_of(status: str, state_tag: str | None) -> str:
    """The state shown for a run: the orchestrator's own (its state tag), else its status's."""
    if state_tag:
        text = state_tag.strip().lower().replace(" ", "")
        return _PREFECT.get(text, text)
    return _STATUS.get(str(status), str(status).lower())


def _schema() -> Any:
    from flowtrack.store.sql import schema

    return schema


def _is_pipeline(r: Any) -> Any:
    """The SQL condition: the run ``r`` (a runs alias) is a pipeline run."""
    runs = _schema().runs
    child, parent = runs.alias("child"), runs.alias("parent")
    has_tasks = exists(
        select(1).where(
            child.c.parent_run_id == r.c.run_id,
            child.c.lifecycle_stage == LifecycleStage.ACTIVE,
        )
    )
    in_same_orchestrator = exists(
        select(1).where(
            parent.c.run_id == r.c.parent_run_id, parent.c.source_type == r.c.source_type
        )
    )
    return and_(
        r.c.source_type.in_(ORCHESTRATORS),
        r.c.lifecycle_stage == LifecycleStage.ACTIVE,
        has_tasks,
        or_(r.c.parent_run_id.is_(None), ~in_same_orchestrator),
    )


def _named(r: Any) -> tuple[Any, Any]:
    """(the runs alias outer-joined to its name tag, the name expression)."""
    tags = _schema().tags.alias("name_tag")
    joined = r.outerjoin(tags, and_(tags.c.run_id == r.c.run_id, tags.c.key.in_(NAME_TAGS)))
    return joined, func.coalesce(tags.c.value, r.c.run_name)


def _where(
    query: Select[Any],
    r: Any,
    name_expr: Any,
    source: str | None,
    name: str | None,
    experiment_ids: Sequence[str] | None,
) -> Select[Any]:
    query = query.where(_is_pipeline(r))
    if source:
        query = query.where(r.c.source_type == source)
    if name:
        query = query.where(name_expr == name)
    if experiment_ids is not None:
        query = query.where(r.c.experiment_id.in_([int(e) for e in experiment_ids]))
    return query


def pipeline_runs(
    store: TrackingStore,
    *,
    source: str | None = None,
    name: str | None = None,
    offset: int = 0,
    limit: int = PAGE,
    experiment_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One page of pipeline runs, newest first: {"pipelines": [...], "total", "offset",
    "limit", "names": [{"source", "name", "runs"}]}. ``experiment_ids`` (None: all) limits
    them to the experiments the caller may read."""
    engine = _engine(store)
    r = _schema().runs.alias("r")
    joined, name_expr = _named(r)
    columns = (
        r.c.run_id,
        r.c.run_name,
        r.c.experiment_id,
        r.c.status,
        r.c.start_time,
        r.c.end_time,
        r.c.source_type,
        name_expr.label("name"),
    )
    page = _where(select(*columns).select_from(joined), r, name_expr, source, name, experiment_ids)
    page = page.order_by(r.c.start_time.desc(), r.c.run_id.desc()).offset(offset).limit(limit)
    names = _where(
        select(r.c.source_type, name_expr, func.count()).select_from(joined),
        r,
        name_expr,
        None,
        None,
        experiment_ids,
    )
    # Every (source, name) with its number of runs: the filters' choices, and the total (one
    # scan fewer than a count of its own).
    names = names.group_by(r.c.source_type, name_expr).order_by(name_expr)
    with engine.connect() as conn:
        rows = list(conn.execute(page))
        facets = [{"source": s, "name": n, "runs": int(c)} for s, n, c in conn.execute(names)]
        total = sum(
            f["runs"]
            for f in facets
            if (not source or f["source"] == source) and (not name or f["name"] == name)
        )
        ids = [row.run_id for row in rows]
        own = _tag_values(conn, ids, STATE_TAGS)
        counts = _task_counts(conn, ids)
    return {
        "pipelines": [
            {
                "run_id": row.run_id,
                "run_name": row.run_name,
                "name": row.name,
                "experiment_id": str(row.experiment_id),
                "source_type": row.source_type,
                "status": row.status,
                "state": state_of(row.status, _first(own.get(row.run_id, {}))),
                "start_time": row.start_time,
                "end_time": row.end_time,
                "tasks": counts.get(row.run_id, {}),
            }
            for row in rows
        ],
        "total": total,
        "offset": offset,
        "limit": limit,
        "names": facets[:MAX_NAMES],
    }


def _first(tags: dict[str, str]) -> str | None:
    return next((tags[k] for k in STATE_TAGS if tags.get(k)), None)


def _tag_values(
    conn: Any, run_ids: Iterable[str] | Any, keys: Sequence[str]
) -> dict[str, dict[str, str]]:
    """run id -> {key: value} for the given keys (``run_ids`` a list or a SELECT of ids)."""
    t = _schema().tags.c
    query = select(t.run_id, t.key, t.value).where(t.run_id.in_(run_ids), t.key.in_(keys))
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for run_id, key, value in conn.execute(query):
        found[run_id][key] = value
    return found


def _task_counts(conn: Any, parent_ids: Sequence[str] | Any) -> dict[str, dict[str, int]]:
    """parent run id -> {state: number of its active child runs in that state}."""
    if isinstance(parent_ids, list) and not parent_ids:
        return {}
    schema = _schema()
    c = schema.runs.alias("task")
    t = schema.tags.alias("state_tag")
    query = (
        select(c.c.parent_run_id, c.c.status, t.c.key, t.c.value, func.count())
        .select_from(c.outerjoin(t, and_(t.c.run_id == c.c.run_id, t.c.key.in_(STATE_TAGS))))
        .where(c.c.parent_run_id.in_(parent_ids), c.c.lifecycle_stage == LifecycleStage.ACTIVE)
        .group_by(c.c.parent_run_id, c.c.status, t.c.key, t.c.value)
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for parent, status, _key, value, n in conn.execute(query):
        counts[parent][state_of(status, value)] += int(n)
    return {p: dict(sorted(c.items())) for p, c in counts.items()}


# -- one pipeline run --------------------------------------------------------------------------


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _ids(text: str | None) -> list[str]:
    return [p for p in (text or "").split(",") if p]


def _task(row: Any, tags: dict[str, str], subflow: dict[str, int] | None) -> dict[str, Any]:
    ref = json.loads(row.source_ref or "{}")
    map_index = _int(tags.get("airflow.map_index"))
    tries = _int(tags.get("airflow.try_number")) or _int(tags.get("prefect.attempts"))
    return {
        "run_id": row.run_id,
        "run_name": row.run_name,
        "experiment_id": str(row.experiment_id),
        "source_type": row.source_type,
        "task": tags.get("airflow.task_id") or tags.get("prefect.task_name") or row.run_name,
        "map_index": map_index if map_index is not None and map_index >= 0 else None,
        "try_number": tries,
        "operator": tags.get("airflow.operator"),
        "status": row.status,
        "state": state_of(row.status, _first(tags)),
        "start_time": row.start_time,
        "end_time": row.end_time,
        "subflow": subflow,
        "url": ref.get("url") if isinstance(ref.get("url"), str) else None,
    }


def _recorded_edges(
    tasks: list[dict[str, Any]], tags: dict[str, dict[str, str]]
) -> set[tuple[str, str]] | None:
    """Edges from the upstream tags, or None when no task has one."""
    if not any(
        "airflow.upstream" in tags[t["run_id"]] or "prefect.upstream" in tags[t["run_id"]]
        for t in tasks
    ):
        return None
    by_task_id: dict[str, list[str]] = defaultdict(list)
    by_prefect_id: dict[str, str] = {}
    for t in tasks:
        own = tags[t["run_id"]]
        if "airflow.task_id" in own:
            by_task_id[own["airflow.task_id"]].append(t["run_id"])
        if "prefect.task_run_id" in own:
            by_prefect_id[own["prefect.task_run_id"]] = t["run_id"]
    edges: set[tuple[str, str]] = set()
    for t in tasks:
        own = tags[t["run_id"]]
        for upstream in _ids(own.get("airflow.upstream")):
            edges.update((u, t["run_id"]) for u in by_task_id.get(upstream, []))
        for upstream in _ids(own.get("prefect.upstream")):
            if upstream in by_prefect_id:
                edges.add((by_prefect_id[upstream], t["run_id"]))
    return edges


def _lineage_edges(conn: Any, run_ids: Any) -> set[tuple[str, str]]:
    """Task A -> task B where B read a dataset version A wrote."""
    d = _schema().run_datasets.c
    writers: dict[str, set[str]] = defaultdict(set)
    readers: dict[str, set[str]] = defaultdict(set)
    query = select(d.run_id, d.version_id, d.direction).where(d.run_id.in_(run_ids))
    for run_id, version_id, direction in conn.execute(query):
        (writers if direction == "output" else readers)[version_id].add(run_id)
    return {
        (w, r)
        for version, ws in writers.items()
        for w in ws
        for r in readers.get(version, ())
        if w != r
    }


def pipeline(store: TrackingStore, run_id: str) -> dict[str, Any]:
    """A pipeline run and its task runs: {"run", "tasks", "edges", "edges_from", "truncated"}.

    ``edges_from`` is "recorded" (the adapters' upstream tags), "lineage" (inferred from the
    data the tasks wrote and read) or "none" (tasks are shown in start order). Unknown runs
    raise NotFoundError."""
    engine = _engine(store)
    schema = _schema()
    runs = schema.runs.c
    root = store.get_run(run_id)  # NotFoundError for an unknown one
    child_ids = select(runs.run_id).where(
        runs.parent_run_id == run_id, runs.lifecycle_stage == LifecycleStage.ACTIVE
    )
    query = (
        select(
            runs.run_id,
            runs.run_name,
            runs.experiment_id,
            runs.status,
            runs.start_time,
            runs.end_time,
            runs.source_type,
            runs.source_ref,
        )
        .where(runs.parent_run_id == run_id, runs.lifecycle_stage == LifecycleStage.ACTIVE)
        .order_by(runs.start_time, runs.run_name, runs.run_id)
        .limit(MAX_TASKS + 1)
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query))
        truncated = len(rows) > MAX_TASKS
        rows = rows[:MAX_TASKS]
        tags = _tag_values(conn, child_ids, TASK_TAGS)
        nested = _task_counts(conn, child_ids)
        root_tags = _tag_values(conn, [run_id], (*STATE_TAGS, *NAME_TAGS)).get(run_id, {})
        parent = None
        if root.info.parent_run_id:
            parent = conn.execute(
                select(runs.run_id, runs.run_name, runs.source_type, runs.experiment_id).where(
                    runs.run_id == root.info.parent_run_id
                )
            ).first()
        tasks = [_task(row, tags.get(row.run_id, {}), nested.get(row.run_id)) for row in rows]
        all_tags = {t["run_id"]: tags.get(t["run_id"], {}) for t in tasks}
        edges = _recorded_edges(tasks, all_tags)
        edges_from = "recorded"
        if edges is None:
            edges = _lineage_edges(conn, child_ids)
            edges_from = "lineage" if edges else "none"
    kept = {t["run_id"] for t in tasks}
    info = root.info
    counts: dict[str, int] = defaultdict(int)
    for t in tasks:
        counts[t["state"]] += 1
    return {
        "run": {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "name": next((root_tags[k] for k in NAME_TAGS if root_tags.get(k)), info.run_name),
            "experiment_id": info.experiment_id,
            "source_type": info.source_type,
            "status": str(info.status),
            "state": state_of(str(info.status), _first(root_tags)),
            "start_time": info.start_time,
            "end_time": info.end_time,
            "parent": {
                "run_id": parent.run_id,
                "run_name": parent.run_name,
                "experiment_id": str(parent.experiment_id),
                "pipeline": parent.source_type == info.source_type,
            }
            if parent is not None
            else None,
            "tasks": dict(sorted(counts.items())),
        },
        "tasks": tasks,
        "edges": [{"source": s, "target": t} for s, t in sorted(edges) if s in kept and t in kept],
        "edges_from": edges_from,
        "truncated": truncated,
    }


def keep_readable(found: dict[str, Any], readable: set[str]) -> dict[str, Any]:
    """The pipeline without the task runs in experiments the caller may not read."""
    found["tasks"] = [t for t in found["tasks"] if t["experiment_id"] in readable]
    kept = {t["run_id"] for t in found["tasks"]}
    found["edges"] = [e for e in found["edges"] if e["source"] in kept and e["target"] in kept]
    parent = found["run"]["parent"]
    if parent is not None and parent["experiment_id"] not in readable:
        found["run"]["parent"] = None
    return found
