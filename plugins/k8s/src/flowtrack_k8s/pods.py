"""What a Job's pods and objects say, as tags: attempts, exit codes, reasons, images.

Pure functions over the API's JSON (dicts), so they cost nothing to test and never raise on a
field a server leaves out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Obj = dict[str, Any]

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
MAX_TAG = 8000


def text(value: Any, limit: int = MAX_TAG) -> str:
    found = "" if value is None else str(value)
    return found if len(found) <= limit else found[: limit - 3] + "..."


def millis(stamp: str | None) -> int | None:
    """Milliseconds since the epoch of an RFC 3339 time from the API, or None."""
    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def owner_uid(obj: Obj, kind: str) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("uid"):
            return str(ref["uid"])
    return None


def owner(obj: Obj, kind: str) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return dict(ref)
    return None


def job_of_pod(pod: Obj) -> str | None:
    """The uid of the Job that owns ``pod`` (owner reference, else the controller-uid label)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return owner_uid(pod, "Job") or labels.get("batch.kubernetes.io/controller-uid")


def completion_index(pod: Obj) -> int | None:
    meta = pod.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(INDEX_KEY) or (meta.get("labels") or {}).get(
        INDEX_KEY
    )
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def job_outcome(job: Obj) -> tuple[str, str, str, int | None] | None:
    """(status, reason, message, end ms) once the Job has ended, else None.

    Complete -> FINISHED; Failed -> FAILED with the controller's reason (BackoffLimitExceeded,
    DeadlineExceeded, PodFailurePolicy, ...)."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        end = millis(cond.get("lastTransitionTime"))
        if cond.get("type") == "Complete":
            end = millis((job.get("status") or {}).get("completionTime")) or end
            return "FINISHED", str(cond.get("reason") or ""), str(cond.get("message") or ""), end
        if cond.get("type") == "Failed":
            return "FAILED", str(cond.get("reason") or ""), str(cond.get("message") or ""), end
    return None


def resources_params(job: Obj) -> dict[str, str]:
    """The containers' resource requests and limits: ``k8s.<container>.requests.cpu`` = 500m."""
    spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    params: dict[str, str] = {}
    for container in spec.get("containers") or []:
        name = container.get("name", "")
        for kind in ("requests", "limits"):
            for key, value in ((container.get("resources") or {}).get(kind) or {}).items():
                params[f"k8s.{name}.{kind}.{key}"] = str(value)
    return params


def digest_of(image_id: str) -> str | None:
    """``sha256:...`` from a container status' imageID (``docker-pullable://x@sha256:...``,
    ``x@sha256:...`` or a bare ``sha256:...``), or None."""
    found = image_id.rsplit("@", 1)[1] if "@" in image_id else image_id.split("://", 1)[-1]
    return found if found.startswith("sha256:") and len(found) > 7 else None


def _terminated(status: Obj) -> Obj | None:
    state = status.get("state") or {}
    return state.get("terminated") or (status.get("lastState") or {}).get("terminated")


def pod_tags(pod: Obj) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(tags for this attempt, [(warning key, message)]) of one pod."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name = meta.get("name", "")
    prefix = f"k8s.pod.{name}."
    tags = {
        prefix + "phase": str(status.get("phase") or ""),
        prefix + "node": str(spec.get("nodeName") or ""),
    }
    warnings: list[tuple[str, str]] = []
    restarts = 0
    reasons: list[str] = []
    exit_codes: list[str] = []
    for cs in status.get("containerStatuses") or []:
        cname = cs.get("name", "")
        restarts += int(cs.get("restartCount") or 0)
        ended = _terminated(cs)
        if ended:
            exit_codes.append(str(ended.get("exitCode")))
            tags[f"{prefix}exit_code.{cname}"] = str(ended.get("exitCode"))
            if ended.get("reason"):
                reasons.append(str(ended["reason"]))
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in ("ContainerCreating",):
            reasons.append(str(waiting["reason"]))
        image, image_id = str(cs.get("image") or ""), str(cs.get("imageID") or "")
        digest = digest_of(image_id)
        if digest:
            tags[f"k8s.image.{cname}"] = f"{image.split('@', 1)[0]}@{digest}"
        elif image_id or ended or status.get("phase") in ("Running", "Succeeded", "Failed"):
            warnings.append(
                (
                    f"k8s.warning.image.{cname}",
                    f"container {cname!r} image {image!r} has no digest (imageID {image_id!r}); "
                    "the run cannot say exactly which image ran",
                )
            )
    if status.get("reason"):  # the pod's own: DeadlineExceeded, Evicted, ...
        reasons.append(str(status["reason"]))
    tags[prefix + "restarts"] = str(restarts)
    if exit_codes:
        tags[prefix + "exit_code"] = (
            exit_codes[-1] if len(exit_codes) == 1 else ",".join(exit_codes)
        )
    if reasons:
        tags[prefix + "reason"] = ",".join(dict.fromkeys(reasons))
    return tags, warnings


def finished_at(pod: Obj) -> int | None:
    """When the pod's last container ended (ms), or None."""
    found = None
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        found = millis(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")) or found
    return found


def ended(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def signature(pod: Obj) -> str:
    """What, in a pod, changes a recorded attempt: unchanged pods are not written again."""
    status = pod.get("status") or {}
    parts = [str(status.get("phase")), str(status.get("reason"))]
    for cs in status.get("containerStatuses") or []:
        parts += [str(cs.get("restartCount")), str(cs.get("imageID")), str(cs.get("state"))]
    return "|".join(parts)
