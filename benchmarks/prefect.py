"""The same 100-task Prefect flow with and without @tracked, in one process run.

    .venv/bin/python benchmarks/prefect.py [--tasks 100] [--rounds 7]

Prints the median time per task of each variant and the time tracking adds per task (target:
<= 2 ms). Rounds alternate plain and tracked so that drift hits both alike; the first round of
each is a warm-up and is dropped. On a shared machine the flow times vary by tens of ms per task
from round to round, so it also prints the time the adapter itself spends on the task's thread
(its handler for the task's Running and final states, timed around each call): that figure is
what tracking costs a task, free of the noise. Prefect runs against its temporary local server
and flowtrack against an embedded SQLite store, both in a fresh temp folder. A measurement, not
a test: nothing asserts on time; it fails only if the tracked runs did not land.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowtrack-bench-prefect-") as tmp:
        _environment(Path(tmp))
        # Imported after the environment is set: Prefect reads its settings on import.
        import flowtrack
        from flowtrack_prefect import recorder, tracked

        handler_ms: list[float] = []
        record_task_state = recorder.task_state

        def timed_task_state(*args: object) -> None:
            started = time.perf_counter()
            record_task_state(*args)
            handler_ms.append((time.perf_counter() - started) * 1000)

        recorder.task_state = timed_task_state  # type: ignore[assignment]
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
        per_task: dict[str, list[float]] = {"plain": [], "tracked": []}
        on_thread: list[float] = []  # ms per task spent in the adapter, per tracked round
        for round_no in range(args.rounds + 1):
            for name, fn in (("plain", hundred), ("tracked", tracked_hundred)):
                started = time.perf_counter()
                handler_ms.clear()
                fn(args.tasks)
                seconds = time.perf_counter() - started
                if round_no:  # round 0 warms up both (server start, imports, caches)
                    per_task[name].append(seconds / args.tasks * 1000)
                    if name == "tracked":
                        on_thread.append(sum(handler_ms) / args.tasks)
        flowtrack.flush()
        recorded = flowtrack.Client().search_runs("bench-prefect", max_results=50_000).items
        expected = (args.rounds + 1) * (args.tasks + 1)
        if len(recorded) != expected:
            print(f"FAILED: {len(recorded)} runs recorded, expected {expected}", file=sys.stderr)
            return 1
    plain = statistics.median(per_task["plain"])
    with_tracking = statistics.median(per_task["tracked"])
    print(f"{args.tasks}-task flow, {args.rounds} rounds each (median ms per task)")
    print(f"  plain Prefect       {plain:7.2f} ms")
    print(f"  with @tracked       {with_tracking:7.2f} ms")
    print(f"  added per task      {with_tracking - plain:7.2f} ms   (target <= 2 ms)")
    print(f"  adapter on the task's thread {statistics.median(on_thread):7.3f} ms per task")
    print("  per round, plain:   " + " ".join(f"{v:.2f}" for v in per_task["plain"]))
    print("  per round, tracked: " + " ".join(f"{v:.2f}" for v in per_task["tracked"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
