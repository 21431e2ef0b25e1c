"""flowtrack server against mlflow server, over REST, on the same work; prints the ratios.

Run it with the benchmark venv (``./benchmarks/run`` builds it; MLflow 3.18.0 is there):

    ./benchmarks/run-server                  # --scale full
    ./benchmarks/run-server --scale small    # a smoke run
    ./benchmarks/run-server --only search

Each case starts both servers fresh (``flowtrack server`` / ``mlflow server``, one worker each,
an SQLite file in a temp folder) and talks to each through the tool's own client over HTTP on
loopback. Figures are taken in rounds with the two tools in turns (ingest and log_metric
interleave them call by call), and a ratio is the median over the rounds of the ratio within a
round, because the machine is shared. Server start-up and data set-up are not timed. Nothing
asserts on time; only correctness checks raise (the data landed; both searches return the
same runs in the same order). Results also go to benchmarks/results/server-latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
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
    paired,
    server,
)
from server_search_setup import fill_flowtrack, fill_mlflow, search_values


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


@contextlib.contextmanager
def _both(fill: Any = None) -> Iterator[tuple[Any, Any, Any]]:
    """Both servers up for a whole case, flowtrack's client pointed at its server: (the
    flowtrack module, flowtrack's server, MLflow's server); ``fill`` sets up MLflow's data."""
    with (
        server("flowtrack") as ft_srv,
        server("mlflow", fill) as ml_srv,
        flowtrack_client(ft_srv.url) as ft,
    ):
        yield ft, ft_srv, ml_srv


def _say(case: str, round_: int, text: str) -> None:
    print(f"  {case} round {round_ + 1}: {text}", file=sys.stderr, flush=True)


# -- 1. ingest -----------------------------------------------------------------------------------


