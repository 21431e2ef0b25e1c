"""The concurrent-writers case of the tracking benchmark (processes, so its own module: the
spawned workers import it)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tracking_common import (
    TIMEOUT_S,
    Row,
    _clean_environment,
    _flowtrack,
    _ft_uri,
    _ml_uri,
    _mlflow,
    _quiet_mlflow,
    _workdir,
)

# -- 5. concurrent writers ---------------------------------------------------------------------


class _ErrorCount(logging.Handler):
    """Counts warnings and errors that flowtrack logs: its fluent API reports failures this
    way instead of raising into the user's code."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _concurrent_worker(
    tool: str,
    tmp: str,
    experiment_id: str,
    index: int,
    n_runs: int,
    n_points: int,
    barrier: Any,
    results: Any,
) -> None:
    """One writer process: n_runs runs of n_points log_metric calls each, started together
    with the others; puts {"errors": ..., "samples": [...]} on ``results``."""
    _clean_environment()
    errors: list[str] = []
    counter = _ErrorCount()
    try:
        if tool == "flowtrack":
            os.environ["FLOWTRACK_HOME"] = f"{tmp}/ft"
            import flowtrack as lib

            logging.getLogger("flowtrack").addHandler(counter)
            lib.set_tracking_uri(_ft_uri(Path(tmp)))
            lib.set_experiment(experiment_id=experiment_id)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = _ml_uri(Path(tmp))
            import mlflow as lib

            _quiet_mlflow()
            lib.set_tracking_uri(_ml_uri(Path(tmp)))
            lib.set_experiment(experiment_id=experiment_id)
        barrier.wait(timeout=TIMEOUT_S)
    except Exception as exc:  # no start together: release the others, report, stop
        barrier.abort()
        results.put({"index": index, "errors": 1, "samples": [f"setup: {exc!r}"]})
        return
    for r in range(n_runs):
        try:
            with lib.start_run(run_name=f"worker{index}-run{r}"):
                for step in range(n_points):
                    try:
                        lib.log_metric("loss", 1.0 / (step + 1), step=step)
                    except Exception as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    if tool == "flowtrack" and not lib.flush(timeout=TIMEOUT_S):
        errors.append("flowtrack.flush() timed out")
    errors.extend(f"logged: {m}" for m in counter.messages)
    results.put({"index": index, "errors": len(errors), "samples": errors[:3]})


def _concurrent(tool: str, size: dict[str, int]) -> dict[str, Any]:
    procs, n_runs, n_points = size["procs"], size["proc_runs"], size["run_points"]
    expected_runs = procs * n_runs
    expected = expected_runs * n_points
    with _workdir("concurrent", tool) as tmp:
        # The store and the experiment exist before the workers start: what is measured is
        # writers meeting on one file, not schema creation racing.
        tool_context = _flowtrack(tmp) if tool == "flowtrack" else _mlflow(tmp, "concurrent")
        with tool_context as handle:
            if tool == "flowtrack":
                lib = handle
                experiment_id = lib.Client().create_experiment("concurrent")
            else:
                lib, experiment_id = handle
            ctx = mp.get_context("spawn")
            barrier = ctx.Barrier(procs + 1)
            results = ctx.Queue()
            workers = [
                ctx.Process(
                    target=_concurrent_worker,
                    args=(tool, str(tmp), experiment_id, i, n_runs, n_points, barrier, results),
                )
                for i in range(procs)
            ]
            for w in workers:
                w.start()
            with contextlib.suppress(threading.BrokenBarrierError):  # the workers report it
                barrier.wait(timeout=TIMEOUT_S)
            start = time.perf_counter()
            reports = []
            for _ in workers:
                try:
                    reports.append(results.get(timeout=TIMEOUT_S))
                except Exception:  # a worker died without reporting
                    break
            wall = time.perf_counter() - start
            for w in workers:
                w.join(TIMEOUT_S)
            crashed = [w.exitcode for w in workers if w.exitcode != 0]
            errors = sum(r["errors"] for r in reports) + len(crashed)
            samples = [s for r in reports for s in r["samples"]][:5]
            if crashed:
                samples.append(f"worker exit codes {crashed}")
            if tool == "flowtrack":
                client = lib.Client()
                runs = client.search_runs(experiment_id, max_results=50_000).items
                run_ids = [r.info.run_id for r in runs]
                spool = Path(tmp) / "ft" / "spool"
                left = len(list(spool.glob("*/*.journal"))) if spool.is_dir() else 0
            else:
                client = lib.MlflowClient()
                from mlflow.entities import ViewType

                runs = client.search_runs(
                    [experiment_id], run_view_type=ViewType.ALL, max_results=50_000
                )
                run_ids = [r.info.run_id for r in runs]
                left = 0
            stored = sum(len(client.get_metric_history(run_id, "loss")) for run_id in run_ids)
    return {
        "processes": procs,
        "runs_expected": expected_runs,
        "runs_stored": len(run_ids),
        "points_expected": expected,
        "points_stored": stored,
        "lost": expected - stored,
        "errors": errors,
        "error_samples": samples,
        "journals_left": left,
        "wall_s": wall,
    }


def case_concurrent(size: dict[str, int]) -> list[Row]:
    ft = _concurrent("flowtrack", size)
    ml = _concurrent("mlflow", size)

    def text(r: dict[str, Any]) -> str:
        return f"{r['errors']} errors, {r['lost']} lost of {r['points_expected']:,}"

    for name, r in (("flowtrack", ft), ("MLflow", ml)):
        for sample in r["error_samples"]:
            print(f"  {name} worker error: {sample[:200]}", file=sys.stderr)
    ok = ft["errors"] == 0 and ft["lost"] == 0
    shape = f"{size['procs']} procs x {size['proc_runs']} runs x {size['run_points']} pts"
    return [
        Row(
            "concurrent",
            f"concurrent writers ({shape})",
            text(ft),
            text(ml),
            None,
            "0 errors, 0 lost",
            ok,
            {"flowtrack": ft, "mlflow": ml},
        ),
        Row(
            "concurrent",
            "  wall time of the writers",
            f"{ft['wall_s']:,.2f} s",
            f"{ml['wall_s']:,.2f} s",
            ml["wall_s"] / ft["wall_s"],
            "(info)",
            None,
        ),
    ]


# -- report ------------------------------------------------------------------------------------
