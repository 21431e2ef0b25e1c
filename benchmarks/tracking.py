"""flowtrack against MLflow on the same tracking work, in one process run; prints the ratios.

Run it through ``./benchmarks/run`` (which builds .venv-bench with MLflow pinned):

    ./benchmarks/run                  # --scale full
    ./benchmarks/run --scale small    # a smoke run for CI, well under a minute
    ./benchmarks/run --only search

Every case runs each tool against its own fresh SQLite file in a fresh temp folder, and the
process works inside that folder meanwhile. Nothing here asserts on time: the targets are
printed beside the ratios, and only correctness checks (the data landed, both tools return
the same search result) raise. Results also go to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from tracking_common import (
    BATCH,
    CASES,
    KEYS,
    RESULTS,
    SIZES,
    TIMEOUT_S,
    WARMUP_CALLS,
    Row,
    _check,
    _clean_environment,
    _flowtrack,
    _mlflow,
    _now_ms,
    _workdir,
)
from tracking_concurrent import case_concurrent

# -- 1. per-call log_metric --------------------------------------------------------------------


def _log_metric_flowtrack(n: int) -> dict[str, float]:
    with _workdir("log_metric", "flowtrack") as tmp, _flowtrack(tmp) as ft:
        ft.set_experiment("log-metric")
        with ft.start_run() as run:
            for i in range(WARMUP_CALLS):
                ft.log_metric("warmup", float(i), step=i)
            _check(ft.flush(timeout=TIMEOUT_S), "flowtrack warm-up flush timed out")
            log_metric = ft.log_metric
            start = time.perf_counter()
            for i in range(n):
                log_metric("loss", 1.0 / (i + 1), step=i)
            loop = time.perf_counter() - start
            start = time.perf_counter()
            flushed = ft.flush(timeout=TIMEOUT_S)
            flush = time.perf_counter() - start
        _check(flushed, "flowtrack.flush() timed out")
        stored = len(ft.Client().get_metric_history(run.info.run_id, "loss"))
        _check(stored == n, f"flowtrack stored {stored} of {n} points")
    return {
        "calls": n,
        "loop_s": loop,
        "us_per_call": loop / n * 1e6,
        "flush_s": flush,
        "us_per_point_end_to_end": (loop + flush) / n * 1e6,
    }


def _log_metric_mlflow(n: int) -> dict[str, float]:
    with _workdir("log_metric", "mlflow") as tmp, _mlflow(tmp, "log-metric") as (mlflow, _):
        with mlflow.start_run() as run:
            for i in range(WARMUP_CALLS):
                mlflow.log_metric("warmup", float(i), step=i)
            log_metric = mlflow.log_metric
            start = time.perf_counter()
            for i in range(n):
                log_metric("loss", 1.0 / (i + 1), step=i)
            loop = time.perf_counter() - start
        stored = len(mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss"))
        _check(stored == n, f"MLflow stored {stored} of {n} points")
    return {"calls": n, "loop_s": loop, "us_per_call": loop / n * 1e6}


def case_log_metric(size: dict[str, int]) -> list[Row]:
    ft = _log_metric_flowtrack(size["log_metric_ft"])
    ml = _log_metric_mlflow(size["log_metric_ml"])
    ratio = ml["us_per_call"] / ft["us_per_call"]
    end_to_end = ml["us_per_call"] / ft["us_per_point_end_to_end"]
    return [
        Row(
            "log_metric",
            "per-call log_metric (us/call)",
            f"{ft['us_per_call']:.2f} us ({ft['calls']:,} calls)",
            f"{ml['us_per_call']:,.0f} us ({ml['calls']:,} calls)",
            ratio,
            ">= 100x",
            ratio >= 100,
            {"flowtrack": ft, "mlflow": ml},
        ),
        Row(
            "log_metric",
            "  incl. flowtrack.flush() after the loop",
            f"{ft['us_per_point_end_to_end']:.2f} us/point (flush {ft['flush_s'] * 1e3:,.0f} ms)",
            f"{ml['us_per_call']:,.0f} us",
            end_to_end,
            "(info)",
            None,
        ),
    ]


# -- 2. batched ingest -------------------------------------------------------------------------


def _steps(points: int) -> int:
    return max(1, points // len(KEYS))


def _batches(points: int) -> Iterator[list[tuple[str, float, int]]]:
    """(key, value, step) in batches of BATCH: the 10 metrics of each step, step by step."""
    batch: list[tuple[str, float, int]] = []
    for step in range(_steps(points)):
        for k, key in enumerate(KEYS):
            batch.append((key, (step * 10 + k) * 1e-3, step))
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _count_points(history: Callable[[str, str], list[Any]], run_id: str) -> int:
    return sum(len(history(run_id, key)) for key in KEYS)


def _ingest_flowtrack_fluent(points: int) -> dict[str, float]:
    steps = _steps(points)
    with _workdir("ingest", "flowtrack") as tmp, _flowtrack(tmp) as ft:
        ft.set_experiment("ingest")
        with ft.start_run() as run:
            log_metrics = ft.log_metrics
            start = time.perf_counter()
            for step in range(steps):
                log_metrics({key: (step * 10 + k) * 1e-3 for k, key in enumerate(KEYS)}, step=step)
            submitted = time.perf_counter() - start
            flushed = ft.flush(timeout=TIMEOUT_S)
            total = time.perf_counter() - start
        _check(flushed, "flowtrack.flush() timed out")
        stored = _count_points(ft.Client().get_metric_history, run.info.run_id)
        _check(stored == steps * len(KEYS), f"flowtrack stored {stored} of {steps * 10} points")
    return {
        "points": stored,
        "submit_s": submitted,
        "total_s": total,
        "points_per_s": stored / total,
    }


def _ingest_flowtrack_client(points: int) -> dict[str, float]:
    with _workdir("ingest", "flowtrack-client") as tmp, _flowtrack(tmp) as ft:
        client = ft.Client()
        run_id = client.create_run(client.create_experiment("ingest")).info.run_id
        batches = [
            [ft.Metric(key, value, 0, step) for key, value, step in batch]
            for batch in _batches(points)
        ]
        start = time.perf_counter()
        for batch in batches:
            ts = _now_ms()
            client.log_batch(run_id, metrics=[ft.Metric(m.key, m.value, ts, m.step) for m in batch])
        total = time.perf_counter() - start
        stored = _count_points(client.get_metric_history, run_id)
        _check(stored == sum(map(len, batches)), f"flowtrack Client stored {stored} points")
    return {"points": stored, "total_s": total, "points_per_s": stored / total}


def _ingest_mlflow(points: int) -> dict[str, float]:
    with _workdir("ingest", "mlflow") as tmp, _mlflow(tmp, "ingest") as (mlflow, experiment_id):
        from mlflow.entities import Metric

        client = mlflow.MlflowClient()
        run_id = client.create_run(experiment_id).info.run_id
        batches = list(_batches(points))
        start = time.perf_counter()
        for batch in batches:
            ts = _now_ms()
            client.log_batch(
                run_id, metrics=[Metric(key, value, ts, step) for key, value, step in batch]
            )
        total = time.perf_counter() - start
        stored = _count_points(client.get_metric_history, run_id)
        _check(stored == sum(map(len, batches)), f"MLflow stored {stored} points")
    return {"points": stored, "total_s": total, "points_per_s": stored / total}


def case_ingest(size: dict[str, int]) -> list[Row]:
    fluent = _ingest_flowtrack_fluent(size["ingest_ft"])
    client = _ingest_flowtrack_client(size["ingest_ft"])
    ml = _ingest_mlflow(size["ingest_ml"])
    ratio = fluent["points_per_s"] / ml["points_per_s"]
    client_ratio = client["points_per_s"] / ml["points_per_s"]
    ml_text = f"{ml['points_per_s']:,.0f} pts/s ({ml['points']:,}, log_batch x{BATCH})"
    return [
        Row(
            "ingest",
            "batched ingest, fluent + flush (points/s)",
            f"{fluent['points_per_s']:,.0f} pts/s ({fluent['points']:,})",
            ml_text,
            ratio,
            ">= 20x",
            ratio >= 20,
            {"flowtrack_fluent": fluent, "flowtrack_client": client, "mlflow": ml},
        ),
        Row(
            "ingest",
            f"  flowtrack Client().log_batch x{BATCH} (sync)",
            f"{client['points_per_s']:,.0f} pts/s ({client['points']:,})",
            ml_text,
            client_ratio,
            "(info)",
            None,
        ),
    ]


# -- 3. run creation ---------------------------------------------------------------------------


def _params(i: int) -> dict[str, str]:
    return {f"p{k}": f"value-{i % 7}-{k}" for k in range(10)}


def _run_creation_flowtrack(n: int) -> dict[str, float]:
    with _workdir("run_creation", "flowtrack") as tmp, _flowtrack(tmp) as ft:
        ft.set_experiment("runs")
        start = time.perf_counter()
        for i in range(n):
            with ft.start_run():
                ft.log_params(_params(i))
                ft.log_metrics({key: i * 1e-3 + k for k, key in enumerate(KEYS)})
        flushed = ft.flush(timeout=TIMEOUT_S)
        total = time.perf_counter() - start
        _check(flushed, "flowtrack.flush() timed out")
        runs = ft.Client().search_runs("runs", max_results=50_000).items
        _check(len(runs) == n, f"flowtrack stored {len(runs)} of {n} runs")
        _check(
            all(len(r.data.params) == 10 and len(r.data.metrics) == 10 for r in runs),
            "flowtrack runs lack params or metrics",
        )
    return {"runs": n, "total_s": total, "runs_per_s": n / total}


def _run_creation_mlflow(n: int) -> dict[str, float]:
    with _workdir("run_creation", "mlflow") as tmp, _mlflow(tmp, "runs") as (mlflow, exp_id):
        start = time.perf_counter()
        for i in range(n):
            with mlflow.start_run():
                mlflow.log_params(_params(i))
                mlflow.log_metrics({key: i * 1e-3 + k for k, key in enumerate(KEYS)})
        total = time.perf_counter() - start
        runs = mlflow.MlflowClient().search_runs([exp_id], max_results=50_000)
        _check(len(runs) == n, f"MLflow stored {len(runs)} of {n} runs")
    return {"runs": n, "total_s": total, "runs_per_s": n / total}


def case_run_creation(size: dict[str, int]) -> list[Row]:
    ft = _run_creation_flowtrack(size["runs_ft"])
    ml = _run_creation_mlflow(size["runs_ml"])
    ratio = ft["runs_per_s"] / ml["runs_per_s"]
    return [
        Row(
            "run_creation",
            "run creation, 10 params + 10 metrics (runs/s)",
            f"{ft['runs_per_s']:,.1f} runs/s ({ft['runs']:,})",
            f"{ml['runs_per_s']:,.1f} runs/s ({ml['runs']:,})",
            ratio,
            ">= 10x",
            ratio >= 10,
            {"flowtrack": ft, "mlflow": ml},
        )
    ]


# -- 4. search ---------------------------------------------------------------------------------

SEARCH_FILTER = "metrics.m3 > 0.5"
SEARCH_ORDER = ["metrics.m3 DESC"]


def _search_data(n: int) -> list[tuple[str, dict[str, str], dict[str, float]]]:
    """The same runs for both tools: (run name, params, metrics), seeded."""
    rng = random.Random(20261125)
    return [(f"run-{i:05d}", _params(i), {key: rng.random() for key in KEYS}) for i in range(n)]


def _timed_searches(search: Callable[[], list[str]], reps: int) -> tuple[list[float], list[str]]:
    names = search()  # warm-up, not timed: first-use costs (statement compilation, caches)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        found = search()
        times.append(time.perf_counter() - start)
        _check(found == names, "a repeated search returned other runs")
    return times, names


def _search_summary(n: int, setup: float, times: list[float]) -> dict[str, Any]:
    return {"runs": n, "setup_s": setup, "times_s": times, "median_s": statistics.median(times)}


def _search_flowtrack(n: int, reps: int) -> tuple[dict[str, Any], list[str]]:
    data = _search_data(n)
    with _workdir("search", "flowtrack") as tmp, _flowtrack(tmp) as ft:
        ft.set_experiment("search")
        start = time.perf_counter()
        for name, params, metrics in data:
            with ft.start_run(run_name=name):
                ft.log_params(params)
                ft.log_metrics(metrics)
        _check(ft.flush(timeout=TIMEOUT_S), "flowtrack.flush() timed out")
        setup = time.perf_counter() - start
        client = ft.Client()

        def search() -> list[str]:
            page = client.search_runs(
                "search", filter=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
            )
            return [r.info.run_name for r in page.items]

        times, names = _timed_searches(search, reps)
    return _search_summary(n, setup, times), names


def _search_mlflow(n: int, reps: int) -> tuple[dict[str, Any], list[str]]:
    data = _search_data(n)
    with _workdir("search", "mlflow") as tmp, _mlflow(tmp, "search") as (mlflow, exp_id):
        from mlflow.entities import Metric, Param

        client = mlflow.MlflowClient()
        start = time.perf_counter()
        for name, params, metrics in data:
            run_id = client.create_run(exp_id, run_name=name).info.run_id
            ts = _now_ms()
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
            )
            client.set_terminated(run_id)
        setup = time.perf_counter() - start

        def search() -> list[str]:
            runs = client.search_runs(
                [exp_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
            )
            return [r.info.run_name for r in runs]

        times, names = _timed_searches(search, reps)
    return _search_summary(n, setup, times), names


def case_search(size: dict[str, int]) -> list[Row]:
    ft, ft_names = _search_flowtrack(size["search_runs"], size["search_reps"])
    ml, ml_names = _search_mlflow(size["search_runs"], size["search_reps"])
    expected = sum(1 for _, _, m in _search_data(size["search_runs"]) if m["m3"] > 0.5)
    _check(
        len(ft_names) == len(ml_names) == expected,
        f"search counts differ: flowtrack {len(ft_names)}, MLflow {len(ml_names)}, "
        f"expected {expected}",
    )
    _check(ft_names == ml_names, "flowtrack and MLflow order the matching runs differently")
    ft["matched"] = ml["matched"] = len(ft_names)
    ratio = ml["median_s"] / ft["median_s"]
    return [
        Row(
            "search",
            f"search_runs over {size['search_runs']:,} runs (median of {size['search_reps']})",
            f"{ft['median_s'] * 1e3:,.1f} ms ({len(ft_names)} found)",
            f"{ml['median_s'] * 1e3:,.1f} ms ({len(ml_names)} found)",
            ratio,
            ">= 10x",
            ratio >= 10,
            {"flowtrack": ft, "mlflow": ml},
        )
    ]


RUNNERS: dict[str, Callable[[dict[str, int]], list[Row]]] = {
    "log_metric": case_log_metric,
    "ingest": case_ingest,
    "run_creation": case_run_creation,
    "search": case_search,
    "concurrent": case_concurrent,
}


def _table(rows: list[Row], mlflow_version: str) -> str:
    head = ("case", "flowtrack", f"MLflow {mlflow_version}", "ratio", "target", "met")
    lines = [
        (
            r.what,
            r.flowtrack,
            r.mlflow,
            "-" if r.ratio is None else f"{r.ratio:,.1f}x",
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]

    def fmt(cells: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(x) for x in lines)])


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "flowtrack": version("flowtrack"),
        "mlflow": version("mlflow"),
        "sqlalchemy": version("sqlalchemy"),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", choices=CASES, metavar="NAME", help=", ".join(CASES))
    args = parser.parse_args(argv)
    _clean_environment()
    size = SIZES[args.scale]
    cases = [args.only] if args.only else list(CASES)
    print(f"flowtrack vs MLflow, scale {args.scale}: {', '.join(cases)}", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    for name in cases:
        case_start = time.perf_counter()
        print(f"- {name} ...", end=" ", flush=True)
        rows.extend(RUNNERS[name](size))
        print(f"{time.perf_counter() - case_start:.1f} s", flush=True)
    elapsed = time.perf_counter() - started
    versions = _versions()
    print()
    print(_table(rows, versions["mlflow"]))
    print(f"\n(ratio: how many times faster flowtrack is; total {elapsed:.1f} s)")
    report = {
        "scale": args.scale,
        "cases": cases,
        "sizes": size,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": versions,
        "total_s": elapsed,
        "rows": [asdict(r) for r in rows],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
