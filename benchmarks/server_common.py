"""Shared parts of the server benchmark: the two servers as processes, sizes, the table row."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

RESULTS = Path(__file__).resolve().parent / "results" / "server-latest.json"

# Each case keeps both servers up and takes its figures in rounds, flowtrack then MLflow in
# each round; the ratio is the median over the rounds of the ratio within a round (paired: the
# machine is shared, and its load drifts between rounds more than within one).
SIZES: dict[str, dict[str, int]] = {
    "full": {
        "ingest_ft": 200_000,
        "ingest_ml": 20_000,
        "ingest_rounds": 3,
        "calls_ft": 1_000,
        "calls_ml": 100,
        "calls_rounds": 3,
        "search_runs": 10_000,
        "search_rounds": 5,
        "history_points": 100_000,
        "history_rounds": 5,
    },
    "small": {
        "ingest_ft": 20_000,
        "ingest_ml": 3_000,
        "ingest_rounds": 2,
        "calls_ft": 200,
        "calls_ml": 30,
        "calls_rounds": 2,
        "search_runs": 1_000,
        "search_rounds": 3,
        "history_points": 10_000,
        "history_rounds": 3,
    },
}
CASES = ("ingest", "log_metric", "search", "history")
BATCH = 1000  # metrics per log_batch call (MLflow's limit)
KEYS = [f"m{i}" for i in range(10)]
SEARCH_FILTER = "metrics.m3 > 0.5"
SEARCH_ORDER = ["metrics.m3 DESC"]
STARTUP_S = 120.0


@dataclass
class Row:
    case: str
    what: str
    flowtrack: str
    mlflow: str
    ratio: float | None
    target: str
    met: bool | None
    raw: dict[str, Any] = field(default_factory=dict)


def finished_run_events(
    experiment_id: str,
    i: int,
    stamp: int,
    metrics: dict[str, float],
    params: dict[str, str],
    tags: dict[str, str],
    duration_ms: int = 0,
) -> list[dict[str, Any]]:
    """The events of set-up run number ``i``: created at ``stamp + i`` with ``tags``, its
    metrics at step 0, its params, then FINISHED ``duration_ms`` later."""
    run_id = f"{i:032x}"
    return [
        {
            "op": "create_run",
            "run_id": run_id,
            "experiment_id": experiment_id,
            "run_name": f"r{i}",
            "start_time": stamp + i,
            "tags": tags,
        },
        {"op": "metrics", "run_id": run_id, "values": metrics, "timestamp": stamp, "step": 0},
        *({"op": "param", "run_id": run_id, "key": k, "value": v} for k, v in params.items()),
        {
            "op": "update_run",
            "run_id": run_id,
            "status": "FINISHED",
            "end_time": stamp + i + duration_ms,
        },
    ]


def send_runs(
    apply: Callable[[list[dict[str, Any]]], Any],
    n: int,
    events_of: Callable[[int], list[dict[str, Any]]],
    batch: int = 500,
) -> None:
    """Set-up runs 0..n-1 (``events_of(i)`` each) sent through ``apply`` (a store's
    apply_events) in batches of ``batch`` runs; raises if the store refused any event."""
    for first in range(0, n, batch):
        events = [e for i in range(first, min(n, first + batch)) for e in events_of(i)]
        check(not apply(events), "flowtrack refused set-up events")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark check failed: {message}")


def clean_environment() -> None:
    for name in list(os.environ):
        if name.startswith("FLOWTRACK_") or name.startswith("MLFLOW_TRACKING"):
            del os.environ[name]
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    os.environ["MLFLOW_LOGGING_LEVEL"] = "WARNING"
    os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    import logging
    import warnings

    warnings.filterwarnings("ignore", module=r"(mlflow|alembic|pydantic)(\.|$)")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("mlflow", "alembic", "git"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    tool: str
    url: str
    folder: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _wait(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            log = (server.folder / "server.log").read_text()
            raise SystemExit(f"the {server.tool} server exited:\n{log}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"the {server.tool} server did not start in {STARTUP_S} s")


@contextlib.contextmanager
def server(tool: str, prepare: Any = None) -> Iterator[ServerProcess]:
    """A fresh server of ``tool`` ("flowtrack" or "mlflow") on its own SQLite file in a temp
    folder, one worker, artifacts in the folder. ``prepare(folder, db_uri)`` runs before it
    starts (to fill the database without going through the server)."""
    folder = Path(tempfile.mkdtemp(prefix=f"flowtrack-bench-server-{tool}-")).resolve()
    db = f"sqlite:///{folder}/{tool}.db"
    if prepare is not None:
        prepare(folder, db)
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    if tool == "flowtrack":
        args = [
            sys.executable,
            "-c",
            "from flowtrack.cli.main import main; main()",
            "server",
            "--backend-store-uri",
            db,
            "--artifacts-destination",
            str(folder / "artifacts"),
        ]
    else:
        args = [
            str(bin_dir / "mlflow"),
            "server",
            "--backend-store-uri",
            db,
            "--default-artifact-root",
            str(folder / "artifacts"),
        ]
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "FLOWTRACK_HOME": str(folder / "home")}
    with open(folder / "server.log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    running = ServerProcess(tool, f"http://127.0.0.1:{port}", folder, proc)
    try:
        _wait(running)
        yield running
    finally:
        if proc.poll() is not None:  # died on its own: say why before the folder goes
            print(f"the {tool} server exited:", file=sys.stderr)
            print((folder / "server.log").read_text()[-3000:], file=sys.stderr)
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def flowtrack_client(url: str) -> Iterator[Any]:
    """flowtrack with its tracking URI on ``url`` and a throwaway FLOWTRACK_HOME (the spool)."""
    import flowtrack
    from flowtrack.tracking import stores, writer

    home = Path(tempfile.mkdtemp(prefix="flowtrack-bench-client-"))
    os.environ["FLOWTRACK_HOME"] = str(home)
    flowtrack.set_tracking_uri(url)
    try:
        yield flowtrack
    finally:
        while flowtrack.active_run() is not None:
            flowtrack.end_run()
        writer.close_all(900)
        stores.forget_stores()
        flowtrack.set_tracking_uri(None)
        del os.environ["FLOWTRACK_HOME"]
        shutil.rmtree(home, ignore_errors=True)


def now_ms() -> int:
    return int(time.time() * 1000)


def paired(a: list[float], b: list[float]) -> float:
    """The median over rounds of a / b within the same round."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))
