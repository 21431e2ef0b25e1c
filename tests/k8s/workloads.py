"""The Job controller's and the kubelet's part of the stand-in API server (tests/k8s/apiserver.py).

`Workloads` is mixed into `Cluster`: it writes Jobs, Pods and Warning events into the stand-in
as the real controllers would (complete objects, the labels, annotations and owner references
a real Job controller sets), so the watcher sees realistic lifecycles.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

Obj = dict[str, Any]


def now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Workloads:
    """Helpers that play the Job controller and the kubelet; `Cluster` provides the store."""

    logs: dict[tuple[str, str, str], str]

    def _put(self, res: str, obj: Obj, kind: str) -> Obj:
        raise NotImplementedError

    def get(self, res: str, ns: str, name: str) -> Obj | None:
        raise NotImplementedError

    def create_job(
        self,
        name: str,
        namespace: str = "ml",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        image: str = "python:3.12",
        resources: dict[str, dict[str, str]] | None = None,
        backoff_limit: int = 6,
        completions: int | None = None,
        indexed: bool = False,
        owner: Obj | None = None,
    ) -> Obj:
        uid = str(uuid.uuid4())
        meta: Obj = {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "creationTimestamp": now(),
            "generation": 1,
            "labels": {"flowtrack.dev/track": "true", **(labels or {})},
            "annotations": dict(annotations or {}),
        }
        if owner is not None:
            meta["ownerReferences"] = [
                {
                    "apiVersion": "batch/v1",
                    "kind": owner["kind"],
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        container: Obj = {
            "name": "main",
            "image": image,
            "command": ["python", "train.py"],
            "resources": resources or {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
        spec: Obj = {
            "parallelism": 1,
            "completions": completions if completions is not None else 1,
            "backoffLimit": backoff_limit,
            "completionMode": "Indexed" if indexed else "NonIndexed",
            "suspend": False,
            "podReplacementPolicy": "TerminatingOrFailed",
            "manualSelector": False,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
            "template": {
                "metadata": {"labels": {"batch.kubernetes.io/controller-uid": uid}},
                "spec": {
                    "containers": [container],
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                },
            },
        }
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": spec,
            "status": {"active": 0, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}},
        }
        return self._put("jobs", job, "ADDED")

    def _update(self, res: str, obj: Obj) -> Obj:
        return self._put(res, obj, "MODIFIED")

    def start_pod(
        self, job: Obj, index: int | None = None, node: str = "node-1", digest: bool = True
    ) -> Obj:
        """A pod of ``job`` scheduled and running (the Job goes active)."""
        jmeta = job["metadata"]
        current = self.get("jobs", jmeta["namespace"], jmeta["name"]) or job
        uid = jmeta["uid"]
        suffix = uuid.uuid4().hex[:5]
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "controller-uid": uid,
            "batch.kubernetes.io/job-name": jmeta["name"],
            "job-name": jmeta["name"],
        }
        annotations: dict[str, str] = {}
        if index is not None:
            labels["batch.kubernetes.io/job-completion-index"] = str(index)
            annotations["batch.kubernetes.io/job-completion-index"] = str(index)
        container = current["spec"]["template"]["spec"]["containers"][0]
        image = container["image"]
        image_id = f"docker.io/library/{image}@sha256:{uuid.uuid4().hex * 2}" if digest else ""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{jmeta['name']}-{index if index is not None else ''}{suffix}",
                "namespace": jmeta["namespace"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now(),
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": jmeta["name"],
                        "uid": uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "containers": [copy.deepcopy(container)],
                "nodeName": node,
                "restartPolicy": "Never",
            },
            "status": {
                "phase": "Running",
                "hostIP": "10.0.0.1",
                "podIP": "10.1.0.7",
                "startTime": now(),
                "qosClass": "BestEffort",
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "image": image,
                        "imageID": image_id,
                        "containerID": f"containerd://{uuid.uuid4().hex}",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now()}},
                        "lastState": {},
                    }
                ],
            },
        }
        created = self._put("pods", pod, "ADDED")
        current["status"]["active"] = current["status"].get("active", 0) + 1
        current["status"].setdefault("startTime", now())
        self._update("jobs", current)
        return created

    def end_pod(
        self,
        pod: Obj,
        exit_code: int = 0,
        reason: str | None = None,
        log: str = "",
        restarts: int = 0,
    ) -> Obj:
        """The pod's container exits (``reason`` such as OOMKilled, else Completed/Error)."""
        meta = pod["metadata"]
        current = self.get("pods", meta["namespace"], meta["name"]) or pod
        name = current["spec"]["containers"][0]["name"]
        self.logs[(meta["namespace"], meta["name"], name)] = log
        cs = current["status"]["containerStatuses"][0]
        cs["ready"] = False
        cs["started"] = False
        cs["restartCount"] = restarts
        cs["state"] = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                "startedAt": current["status"]["startTime"],
                "finishedAt": now(),
                "containerID": cs["containerID"],
            }
        }
        current["status"]["phase"] = "Succeeded" if exit_code == 0 else "Failed"
        updated = self._update("pods", current)
        jmeta_name = meta["ownerReferences"][0]["name"]
        job = self.get("jobs", meta["namespace"], jmeta_name)
        if job is not None:
            st = job["status"]
            st["active"] = max(0, st.get("active", 0) - 1)
            key = "succeeded" if exit_code == 0 else "failed"
            st[key] = st.get(key, 0) + 1
            self._update("jobs", job)
        return updated

    def finish_job(self, job: Obj, failed: bool = False, reason: str | None = None) -> Obj:
        """The Job controller's final conditions: Complete, or Failed with ``reason``."""
        meta = job["metadata"]
        current = self.get("jobs", meta["namespace"], meta["name"]) or job
        moment = now()
        conditions = []
        if failed:
            conditions.append(
                {
                    "type": "FailureTarget",
                    "status": "True",
                    "reason": reason or "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastProbeTime": moment,
                    "lastTransitionTime": moment,
                }
            )
            conditions.append({**conditions[0], "type": "Failed"})
        else:
            conditions.append(
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": moment,
                    "lastTransitionTime": moment,
                }
            )
            conditions.append({**conditions[0], "type": "Complete"})
            current["status"]["completionTime"] = moment
        current["status"]["conditions"] = conditions
        current["status"]["active"] = 0
        return self._update("jobs", current)

    def delete_job(self, job: Obj) -> None:
        meta = job["metadata"]
        current = self.get("jobs", meta["namespace"], meta["name"])
        if current is not None:
            self._put("jobs", current, "DELETED")

    def warning(self, about: Obj, reason: str, message: str) -> Obj:
        """A Warning event about a Job or a Pod."""
        meta = about["metadata"]
        moment = now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": moment,
            },
            "involvedObject": {
                "apiVersion": about.get("apiVersion", "v1"),
                "kind": about.get("kind", "Pod"),
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message,
            "type": "Warning",
            "count": 1,
            "firstTimestamp": moment,
            "lastTimestamp": moment,
            "source": {"component": "kubelet"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1",
        }
        return self._put("events", event, "ADDED")

    def cronjob(self, name: str, namespace: str = "ml") -> Obj:
        """A CronJob object (only its identity: the tests create its Jobs with ``owner``)."""
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4())},
        }
