"""Job lifecycles through the stand-in API server (tests/k8s/apiserver.py, since no
Kubernetes API server can run here) and the real kubernetes client: each Job becomes a run."""

from __future__ import annotations

import json
from pathlib import Path

import flowtrack
import pytest
from flowtrack_k8s import identity

from tests.k8s.apiserver import Cluster
from tests.k8s.conftest import WatcherFactory
from tests.k8s.helpers import ended_run, eventually, k8s_runs, run_of

pytestmark = pytest.mark.slow


def test_the_stand_in_objects_validate_in_the_kubernetes_client(
    cluster: Cluster, namespace: str
) -> None:
    """The client's pydantic models accept the stand-in's objects (as a real server's)."""
    from flowtrack_k8s.kube import api_client
    from kubernetes.client import BatchV1Api, CoreV1Api

    job = cluster.create_job("check", namespace)
    pod = cluster.start_pod(job)
    cluster.end_pod(pod, 0, log="done\n")
    cluster.warning(pod, "BackOff", "back-off restarting")
    client = api_client(cluster.url)
    jobs = BatchV1Api(client).list_namespaced_job(namespace)
    assert [j.metadata.uid for j in jobs.items] == [job["metadata"]["uid"]]
    assert jobs.items[0].spec.template.spec.containers[0].image == "python:3.12"
    core = CoreV1Api(client)
    pods = core.list_namespaced_pod(namespace).items
    assert pods[0].status.container_statuses[0].state.terminated.exit_code == 0
    assert core.list_namespaced_event(namespace).items[0].reason == "BackOff"
    assert core.read_namespaced_pod_log(pod["metadata"]["name"], namespace) == "done\n"