def _interleaved(
    ft_work: list[Callable[[], None]], ml_work: list[Callable[[], None]]
) -> tuple[list[float], list[float]]:
    """Run both tools' steps in turns, each tool's share of a turn in proportion to its number
    of steps (about 10 flowtrack steps to one of MLflow's), and time every step. Interleaved,
    both tools meet the same load of the shared machine within a round."""
    ft_times: list[float] = []
    ml_times: list[float] = []
    turns = len(ml_work)
    for turn in range(turns):
        for step in ft_work[turn * len(ft_work) // turns : (turn + 1) * len(ft_work) // turns]:
            ft_times.append(_timed(step))
        ml_times.append(_timed(ml_work[turn]))
    return ft_times, ml_times


def _ingest_round(
    client: Any, experiment_id: str, ml_client: Any, ml_experiment: str, size: dict[str, int]
) -> tuple[dict[str, float], dict[str, float]]:
    """One round: size["ingest_ft"] points to flowtrack and size["ingest_ml"] to MLflow, each
    into a new run as log_batch calls of 1,000 metrics, interleaved; then the counts checked."""
    n_ft, n_ml = size["ingest_ft"], size["ingest_ml"]
    run_id = client.create_run(experiment_id).info.run_id
    ml_run_id = ml_client.create_run(ml_experiment).info.run_id
    ft_work = [
        functools.partial(client.log_batch, run_id, metrics=batch) for batch in _ft_batches(n_ft)
    ]
    ml_work = [
        functools.partial(ml_client.log_batch, ml_run_id, metrics=batch)
        for batch in _ml_batches(n_ml)
    ]
    ft_times, ml_times = _interleaved(ft_work, ml_work)
    stored = sum(len(client.get_metric_history(run_id, k)) for k in KEYS)
    check(stored == n_ft, f"flowtrack stored {stored} of {n_ft} points")
    stored = sum(len(ml_client.get_metric_history(ml_run_id, k)) for k in KEYS)
    check(stored == n_ml, f"MLflow stored {stored} of {n_ml} points")
    ft_s, ml_s = sum(ft_times), sum(ml_times)
    return (
        {"points": n_ft, "seconds": ft_s, "points_per_s": n_ft / ft_s},
        {"points": n_ml, "seconds": ml_s, "points_per_s": n_ml / ml_s},
    )


def _ingest_fluent(ft: Any, n: int) -> dict[str, float]:
    """flowtrack's fluent path: log_metrics per step, then flush (the writer thread sends its
    batches as event POSTs); timed until flush() returns, so the points are in the store."""
    ft.set_experiment("ingest-fluent")
    with ft.start_run() as fluent:
        start = time.perf_counter()
        for step in range(n // 10):
            ft.log_metrics({k: step * 0.5 for k in KEYS}, step=step)
        check(ft.flush(timeout=900), "flowtrack flush timed out")
        seconds = time.perf_counter() - start
    got = len(ft.Client().get_metric_history(fluent.info.run_id, "m0"))
    check(got == n // 10, f"flowtrack fluent stored {got} of {n // 10} steps")
    return {"points": n, "seconds": seconds, "points_per_s": n / seconds}


def case_ingest(size: dict[str, int]) -> list[Row]:
    from mlflow import MlflowClient

    ft_rounds: list[dict[str, float]] = []
    fluent_rounds: list[dict[str, float]] = []
    ml_rounds: list[dict[str, float]] = []
    with _both() as (ft, _, ml_srv):
        client = ft.Client()
        experiment_id = client.create_experiment("ingest")
        ml_client = MlflowClient(ml_srv.url)
        ml_experiment = ml_client.create_experiment("ingest")
        for r in range(size["ingest_rounds"]):
            ft_round, ml_round = _ingest_round(
                client, experiment_id, ml_client, ml_experiment, size
            )
            ft_rounds.append(ft_round)
            ml_rounds.append(ml_round)
            fluent_rounds.append(_ingest_fluent(ft, size["ingest_ft"]))
            _say(
                "ingest",
                r,
                f"flowtrack {ft_rounds[-1]['points_per_s']:,.0f}, fluent "
                f"{fluent_rounds[-1]['points_per_s']:,.0f}, MLflow "
                f"{ml_rounds[-1]['points_per_s']:,.0f} points/s",
            )
    ft_rate = [x["points_per_s"] for x in ft_rounds]
    fluent_rate = [x["points_per_s"] for x in fluent_rounds]
    ml_rate = [x["points_per_s"] for x in ml_rounds]
    ratio = paired(ft_rate, ml_rate)
    fluent = paired(fluent_rate, ml_rate)
    raw = {"flowtrack": ft_rounds, "fluent": fluent_rounds, "mlflow": ml_rounds}
    return [
        Row(
            "ingest",
            f"metric ingest over REST, log_batch x{BATCH} "
            f"({size['ingest_ft']:,} / {size['ingest_ml']:,} points a round)",
            f"{statistics.median(ft_rate):,.0f} points/s",
            f"{statistics.median(ml_rate):,.0f} points/s",
            ratio,
            ">= 10x",
            ratio >= 10,
            raw,
        ),
        Row(
            "ingest",
            "... flowtrack fluent log_metrics + flush()",
            f"{statistics.median(fluent_rate):,.0f} points/s",
            f"{statistics.median(ml_rate):,.0f} points/s",
            fluent,
            "(info)",
            None,
        ),
    ]


# -- 2. per-call latency of one log_metric ---------------------------------------------------------


def _fluent_latency(ft: Any, n: int) -> float:
    """Microseconds per fluent log_metric (queued for the writer thread), flushed after."""
    ft.set_experiment("latency-fluent")
    with ft.start_run():
        start = time.perf_counter()
        for i in range(n):
            ft.log_metric("loss", 1.0 / (i + 1), step=i)
        seconds = time.perf_counter() - start
        check(ft.flush(timeout=900), "flowtrack flush timed out")
    return seconds / n * 1e6


def case_log_metric(size: dict[str, int]) -> list[Row]:
    from mlflow import MlflowClient

    n_ft, n_ml, rounds = size["calls_ft"], size["calls_ml"], size["calls_rounds"]
    ft_med: list[float] = []
    ml_med: list[float] = []
    fluent: list[float] = []
    with _both() as (ft, ft_srv, ml_srv):
        client = ft.Client()
        run = client.create_run(client.create_experiment("latency"))
        ml_client = MlflowClient(ml_srv.url)
        ml_run = ml_client.create_run(ml_client.create_experiment("latency"))
        for i in range(10):  # warm-up: connections open, code paths loaded
            client.log_metric(run.info.run_id, "warmup", float(i), step=i)
            ml_client.log_metric(ml_run.info.run_id, "warmup", float(i), step=i)
        for r in range(rounds):
            ft_work = [
                functools.partial(client.log_metric, run.info.run_id, "loss", 1 / (i + 1), step=i)
                for i in range(r * n_ft, (r + 1) * n_ft)
            ]
            ml_work = [
                functools.partial(
                    ml_client.log_metric, ml_run.info.run_id, "loss", 1 / (i + 1), step=i
                )
                for i in range(r * n_ml, (r + 1) * n_ml)
            ]
            ft_times, ml_times = _interleaved(ft_work, ml_work)
            ft_med.append(statistics.median(ft_times))
            ml_med.append(statistics.median(ml_times))
            fluent.append(_fluent_latency(ft, n_ft))
            _say(
                "log_metric",
                r,
                f"flowtrack {ft_med[-1] * 1e6:,.0f} us, MLflow {ml_med[-1] * 1e6:,.0f} us, "
                f"fluent {fluent[-1]:,.1f} us",
            )
        got = len(client.get_metric_history(run.info.run_id, "loss"))
        check(got == n_ft * rounds, f"flowtrack has {got} of {n_ft * rounds} points")
        got = len(ml_client.get_metric_history(ml_run.info.run_id, "loss"))
        check(got == n_ml * rounds, f"MLflow has {got} of {n_ml * rounds} points")
        floor = _floors(ft_srv.url, ml_srv.url, ft_srv.folder)
    ratio = paired(ml_med, ft_med)
    ml_us = statistics.median(ml_med) * 1e6
    return [
        Row(
            "log_metric",
            f"one Client().log_metric, synchronous (median of {n_ft:,} / {n_ml:,} calls a round)",
            f"{statistics.median(ft_med) * 1e6:,.0f} us",
            f"{ml_us:,.0f} us",
            ratio,
            "(info)",
            None,
            {"flowtrack_s": ft_med, "mlflow_s": ml_med, "fluent_us": fluent},
        ),
        Row(
            "log_metric",
            "... flowtrack fluent log_metric (queued, flushed after)",
            f"{statistics.median(fluent):,.1f} us",
            f"{ml_us:,.0f} us",
            paired([m * 1e6 for m in ml_med], fluent),
            "(info)",
            None,
        ),
        Row(
            "log_metric",
            "... floor: GET /health, same urllib3 client (median of 200)",
            f"{floor['ft_health_us']:,.0f} us",
            f"{floor['ml_health_us']:,.0f} us",
            floor["ml_health_us"] / floor["ft_health_us"],
            "(info)",
            None,
            floor,
        ),
        Row(
            "log_metric",
            "... floor: one-row SQLite commit, each tool's journal settings (median of 200)",
            f"{floor['wal_commit_us']:,.0f} us (WAL, synchronous=NORMAL)",
            f"{floor['delete_commit_us']:,.0f} us (rollback journal, FULL)",
            floor["delete_commit_us"] / floor["wal_commit_us"],
            "(info)",
            None,
        ),
    ]


def _floors(ft_url: str, ml_url: str, folder: Path) -> dict[str, float]:
    """What a call costs at least, beside the tools: an HTTP round trip to each server's
    /health (taken in turns), and a one-row INSERT + COMMIT into an SQLite file in a server's
    temp folder with flowtrack's settings (WAL, synchronous=NORMAL: no fsync per commit) and
    with SQLite's defaults, which MLflow keeps (rollback journal, synchronous=FULL: fsyncs)."""
    import sqlite3

    import urllib3

    pool = urllib3.PoolManager()
    ft_health, ml_health = _interleaved(
        [functools.partial(pool.request, "GET", f"{ft_url}/health") for _ in range(200)],
        [functools.partial(pool.request, "GET", f"{ml_url}/health") for _ in range(200)],
    )
    commits: dict[str, float] = {}
    for name, pragmas in (
        ("wal", ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]),
        ("delete", ["PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL"]),
    ):
        db = sqlite3.connect(folder / f"floor-{name}.db", isolation_level=None)
        for pragma in pragmas:
            db.execute(pragma)
        db.execute("CREATE TABLE t (k TEXT, v REAL)")
        times = []
        for i in range(200):
            start = time.perf_counter()
            db.execute("BEGIN")
            db.execute("INSERT INTO t VALUES (?, ?)", ("loss", i * 0.5))
            db.execute("COMMIT")
            times.append(time.perf_counter() - start)
        db.close()
        commits[f"{name}_commit_us"] = statistics.median(times) * 1e6
    return {
        "ft_health_us": statistics.median(ft_health) * 1e6,
        "ml_health_us": statistics.median(ml_health) * 1e6,
        **commits,
    }


# -- 3. search_runs over many runs -----------------------------------------------------------------


def case_search(size: dict[str, int]) -> list[Row]:
    from mlflow import MlflowClient

    n, rounds = size["search_runs"], size["search_rounds"]
    values = search_values(n)
    expected = sorted(range(n), key=lambda i: -values[i]["m3"])
    expected = [i for i in expected if values[i]["m3"] > 0.5][:1000]
    ft_times: list[float] = []
    ml_times: list[float] = []
    with _both(fill_mlflow(n)) as (ft, ft_srv, ml_srv):
        experiment_id = fill_flowtrack(n, ft_srv.url)
        client = ft.Client()
        ml_client = MlflowClient(ml_srv.url)
        ml_experiment = ml_client.get_experiment_by_name("search").experiment_id

        def ft_search() -> list[str]:
            found = client.search_runs(
                experiment_id, filter=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
            )
            return [r.info.run_name for r in found.items]

        def ml_search() -> list[str]:
            found = ml_client.search_runs(
                [ml_experiment],
                filter_string=SEARCH_FILTER,
                order_by=SEARCH_ORDER,
                max_results=1000,
            )
            return [r.info.run_name for r in found]

        # Untimed first calls (warm caches, compiled statements), and the correctness check:
        # the same runs in the same order from both, and the ones the values say.
        ft_found, ml_found = ft_search(), ml_search()
        check(ft_found == ml_found, f"the searches differ: {ft_found[:5]} / {ml_found[:5]}")
        check(ft_found == [f"r{i}" for i in expected], "the search found other runs")
        for r in range(rounds):
            ft_times.append(_timed(ft_search))
            ml_times.append(_timed(ml_search))
            _say(
                "search",
                r,
                f"flowtrack {ft_times[-1] * 1000:,.1f} ms, MLflow {ml_times[-1] * 1000:,.1f} ms",
            )
    ratio = paired(ml_times, ft_times)
    return [
        Row(
            "search",
            f"search_runs `{SEARCH_FILTER}` by m3 desc, {n:,} runs, {len(ft_found)} returned "
            f"(median of {rounds})",
            f"{statistics.median(ft_times) * 1000:,.1f} ms",
            f"{statistics.median(ml_times) * 1000:,.1f} ms",
            ratio,
            ">= 10x",
            ratio >= 10,
            {"flowtrack_s": ft_times, "mlflow_s": ml_times},
        )
    ]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- 4. metric history of a long run ---------------------------------------------------------------


def case_history(size: dict[str, int]) -> list[Row]:
    from flowtrack.entities import Metric as FtMetric
    from mlflow import MlflowClient
    from mlflow.entities import Metric as MlMetric

    n, rounds = size["history_points"], size["history_rounds"]
    ft_times: list[float] = []
    ml_times: list[float] = []
    with _both() as (ft, _, ml_srv):
        client = ft.Client()
        run_id = client.create_run(client.create_experiment("history")).info.run_id
        ml_client = MlflowClient(ml_srv.url)
        ml_run_id = ml_client.create_run(ml_client.create_experiment("history")).info.run_id
        for first in range(0, n, BATCH):
            steps = range(first, first + BATCH)
            client.log_batch(run_id, metrics=[FtMetric("loss", 1.0 / (s + 1), s, s) for s in steps])
            ml_client.log_batch(
                ml_run_id, metrics=[MlMetric("loss", 1.0 / (s + 1), s, s) for s in steps]
            )

        def ft_history() -> list[tuple[int, float]]:
            return [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]

        def ml_history() -> list[tuple[int, float]]:
            points = ml_client.get_metric_history(ml_run_id, "loss")
            return sorted((m.step, m.value) for m in points)

        for tool, got in (("flowtrack", ft_history()), ("MLflow", ml_history())):
            check(
                [s for s, _ in got] == list(range(n))
                and all(math.isclose(v, 1.0 / (s + 1), rel_tol=1e-12) for s, v in got),
                f"{tool}'s history differs from what was logged",
            )
        for r in range(rounds):
            ft_times.append(_timed(ft_history))
            ml_times.append(_timed(ml_history))
            _say(
                "history",
                r,
                f"flowtrack {ft_times[-1] * 1000:,.0f} ms, MLflow {ml_times[-1] * 1000:,.0f} ms",
            )
    return [
        Row(
            "history",
            f"get_metric_history, {n:,} points (median of {rounds})",
            f"{statistics.median(ft_times) * 1000:,.0f} ms",
            f"{statistics.median(ml_times) * 1000:,.0f} ms",
            paired(ml_times, ft_times),
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
    load_before = os.getloadavg()
    for case in [args.only] if args.only else CASES:
        print(f"running {case} ...", file=sys.stderr, flush=True)
        rows += RUNNERS[case](size)
    load_after = os.getloadavg()
    print(_table(rows))
    print(
        "\n(both servers: 1 worker, SQLite in a temp folder, their own clients over loopback; "
        "ratio: the median over rounds of the ratio within a round; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after)"
    )
    import flowtrack
    import mlflow

    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "flowtrack": flowtrack.__version__,
        "mlflow": mlflow.__version__,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "rows": [asdict(r) for r in rows],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
