"""Run ids computed from Kubernetes uids, so every watcher (and every restart) agrees.

A Job's run id is a name-based UUID of the Job's uid, unless the Job carries
``flowtrack.dev/run-id`` (written by the webhook or ``flowtrack k8s inject``, which run before
the API server has given the Job a uid). A completion index of an indexed Job and the parent
run of a CronJob's Jobs are derived the same way, so a restarted watcher finds the runs it
made before and the store ignores a second ``create_run`` of one id.
"""

from __future__ import annotations

import json
import uuid

# Fixed forever: changing it would give the Jobs already recorded new runs on the next relist.
_NAMESPACE = uuid.UUID("0b6f3c52-8d0e-5e61-a3c4-7f2d9e1b4a88")


def _run_id(*parts: object) -> str:
    return uuid.uuid5(_NAMESPACE, json.dumps(parts)).hex


def job_run_id(job_uid: str, annotated: str | None = None) -> str:
    """The run of a Job: ``flowtrack.dev/run-id`` if set (and valid), else from its uid."""
    return annotated or _run_id("job", job_uid)


def index_run_id(job_run: str, index: int) -> str:
    """The child run of one completion index of an indexed Job."""
    return _run_id("job-index", job_run, index)


def cronjob_run_id(cronjob_uid: str) -> str:
    """The parent run that groups the Jobs one CronJob created."""
    return _run_id("cronjob", cronjob_uid)
