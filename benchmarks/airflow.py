"""The same 20-task Airflow DAG with and without the flowtrack listener.

    .venv/bin/python benchmarks/airflow.py [--mode dags-test|dag-test] [--tasks 20] [--rounds 5]

``--mode dags-test`` (the default, the issue's measure): each round runs ``airflow dags test``
twice, each in its own process with the same settings, one with the plugin's listener and one
with ``AIRFLOW__FLOWTRACK__ENABLED=false`` (the plugin then registers no listener: Airflow calls
nothing of flowtrack's); the order alternates from round to round. The per-task time is the
DAG's window (first task start to last task end, from Airflow's own task instance rows)
divided by the tasks, so the process start and the in-process API's boot (~11 s) stay out.
``--mode dag-test`` runs ``dag.test()`` in this process, alternating the two variants.

Both print the median time per task of each variant, the difference of the medians and the
median paired difference, plus the time the adapter spends in its hooks per task (timed around
each call) and in ``before_stopping`` (the wait for delivery to the store, which a worker does
after the task's work and state are reported, so it is shown apart: under ``dags test`` every
task runs in one process and it is on the DAG's path). The first round is a warm-up and is
dropped. Airflow uses a fresh SQLite home and flowtrack an embedded SQLite store, both in a
temp folder. A measurement, not a test: nothing asserts on time; it fails only if the tracked
runs did not land.
"""

from __future__ import annotations

import argparse
import json
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
import os
import time

from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_bench():
    @task
    def step(i: int) -> int:
        # The benchmark's marks: when each task's code starts, on this process's wall and CPU
        # clocks (every task of `dags test` and `dag.test()` runs in one process).
        with open(os.environ["FT_BENCH_MARKS"], "a") as marks:
            marks.write(f"{{i}} {{time.perf_counter()}} {{time.process_time()}}\\n")
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


def _timed(module: Any, name: str, into: list[float], cpu: list[float]) -> None:
    """Wall time (into ``into``) and the calling thread's CPU time (``cpu``) of each call, ms."""
    original: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            into.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)

    setattr(module, name, timed)


HOOKS = ("task_started", "task_ended", "dag_run_ended")


def _timed_recorder(hooks_ms: list[float], hooks_cpu: list[float], flush_ms: list[float]) -> None:
    from flowtrack_airflow import recorder

    for name in HOOKS:
        _timed(recorder, name, hooks_ms, hooks_cpu)
    _timed(recorder, "flush", flush_ms, [])


def _child(out: str) -> None:
    """`airflow dags test ft_bench` in this process (Airflow's own CLI entry point), with timers
    around the adapter's calls."""
    import airflow.__main__

    hooks_ms: list[float] = []
    hooks_cpu: list[float] = []
    flush_ms: list[float] = []
    _timed_recorder(hooks_ms, hooks_cpu, flush_ms)
    sys.argv = ["airflow", "dags", "test", "ft_bench"]
    try:
        airflow.__main__.main()
    finally:
        found = {"hooks_ms": sum(hooks_ms), "hooks_cpu": sum(hooks_cpu), "flush_ms": sum(flush_ms)}
        Path(out).write_text(json.dumps(found))


def _window(marks: Path, tasks: int) -> dict[str, float]:
    """Wall and CPU time per task between the first task's start and the last one's: each step
    holds a task's end (its hooks, the delivery wait), Airflow's scheduling and the next
    task's start (its hook)."""
    lines = [line.split() for line in marks.read_text().splitlines()]
    assert [int(line[0]) for line in lines] == list(range(tasks)), lines
    first, last = lines[0], lines[-1]
    steps = (tasks - 1) / 1000
    return {
        "wall_ms": (float(last[1]) - float(first[1])) / steps,
        "cpu_ms": (float(last[2]) - float(first[2])) / steps,
    }


