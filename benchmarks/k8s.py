"""The Kubernetes Job watcher: 1,000 Jobs x 3 pods through the stand-in API server.

    .venv/bin/python benchmarks/k8s.py [--jobs 1000] [--pods 3]

The stand-in (tests/k8s/apiserver.py: no real API server can run on these machines) runs in
its own process. Each Job has 3 attempts (two fail, the last succeeds), one Warning event and
a final Complete condition: 15 watch events per Job (8 for the Job, 6 for its pods, 1 event).
Two consumers are measured, each against a fresh stand-in, from the moment the stand-in starts
producing to the moment the consumer has everything:

* `flowtrack k8s watch` (in this process, leader election on, an embedded SQLite store):
  every Job recorded as an ended run with its 3 attempts, its 3 pods' logs stored as artifacts
  (one pod list and 3 log reads per Job), and `flowtrack.flush()` returned;
* the peer, since no other tool records Kubernetes Jobs as runs: a bare kubernetes-client
  loop (`kubernetes.watch.Watch().stream` on Jobs, Pods and Events, deserializing as the
  client does) that does nothing with what it sees.

Printed: watch events per second of each, their ratio, and the watcher's peak memory (peak
RSS of this process, and the growth over the baseline before the watcher started). A
measurement, not a test: it fails only if the runs did not land.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NAMESPACE = "bench"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StandIn:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.k8s.apiserver"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{self.proc.stdout.readline().strip()}"

    def go(self, jobs: int, pods: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"go {jobs} {pods}\n")
        self.proc.stdin.flush()

    def produced(self) -> float:
        assert self.proc.stdout is not None
        return float(self.proc.stdout.readline().split()[1])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


def bare_loop(jobs: int, pods: int) -> tuple[float, int]:
    """(seconds, events) for the kubernetes client's own watch loop, doing nothing."""
    from flowtrack_k8s.kube import api_client
    from kubernetes import watch
    from kubernetes.client import BatchV1Api, CoreV1Api

    server = StandIn()
    client = api_client(server.url)
    batch, core = BatchV1Api(client), CoreV1Api(client)
    counts = {"jobs": 0, "pods": 0, "events": 0}
    complete = threading.Event()
    done_jobs = [0]

    def loop(name: str, call: object) -> None:
        with contextlib.suppress(Exception):  # the stand-in closes the streams at the end
            consume(name, call)

    def consume(name: str, call: object) -> None:
        for event in watch.Watch().stream(call, NAMESPACE, resource_version="0"):
            counts[name] += 1
            if name == "jobs":
                conditions = event["object"].status.conditions or []
                if any(c.type == "Complete" for c in conditions):
                    done_jobs[0] += 1
                    if done_jobs[0] == jobs:
                        complete.set()
                        return

    calls = {
        "jobs": batch.list_namespaced_job,
        "pods": core.list_namespaced_pod,
        "events": core.list_namespaced_event,
    }
    threads = [threading.Thread(target=loop, args=i, daemon=True) for i in calls.items()]
    for t in threads:
        t.start()
    time.sleep(1.0)  # connected and idle
    started = time.perf_counter()
    server.go(jobs, pods)
    complete.wait(600)
    elapsed = time.perf_counter() - started
    expected_rest = jobs * (2 * pods + 1)
    deadline = time.monotonic() + 30
    while counts["pods"] + counts["events"] < expected_rest and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = max(elapsed, time.perf_counter() - started)
    server.produced()
    server.close()
    return elapsed, sum(counts.values())


def flowtrack_watcher(jobs: int, pods: int) -> tuple[float, int, float, float, int]:
    """(seconds, events, peak RSS MB, growth MB, Jobs still held) for `flowtrack k8s watch`."""
    import flowtrack
    from flowtrack_k8s.watcher import Settings, Watcher

    server = StandIn()
    baseline = _rss_mb()
    watcher = Watcher(
        Settings(namespace=NAMESPACE, host=server.url, lease_namespace=NAMESPACE, renew_s=2.0)
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    while not watcher.leading.is_set():
        time.sleep(0.05)
    time.sleep(1.0)  # listed, watching, idle
    started = time.perf_counter()
    server.go(jobs, pods)
    while len(watcher.recorder.done) < jobs:
        time.sleep(0.05)
        if time.perf_counter() - started > 1800:
            raise SystemExit("the watcher did not record every Job within 30 minutes")
    if not flowtrack.flush(600):
        raise SystemExit("the runs did not reach the store")
    elapsed = time.perf_counter() - started
    events = watcher.recorder.handled
    held = len(watcher.recorder.jobs)
    runs = flowtrack.Client().search_runs("Default", max_results=jobs + 10)
    ended = [r for r in runs.items if r.info.status == "FINISHED" and r.info.source_type == "k8s"]
    if len(ended) != jobs:
        raise SystemExit(f"{len(ended)} finished runs in the store, expected {jobs}")
    sample = ended[0].data.tags
    if sample.get("k8s.attempts") != str(pods):
        raise SystemExit(f"a run has {sample.get('k8s.attempts')} attempts, expected {pods}")
    watcher.stop()
    thread.join(30)
    server.produced()
    server.close()
    peak = _rss_mb()
    return elapsed, events, peak, peak - baseline, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowtrack-bench-k8s-") as tmp:
        for key in [k for k in os.environ if k.startswith("FLOWTRACK_")]:
            del os.environ[key]
        os.environ["FLOWTRACK_HOME"] = str(Path(tmp) / "ft")
        import flowtrack
        import kubernetes  # noqa: F401  (imports before the baseline)

        flowtrack.Client()
        bare_s, bare_events = bare_loop(args.jobs, args.pods)
        ft_s, ft_events, peak, growth, held = flowtrack_watcher(args.jobs, args.pods)
    print(f"{args.jobs} Jobs x {args.pods} pods through the stand-in API server")
    print(f"{'consumer':<44}{'events':>8}{'seconds':>9}{'events/s':>10}")
    print(
        f"{'bare kubernetes-client watch loop (no-op)':<44}{bare_events:>8}{bare_s:>9.2f}"
        f"{bare_events / bare_s:>10.0f}"
    )
    print(
        f"{'flowtrack k8s watch (runs, tags, logs)':<44}{ft_events:>8}{ft_s:>9.2f}"
        f"{ft_events / ft_s:>10.0f}"
    )
    print(
        f"ratio flowtrack / bare loop (events/s): {(ft_events / ft_s) / (bare_events / bare_s):.2f}"
    )
    print(
        f"watcher peak RSS {peak:.0f} MB (+{growth:.0f} MB over the baseline); "
        f"Jobs held in memory at the end: {held}"
    )


if __name__ == "__main__":
    main()
