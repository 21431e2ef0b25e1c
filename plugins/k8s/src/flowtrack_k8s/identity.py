"""Which flowtrack run a Kubernetes Job is: the one contract the watcher and the injectors share.

The watcher records a Job as a run; the webhook and ``flowtrack k8s inject`` hand that run's
id to the Job's containers (``FLOWTRACK_RUN_ID``) so that code inside logs into it. They must
agree on the id without talking to each other, and the injectors cannot use the Job's uid: a
mutating webhook sees a Job before the API server gives it a uid (metadata system fields are
wiped on CREATE and set after admission), and ``inject`` runs on a file that was never sent
to the API server. So:

1. A Job annotated ``flowtrack.dev/run-id`` (32 lowercase hex characters) is that run. The
   webhook (on CREATE) and ``inject`` write this annotation with a fresh id, unless the Job
   already carries a valid one (then they keep it: re-injecting changes nothing), and put the
   same id in the containers' environment.
2. A Job without the annotation (the injectors were not used) is the run
   ``job_run_id(uid)``: a name-based UUID of the Job's uid, so a restarted watcher finds the
   run it made before. It does not depend on the store's URI, which the watcher and the
   webhook may well spell differently (a Service name and a pod IP, say).
3. An annotation that is not a valid run id is ignored (rule 2 applies) and reported.

A Job made by a CronJob inherits its template's annotations, so a ``run-id`` written into a
CronJob's ``jobTemplate`` would make every scheduled Job the same run: ``inject`` never writes
one there, and the webhook replaces an inherited one with a fresh id when it admits the Job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, TypeGuard

TRACK_LABEL = "flowtrack.dev/track"
RUN_ID_ANNOTATION = "flowtrack.dev/run-id"
EXPERIMENT_ANNOTATION = "flowtrack.dev/experiment"
PARENT_ANNOTATION = "flowtrack.dev/parent-run-id"

# Fixed forever: changing it would give the Jobs a restarted watcher sees again new runs.
_NAMESPACE = uuid.UUID("1b5e7c2a-9d43-5f0e-8c6a-3e2f7d9b4a10")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def is_run_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a flowtrack run id (32 lowercase hex characters)."""
    return isinstance(value, str) and bool(_RUN_ID.match(value))


def job_run_id(uid: str) -> str:
    """The run id of a Job that carries no valid ``flowtrack.dev/run-id`` annotation."""
    return uuid.uuid5(_NAMESPACE, f"job/{uid}").hex


def index_run_id(job_run: str, index: int) -> str:
    """The child run of one completion index of an Indexed Job whose run is ``job_run``."""
    return uuid.uuid5(_NAMESPACE, f"index/{job_run}/{index}").hex


def new_run_id() -> str:
    """A fresh id for the injectors to write into ``flowtrack.dev/run-id``."""
    return uuid.uuid4().hex


def is_tracked(metadata: Mapping[str, Any] | None) -> bool:
    """True when an object's metadata carries the label ``flowtrack.dev/track: "true"``."""
    labels = (metadata or {}).get("labels") or {}
    return isinstance(labels, Mapping) and str(labels.get(TRACK_LABEL, "")).lower() == "true"


def annotated_run_id(metadata: Mapping[str, Any] | None) -> str | None:
    """The valid run id in ``flowtrack.dev/run-id``, or None (absent or not a run id)."""
    annotations = (metadata or {}).get("annotations") or {}
    value = annotations.get(RUN_ID_ANNOTATION) if isinstance(annotations, Mapping) else None
    return value if is_run_id(value) else None


def run_id_of_job(metadata: Mapping[str, Any]) -> tuple[str, str | None]:
    """The run id of a Job from its metadata (rules 1-3 above), and a warning for rule 3.

    For the watcher: ``metadata`` is the Job's (a dict as the API server sends it, with
    ``uid``). The warning names the annotation and its value."""
    found = annotated_run_id(metadata)
    if found:
        return found, None
    annotations = metadata.get("annotations") or {}
    warning = None
    if isinstance(annotations, Mapping) and RUN_ID_ANNOTATION in annotations:
        warning = (
            f"annotation {RUN_ID_ANNOTATION}={annotations[RUN_ID_ANNOTATION]!r} is not a run id "
            "(32 lowercase hex characters); the run id is derived from the Job's uid instead"
        )
    return job_run_id(str(metadata["uid"])), warning
