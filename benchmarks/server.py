"""flowtrack server against mlflow server, over REST, on the same work; prints the ratios.

Run it with the benchmark venv (``./benchmarks/run`` builds it; MLflow 3.18.0 is there):

    ./benchmarks/run-server                  # --scale full
    ./benchmarks/run-server --scale small    # a smoke run
    ./benchmarks/run-server --only search

Each case starts each server fresh (``flowtrack server`` / ``mlflow server``, one worker, an
SQLite file in a temp folder) and talks to it through the tool's own client over HTTP on
loopback. Server start-up and data set-up are not timed. Nothing asserts on time; only
correctness checks raise (the data landed; both searches find the same runs). Results also go
to benchmarks/results/server-latest.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from server_common import (
    BATCH,
    CASES,
    KEYS,
    RESULTS,
    SEARCH_FILTER,
    SEARCH_ORDER,
    SIZES,
    Row,
    check,
    clean_environment,
    flowtrack_client,
    now_ms,
    server,
)


def _ft_batches(n: int) -> list[list[Any]]:
    from flowtrack.entities import Metric

    stamp = now_ms()
    points = [Metric(KEYS[i % 10], i * 0.001, stamp, i // 10) for i in range(n)]
    return [points[i : i + BATCH] for i in range(0, n, BATCH)]


def _ml_batches(n: int) -> list[list[Any]]:
    from mlflow.entities import Metric

    stamp = now_ms()
    points = [Metric(KEYS[i % 10], i * 0.001, stamp, i // 10) for i in range(n)]
    return [points[i : i + BATCH] for i in range(0, n, BATCH)]


# -- 1. ingest -----------------------------------------------------------------------------------


def _ingest_flowtrack(n: int) -> dict[str, float]:
    with server("flowtrack") as srv, flowtrack_client(srv.url) as ft:
        client = ft.Client()
        run = client.create_run(client.create_experiment("ingest"))
        batches = _ft_batches(n)
        start = time.perf_counter()
        for batch in batches:
            client.log_batch(run.info.run_id, metrics=batch)
        seconds = time.perf_counter() - start
        stored = sum(len(client.get_metric_history(run.info.run_id, k)) for k in KEYS)
        check(stored == n, f"flowtrack stored {stored} of {n} points")
        # The fluent path: log_metrics per step, then flush (one POST per writer batch).
        ft.set_experiment("ingest-fluent")
        with ft.start_run() as fluent:
            start = time.perf_counter()
            for step in range(n // 10):
                ft.log_metrics({k: step * 0.5 for k in KEYS}, step=step)
            check(ft.flush(timeout=900), "flowtrack flush timed out")
            fluent_s = time.perf_counter() - start
        got = len(client.get_metric_history(fluent.info.run_id, "m0"))
        check(got == n // 10, f"flowtrack fluent stored {got} of {n // 10} steps")
    return {
        "points": n,
        "seconds": seconds,
        "points_per_s": n / seconds,
        "fluent_s": fluent_s,
        "fluent_points_per_s": n / fluent_s,
    }


def _ingest_mlflow(n: int) -> dict[str, float]:
    from mlflow import MlflowClient

    with server("mlflow") as srv:
        client = MlflowClient(srv.url)
        run = client.create_run(client.create_experiment("ingest"))
        batches = _ml_batches(n)
        start = time.perf_counter()
        for batch in batches:
            client.log_batch(run.info.run_id, metrics=batch)
        seconds = time.perf_counter() - start
        stored = sum(len(client.get_metric_history(run.info.run_id, k)) for k in KEYS)
        check(stored == n, f"MLflow stored {stored} of {n} points")
    return {"points": n, "seconds": seconds, "points_per_s": n / seconds}


def case_ingest(size: dict[str, int]) -> list[Row]:
    ft = _ingest_flowtrack(size["ingest_ft"])
    ml = _ingest_mlflow(size["ingest_ml"])
    ratio = ft["points_per_s"] / ml["points_per_s"]
    fluent = ft["fluent_points_per_s"] / ml["points_per_s"]
    return [
        Row(
            "ingest",
            "metric ingest over REST, log_batch x1000",
            f"{ft['points_per_s']:,.0f} points/s",
            f"{ml['points_per_s']:,.0f} points/s",
            ratio,
            ">= 10x",
            ratio >= 10,
            {"flowtrack": ft, "mlflow": ml},
        ),
        Row(
            "ingest",
            "... flowtrack fluent log_metrics + flush()",
            f"{ft['fluent_points_per_s']:,.0f} points/s",
            f"{ml['points_per_s']:,.0f} points/s",
            fluent,
            "(info)",
            None,
        ),
    ]


# -- 2. per-call latency of one log_metric ---------------------------------------------------------


def _latency_flowtrack(n: int) -> dict[str, float]:
    with server("flowtrack") as srv, flowtrack_client(srv.url) as ft:
        client = ft.Client()
        run = client.create_run(client.create_experiment("latency"))
        for i in range(10):
            client.log_metric(run.info.run_id, "warmup", float(i), step=i)
        times = []
        for i in range(n):
            start = time.perf_counter()
            client.log_metric(run.info.run_id, "loss", 1.0 / (i + 1), step=i)
            times.append(time.perf_counter() - start)
        check(len(client.get_metric_history(run.info.run_id, "loss")) == n, "flowtrack lost points")
        ft.set_experiment("latency-fluent")
        with ft.start_run():
            start = time.perf_counter()
            for i in range(n):
                ft.log_metric("loss", 1.0 / (i + 1), step=i)
            fluent = (time.perf_counter() - start) / n
            check(ft.flush(timeout=900), "flowtrack flush timed out")
    return {
        "calls": n,
        "median_us": statistics.median(times) * 1e6,
        "mean_us": statistics.mean(times) * 1e6,
        "fluent_us": fluent * 1e6,
    }


def _latency_mlflow(n: int) -> dict[str, float]:
    from mlflow import MlflowClient

    with server("mlflow") as srv:
        client = MlflowClient(srv.url)
        run = client.create_run(client.create_experiment("latency"))
        for i in range(10):
            client.log_metric(run.info.run_id, "warmup", float(i), step=i)
        times = []
        for i in range(n):
            start = time.perf_counter()
            client.log_metric(run.info.run_id, "loss", 1.0 / (i + 1), step=i)
            times.append(time.perf_counter() - start)
        check(len(client.get_metric_history(run.info.run_id, "loss")) == n, "MLflow lost points")
    return {
        "calls": n,
        "median_us": statistics.median(times) * 1e6,
        "mean_us": statistics.mean(times) * 1e6,
    }


def case_log_metric(size: dict[str, int]) -> list[Row]:
    ft = _latency_flowtrack(size["calls_ft"])
    ml = _latency_mlflow(size["calls_ml"])
    ratio = ml["median_us"] / ft["median_us"]
    return [
        Row(
            "log_metric",
            "one log_metric, synchronous client call (median)",
            f"{ft['median_us']:,.0f} us",
            f"{ml['median_us']:,.0f} us",
            ratio,
            "(info)",
            None,
            {"flowtrack": ft, "mlflow": ml},
        ),
        Row(
            "log_metric",
            "... flowtrack fluent log_metric (queued)",
            f"{ft['fluent_us']:,.1f} us",
            f"{ml['median_us']:,.0f} us",
            ml["median_us"] / ft["fluent_us"],
            "(info)",
            None,
        ),
    ]


# -- 3. search_runs over many runs -----------------------------------------------------------------


def _values(n: int) -> list[dict[str, float]]:
    rng = random.Random(7)
    return [{k: rng.random() for k in KEYS} for _ in range(n)]


def _fill_flowtrack(n: int, url: str) -> str:
    """n finished runs with metrics m0..m9 and params p0..p9, sent to the server as event
    batches of 500 runs (set-up, not timed)."""
    from flowtrack.tracking.stores import get_store

    store = get_store(url)
    experiment_id = store.create_experiment("search")
    stamp = now_ms()
    for first in range(0, n, 500):
        events: list[dict[str, Any]] = []
        for i, values in enumerate(_values(n)[first : first + 500], start=first):
            run_id = f"{i:032x}"
            events.append(
                {
                    "op": "create_run",
                    "run_id": run_id,
                    "experiment_id": experiment_id,
                    "run_name": f"r{i}",
                    "start_time": stamp + i,
                    "tags": {},
                }
            )
            events.append(
                {"op": "metrics", "run_id": run_id, "values": values, "timestamp": stamp, "step": 0}
            )
            events += [
                {"op": "param", "run_id": run_id, "key": f"p{j}", "value": str(j)}
                for j in range(10)
            ]
            events.append(
                {"op": "update_run", "run_id": run_id, "status": "FINISHED", "end_time": stamp + i}
            )
        check(not store.apply_events(events), "flowtrack refused set-up events")
    return experiment_id


def _fill_mlflow(n: int) -> Callable[[Path, str], None]:
    def fill(folder: Path, db: str) -> None:
        from mlflow.entities import Metric, Param, RunStatus
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(db, str(folder / "artifacts"))
        experiment_id = store.create_experiment("search")
        stamp = now_ms()
        for i, values in enumerate(_values(n)):
            run = store.create_run(experiment_id, "bench", stamp + i, [], f"r{i}")
            metrics = [Metric(k, v, stamp, 0) for k, v in values.items()]
            params = [Param(f"p{j}", str(j)) for j in range(10)]
            store.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[])
            store.update_run_info(run.info.run_id, RunStatus.FINISHED, stamp + i, None)
        store.engine.dispose()

    return fill


def case_search(size: dict[str, int]) -> list[Row]:
    n, reps = size["search_runs"], size["search_reps"]
    expected = sum(1 for v in _values(n) if v["m3"] > 0.5)
    with server("flowtrack") as srv, flowtrack_client(srv.url) as ft:
        experiment_id = _fill_flowtrack(n, srv.url)
        client = ft.Client()

        def ft_search() -> int:
            found = client.search_runs(
                experiment_id, filter=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
            )
            return len(found.items)

        ft_found = ft_search()
        ft_times = _timed(ft_search, reps)
    from mlflow import MlflowClient

    with server("mlflow", _fill_mlflow(n)) as srv:
        ml_client = MlflowClient(srv.url)
        ml_experiment = ml_client.get_experiment_by_name("search").experiment_id

        def ml_search() -> int:
            found = ml_client.search_runs(
                [ml_experiment],
                filter_string=SEARCH_FILTER,
                order_by=SEARCH_ORDER,
                max_results=1000,
            )
            return len(found)

        ml_found = ml_search()
        ml_times = _timed(ml_search, reps)
    check(ft_found == ml_found == min(1000, expected), f"found {ft_found} vs {ml_found}")
    ft_s, ml_s = statistics.median(ft_times), statistics.median(ml_times)
    return [
        Row(
            "search",
            f"search_runs, {n:,} runs, {ft_found} returned (median of {reps})",
            f"{ft_s * 1000:,.1f} ms",
            f"{ml_s * 1000:,.1f} ms",
            ml_s / ft_s,
            ">= 10x",
            ml_s / ft_s >= 10,
            {"flowtrack_s": ft_times, "mlflow_s": ml_times},
        )
    ]


def _timed(fn: Callable[[], int], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


# -- 4. metric history of a long run ---------------------------------------------------------------


def case_history(size: dict[str, int]) -> list[Row]:
    n, reps = size["history_points"], size["history_reps"]
    with server("flowtrack") as srv, flowtrack_client(srv.url) as ft:
        from flowtrack.entities import Metric as FtMetric

        client = ft.Client()
        run = client.create_run(client.create_experiment("history"))
        for first in range(0, n, BATCH):
            batch = [FtMetric("loss", 1.0 / (s + 1), s, s) for s in range(first, first + BATCH)]
            client.log_batch(run.info.run_id, metrics=batch)
        ft_times = _timed(lambda: len(client.get_metric_history(run.info.run_id, "loss")), reps)
        check(len(client.get_metric_history(run.info.run_id, "loss")) == n, "flowtrack history")
    from mlflow import MlflowClient
    from mlflow.entities import Metric as MlMetric

    with server("mlflow") as srv:
        ml_client = MlflowClient(srv.url)
        ml_run = ml_client.create_run(ml_client.create_experiment("history"))
        for first in range(0, n, BATCH):
            batch = [MlMetric("loss", 1.0 / (s + 1), s, s) for s in range(first, first + BATCH)]
            ml_client.log_batch(ml_run.info.run_id, metrics=batch)
        ml_times = _timed(
            lambda: len(ml_client.get_metric_history(ml_run.info.run_id, "loss")), reps
        )
        got = len(ml_client.get_metric_history(ml_run.info.run_id, "loss"))
        check(got == n, f"MLflow history has {got} of {n} points")
    ft_s, ml_s = statistics.median(ft_times), statistics.median(ml_times)
    return [
        Row(
            "history",
            f"get_metric_history, {n:,} points (median of {reps})",
            f"{ft_s * 1000:,.0f} ms",
            f"{ml_s * 1000:,.0f} ms",
            ml_s / ft_s,
            "(info)",
            None,
            {"flowtrack_s": ft_times, "mlflow_s": ml_times},
        )
    ]


# -- report ----------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[dict[str, int]], list[Row]]] = {
    "ingest": case_ingest,
    "log_metric": case_log_metric,
    "search": case_search,
    "history": case_history,
}


def _table(rows: list[Row]) -> str:
    lines = [
        "| case | flowtrack | MLflow 3.18.0 | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ratio = f"{r.ratio:,.1f}x" if r.ratio is not None else "-"
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append(f"| {r.what} | {r.flowtrack} | {r.mlflow} | {ratio} | {r.target} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", choices=CASES, metavar="NAME", help=", ".join(CASES))
    args = parser.parse_args(argv)
    clean_environment()
    size = SIZES[args.scale]
    rows: list[Row] = []
    for case in [args.only] if args.only else CASES:
        print(f"running {case} ...", file=sys.stderr, flush=True)
        rows += RUNNERS[case](size)
    print(_table(rows))
    import flowtrack
    import mlflow

    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "flowtrack": flowtrack.__version__,
        "mlflow": mlflow.__version__,
        "rows": [asdict(r) for r in rows],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
