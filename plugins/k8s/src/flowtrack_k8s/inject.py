"""``flowtrack k8s inject``: the webhook's work done on manifests, before ``kubectl apply``.

Every YAML document is read; tracked Jobs (label ``flowtrack.dev/track: "true"``) and
CronJobs whose jobTemplate is tracked get the same additions the webhook makes
(`flowtrack_k8s.patch`), and every other document is written back unchanged in content.
Comments and key order inside a document are not kept by the YAML round trip.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from flowtrack_k8s.patch import Injection, Target, apply, cronjob_injection, job_injection


@dataclass
class Result:
    documents: list[Any]
    # (kind, namespace/name, run id or None, notes) for each object that was injected into.
    touched: list[tuple[str, str, str | None, list[str]]] = field(default_factory=list)


def _name(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or metadata.get("generateName") or "-"
    return f"{metadata.get('namespace') or '-'}/{name}"


def _inject(obj: Any, target: Target, result: Result) -> Any:
    if not isinstance(obj, dict):
        return obj
    kind = obj.get("kind")
    group = str(obj.get("apiVersion", "")).split("/")[0]
    if kind == "List" and isinstance(obj.get("items"), list):  # kubectl's own wrapper
        out = dict(obj)
        out["items"] = [_inject(item, target, result) for item in obj["items"]]
        return out
    injection: Injection
    if kind == "Job" and group == "batch":
        injection = job_injection(obj, target)
    elif kind == "CronJob" and group == "batch":
        injection = cronjob_injection(obj, target)
    else:
        return obj
    if not injection.ops and not injection.notes:
        return obj
    changed = copy.deepcopy(obj)
    apply(changed, injection.ops)
    result.touched.append((kind, _name(obj), injection.run_id, injection.notes))
    return changed


def inject_documents(documents: Iterable[Any], target: Target) -> Result:
    """The documents with the run context added to tracked Jobs and CronJobs (copies)."""
    result = Result([])
    for doc in documents:
        if doc is None:  # an empty document ('---' twice)
            continue
        result.documents.append(_inject(doc, target, result))
    return result


def inject_text(text: str, target: Target) -> tuple[str, Result]:
    """Multi-document YAML in, multi-document YAML out. Raises yaml.YAMLError on bad YAML."""
    result = inject_documents(yaml.safe_load_all(text), target)
    out = yaml.safe_dump_all(result.documents, sort_keys=False, default_flow_style=False)
    return out, result