def _dags_test_rounds(tmp: Path, rounds: int, tasks: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {"plain": [], "tracked": []}
    for round_no in range(rounds + 1):
        order = ("plain", "tracked") if round_no % 2 == 0 else ("tracked", "plain")
        for variant in order:
            out, marks = tmp / f"{round_no}-{variant}.json", tmp / f"{round_no}-{variant}.marks"
            env = {
                **os.environ,
                "AIRFLOW__FLOWTRACK__ENABLED": str(variant == "tracked"),
                "FT_BENCH_MARKS": str(marks),
            }
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(out)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0 or not out.exists():
                raise SystemExit(f"airflow dags test failed:\n{done.stderr[-4000:]}")
            if round_no > 0:  # round 0 is the warm-up
                results[variant].append({**json.loads(out.read_text()), **_window(marks, tasks)})
    return results


def _dag_test_rounds(
    tmp: Path, dag_file: Path, rounds: int, tasks: int
) -> dict[str, list[dict[str, float]]]:
    # Imported after the environment is set: Airflow reads its settings on import.
    import importlib.util

    from flowtrack_airflow import settings

    spec = importlib.util.spec_from_file_location("ft_bench", dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hooks_ms: list[float] = []
    hooks_cpu: list[float] = []
    flush_ms: list[float] = []
    _timed_recorder(hooks_ms, hooks_cpu, flush_ms)
    results: dict[str, list[dict[str, float]]] = {"plain": [], "tracked": []}
    for round_no in range(rounds + 1):
        for variant in ("plain", "tracked"):
            settings.forget()
            settings._loaded.append(settings.Settings(enabled=variant == "tracked"))
            marks = tmp / f"{round_no}-{variant}.marks"
            os.environ["FT_BENCH_MARKS"] = str(marks)
            hooks_before, flush_before = len(hooks_ms), len(flush_ms)
            result = module.DAG.test()
            assert "success" in str(result.state).lower(), result.state
            if round_no > 0:  # round 0 is the warm-up
                found = {
                    "hooks_ms": sum(hooks_ms[hooks_before:]),
                    "hooks_cpu": sum(hooks_cpu[hooks_before:]),
                    "flush_ms": sum(flush_ms[flush_before:]),
                }
                results[variant].append({**found, **_window(marks, tasks)})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("dags-test", "dag-test"), default="dags-test")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="flowtrack-bench-airflow-") as tmp:
        dag_file = _environment(Path(tmp), args.tasks)
        if args.mode == "dags-test":
            results = _dags_test_rounds(Path(tmp), args.rounds, args.tasks)
        else:
            results = _dag_test_rounds(Path(tmp), dag_file, args.rounds, args.tasks)
        import flowtrack

        flowtrack.flush()
        runs = flowtrack.Client().search_runs("ft_bench", max_results=10_000).items
        expected = args.rounds * (args.tasks + 1)
        if len(runs) < expected:
            print(f"only {len(runs)} of {expected} tracked runs landed", file=sys.stderr)
            return 1
    _report(args, results)
    return 0


def _report(args: argparse.Namespace, results: dict[str, list[dict[str, float]]]) -> None:
    calls = args.rounds * args.tasks
    print(f"mode: {args.mode}; tasks per DAG run: {args.tasks}; rounds: {args.rounds} (+1 warm-up)")
    for clock in ("wall", "cpu"):
        plain, tracked = ([r[f"{clock}_ms"] for r in results[v]] for v in ("plain", "tracked"))
        paired = sorted(t - p for p, t in zip(plain, tracked, strict=True))
        print(f"{clock} time per task, median over rounds:")
        print(f"  plain   {statistics.median(plain):8.2f} ms  (min {min(plain):.2f})")
        print(f"  tracked {statistics.median(tracked):8.2f} ms  (min {min(tracked):.2f})")
        print(
            f"  added: median paired {statistics.median(paired):+.2f} ms "
            f"(paired differences {' '.join(f'{d:+.2f}' for d in paired)})"
        )
    hooks, cpu, flush = (
        sum(r[key] for r in results["tracked"]) / calls
        for key in ("hooks_ms", "hooks_cpu", "flush_ms")
    )
    print(f"adapter hooks per task (running + end): wall {hooks:.3f} ms, CPU {cpu:.3f} ms")
    print(f"before_stopping wait per task (delivery to the store), wall: {flush:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
