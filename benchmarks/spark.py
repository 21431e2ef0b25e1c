"""The same 20-job Spark application with and without the flowtrack listener, alternating.

    .venv/bin/python benchmarks/spark.py [--rounds 4] [--jobs 20] [--json PATH]

Each round runs the application twice with ``spark-submit --master local[2]``: once plain,
once with the conf lines of ``flowtrack-spark conf`` (listener, SQL listener, ingest helper);
which goes first alternates from round to round. Round 0 warms the machine (and builds the
jar) and is dropped. Printed, median over rounds:

* the wall time of the 20 jobs inside the application (measured by the application itself,
  from its first job to its last) and the ratio tracked / plain: what the listener costs the
  jobs (goal: <= 1.02);
* the wall time of the whole spark-submit (JVM start, session, jobs, stop, and for the tracked
  variant the wait for the ingest helper, which shares the JVM's stderr) and its ratio;
* the CPU time (user + system) of the spark-submit process tree that spark-submit waits
  for (the JVM and the Python driver; the ingest helper, which the JVM does not wait for, is
  measured by the ingest rate below) and its ratio: less moved by other load than wall time;
* events shipped per second: the listener's events (tag ``spark.events_shipped``) over the
  jobs' wall time, and how many it dropped;
* ingest rate: one tracked application is run with ``spark.flowtrack.helper=false`` and its
  spool file ingested here, timed: flowtrack events journaled per second.

A measurement, not a test: nothing asserts on time; it fails only if the runs did not land.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

APP = """
import sys, time
from pyspark.sql import SparkSession
jobs = int(sys.argv[1])
spark = SparkSession.builder.appName("bench").getOrCreate()
spark.range(1000).count()  # warm the session: not timed
start = time.perf_counter()
for i in range(jobs):
    spark.range(200_000).selectExpr("id % 7 as k", "id").groupBy("k").count().collect()
print("JOBS_S", time.perf_counter() - start)
spark.stop()
"""


def _submit(
    app: Path, jobs: int, conf: dict[str, str], env: dict[str, str]
) -> tuple[float, float, float]:
    import pyspark

    cmd = [str(Path(pyspark.__file__).parent / "bin" / "spark-submit"), "--master", "local[2]"]
    cmd += ["--conf", "spark.ui.enabled=false"]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [*cmd, str(app), str(jobs)], check=False, capture_output=True, text=True, env=env
    )
    total = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"spark-submit failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("JOBS_S"))
    return float(line.split()[1]), total, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="flowtrack-bench-spark-"))
    for key in [k for k in os.environ if k.startswith("FLOWTRACK_")]:
        del os.environ[key]
    os.environ["FLOWTRACK_HOME"] = str(tmp / "home")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    import flowtrack
    from flowtrack_spark import ingest, jar, recorder, settings

    conf = settings.conf(jar.build(), experiment="bench")
    app = tmp / "app.py"
    app.write_text(APP)
    rows: list[dict[str, Any]] = []
    for round_no in range(args.rounds + 1):
        order = ["plain", "tracked"] if round_no % 2 == 0 else ["tracked", "plain"]
        row: dict[str, Any] = {"round": round_no}
        for variant in order:
            jobs_s, total_s, cpu_s = _submit(
                app, args.jobs, conf if variant == "tracked" else {}, env
            )
            row[variant] = {"jobs_s": jobs_s, "total_s": total_s, "cpu_s": cpu_s}
        rows.append(row)
        print(
            f"round {round_no}: "
            + ", ".join(
                f"{v} jobs {row[v]['jobs_s']:.2f} s / total {row[v]['total_s']:.1f} s"
                for v in order
            ),
            flush=True,
        )
    measured = rows[1:]

    client = flowtrack.Client()
    found = client.search_runs("bench", filter="attributes.source_type = 'spark'")
    runs = list(getattr(found, "items", found))
    if len(runs) != args.rounds + 1:
        raise SystemExit(f"expected {args.rounds + 1} tracked runs, found {len(runs)}")
    shipped = statistics.median(int(r.data.tags["spark.events_shipped"]) for r in runs)
    dropped = max(int(r.data.tags["spark.events_dropped"]) for r in runs)

    # The ingest rate, on a spool the helper did not read.
    spool_dir = tmp / "spool-bench"
    _submit(
        app,
        args.jobs,
        {**conf, "spark.flowtrack.helper": "false", "spark.flowtrack.spoolDir": str(spool_dir)},
        env,
    )
    (spool,) = spool_dir.glob("*.jsonl")
    lines = len(spool.read_text().splitlines())
    start = time.perf_counter()
    ingest.ingest_once(spool)
    recorder.flush()
    ingest_s = time.perf_counter() - start

    def med(variant: str, key: str) -> float:
        return statistics.median(r[variant][key] for r in measured)

    plain_jobs, tracked_jobs = med("plain", "jobs_s"), med("tracked", "jobs_s")
    plain_total, tracked_total = med("plain", "total_s"), med("tracked", "total_s")
    plain_cpu, tracked_cpu = med("plain", "cpu_s"), med("tracked", "cpu_s")
    summary = {
        "jobs": args.jobs,
        "rounds": args.rounds,
        "jobs_s": {"plain": plain_jobs, "tracked": tracked_jobs},
        "jobs_ratio": tracked_jobs / plain_jobs,
        "total_s": {"plain": plain_total, "tracked": tracked_total},
        "total_ratio": tracked_total / plain_total,
        "cpu_s": {"plain": plain_cpu, "tracked": tracked_cpu},
        "cpu_ratio": tracked_cpu / plain_cpu,
        "events_shipped": shipped,
        "events_dropped": dropped,
        "events_per_s_shipped": shipped / tracked_jobs,
        "ingest_lines": lines,
        "ingest_lines_per_s": lines / ingest_s,
    }
    print(f"\n{args.jobs} jobs, {args.rounds} rounds (median; round 0 dropped)")
    print(
        f"  jobs wall time  plain {plain_jobs:.2f} s  tracked {tracked_jobs:.2f} s  "
        f"ratio {summary['jobs_ratio']:.3f}"
    )
    print(
        f"  spark-submit    plain {plain_total:.1f} s  tracked {tracked_total:.1f} s  "
        f"ratio {summary['total_ratio']:.3f}"
    )
    print(
        f"  listener events {shipped:.0f} shipped ({summary['events_per_s_shipped']:.0f}/s of "
        f"job time), {dropped} dropped"
    )
    print(
        f"  ingest          {lines} spool lines in {ingest_s:.2f} s "
        f"({summary['ingest_lines_per_s']:.0f} lines/s, metrics + tags journaled)"
    )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rows}, indent=2))


if __name__ == "__main__":
    main()
