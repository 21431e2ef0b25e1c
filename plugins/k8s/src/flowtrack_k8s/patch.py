"""The run context a tracked Job's containers get, as a JSONPatch (RFC 6902).

The run id: a Job annotated ``flowtrack.dev/run-id`` (32 lowercase hex characters) is that
run, else the watcher derives it from the Job's uid (`flowtrack_k8s.identity`). A Job being
admitted, or a manifest, has no uid yet, so the injectors write the annotation with a fresh
id (keeping a valid one already there) and give the containers the same id; see
docs/k8s-webhook.md.

One computation serves both injectors: the webhook sends the operations to the API server,
``flowtrack k8s inject`` applies them to the YAML it read (`apply`). Only ``add`` operations
are made, and only for what is missing: an env entry a container already has is the user's
and is left alone, so injecting twice changes nothing.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from flowtrack import config

from flowtrack_k8s import annotations as names
from flowtrack_k8s import identity

log = logging.getLogger("flowtrack.k8s")

Op = dict[str, Any]

# Where the pod spec sits in each kind of object the injectors touch.
JOB_POD_SPEC = ("spec", "template", "spec")
CRONJOB_POD_SPEC = ("spec", "jobTemplate", "spec", "template", "spec")
_CONTAINER_LISTS = ("initContainers", "containers")

# The label and annotations read and written here: the names `flowtrack_k8s.annotations`
# (the watcher's parser) reads.
TRACK_LABEL = names.TRACK_LABEL
RUN_ID_ANNOTATION = names.RUN_ID
EXPERIMENT_ANNOTATION = names.EXPERIMENT
PARENT_ANNOTATION = names.PARENT_RUN_ID
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
TOKEN_ENV = "FLOWTRACK_TRACKING_TOKEN"  # noqa: S105 - the variable's name, not a secret


@dataclass(frozen=True)
class Target:
    """Where the containers log to: the store's URI as seen from inside the cluster, and
    optionally a Secret (in the Job's namespace) holding a flowtrack server token."""

    tracking_uri: str
    token_secret: str | None = None  # "name" or "name/key" (key defaults to "token")

    def secret_ref(self) -> dict[str, Any] | None:
        if not self.token_secret:
            return None
        name, _, key = self.token_secret.partition("/")
        # optional: a Job in a namespace without the Secret still starts (tracking then
        # fails over to the spool); the webhook never stops a Job.
        return {"secretKeyRef": {"name": name, "key": key or "token", "optional": True}}


def parse_token_secret(value: str) -> str:
    """Check a --token-secret value: a Secret name, optionally /key (DNS-1123 names)."""
    name, _, key = value.partition("/")
    if not _SECRET_NAME.match(name) or (key and not _SECRET_KEY.match(key)):
        raise ValueError(
            f"token secret {value!r} must be NAME or NAME/KEY (a Secret name in the Job's "
            "namespace, and a key of it)"
        )
    return value


@dataclass
class Injection:
    """The operations for one object, the run id it was given, and what was left out and why."""

    ops: list[Op] = field(default_factory=list)
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)


def is_run_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a flowtrack run id (32 lowercase hex characters)."""
    return isinstance(value, str) and bool(_RUN_ID.match(value))


def is_tracked(metadata: Mapping[str, Any] | None) -> bool:
    """True when an object's metadata carries the label ``flowtrack.dev/track: "true"``."""
    labels = (metadata or {}).get("labels") or {}
    return isinstance(labels, Mapping) and str(labels.get(TRACK_LABEL, "")).lower() == "true"


