"""Indexed Jobs: each pod logs into the run of its completion index.

The watcher records one child run per completion index (`identity.index_run_id`) under the
Job's run. A Job does not know its pods' indexes when it is admitted, so the webhook works in
two steps: on the Job, it marks the pod template (the track label, so that the pods reach the
webhook too, and the Job's run id as an annotation); on each pod the Job controller creates,
which carries its index in ``batch.kubernetes.io/job-completion-index``, it points
``FLOWTRACK_RUN_ID`` at the index's run and ``FLOWTRACK_PARENT_RUN_ID`` at the Job's.
A pod the webhook does not see keeps the Job's run id from the template: it still logs into
the Job's run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowtrack import config

from flowtrack_k8s import identity
from flowtrack_k8s.patch import (
    RUN_ID_ANNOTATION,
    TRACK_LABEL,
    Injection,
    Op,
    annotated_run_id,
    entry_op,
    env_ops,
    is_tracked,
    pointer,
)

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
_TEMPLATE_METADATA = ("spec", "template", "metadata")


def template_ops(job: Mapping[str, Any], run_id: str) -> list[Op]:
    """Label the Job's pod template and annotate it with the Job's run id."""
    template = (job.get("spec") or {}).get("template") or {}
    metadata = template.get("metadata")
    if not isinstance(metadata, Mapping):
        value = {"labels": {TRACK_LABEL: "true"}, "annotations": {RUN_ID_ANNOTATION: run_id}}
        return [{"op": "add", "path": pointer(*_TEMPLATE_METADATA), "value": value}]
    ops = []
    if not is_tracked(metadata):
        ops.append(entry_op(metadata, _TEMPLATE_METADATA, "labels", TRACK_LABEL, "true"))
    ops.append(entry_op(metadata, _TEMPLATE_METADATA, "annotations", RUN_ID_ANNOTATION, run_id))
    return ops


def pod_injection(pod: Mapping[str, Any]) -> Injection:
    """For a pod of a tracked Indexed Job (as the Job's admission left its template): the
    index's run in every container that holds the Job's run. Other pods: nothing."""
    result = Injection()
    metadata = pod.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    job_run = annotated_run_id(metadata)
    index = annotations.get(COMPLETION_INDEX) if isinstance(annotations, Mapping) else None
    spec = pod.get("spec")
    if not is_tracked(metadata) or job_run is None or not isinstance(spec, Mapping):
        return result
    if not isinstance(index, str) or not index.isdigit():
        return result  # not a pod of an Indexed Job
    child = identity.index_run_id(job_run, int(index))
    result.run_id = child
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(kind) or []):
            for j, entry in enumerate(container.get("env") or []):
                # Only the value the Job's admission put there; a user's own value stays.
                if entry.get("name") == config.ENV_RUN_ID and entry.get("value") == job_run:
                    path = pointer("spec", kind, i, "env", j, "value")
                    result.ops.append({"op": "replace", "path": path, "value": child})
    result.ops += env_ops(
        spec, ("spec",), {config.ENV_RUN_ID: child, config.ENV_PARENT_RUN_ID: job_run}
    )
    return result