def test_success_is_a_finished_run_with_params_tags_pods_logs_and_data(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory, tmp_path: Path
) -> None:
    train = tmp_path / "train.csv"
    train.write_text("x,y\n1,2\n")
    import fsspec

    remote = "memory://bucket/train/part-0.csv"  # a URL: fingerprinted, not copied
    with fsspec.open(remote, "w") as f:
        f.write("x,y\n3,4\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00" * 64)
    watcher = start_watcher(log_max_bytes=300)
    job = cluster.create_job(
        "train-churn",
        namespace,
        labels={"team": "risk"},
        annotations={
            "flowtrack.dev/experiment": "churn",
            "flowtrack.dev/params": json.dumps({"alpha": 0.5, "opt": {"lr": 0.01}}),
            "flowtrack.dev/inputs": f"{train},{remote}",
            "flowtrack.dev/outputs": str(model),
            "flowtrack.dev/register-model": "churn",
        },
        resources={"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
    )
    eventually(lambda: run_of(job, "churn"), what="the run appears while the Job runs")
    running = run_of(job, "churn")
    assert running.info.status == "RUNNING"
    pod = cluster.start_pod(job, node="gpu-7")
    cluster.end_pod(pod, 0, log="".join(f"epoch {i}\n" for i in range(100)))
    cluster.finish_job(job)
    run = ended_run(job, "churn")
    uid = job["metadata"]["uid"]
    assert run.info.run_id == identity.job_run_id(uid)
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.info.source_ref == {"namespace": namespace, "name": "train-churn", "uid": uid}
    assert run.data.params["alpha"] == "0.5"
    assert run.data.params["opt.lr"] == "0.01"
    assert run.data.params["k8s.main.requests.cpu"] == "500m"
    assert run.data.params["k8s.main.limits.memory"] == "2Gi"
    tags = run.data.tags
    name = pod["metadata"]["name"]
    assert tags["k8s.label.team"] == "risk"
    assert tags[f"k8s.pod.{name}.phase"] == "Succeeded"
    assert tags[f"k8s.pod.{name}.node"] == "gpu-7"
    assert tags[f"k8s.pod.{name}.exit_code"] == "0"
    assert tags["k8s.image.main"].startswith("python:3.12@sha256:")
    assert tags["k8s.attempts"] == "1"
    assert not [k for k in tags if k.startswith("k8s.warning")], tags
    client = flowtrack.Client()
    logs = Path(client.download_artifacts(run.info.run_id, f"k8s/logs/{name}/main.log"))
    kept = logs.read_text()  # the tail is kept, and says it was cut
    assert kept.startswith("[... cut") and kept.endswith("epoch 98\nepoch 99\n")
    assert "epoch 0\n" not in kept and len(kept.encode()) < 400
    inputs = {Path(d.uri).name: d for d in client.get_run_inputs(run.info.run_id)}
    assert sorted(inputs) == ["part-0.csv", "train.csv"]
    assert inputs["part-0.csv"].mode == "reference"
    assert inputs["part-0.csv"].digest.startswith("ref:")
    assert inputs["train.csv"].mode == "snapshot"
    assert [Path(d.uri).name for d in client.get_run_outputs(run.info.run_id)] == ["model"]
    version = client.get_model_version("churn", 1)
    assert version.run_id == run.info.run_id
    assert tags["k8s.model_version"] == "churn/1"
    watcher.stop()


def test_failure_with_exit_code_oom_and_retries_up_to_the_backoff_limit(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    start_watcher()
    job = cluster.create_job("flaky", namespace, backoff_limit=2)
    first = cluster.start_pod(job)
    cluster.end_pod(first, 137, reason="OOMKilled", log="allocating\nKilled\n")
    second = cluster.start_pod(job)
    cluster.warning(second, "BackOff", "Back-off restarting failed container main")
    cluster.end_pod(second, 3, log="Traceback: ValueError\n")
    third = cluster.start_pod(job)
    cluster.end_pod(third, 3, log="Traceback: ValueError\n")
    cluster.finish_job(job, failed=True, reason="BackoffLimitExceeded")
    run = ended_run(job)
    assert run.info.status == "FAILED"
    tags = run.data.tags
    assert tags["k8s.reason"] == "BackoffLimitExceeded"
    assert "BackoffLimitExceeded" in tags["flowtrack.error"]
    assert tags["k8s.attempts"] == "3"
    assert tags["k8s.failed"] == "3"
    assert tags[f"k8s.pod.{first['metadata']['name']}.reason"] == "OOMKilled"
    assert tags[f"k8s.pod.{first['metadata']['name']}.exit_code"] == "137"
    assert tags[f"k8s.pod.{third['metadata']['name']}.exit_code"] == "3"
    assert tags["k8s.exit_code"] == "3"
    assert "Back-off restarting" in tags["k8s.event.BackOff"]
    client = flowtrack.Client()
    for pod in (first, second, third):
        name = pod["metadata"]["name"]
        assert client.download_artifacts(run.info.run_id, f"k8s/logs/{name}/main.log")


def test_deadline_exceeded_and_a_missing_image_digest_are_recorded(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    start_watcher()
    job = cluster.create_job("slow", namespace, image="registry.local/slow:latest")
    pod = cluster.start_pod(job, digest=False)
    cluster.end_pod(pod, 143, reason="DeadlineExceeded")
    cluster.finish_job(job, failed=True, reason="DeadlineExceeded")
    run = ended_run(job)
    assert run.info.status == "FAILED"
    assert run.data.tags["k8s.reason"] == "DeadlineExceeded"
    warning = run.data.tags["k8s.warning.image.main"]
    assert "registry.local/slow:latest" in warning and "no digest" in warning


def test_an_indexed_job_has_a_child_run_per_completion_index(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    start_watcher()
    job = cluster.create_job("shards", namespace, completions=3, indexed=True, backoff_limit=3)
    for index in range(3):
        pod = cluster.start_pod(job, index=index)
        if index == 1:  # index 1 fails once, then succeeds
            cluster.end_pod(pod, 1)
            pod = cluster.start_pod(job, index=index)
        cluster.end_pod(pod, 0, log=f"shard {index}\n")
    cluster.finish_job(job)
    run = ended_run(job)
    assert run.info.status == "FINISHED"

    def children() -> list:
        found = [r for r in k8s_runs() if r.info.parent_run_id == run.info.run_id]
        return found if len(found) == 3 else []

    kids = sorted(eventually(children), key=lambda r: r.data.tags["k8s.completion_index"])
    assert [k.data.tags["k8s.completion_index"] for k in kids] == ["0", "1", "2"]
    assert all(k.info.status == "FINISHED" for k in kids)
    assert kids[1].data.tags["k8s.attempts"] == "2"
    assert kids[0].info.run_id == identity.index_run_id(run.info.run_id, 0)


def test_jobs_of_a_cronjob_are_children_of_one_parent_run(
    cluster: Cluster, namespace: str, start_watcher: WatcherFactory
) -> None:
    watcher = start_watcher()
    cron = cluster.cronjob("nightly", namespace)
    jobs = []
    for n, fail in enumerate([False, True]):
        job = cluster.create_job(f"nightly-{n}", namespace, owner=cron, backoff_limit=0)
        pod = cluster.start_pod(job)
        cluster.end_pod(pod, 1 if fail else 0)
        cluster.finish_job(job, failed=fail)
        jobs.append(ended_run(job))
    parent_id = identity.cronjob_run_id(cron["metadata"]["uid"])
    assert {r.info.parent_run_id for r in jobs} == {parent_id}
    parent = flowtrack.Client().get_run(parent_id)
    assert parent.data.tags["k8s.cronjob"] == "nightly"
    assert parent.info.status == "FAILED"  # as its latest Job
    recorder = watcher.watcher.recorder  # ended Jobs are forgotten: memory stays bounded
    assert recorder.jobs == {} and recorder.pod_jobs == {} and len(recorder.done) == 2