def annotated_run_id(metadata: Mapping[str, Any]) -> str | None:
    """The valid run id in ``flowtrack.dev/run-id``, or None (absent or not a run id)."""
    annotations = metadata.get("annotations") or {}
    value = annotations.get(RUN_ID_ANNOTATION) if isinstance(annotations, Mapping) else None
    return value if is_run_id(value) else None


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901): '~' and '/' inside a part are escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _cronjob_owner(metadata: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for owner in metadata.get("ownerReferences") or []:
        if isinstance(owner, Mapping) and owner.get("kind") == "CronJob":
            return owner
    return None


def _containers(pod_spec: Mapping[str, Any]) -> list[tuple[str, int, Mapping[str, Any]]]:
    found = []
    for kind in _CONTAINER_LISTS:
        for index, container in enumerate(pod_spec.get(kind) or []):
            if isinstance(container, Mapping):
                found.append((kind, index, container))
    return found


def _env_names(container: Mapping[str, Any]) -> set[str]:
    return {str(e.get("name")) for e in (container.get("env") or []) if isinstance(e, Mapping)}


def _env_value(container: Mapping[str, Any], name: str) -> Any:
    for entry in container.get("env") or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            return entry.get("value")
    return None


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any] | None:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def env_ops(
    pod_spec: Mapping[str, Any], base: tuple[str, ...], env: Mapping[str, str | dict[str, Any]]
) -> list[Op]:
    """Add each of ``env`` (a value, or a ``valueFrom`` source) to every container and
    initContainer that lacks it."""
    entries = [
        {"name": k, "value": v} if isinstance(v, str) else {"name": k, "valueFrom": v}
        for k, v in env.items()
    ]
    ops: list[Op] = []
    for kind, index, container in _containers(pod_spec):
        have = _env_names(container)
        missing = [e for e in entries if e["name"] not in have]
        if not missing:
            continue
        where = pointer(*base, kind, index, "env")
        if isinstance(container.get("env"), list):
            ops += [{"op": "add", "path": where + "/-", "value": e} for e in missing]
        else:  # no env list (or null): the whole list is added
            ops.append({"op": "add", "path": where, "value": missing})
    return ops


def entry_op(
    metadata: Mapping[str, Any] | None, base: tuple[str, ...], field: str, key: str, value: str
) -> Op:
    """Set ``key`` in the map ``field`` (labels, annotations) of ``metadata`` at ``base``."""
    current = metadata.get(field) if isinstance(metadata, Mapping) else None
    if isinstance(current, Mapping):
        op = "replace" if key in current else "add"
        return {"op": op, "path": pointer(*base, field, key), "value": value}
    return {"op": "add", "path": pointer(*base, field), "value": {key: value}}


def _experiment_and_parent(metadata: Mapping[str, Any], notes: list[str]) -> dict[str, str]:
    annotations = metadata.get("annotations") or {}
    env: dict[str, str] = {}
    experiment = annotations.get(EXPERIMENT_ANNOTATION)
    if isinstance(experiment, str) and experiment.strip():
        env[config.ENV_EXPERIMENT] = experiment.strip()
    parent = annotations.get(PARENT_ANNOTATION)
    if is_run_id(parent):
        env[config.ENV_PARENT_RUN_ID] = parent
    elif parent is not None:
        notes.append(
            f"annotation {PARENT_ANNOTATION}={parent!r} is not a run id "
            "(32 lowercase hex characters); FLOWTRACK_PARENT_RUN_ID not set"
        )
    owner = _cronjob_owner(metadata)
    if config.ENV_PARENT_RUN_ID not in env and owner is not None and owner.get("uid"):
        # The watcher groups a CronJob's Jobs under one run: the containers' parent too.
        env[config.ENV_PARENT_RUN_ID] = identity.cronjob_run_id(str(owner["uid"]))
    return env


def _base_env(target: Target) -> dict[str, str | dict[str, Any]]:
    env: dict[str, str | dict[str, Any]] = {config.ENV_TRACKING_URI: target.tracking_uri}
    secret = target.secret_ref()
    if secret:
        env[TOKEN_ENV] = secret
    return env


