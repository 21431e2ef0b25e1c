"""The same 20-task Airflow DAG with and without the flowtrack listener, in one process run.

    .venv/bin/python benchmarks/airflow.py [--tasks 20] [--rounds 5]

Prints the median time per task of each variant (`dag.test()`, which runs every task in this
process) and the difference, plus the time the adapter itself spends in its hooks per task
(timed around each call; `before_stopping` waits for delivery to the store, which Airflow runs
after the task's work, so it is shown apart). Rounds alternate plain and tracked; the first
round of each is a warm-up and is dropped. Airflow uses a fresh SQLite home and flowtrack an
embedded SQLite store, both in a temp folder. A measurement, not a test: nothing asserts on
time; it fails only if the tracked runs did not land.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# real `airflow` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

DAG_SOURCE = """
import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_bench():
    @task
    def step(i: int) -> int:
        return i
    previous = None
    for i in range({tasks}):
        current = step.override(task_id=f"step_{{i}}")(i)
        if previous is not None:
            previous >> current
        previous = current

DAG = ft_bench()
"""


def _environment(tmp: Path, tasks: int) -> Path:
    for key in [k for k in os.environ if k.startswith(("FLOWTRACK_", "AIRFLOW"))]:
        del os.environ[key]
    dags = tmp / "dags"
    dags.mkdir()
    (dags / "ft_bench.py").write_text(textwrap.dedent(DAG_SOURCE.format(tasks=tasks)))
    os.environ.update(
        {
            "FLOWTRACK_HOME": str(tmp / "ft"),
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True
    )
    return dags / "ft_bench.py"


def _timed(module: Any, name: str, into: list[float]) -> None:
    original: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append((time.perf_counter() - started) * 1000)

    setattr(module, name, timed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowtrack-bench-airflow-") as tmp:
        dag_file = _environment(Path(tmp), args.tasks)
        # Imported after the environment is set: Airflow reads its settings on import.
        import importlib.util

        import flowtrack
        from flowtrack_airflow import recorder, settings

        spec = importlib.util.spec_from_file_location("ft_bench", dag_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        hooks_ms: list[float] = []
        flush_ms: list[float] = []
        for name in ("task_started", "task_ended", "dag_run_ended"):
            _timed(recorder, name, hooks_ms)
        _timed(recorder, "flush", flush_ms)
        per_task: dict[str, list[float]] = {"plain": [], "tracked": []}
        for round_no in range(args.rounds + 1):
            for variant in ("plain", "tracked"):
                settings.forget()
                settings._loaded.append(settings.Settings(enabled=variant == "tracked"))
                hooks_before, flush_before = len(hooks_ms), len(flush_ms)
                started = time.perf_counter()
                result = module.DAG.test()
                seconds = time.perf_counter() - started
                assert "success" in str(result.state).lower(), result.state
                if round_no == 0:  # warm-up
                    del hooks_ms[hooks_before:], flush_ms[flush_before:]
                    continue
                per_task[variant].append(seconds * 1000 / args.tasks)
        flowtrack.flush()
        runs = flowtrack.Client().search_runs("ft_bench", max_results=10_000).items
        expected = args.rounds * (args.tasks + 1)
        if len(runs) < expected:
            print(f"only {len(runs)} of {expected} tracked runs landed", file=sys.stderr)
            return 1
    plain, tracked = (statistics.median(per_task[v]) for v in ("plain", "tracked"))
    calls = args.rounds * args.tasks
    print(f"tasks per DAG run: {args.tasks}, rounds: {args.rounds} (after one warm-up each)")
    print(f"plain   median per task: {plain:8.2f} ms")
    print(f"tracked median per task: {tracked:8.2f} ms")
    print(f"added per task (difference of medians): {tracked - plain:+.2f} ms")
    print(f"adapter hooks per task (running + end): {sum(hooks_ms) / calls:.3f} ms")
    print(f"before_stopping wait per task (delivery): {sum(flush_ms) / calls:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
