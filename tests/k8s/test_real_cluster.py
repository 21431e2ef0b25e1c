"""Opt-in: against a real Kubernetes cluster (FLOWTRACK_K8S_E2E=1 and a kubeconfig).

Creates a labelled Job in FLOWTRACK_K8S_E2E_NAMESPACE (default "default"), runs the watcher
on it through the kubeconfig's credentials, and checks the run; deletes the Job afterwards.
The watcher needs list/watch on jobs, pods and events, get on pods/log, and the Lease verbs
(plugins/k8s/deploy/ has the Role).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.k8s.helpers import ended_run

KUBECONFIG = Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")))
pytestmark = pytest.mark.skipif(
    os.environ.get("FLOWTRACK_K8S_E2E") != "1" or not KUBECONFIG.is_file(),
    reason=f"needs a real cluster: FLOWTRACK_K8S_E2E=1 (is {os.environ.get('FLOWTRACK_K8S_E2E')!r})"
    f" and a kubeconfig at {KUBECONFIG} (exists: {KUBECONFIG.is_file()})",
)


def test_a_labelled_job_on_a_real_cluster_becomes_a_run() -> None:
    from flowtrack_k8s.watcher import Settings, Watcher
    from kubernetes import client, config

    namespace = os.environ.get("FLOWTRACK_K8S_E2E_NAMESPACE", "default")
    config.load_kube_config(config_file=str(KUBECONFIG))
    batch = client.BatchV1Api()
    name = f"flowtrack-e2e-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {"flowtrack.dev/track": "true"},
            "annotations": {"flowtrack.dev/params": '{"alpha": 0.5}'},
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "busybox:1.36", "command": ["echo", "hello"]}
                    ],
                }
            },
        },
    }
    watcher = Watcher(
        Settings(
            namespace=namespace,
            kubeconfig=str(KUBECONFIG),
            lease_namespace=namespace,
            lease_name=f"{name}-lease",
        )
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    created = batch.create_namespaced_job(namespace, body)
    try:
        job = {"metadata": {"uid": created.metadata.uid, "name": name}}
        run = ended_run(job, timeout=300)
        assert run.info.status == "FINISHED"
        assert run.data.params["alpha"] == "0.5"
        assert any(k.startswith("k8s.pod.") for k in run.data.tags)
    finally:
        watcher.stop()
        thread.join(30)
        batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
