"""Shared parts of the tracking benchmark: clean environment, temp stores, checks."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

SIZES: dict[str, dict[str, int]] = {
    "full": {
        "log_metric_ft": 20_000,
        "log_metric_ml": 300,
        "ingest_ft": 200_000,
        "ingest_ml": 50_000,
        "runs_ft": 1_000,
        "runs_ml": 300,
        "search_runs": 1_000,
        "search_reps": 5,
        "procs": 10,
        "proc_runs": 5,
        "run_points": 200,
    },
    "small": {
        "log_metric_ft": 2_000,
        "log_metric_ml": 30,
        "ingest_ft": 20_000,
        "ingest_ml": 3_000,
        "runs_ft": 100,
        "runs_ml": 20,
        "search_runs": 100,
        "search_reps": 3,
        "procs": 3,
        "proc_runs": 2,
        "run_points": 50,
    },
}
CASES = ("log_metric", "ingest", "run_creation", "search", "concurrent")
KEYS = [f"m{i}" for i in range(10)]  # metrics logged per step in the batched cases
BATCH = 1000  # MLflow's limit of metrics per log_batch call
WARMUP_CALLS = 10
TIMEOUT_S = 900.0  # for flushes and workers: generous, a hang should fail, not wait forever


@dataclass
class Row:
    """One line of the table: a figure of each tool and how many times faster flowtrack is."""

    case: str
    what: str
    flowtrack: str
    mlflow: str
    ratio: float | None
    target: str
    met: bool | None
    raw: dict[str, Any] = field(default_factory=dict)


# -- environment -----------------------------------------------------------------------------


def _clean_environment() -> None:
    """Variables that would change what is measured (strict mode, async logging, a
    remote store, an inherited run) are dropped; MLflow is told not to phone home."""
    for name in list(os.environ):
        if name.startswith("FLOWTRACK_") or name in (
            "MLFLOW_TRACKING_URI",
            "MLFLOW_ENABLE_ASYNC_LOGGING",
            "MLFLOW_EXPERIMENT_NAME",
            "MLFLOW_EXPERIMENT_ID",
            "MLFLOW_RUN_ID",
        ):
            del os.environ[name]
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    os.environ["MLFLOW_LOGGING_LEVEL"] = "WARNING"
    os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    warnings.filterwarnings("ignore", module=r"(mlflow|alembic|pydantic)(\.|$)")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@contextlib.contextmanager
def _workdir(case: str, tool: str) -> Iterator[Path]:
    """A fresh temp folder, the working directory while the block runs, removed after."""
    tmp = Path(tempfile.mkdtemp(prefix=f"flowtrack-bench-{case}-{tool}-")).resolve()
    before = Path.cwd()
    os.chdir(tmp)
    try:
        yield tmp
    finally:
        os.chdir(before)
        shutil.rmtree(tmp, ignore_errors=True)


def _ft_uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/ft/flowtrack.db"


def _ml_uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/mlflow.db"


@contextlib.contextmanager
def _flowtrack(tmp: Path) -> Iterator[Any]:
    """flowtrack pointed at <tmp>/ft; its writer threads and connections closed after."""
    import flowtrack
    from flowtrack.tracking import stores, writer

    os.environ["FLOWTRACK_HOME"] = str(tmp / "ft")
    flowtrack.set_tracking_uri(_ft_uri(tmp))
    try:
        yield flowtrack
    finally:
        while flowtrack.active_run() is not None:
            flowtrack.end_run()
        writer.close_all(TIMEOUT_S)
        stores.forget_stores()
        flowtrack.set_tracking_uri(None)
        del os.environ["FLOWTRACK_HOME"]


def _quiet_mlflow() -> None:
    for name in ("mlflow", "alembic", "git"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def _mlflow(tmp: Path, experiment: str) -> Iterator[tuple[Any, str]]:
    """MLflow pointed at <tmp>/mlflow.db with a new experiment whose artifacts go to <tmp>;
    yields (mlflow, experiment_id). The experiment is created before any timing starts, so the
    schema creation MLflow does on a new database is not measured."""
    uri = _ml_uri(tmp)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    import mlflow

    _quiet_mlflow()
    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.MlflowClient().create_experiment(
        experiment, artifact_location=str(tmp / "mlartifacts")
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    try:
        yield mlflow, experiment_id
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        del os.environ["MLFLOW_TRACKING_URI"]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark check failed: {message}")


def _now_ms() -> int:
    return int(time.time() * 1000)