def _tracked_pod_spec(
    obj: Mapping[str, Any], metadata: Mapping[str, Any], path: tuple[str, ...], result: Injection
) -> Mapping[str, Any] | None:
    """The pod spec to inject into, or None: not tracked, or (noted) no pod spec there."""
    if not is_tracked(metadata):
        return None
    pod_spec = _dig(obj, path)
    if pod_spec is None:
        result.notes.append(f"no {'.'.join(path)} in the {obj.get('kind')}; nothing injected")
    return pod_spec


def job_injection(job: Mapping[str, Any], target: Target) -> Injection:
    """The operations that give a tracked Job's containers its run context.

    The run id is the Job's ``flowtrack.dev/run-id`` annotation when valid, else a fresh one
    written there (see `flowtrack_k8s.identity`). An object without the track label gets
    no operations."""
    result = Injection()
    metadata = job.get("metadata") or {}
    pod_spec = _tracked_pod_spec(job, metadata, JOB_POD_SPEC, result)
    if pod_spec is None:
        return result
    run_id = annotated_run_id(metadata)
    cronjob = _cronjob_owner(metadata) is not None
    if run_id and cronjob:
        # Inherited from the CronJob's template (shared by every Job it makes) unless a
        # container already carries it: then this Job was injected before.
        first = _containers(pod_spec)[:1]
        if not first or _env_value(first[0][2], config.ENV_RUN_ID) != run_id:
            run_id = None
    if run_id is None:
        raw = (metadata.get("annotations") or {}).get(RUN_ID_ANNOTATION)
        if raw is not None and not cronjob:
            result.notes.append(
                f"annotation {RUN_ID_ANNOTATION}={raw!r} is not a run id "
                "(32 lowercase hex characters); replaced by a new one"
            )
        run_id = uuid.uuid4().hex  # the Job has no uid yet: see flowtrack_k8s.identity
        result.ops.append(
            entry_op(metadata, ("metadata",), "annotations", RUN_ID_ANNOTATION, run_id)
        )
    result.run_id = run_id
    env = _base_env(target)
    env[config.ENV_RUN_ID] = run_id
    env.update(_experiment_and_parent(metadata, result.notes))
    if (job.get("spec") or {}).get("completionMode") == "Indexed":
        from flowtrack_k8s import indexed

        # Each pod logs into its index's run, with the Job's run as parent: set when the
        # pod is admitted (`indexed.pod_injection`); until then they hold the Job's run.
        env.pop(config.ENV_PARENT_RUN_ID, None)
        result.ops += indexed.template_ops(job, run_id)
    result.ops += env_ops(pod_spec, JOB_POD_SPEC, env)
    return result


def cronjob_injection(cronjob: Mapping[str, Any], target: Target) -> Injection:
    """For a CronJob whose jobTemplate is tracked: the tracking URI, experiment and parent only.

    Each scheduled Job is its own run, so no run id can be written into the template; the
    webhook gives each Job one when it is created (without the webhook, code in those
    containers makes runs of its own in the experiment)."""
    result = Injection()
    metadata = (_dig(cronjob, ("spec", "jobTemplate")) or {}).get("metadata") or {}
    pod_spec = _tracked_pod_spec(cronjob, metadata, CRONJOB_POD_SPEC, result)
    if pod_spec is None:
        return result
    env = _base_env(target)
    env.update(_experiment_and_parent(metadata, result.notes))
    result.ops = env_ops(pod_spec, CRONJOB_POD_SPEC, env)
    result.notes.append(
        "CronJob: FLOWTRACK_RUN_ID is not injected into a jobTemplate (every scheduled Job "
        "would share it); the webhook sets it on each Job"
    )
    return result


def apply(obj: dict[str, Any], ops: list[Op]) -> None:
    """Apply this module's own operations (add/replace of a key, append to a list) in place."""
    for op in ops:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]
        ]
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            if last != "-":
                raise ValueError(f"unsupported path {op['path']!r}")
            node.append(op["value"])
        else:
            node[last] = op["value"]
