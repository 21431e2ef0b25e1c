"""The same 100-task Prefect flow with and without @tracked, in paired rounds in one process.

    .venv/bin/python benchmarks/prefect.py [--tasks 100] [--rounds 15] [--json PATH]

Each round runs the plain flow and the tracked flow back to back (which goes first alternates
from round to round), against the same Prefect server and flowtrack store, so load that drifts
between rounds hits both alike. Round 0 warms both up and is dropped. Printed:

* wall time per task of each variant (median over rounds), and the median over rounds of the
  paired difference tracked - plain (with its quartiles): what tracking adds to a task, end
  to end, on this machine as it is;
* CPU time of this process per task (`time.process_time`, every thread: the task's, the
  engine's, flowtrack's writer) as the same paired difference: what tracking costs in CPU,
  which moves far less with the machine's load than wall time;
* the CPU time of Prefect's temporary server (this process's child processes, read from
  /proc) during the plain flow: on a loaded machine the wall time follows it;
* the adapter's own cost on the task's thread: `time.thread_time` (CPU) and
  `time.perf_counter` (wall) around each call of its task handler (Prefect's Running and
  final state of each task run), summed per round and divided by the tasks, median over
  rounds; and the same around its flow handler (flow run start and end), per flow run.

Prefect runs against its temporary local server and flowtrack against an embedded SQLite store,
both in a fresh temp folder. A measurement, not a test: nothing asserts on time; it fails only
if the tracked runs did not land.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# real `prefect` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _environment(tmp: Path) -> None:
    for key in [k for k in os.environ if k.startswith(("FLOWTRACK_", "PREFECT_"))]:
        del os.environ[key]
    os.environ.update(
        {
            "FLOWTRACK_HOME": str(tmp / "ft"),
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_MEMO_STORE_PATH": str(tmp / "prefect" / "memo_store.toml"),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )


class Meter:
    """CPU (thread_time) and wall time spent inside one function, on the calling thread."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., None]) -> Callable[..., None]:
        def timed(*args: Any) -> None:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                fn(*args)
            finally:
                self.cpu += time.thread_time() - cpu
                self.wall += time.perf_counter() - wall
                self.calls += 1

        return timed

    def take(self) -> tuple[float, float, int]:
        taken = (self.cpu, self.wall, self.calls)
        self.cpu = self.wall = 0.0
        self.calls = 0
        return taken


