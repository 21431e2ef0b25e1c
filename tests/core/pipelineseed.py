"""Pipeline runs for the Pipelines pages' tests, as the adapters record them (runs, tags and
source references written as store events: the same shape flowtrack-airflow and
flowtrack-prefect send).

- ``churn_etl``: a DAG run that failed: extract -> validate -> transform[0..2] (mapped) ->
  train (failed once, succeeded on try 2) -> evaluate (failed) -> publish (upstream_failed);
  validate -> notify (skipped). An older DAG run of the same DAG recorded before the adapter
  recorded upstream tasks, with no data between its tasks (no edges).
- ``train-flow``: a Prefect flow run: load -> fit -> score, and a subflow ``evaluate-flow``
  (its own tasks check -> report) taking fit's result.
- ``lineage-dag``: a DAG run without upstream tags whose tasks wrote and read a dataset (edges
  from lineage).
- a python run with a child run: not a pipeline.
"""

from __future__ import annotations

import uuid
from typing import Any

Event = dict[str, Any]
S = 1000  # ms


def _id() -> str:
    return uuid.uuid4().hex


def _run(
    events: list[Event],
    experiment_id: str,
    name: str,
    start: int,
    end: int | None,
    status: str,
    *,
    source: str = "python",
    ref: dict[str, Any] | None = None,
    parent: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    run_id = _id()
    events.append(
        {
            "op": "create_run",
            "run_id": run_id,
            "experiment_id": experiment_id,
            "run_name": name,
            "parent_run_id": parent,
            "start_time": start,
            "source_type": source,
            "source_ref": ref or {},
            "tags": tags or {},
        }
    )
    if end is not None:
        events.append({"op": "update_run", "run_id": run_id, "status": status, "end_time": end})
    return run_id


def _dag_run(
    events: list[Event],
    exp: str,
    dag_id: str,
    run: str,
    start: int,
    end: int,
    state: str,
) -> str:
    return _run(
        events,
        exp,
        f"{dag_id} {run}",
        start,
        end,
        "FAILED" if state == "failed" else "FINISHED",
        source="airflow",
        ref={"dag_id": dag_id, "run_id": run},
        tags={"airflow.dag_id": dag_id, "airflow.run_id": run, "airflow.state": state},
    )


def _ti(
    events: list[Event],
    exp: str,
    parent: str,
    dag_id: str,
    task_id: str,
    span: tuple[int, int],
    state: str,
    upstream: list[str] | None,
    map_index: int = -1,
    tries: int = 1,
) -> str:
    status = {"success": "FINISHED", "skipped": "FINISHED"}.get(state, "FAILED")
    tags = {
        "airflow.dag_id": dag_id,
        "airflow.task_id": task_id,
        "airflow.map_index": str(map_index),
        "airflow.try_number": str(tries),
        "airflow.state": state,
        "airflow.operator": "PythonOperator",
        "airflow.duration_s": f"{(span[1] - span[0]) / 1000:.3f}",
    }
    if upstream:  # the adapter leaves the tag out for a task without upstream tasks
        tags["airflow.upstream"] = ",".join(sorted(upstream))
    name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    ref = {"dag_id": dag_id, "task_id": task_id, "map_index": map_index, "try_number": tries}
    return _run(
        events,
        exp,
        name,
        span[0],
        span[1],
        status,
        source="airflow",
        ref=ref,
        parent=parent,
        tags=tags,
    )


def airflow_runs(events: list[Event], exp: str, t0: int, ids: dict[str, Any]) -> None:
    dag = "churn_etl"
    old = _dag_run(events, exp, dag, "scheduled__old", t0 - 3600 * S, t0 - 3500 * S, "success")
    for i, task in enumerate(("extract", "validate", "train")):
        start = t0 - 3600 * S + i * 20 * S
        _ti(events, exp, old, dag, task, (start, start + 15 * S), "success", None)
    ids["dag_old"] = old

    run = _dag_run(events, exp, dag, "manual__today", t0, t0 + 95 * S, "failed")
    ids["dag_run"] = run
    tasks: dict[str, str] = {}
    tasks["extract"] = _ti(events, exp, run, dag, "extract", (t0, t0 + 8 * S), "success", None)
    tasks["validate"] = _ti(
        events, exp, run, dag, "validate", (t0 + 9 * S, t0 + 14 * S), "success", ["extract"]
    )
    for i in range(3):
        start = t0 + 15 * S + i * S
        tasks[f"transform[{i}]"] = _ti(
            events,
            exp,
            run,
            dag,
            "transform",
            (start, start + (10 + 4 * i) * S),
            "success",
            ["validate"],
            map_index=i,
        )
    tasks["notify"] = _ti(
        events, exp, run, dag, "notify", (t0 + 15 * S, t0 + 15 * S + 300), "skipped", ["validate"]
    )
    tasks["train"] = _ti(
        events,
        exp,
        run,
        dag,
        "train",
        (t0 + 32 * S, t0 + 70 * S),
        "success",
        ["transform"],
        tries=2,
    )
    tasks["evaluate"] = _ti(
        events, exp, run, dag, "evaluate", (t0 + 71 * S, t0 + 90 * S), "failed", ["train"]
    )
    tasks["publish"] = _ti(
        events,
        exp,
        run,
        dag,
        "publish",
        (t0 + 91 * S, t0 + 91 * S + 200),
        "upstream_failed",
        ["evaluate"],
    )
    ids["dag_tasks"] = tasks


def _flow(
    events: list[Event], exp: str, name: str, span: tuple[int, int], parent: str | None
) -> str:
    flow_run_id = str(uuid.uuid4())
    return _run(
        events,
        exp,
        f"{name}-run",
        span[0],
        span[1],
        "FINISHED",
        source="prefect",
        ref={"flow_name": name, "flow_run_id": flow_run_id},
        parent=parent,
        tags={
            "prefect.flow_name": name,
            "prefect.flow_run_id": flow_run_id,
            "prefect.state": "Completed",
        },
    )


def _task_run(
    events: list[Event],
    exp: str,
    parent: str,
    name: str,
    span: tuple[int, int],
    upstream: list[str],
    state: str = "Completed",
) -> tuple[str, str]:
    prefect_id = str(uuid.uuid4())
    tags = {
        "prefect.task_name": name,
        "prefect.task_run_id": prefect_id,
        "prefect.state": state,
        "prefect.attempts": "1",
    }
    if upstream:
        tags["prefect.upstream"] = ",".join(sorted(upstream))
    run_id = _run(
        events,
        exp,
        f"{name}-0",
        span[0],
        span[1],
        "FINISHED" if state == "Completed" else "FAILED",
        source="prefect",
        ref={"task_name": name, "task_run_id": prefect_id},
        parent=parent,
        tags=tags,
    )
    return run_id, prefect_id


def prefect_runs(events: list[Event], exp: str, t0: int, ids: dict[str, Any]) -> None:
    flow = _flow(events, exp, "train-flow", (t0, t0 + 40 * S), None)
    ids["flow_run"] = flow
    load, load_p = _task_run(events, exp, flow, "load", (t0 + S, t0 + 6 * S), [])
    fit, fit_p = _task_run(events, exp, flow, "fit", (t0 + 7 * S, t0 + 20 * S), [load_p])
    score, _ = _task_run(events, exp, flow, "score", (t0 + 21 * S, t0 + 25 * S), [fit_p])
    sub = _flow(events, exp, "evaluate-flow", (t0 + 26 * S, t0 + 38 * S), flow)
    check, check_p = _task_run(events, exp, sub, "check", (t0 + 27 * S, t0 + 30 * S), [])
    report, _ = _task_run(events, exp, sub, "report", (t0 + 31 * S, t0 + 37 * S), [check_p])
    ids["flow_tasks"] = {"load": load, "fit": fit, "score": score}
    ids["subflow"] = sub
    ids["subflow_tasks"] = {"check": check, "report": report}


def lineage_runs(events: list[Event], exp: str, t0: int, ids: dict[str, Any]) -> None:
    run = _dag_run(events, exp, "lineage-dag", "manual__1", t0, t0 + 20 * S, "success")
    ids["lineage_run"] = run
    writer = _ti(events, exp, run, "lineage-dag", "produce", (t0, t0 + 5 * S), "success", None)
    reader = _ti(
        events, exp, run, "lineage-dag", "consume", (t0 + 6 * S, t0 + 9 * S), "success", None
    )
    _ti(events, exp, run, "lineage-dag", "unrelated", (t0 + 6 * S, t0 + 8 * S), "success", None)
    ids["lineage_tasks"] = {"produce": writer, "consume": reader}
    version = {
        "op": "dataset",
        "run_id": writer,
        "direction": "output",
        "version_id": _id(),
        "name": "features",
        "uri": "/data/features",
        "digest": "a" * 64,
        "algorithm": "blake3",
        "size": 10,
        "file_count": 1,
        "mode": "snapshot",
        "created_by_run_id": writer,
        "created_time": t0,
    }
    link = {"op": "run_dataset", "uri": "/data/features", "digest": "a" * 64}
    events += [
        version,
        {**link, "run_id": writer, "direction": "output"},
        {**link, "run_id": reader, "direction": "input"},
    ]


def pipeline_events(experiment_id: str, t0: int) -> tuple[list[Event], dict[str, Any]]:
    """Events for every pipeline above (``t0`` the newest DAG run's start) and their ids."""
    events: list[Event] = []
    ids: dict[str, Any] = {}
    lineage_runs(events, experiment_id, t0 - 7200 * S, ids)
    airflow_runs(events, experiment_id, t0, ids)
    prefect_runs(events, experiment_id, t0 - 600 * S, ids)
    plain = _run(events, experiment_id, "python-parent", t0 - 60 * S, t0, "FINISHED")
    _run(events, experiment_id, "python-child", t0 - 50 * S, t0 - 10 * S, "FINISHED", parent=plain)
    ids["python_parent"] = plain
    # Runs end last: the store takes no datasets for a run that has ended.
    return sorted(events, key=lambda e: e["op"] == "update_run"), ids
