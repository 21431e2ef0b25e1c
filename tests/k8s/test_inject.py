"""``flowtrack k8s inject``: manifests in, the same manifests with the run context out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import flowtrack
import pytest
import yaml
from click.testing import CliRunner
from flowtrack_k8s import patch
from flowtrack_k8s.cli import k8s

from tests.k8s.test_webhook import run_container
from tests.k8s.webhook_helpers import create_run_as_watcher, env_of

URI = "http://flowtrack.flowtrack.svc:5000"

MANIFEST = """\
# a comment (YAML comments do not survive the round trip)
apiVersion: batch/v1
kind: Job
metadata:
  name: train-churn
  namespace: ml
  labels: {flowtrack.dev/track: "true"}
  annotations:
    flowtrack.dev/experiment: churn
    flowtrack.dev/params: '{"alpha": 0.5}'
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: fetch
          image: busybox
      containers:
        - name: train
          image: python:3.11
          env:
            - {name: FLOWTRACK_EXPERIMENT, value: overridden-by-me}
            - {name: ALPHA, value: "0.5"}
---
apiVersion: batch/v1
kind: Job
metadata: {name: untracked, namespace: ml}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {flowtrack.dev/track: "true"}}
data: {a: "1"}
---
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ml}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    metadata:
      labels: {flowtrack.dev/track: "true"}
      annotations: {flowtrack.dev/experiment: nightly}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox}]
"""


def invoke(*args: str, input: str | None = None) -> tuple[str, str]:
    result = CliRunner().invoke(k8s, ["inject", *args], input=input)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def docs(text: str) -> list[Any]:
    return list(yaml.safe_load_all(text))


def test_inject_touches_only_tracked_jobs_and_cronjob_templates(tmp_path: Path) -> None:
    source = tmp_path / "job.yaml"
    source.write_text(MANIFEST)
    out, err = invoke(str(source), "--tracking-uri", URI)
    original = [d for d in docs(MANIFEST) if d is not None]
    job, untracked, config_map, cron = docs(out)
    assert untracked == original[1] and config_map == original[2]

    run_id = job["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    assert patch.is_run_id(run_id) and f"Job ml/train-churn: run {run_id}" in err
    pod = job["spec"]["template"]["spec"]
    assert env_of(pod["containers"][0]) == {
        "FLOWTRACK_EXPERIMENT": "overridden-by-me",  # the user's own value stays
        "ALPHA": "0.5",
        "FLOWTRACK_TRACKING_URI": URI,
        "FLOWTRACK_RUN_ID": run_id,
    }
    assert env_of(pod["initContainers"][0]) == {
        "FLOWTRACK_TRACKING_URI": URI,
        "FLOWTRACK_RUN_ID": run_id,
        "FLOWTRACK_EXPERIMENT": "churn",
    }
    cron_env = env_of(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])
    assert cron_env == {"FLOWTRACK_TRACKING_URI": URI, "FLOWTRACK_EXPERIMENT": "nightly"}
    assert patch.RUN_ID_ANNOTATION not in cron["spec"]["jobTemplate"]["metadata"]["annotations"]
    assert "CronJob ml/nightly" in err and "webhook sets it" in err


def test_reinjecting_changes_nothing(tmp_path: Path) -> None:
    first, _ = invoke("-", "--tracking-uri", URI, input=MANIFEST)
    second, _ = invoke("-", "--tracking-uri", URI, input=first)
    assert second == first


def test_each_inject_of_a_fresh_manifest_is_a_new_run() -> None:
    a, _ = invoke("-", "--tracking-uri", URI, input=MANIFEST)
    b, _ = invoke("-", "--tracking-uri", URI, input=MANIFEST)
    ids = {docs(t)[0]["metadata"]["annotations"][patch.RUN_ID_ANNOTATION] for t in (a, b)}
    assert len(ids) == 2


def test_output_file_and_bad_yaml(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    stdout, _ = invoke("-", "-o", str(out), "--tracking-uri", URI, input=MANIFEST)
    assert (
        stdout == ""
        and docs(out.read_text())[0]["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Job\n  metadata: [\n")
    target = tmp_path / "never.yaml"
    result = CliRunner().invoke(k8s, ["inject", str(bad), "-o", str(target), "--tracking-uri", URI])
    assert result.exit_code == 1 and f"{bad} is not valid YAML" in result.output
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tracking_uri_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWTRACK_TRACKING_URI", raising=False)
    result = CliRunner().invoke(k8s, ["inject", "-"], input=MANIFEST)
    assert result.exit_code == 2 and "--tracking-uri is required" in result.output
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", URI)
    out, _ = invoke("-", input=MANIFEST)
    assert (
        env_of(docs(out)[0]["spec"]["template"]["spec"]["containers"][0])["FLOWTRACK_TRACKING_URI"]
        == URI
    )


def test_a_list_of_objects_and_a_job_without_env() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "j", "labels": {"flowtrack.dev/track": "true"}},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            }
        ],
    }
    out, _ = invoke("-", "--tracking-uri", URI, input=yaml.safe_dump(manifest))
    (job,) = docs(out)[0]["items"]
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert env["FLOWTRACK_RUN_ID"] == job["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]


def test_injected_job_is_a_valid_kubernetes_object() -> None:
    import kubernetes  # flowtrack-k8s depends on it

    from tests.k8s.test_deploy import as_model

    out, _ = invoke("-", "--tracking-uri", URI, input=MANIFEST)
    job = as_model(kubernetes, docs(out)[0])
    assert {e.name for e in job.spec.template.spec.containers[0].env} >= {
        "FLOWTRACK_RUN_ID",
        "FLOWTRACK_TRACKING_URI",
    }


def test_through_the_flowtrack_command_and_into_a_container(tmp_path: Path) -> None:
    """``flowtrack k8s inject - | kubectl apply -f -``, then the pod's code logs a metric."""
    (tmp_path / "store").mkdir()
    uri = f"sqlite:///{tmp_path / 'store' / 'flowtrack.db'}"
    flowtrack_cli = Path(sys.executable).parent / "flowtrack"
    done = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [str(flowtrack_cli), "k8s", "inject", "-", "--tracking-uri", uri],
        input=MANIFEST,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    job = docs(done.stdout)[0]
    env = env_of(job["spec"]["template"]["spec"]["initContainers"][0])
    create_run_as_watcher(uri, env["FLOWTRACK_RUN_ID"], "churn")
    run_container(env, tmp_path)
    import flowtrack

    run = flowtrack.Client(uri).get_run(job["metadata"]["annotations"][patch.RUN_ID_ANNOTATION])
    assert run.data.metrics["loss"] == 0.25


