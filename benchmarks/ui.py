"""The web UI's JSON: the first page of a runs table of 10,000 runs (20 params, 20 metrics and a
few tags each), against MLflow's search-runs call that its own UI makes for the same table.
Also the Pipelines pages' endpoints (flowtrack only: MLflow has no such page) on 1,000 DAG runs
of 5 tasks and one DAG run of 200 tasks, beside those runs.

    .venv/bin/python benchmarks/ui.py                 # 10,000 runs
    .venv/bin/python benchmarks/ui.py --runs 1000     # a smoke run
    .venv/bin/python benchmarks/ui.py --no-mlflow     # flowtrack only

Each tool gets a fresh server (one worker, SQLite in a temp folder) whose database was filled
before it started (set-up is not timed). Times are wall-clock HTTP round trips on loopback as a
browser makes them, the median of --reps after one warm-up call. Nothing asserts on time; only
correctness checks raise (both tools return the same runs). The target of issue 6 is under
300 ms for the first page.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from server_common import (
    check,
    clean_environment,
    finished_run_events,
    now_ms,
    send_runs,
    server,
)

PAGE = 100  # the UI's page size
N_PARAMS = 20
N_METRICS = 20
DAG_RUNS = 1000
BIG_DAG = (10, 20)  # layers x tasks per layer: 200 tasks, each with two upstream tasks
CASES = {
    # name: (filter, order_by)
    "first page (newest first)": (None, ["attributes.start_time DESC"]),
    "sorted by a metric": (None, ["metrics.m3 DESC"]),
    "filtered and sorted": ("metrics.m3 > 0.5 and params.p1 = 'v1'", ["metrics.m7 DESC"]),
}


TAGS = {"team": "ml", "flowtrack.host": "bench"}


def _values(n: int) -> list[dict[str, float]]:
    rng = random.Random(7)
    return [{f"m{k}": rng.random() for k in range(N_METRICS)} for _ in range(n)]


def _params(i: int) -> dict[str, str]:
    return {f"p{j}": f"v{(i + j) % 5}" for j in range(N_PARAMS)}


def _fill_flowtrack(n: int) -> Callable[[Path, str], None]:
    def fill(folder: Path, db: str) -> None:
        from flowtrack.store.sql.store import SqlStore

        store = SqlStore(db, artifact_root=str(folder / "artifacts"))
        experiment_id = store.create_experiment("ui-bench")
        stamp = now_ms()
        values = _values(n)
        send_runs(
            store.apply_events,
            n,
            lambda i: finished_run_events(
                experiment_id, i, stamp, values[i], _params(i), TAGS, duration_ms=5
            ),
        )
        _fill_pipelines(store, stamp)
        store.close()

    return fill


def _task_run(parent: str, dag: str, task: str, start: int, upstream: list[str]) -> list[Any]:
    run_id = hashlib.md5(f"{parent}/{task}".encode()).hexdigest()
    tags = {"airflow.dag_id": dag, "airflow.task_id": task, "airflow.state": "success"}
    if upstream:
        tags["airflow.upstream"] = ",".join(sorted(upstream))
    return [
        {
            "op": "create_run",
            "run_id": run_id,
            "experiment_name": "pipelines-bench",
            "run_name": task,
            "parent_run_id": parent,
            "start_time": start,
            "source_type": "airflow",
            "tags": tags,
        },
        {"op": "update_run", "run_id": run_id, "status": "FINISHED", "end_time": start + 900},
    ]


def _dag_run(run_id: str, dag: str, start: int) -> dict[str, Any]:
    return {
        "op": "create_run",
        "run_id": run_id,
        "experiment_name": "pipelines-bench",
        "run_name": f"{dag} {start}",
        "start_time": start,
        "source_type": "airflow",
        "tags": {"airflow.dag_id": dag, "airflow.state": "success"},
    }


def _fill_pipelines(store: Any, stamp: int) -> None:
    """DAG_RUNS runs of a 5-task chain, then one DAG run of BIG_DAG tasks (the newest)."""
    events: list[Any] = []
    chain = [[f"t{t - 1}"] if t else [] for t in range(5)]
    for i in range(DAG_RUNS):
        run_id = f"d{i:031x}"
        events.append(_dag_run(run_id, "daily_dag", stamp + i * 1000))
        for t in range(5):
            events += _task_run(run_id, "daily_dag", f"t{t}", stamp + i * 1000 + t, chain[t])
        if len(events) > 2000:
            check(not store.apply_events(events), "flowtrack refused set-up events")
            events = []
    big = "b" * 32
    events.append(_dag_run(big, "big_dag", stamp + DAG_RUNS * 1000))
    layers, width = BIG_DAG
    for layer in range(layers):
        for j in range(width):
            upstream = [f"l{layer - 1}_{(j + k) % width}" for k in (0, 1)] if layer else []
            start = stamp + DAG_RUNS * 1000 + layer * 1000 + j
            events += _task_run(big, "big_dag", f"l{layer}_{j}", start, upstream)
    check(not store.apply_events(events), "flowtrack refused set-up events")


def _fill_mlflow(n: int) -> Callable[[Path, str], None]:
    def fill(folder: Path, db: str) -> None:
        from mlflow.entities import Metric, Param, RunStatus, RunTag
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(db, str(folder / "artifacts"))
        experiment_id = store.create_experiment("ui-bench")
        stamp = now_ms()
        values = _values(n)
        for i in range(n):
            run = store.create_run(experiment_id, "bench", stamp + i, [], f"r{i}")
            store.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, stamp, 0) for k, v in values[i].items()],
                params=[Param(k, v) for k, v in _params(i).items()],
                tags=[RunTag("team", "ml"), RunTag("flowtrack.host", "bench")],
            )
            store.update_run_info(run.info.run_id, RunStatus.FINISHED, stamp + i + 5, None)
        store.engine.dispose()

    return fill


def _timed(call: Callable[[], list[str]], reps: int) -> tuple[float, list[str]]:
    found = call()  # warm-up (and the answer to check)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), found


def _flowtrack(n: int, reps: int) -> dict[str, tuple[float, list[str]]]:
    out: dict[str, tuple[float, list[str]]] = {}
    with server("flowtrack", _fill_flowtrack(n)) as srv:
        http = requests.Session()
        exp = http.get(f"{srv.url}/api/v1/experiments/by-name", params={"name": "ui-bench"}).json()
        exp_id = exp["experiment_id"]
        for name, (flt, order) in CASES.items():

            def search(flt: str | None = flt, order: list[str] = order) -> list[str]:
                body = {
                    "experiment_ids": [exp_id],
                    "filter": flt,
                    "order_by": order,
                    "max_results": PAGE,
                }
                r = http.post(f"{srv.url}/api/v1/runs/search", json=body)
                r.raise_for_status()
                return [run["info"]["run_name"] for run in r.json()["runs"]]

            out[name] = _timed(search, reps)

        def columns() -> list[str]:
            r = http.get(f"{srv.url}/api/v1/ui/experiments/{exp_id}/columns")
            r.raise_for_status()
            body = r.json()
            return body["params"] + body["metrics"]

        def experiments() -> list[str]:
            r = http.get(f"{srv.url}/api/v1/ui/experiments")
            r.raise_for_status()
            return [str(e["runs"]) for e in r.json()["experiments"]]

        def pipelines_page(name: str | None = None) -> list[str]:
            r = http.get(f"{srv.url}/api/v1/ui/pipelines", params={"name": name} if name else {})
            r.raise_for_status()
            return [p["run_id"] for p in r.json()["pipelines"]]

        def big_dag() -> list[str]:
            r = http.get(f"{srv.url}/api/v1/ui/pipelines/{'b' * 32}")
            r.raise_for_status()
            body = r.json()
            return [str(len(body["tasks"])), str(len(body["edges"]))]

        layers, width = BIG_DAG
        out["pipelines list, first page (UI endpoint)"] = _timed(pipelines_page, reps)
        out["pipelines list of one DAG (UI endpoint)"] = _timed(
            lambda: pipelines_page("daily_dag"), reps
        )
        out[f"DAG run of {layers * width} tasks (UI endpoint)"] = _timed(big_dag, reps)
        check(out["pipelines list, first page (UI endpoint)"][1][0] == "b" * 32, "newest pipeline")
        check(len(out["pipelines list of one DAG (UI endpoint)"][1]) == 50, "pipelines page")
        edges = (layers - 1) * width * 2
        check(
            out[f"DAG run of {layers * width} tasks (UI endpoint)"][1]
            == [str(layers * width), str(edges)],
            "DAG",
        )
        out["column keys (UI endpoint)"] = _timed(columns, reps)
        out["experiments with run counts (UI endpoint)"] = _timed(experiments, reps)
        check(len(out["column keys (UI endpoint)"][1]) == N_PARAMS + N_METRICS, "column keys")
        check(str(n) in out["experiments with run counts (UI endpoint)"][1], "run count")
    return out


def _mlflow(n: int, reps: int) -> dict[str, tuple[float, list[str]]]:
    out: dict[str, tuple[float, list[str]]] = {}
    with server("mlflow", _fill_mlflow(n)) as srv:
        http = requests.Session()
        base = f"{srv.url}/api/2.0/mlflow"
        exp = http.get(f"{base}/experiments/get-by-name", params={"experiment_name": "ui-bench"})
        exp_id = exp.json()["experiment"]["experiment_id"]
        for name, (flt, order) in CASES.items():

            def search(flt: str | None = flt, order: list[str] = order) -> list[str]:
                body: dict[str, Any] = {
                    "experiment_ids": [exp_id],
                    "order_by": order,
                    "max_results": PAGE,
                }
                if flt:
                    body["filter"] = flt
                r = http.post(f"{base}/runs/search", json=body)
                r.raise_for_status()
                return [run["info"]["run_name"] for run in r.json().get("runs", [])]

            out[name] = _timed(search, reps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args(argv)
    clean_environment()
    print(f"filling and timing flowtrack ({args.runs:,} runs) ...", file=sys.stderr, flush=True)
    ft = _flowtrack(args.runs, args.reps)
    ml: dict[str, tuple[float, list[str]]] = {}
    if not args.no_mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            print("MLflow is not installed: flowtrack only", file=sys.stderr)
        else:
            print(
                f"filling and timing MLflow ({args.runs:,} runs) ...", file=sys.stderr, flush=True
            )
            ml = _mlflow(args.runs, args.reps)
    for name in CASES:
        if name in ml:
            check(ft[name][1] == ml[name][1], f"{name}: the tools returned different runs")
    shape = f"{args.runs:,} runs x {N_PARAMS} params x {N_METRICS} metrics"
    print(f"\n{shape}, page of {PAGE}, median of {args.reps}\n")
    print("| request | flowtrack | MLflow | ratio |")
    print("| --- | --- | --- | --- |")
    for name, (seconds, _) in ft.items():
        peer = ml.get(name)
        peer_text = f"{peer[0] * 1000:,.1f} ms" if peer else "-"
        ratio = f"{peer[0] / seconds:,.1f}x" if peer else "-"
        print(f"| {name} | {seconds * 1000:,.1f} ms | {peer_text} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
