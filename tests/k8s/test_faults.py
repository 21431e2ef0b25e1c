"""The watcher under a real API server's behaviour, through the stand-in (tests/k8s/apiserver.py,
since no Kubernetes API server can run here): restarts, 410 Gone, an API server that goes
away, two replicas with one Lease, bad annotations, 403s, a tracking store that is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import flowtrack
import pytest

from tests.k8s.apiserver import Cluster
from tests.k8s.conftest import WatcherFactory
from tests.k8s.helpers import ended_run, eventually, k8s_runs, run_of

pytestmark = pytest.mark.slow


def _job_ran(cluster: Cluster, job: dict, exit_code: int = 0) -> dict:
    pod = cluster.start_pod(job)
    cluster.end_pod(pod, exit_code, log="ok\n")
    cluster.finish_job(job, failed=exit_code != 0)
    return pod


@pytest.fixture
def watch_process(cluster: Cluster, namespace: str) -> Iterator[object]:
    """Starts `flowtrack k8s watch` as its own process (killed at the end if still alive)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "flowtrack"),
                "k8s",
                "watch",
                "--namespace",
                namespace,
                "--server",
                cluster.url,
                "--lease-duration",
                "2",
            ],
            env={**os.environ, "FLOWTRACK_FLUSH_TIMEOUT": "2"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_watcher_killed_and_restarted_neither_duplicates_nor_misses_jobs(
    cluster: Cluster, namespace: str, watch_process: object
) -> None:
    first = watch_process()  # type: ignore[operator]
    running = cluster.create_job("long", namespace)
    pod = cluster.start_pod(running)
    done_before = cluster.create_job("early", namespace)
    _job_ran(cluster, done_before)
    eventually(lambda: run_of(running) is not None and ended_run(done_before), 60, "first runs")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # While no watcher runs: the long Job ends, another Job runs from start to end.
    cluster.end_pod(pod, 0, log="finished while nobody watched\n")
    cluster.finish_job(running)
    unseen = cluster.create_job("unseen", namespace)
    _job_ran(cluster, unseen, exit_code=2)
    second = watch_process()  # type: ignore[operator]
    assert ended_run(running, timeout=60).info.status == "FINISHED"
    assert ended_run(unseen, timeout=60).info.status == "FAILED"
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    logs_read = sum(1 for r in cluster.requests if r.endswith("/log"))
    third = watch_process()  # type: ignore[operator]

    def third_leads() -> bool:
        lease = cluster.lease(namespace, "flowtrack-k8s-watch") or {}
        return str(lease.get("spec", {}).get("holderIdentity", "")).endswith(f"-{third.pid}")

    eventually(third_leads, 60, "the third watcher takes the lease")
    time.sleep(3)  # list, watch: ample time to write anything it would write
    third.send_signal(signal.SIGTERM)
    assert third.wait(30) == 0
    runs = k8s_runs()
    names = sorted(r.data.tags["k8s.job"] for r in runs)
    assert names == ["early", "long", "unseen"]  # one run each: no duplicate
    assert sum(1 for r in cluster.requests if r.endswith("/log")) == logs_read  # ended: skipped
    long_run = run_of(running)
    assert long_run.data.tags[f"k8s.pod.{pod['metadata']['name']}.phase"] == "Succeeded"


def test_410_gone_relists_and_nothing_is_missed(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    watcher = start_watcher()
    job = cluster.create_job("gone", namespace)
    eventually(lambda: run_of(job), what="the run appears")
    jobs = next(i for i in watcher.watcher.informers if i.resource == "jobs")
    assert jobs.lists == 1
    cluster.compact()  # every version the watcher knows is now too old
    cluster.drop_watches()
    _job_ran(cluster, job)
    assert ended_run(job).info.status == "FINISHED"
    assert jobs.lists >= 2  # it listed again after the 410
    assert len([r for r in k8s_runs() if r.data.tags["k8s.job"] == "gone"]) == 1


def test_bookmarks_move_the_watch_forward(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    watcher = start_watcher()
    eventually(lambda: watcher.watcher.informers, what="informers started")
    jobs = watcher.watcher.informers[0]
    eventually(lambda: jobs.bookmarks >= 2, 10, "two bookmarks")
    before = int(jobs.version or 0)
    cluster.create_job("elsewhere", namespace + "-other")  # another namespace: not sent
    eventually(lambda: int(jobs.version or 0) > before, 10, "a bookmark with a newer version")


def test_api_server_down_for_a_while_then_back(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    start_watcher()
    job = cluster.create_job("outage", namespace)
    pod = cluster.start_pod(job)
    eventually(lambda: run_of(job), what="the run appears")
    cluster.down()
    try:
        time.sleep(4)  # longer than the lease: the watcher steps down, retries with backoff
        cluster.end_pod(pod, 0, log="done during the outage\n")
        cluster.finish_job(job)
        later = cluster.create_job("during-outage", namespace)
        _job_ran(cluster, later)
    finally:
        cluster.up()
    assert ended_run(job, timeout=60).info.status == "FINISHED"
    assert ended_run(later, timeout=60).info.status == "FINISHED"


def test_two_watchers_one_lease_only_one_records(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    a = start_watcher(identity="replica-a")
    b = start_watcher(identity="replica-b")

    def leader() -> object:
        leading = [w for w in (a, b) if w.watcher.leading.is_set()]
        return leading[0] if len(leading) == 1 else None

    first = eventually(leader, what="one leader")
    time.sleep(2)  # the other keeps trying: still only one
    assert leader() is first
    other = b if first is a else a
    lease = cluster.lease(namespace, "flowtrack-k8s-watch")
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == first.watcher.lease.identity
    job = cluster.create_job("one", namespace)
    _job_ran(cluster, job)
    assert ended_run(job).info.status == "FINISHED"
    assert other.watcher.recorder.handled == 0
    first.stop()  # releases the Lease: the other takes over
    eventually(other.watcher.leading.is_set, 15, "the other replica leads")
    job2 = cluster.create_job("two", namespace)
    _job_ran(cluster, job2)
    assert ended_run(job2).info.status == "FINISHED"
    assert other.watcher.recorder.handled > 0
    assert sorted(r.data.tags["k8s.job"] for r in k8s_runs()) == ["one", "two"]


def test_bad_annotations_and_403_are_warnings_on_the_run_and_the_watcher_goes_on(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    cluster.forbid(rf"/namespaces/{namespace}/pods/[^/]+/log$")
    start_watcher()
    bad = cluster.create_job(
        "bad",
        namespace,
        annotations={
            "flowtrack.dev/params": "{alpha: 0.5",
            "flowtrack.dev/experimnt": "typo",
            "flowtrack.dev/inputs": "/no/such/data.csv",
        },
    )
    _job_ran(cluster, bad)
    run = ended_run(bad)
    assert run.info.status == "FINISHED"  # the Job ran untouched; so does its run
    tags = run.data.tags
    params = tags["k8s.warning.flowtrack.dev/params"]
    assert "flowtrack.dev/params" in params and "{alpha: 0.5" in params and "JSON" in params
    unknown = tags["k8s.warning.flowtrack.dev/experimnt"]
    assert "'typo'" in unknown and "not a flowtrack annotation" in unknown
    inputs = tags["k8s.warning.flowtrack.dev/inputs"]
    assert "/no/such/data.csv" in inputs and "does not exist" in inputs
    logs = next(v for k, v in tags.items() if k.startswith("k8s.warning.logs."))
    assert "403 Forbidden" in logs
    good = cluster.create_job("good", namespace, annotations={"flowtrack.dev/params": '{"a": 1}'})
    _job_ran(cluster, good)
    assert ended_run(good).data.params["a"] == "1"


@pytest.mark.postgres
def test_store_down_spools_and_delivers_later(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowtrack_k8s import logspool

    from tests.core.faults import missing_pg_database

    with missing_pg_database() as (uri, bring_up):
        monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "1")
        monkeypatch.setattr(logspool, "RETRY_S", 0.5)
        flowtrack.set_tracking_uri(uri)
        watcher = start_watcher()
        jobs = [cluster.create_job(f"spooled-{n}", namespace) for n in range(3)]
        pods = [_job_ran(cluster, job) for job in jobs]
        recorder = lambda: watcher.watcher.recorder  # noqa: E731
        eventually(lambda: len(recorder().done) == 3, 60, "the watcher went through every Job")
        assert watcher.thread.is_alive()
        # The pods' logs could not be stored (the run's artifact place is not known while the
        # store is down): they wait on disk, as the pods may be gone when it is back.
        assert len(list(logspool.folder().iterdir())) == 3
        bring_up()  # type: ignore[operator]
        runs = eventually(lambda: len(k8s_runs()) == 3 and k8s_runs(), 90, "delivered later")
        assert {r.info.status for r in runs} == {"FINISHED"}
        eventually(lambda: not list(logspool.folder().iterdir()), 60, "the logs stored")
        client = flowtrack.Client()
        for job, pod in zip(jobs, pods, strict=True):
            run_id = run_of(job).info.run_id
            name = pod["metadata"]["name"]
            logs = Path(client.download_artifacts(run_id, f"k8s/logs/{name}/main.log"))
            assert logs.read_text() == "ok\n"
        watcher.stop()


def test_a_job_deleted_while_no_watcher_ran_ends_killed_at_the_next_list(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    """ttlSecondsAfterFinished or `kubectl delete` while the watcher is down: no DELETED event
    ever comes. The next watcher's list lacks the Job, so its run and its index runs end
    KILLED with a warning that the outcome is unknown. A Job still listed, and a Job of a
    namespace this watcher does not watch, keep running."""
    first = start_watcher()
    gone = cluster.create_job("gone", namespace, completions=2, indexed=True)
    kept = cluster.create_job("kept", namespace)
    cluster.start_pod(gone, index=0)
    other_ns = f"{namespace}-b"
    elsewhere = cluster.create_job("elsewhere", other_ns)
    other = start_watcher(namespace=other_ns, lease_namespace=other_ns)

    def index_run() -> list:
        return [r for r in k8s_runs() if r.data.tags.get("k8s.completion_index") == "0"]

    eventually(lambda: run_of(gone) and run_of(kept) and run_of(elsewhere) and index_run())
    first.stop()
    other.stop()
    cluster.delete_job(gone)
    cluster.delete_job(elsewhere)
    start_watcher()
    run = ended_run(gone)
    assert run.info.status == "KILLED"
    assert "outcome is unknown" in run.data.tags["k8s.warning.vanished"]
    (child,) = index_run()
    assert child.info.parent_run_id == run.info.run_id
    assert eventually(
        lambda: flowtrack.Client().get_run(child.info.run_id).info.status != "RUNNING"
    )
    assert flowtrack.Client().get_run(child.info.run_id).info.status == "KILLED"
    assert run_of(kept).info.status == "RUNNING"
    assert run_of(elsewhere).info.status == "RUNNING"


def test_pod_logs_wait_on_disk_while_the_artifact_store_is_unreachable(
    cluster: Cluster,
    namespace: str,
    start_watcher: WatcherFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The tracking store is up, the artifact store is not (its folder cannot be made: a file
    is in the way, a real OSError even as root). Kubernetes drops a pod's logs with the pod,
    so the watcher keeps them on disk and stores them once the artifact store works."""
    from flowtrack_k8s import logspool

    monkeypatch.setattr(logspool, "RETRY_S", 0.5)
    blocked = tmp_path / "bucket"
    blocked.write_text("not a folder")
    flowtrack.Client().create_experiment("logs-down", artifact_location=str(blocked / "art"))
    start_watcher()
    job = cluster.create_job(
        "logged", namespace, annotations={"flowtrack.dev/experiment": "logs-down"}
    )
    pod = _job_ran(cluster, job)
    run = ended_run(job, "logs-down")
    assert run.info.status == "FINISHED"
    eventually(lambda: list(logspool.folder().iterdir()), 30, "the log kept on disk")
    blocked.unlink()
    blocked.mkdir()
    eventually(lambda: not list(logspool.folder().iterdir()), 30, "the log stored")
    name = pod["metadata"]["name"]
    logs = flowtrack.Client().download_artifacts(run.info.run_id, f"k8s/logs/{name}/main.log")
    assert Path(logs).read_text() == "ok\n"


def test_the_log_spool_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its size bound the log spool drops a log (with a warning) rather than fill the
    watcher's disk; what it holds is counted once and then kept up to date."""
    from flowtrack.tracking.context import RunState
    from flowtrack_k8s import logspool

    monkeypatch.setattr(logspool, "MAX_BYTES", 3200)
    walks: list[Path] = []
    count = logspool._size
    monkeypatch.setattr(logspool, "_size", lambda root: walks.append(root) or count(root))
    state = RunState("a" * 32, "sqlite:////nowhere/down.db", None, None, "", None, 0, None)
    kept = [logspool.keep(state, b"x" * 900, "k8s/logs/pod", f"c{n}.log") for n in range(4)]
    assert kept == [True, True, True, False]
    assert walks == [logspool.folder()]  # one walk of the folder, not one per log
    on_disk = sum(f.stat().st_size for f in logspool.folder().rglob("*") if f.is_file())
    assert on_disk <= 3200 and len(list(logspool.folder().iterdir())) == 3