def _children_cpu_s() -> float:
    """CPU seconds used so far by this process's child processes (Linux /proc; else 0)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == os.getpid():  # fields: state, ppid, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowtrack-bench-prefect-") as tmp:
        _environment(Path(tmp))
        # Imported after the environment is set: Prefect reads its settings on import.
        import flowtrack
        from flowtrack_prefect import recorder, tracked

        task_meter, flow_meter = Meter(), Meter()
        # engine.py and api.py reach these through the module, so the wrappers see every call.
        recorder.task_state = task_meter.wrap(recorder.task_state)  # type: ignore[assignment]
        recorder.flow_state = flow_meter.wrap(recorder.flow_state)  # type: ignore[assignment]
        from prefect import flow, task

        @task
        def step(i: int) -> int:
            return i + 1

        @flow
        def hundred(n: int) -> int:
            total = 0
            for i in range(n):
                total += step(i)
            return total

        tracked_hundred = tracked(hundred, experiment="bench-prefect")
        rounds: list[dict[str, Any]] = []
        for round_no in range(args.rounds + 1):
            pair = [("plain", hundred), ("tracked", tracked_hundred)]
            row: dict[str, Any] = {"first": pair[round_no % 2][0]}
            for name, fn in pair if round_no % 2 == 0 else reversed(pair):
                task_meter.take()
                flow_meter.take()
                server = _children_cpu_s()
                wall, cpu = time.perf_counter(), time.process_time()
                fn(args.tasks)
                row[name] = {
                    "wall_ms_per_task": (time.perf_counter() - wall) * 1000 / args.tasks,
                    "cpu_ms_per_task": (time.process_time() - cpu) * 1000 / args.tasks,
                    "server_cpu_ms_per_task": (_children_cpu_s() - server) * 1000 / args.tasks,
                    "task_handler": task_meter.take(),
                    "flow_handler": flow_meter.take(),
                }
            if round_no:  # round 0 warms up both (server start, imports, caches)
                rounds.append(row)
        flowtrack.flush()
        recorded = flowtrack.Client().search_runs("bench-prefect", max_results=50_000).items
        expected = (args.rounds + 1) * (args.tasks + 1)
        if len(recorded) != expected:
            print(f"FAILED: {len(recorded)} runs recorded, expected {expected}", file=sys.stderr)
            return 1
    report(rounds, args.tasks, args.json)
    return 0


def report(rounds: list[dict[str, Any]], tasks: int, json_path: Path | None) -> None:
    def series(name: str, key: str) -> list[float]:
        return [r[name][key] for r in rounds]

    def paired(key: str) -> list[float]:
        return [r["tracked"][key] - r["plain"][key] for r in rounds]

    def handler(name: str, kind: str, index: int, per: float) -> float:
        return statistics.median(r[name][kind][index] * 1000 / per for r in rounds)

    wall_diff, cpu_diff = paired("wall_ms_per_task"), paired("cpu_ms_per_task")
    server_diff = paired("server_cpu_ms_per_task")
    figures = {
        "tasks": tasks,
        "rounds": len(rounds),
        "plain_wall_ms_per_task": statistics.median(series("plain", "wall_ms_per_task")),
        "tracked_wall_ms_per_task": statistics.median(series("tracked", "wall_ms_per_task")),
        "added_wall_ms_per_task": statistics.median(wall_diff),
        "added_wall_quartiles": _quartiles(wall_diff),
        "fastest_plain_wall_ms_per_task": min(series("plain", "wall_ms_per_task")),
        "fastest_tracked_wall_ms_per_task": min(series("tracked", "wall_ms_per_task")),
        "plain_cpu_ms_per_task": statistics.median(series("plain", "cpu_ms_per_task")),
        "tracked_cpu_ms_per_task": statistics.median(series("tracked", "cpu_ms_per_task")),
        "added_cpu_ms_per_task": statistics.median(cpu_diff),
        "added_cpu_quartiles": _quartiles(cpu_diff),
        "plain_server_cpu_ms_per_task": statistics.median(
            series("plain", "server_cpu_ms_per_task")
        ),
        "added_server_cpu_ms_per_task": statistics.median(server_diff),
        "added_server_cpu_quartiles": _quartiles(server_diff),
        "task_handler_cpu_ms_per_task": handler("tracked", "task_handler", 0, tasks),
        "task_handler_wall_ms_per_task": handler("tracked", "task_handler", 1, tasks),
        "task_handler_plain_cpu_ms_per_task": handler("plain", "task_handler", 0, tasks),
        "flow_handler_cpu_ms_per_flow": handler("tracked", "flow_handler", 0, 1),
        "flow_handler_wall_ms_per_flow": handler("tracked", "flow_handler", 1, 1),
        "rounds_raw": rounds,
    }
    f = figures
    print(f"{tasks}-task flow, {len(rounds)} paired rounds (medians over rounds, ms per task)")
    print(f"  wall, plain Prefect            {f['plain_wall_ms_per_task']:8.3f}")
    print(f"  wall, with @tracked            {f['tracked_wall_ms_per_task']:8.3f}")
    lo, hi = f["added_wall_quartiles"]
    print(
        f"  wall added (paired)            {f['added_wall_ms_per_task']:8.3f}"
        f"   quartiles {lo:.3f} .. {hi:.3f}   (target <= 2 ms)"
    )
    print(
        f"  wall, fastest round of each    {f['fastest_plain_wall_ms_per_task']:8.3f} plain"
        f"   {f['fastest_tracked_wall_ms_per_task']:.3f} tracked"
    )
    print(f"  CPU of the process, plain      {f['plain_cpu_ms_per_task']:8.3f}")
    print(f"  CPU of the process, @tracked   {f['tracked_cpu_ms_per_task']:8.3f}")
    lo, hi = f["added_cpu_quartiles"]
    print(
        f"  CPU added (paired)             {f['added_cpu_ms_per_task']:8.3f}"
        f"   quartiles {lo:.3f} .. {hi:.3f}"
    )
    print(
        f"  CPU of Prefect's server, plain {f['plain_server_cpu_ms_per_task']:8.3f}"
        "   (it keeps working between flows: not attributable per variant, see README)"
    )
    print(
        f"  adapter on the task's thread   {f['task_handler_cpu_ms_per_task']:8.3f} CPU"
        f"   {f['task_handler_wall_ms_per_task']:.3f} wall"
        f"   (untracked flow: {f['task_handler_plain_cpu_ms_per_task']:.4f} CPU)"
    )
    print(
        f"  adapter per flow run (start + end)  {f['flow_handler_cpu_ms_per_flow']:.2f} ms CPU"
        f"   {f['flow_handler_wall_ms_per_flow']:.2f} ms wall"
    )
    print("  wall added per round: " + " ".join(f"{v:.2f}" for v in wall_diff))
    print("  CPU added per round:  " + " ".join(f"{v:.2f}" for v in cpu_diff))
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.exit(main())