KUBECONFIG = Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")))
_E2E = os.environ.get("FLOWTRACK_K8S_E2E") == "1" and KUBECONFIG.is_file()


@pytest.mark.skipif(
    not _E2E,
    reason="needs a real cluster: FLOWTRACK_K8S_E2E=1 "
    f"(is {os.environ.get('FLOWTRACK_K8S_E2E')!r}) and a kubeconfig at {KUBECONFIG} "
    f"(exists: {KUBECONFIG.is_file()})",
)
def test_a_real_api_server_accepts_the_injected_job_and_runs_the_webhook() -> None:
    """Opt-in. Server-side dry runs (nothing is stored) in FLOWTRACK_K8S_E2E_NAMESPACE
    ("default"): the API server validates the injected Job as it would store it; with
    FLOWTRACK_K8S_E2E_WEBHOOK=1 (the webhook of plugins/k8s/deploy is installed), a labelled
    Job comes back from admission with the run context (dry runs call mutating webhooks
    whose sideEffects are None)."""
    from kubernetes import client, config

    config.load_kube_config(config_file=str(KUBECONFIG))
    namespace = os.environ.get("FLOWTRACK_K8S_E2E_NAMESPACE", "default")
    batch = client.BatchV1Api()
    out, _ = invoke("-", "--tracking-uri", URI, input=MANIFEST)
    injected = docs(out)[0]
    injected["metadata"]["namespace"] = namespace
    stored = batch.create_namespaced_job(namespace, injected, dry_run="All")
    run_id = stored.metadata.annotations[patch.RUN_ID_ANNOTATION]
    assert run_id == injected["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    env = {e.name: e.value for e in stored.spec.template.spec.containers[0].env}
    assert env["FLOWTRACK_RUN_ID"] == run_id and env["FLOWTRACK_TRACKING_URI"] == URI
    if os.environ.get("FLOWTRACK_K8S_E2E_WEBHOOK") != "1":
        return
    plain = docs(MANIFEST)[0]
    plain["metadata"]["namespace"] = namespace
    admitted = batch.create_namespaced_job(namespace, plain, dry_run="All")
    run_id = admitted.metadata.annotations[patch.RUN_ID_ANNOTATION]
    env = {e.name: e.value for e in admitted.spec.template.spec.containers[0].env}
    assert patch.is_run_id(run_id) and env["FLOWTRACK_RUN_ID"] == run_id


def _stand_in(request: pytest.FixtureRequest) -> tuple[Any, str, Any]:
    """The stand-in API server, namespace and watcher starter (tests/k8s/conftest.py)."""
    names = ("cluster", "namespace", "start_watcher")
    cluster, namespace, start_watcher = (request.getfixturevalue(n) for n in names)
    return cluster, namespace, start_watcher


def test_injected_job_through_the_watcher_and_a_container(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``inject`` -> the Job created in the stand-in API server (the real kubernetes client
    watches it, no real API server can run here) -> the watcher's run has the injected id ->
    a process with the container's environment logs into it."""
    from flowtrack import config

    cluster, namespace, start_watcher = _stand_in(request)
    from tests.k8s.helpers import ended_run, eventually, run_of

    out, _ = invoke("-", "--tracking-uri", config.get_tracking_uri(), input=MANIFEST)
    injected = docs(out)[0]
    annotations = injected["metadata"]["annotations"]
    start_watcher()
    job = cluster.create_job("train-churn", namespace, annotations=annotations)
    run = eventually(lambda: run_of(job, "churn"), what="the Job's run")
    assert run.info.run_id == annotations[patch.RUN_ID_ANNOTATION]
    pod = cluster.start_pod(job)
    run_container(env_of(injected["spec"]["template"]["spec"]["containers"][0]), tmp_path)
    cluster.end_pod(pod, 0)
    cluster.finish_job(job)
    ended = ended_run(job, "churn")
    assert ended.info.run_id == run.info.run_id and ended.info.status == "FINISHED"
    assert ended.data.metrics["loss"] == 0.25


def test_a_container_that_logs_before_the_watcher_saw_its_job_loses_nothing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The watcher is down (not started yet) while the Job's container logs: its events make
    a provisional run, kept in the store; the watcher, once up, records the Job into that same
    run (source k8s, the Job's name and tags) and ends it. Stand-in API server as above."""
    from flowtrack import config

    cluster, namespace, start_watcher = _stand_in(request)
    from tests.k8s.helpers import ended_run

    out, _ = invoke("-", "--tracking-uri", config.get_tracking_uri(), input=MANIFEST)
    injected = docs(out)[0]
    annotations = injected["metadata"]["annotations"]
    job = cluster.create_job("train-churn", namespace, annotations=annotations)
    pod = cluster.start_pod(job)
    run_container(env_of(injected["spec"]["template"]["spec"]["containers"][0]), tmp_path)
    early = flowtrack.Client().get_run(annotations[patch.RUN_ID_ANNOTATION])
    assert early.info.source_type == "pending" and early.data.metrics == {"loss": 0.25}
    start_watcher()
    cluster.end_pod(pod, 0)
    cluster.finish_job(job)
    ended = ended_run(job, "churn")
    assert ended.info.run_id == early.info.run_id and ended.info.status == "FINISHED"
    assert (ended.info.source_type, ended.info.run_name) == ("k8s", "train-churn")
    assert ended.data.metrics["loss"] == 0.25 and ended.data.tags["k8s.job"] == "train-churn"
    assert not list((tmp_path / "container-home" / "spool").glob("*/rejected.jsonl"))
