"""Run ids computed from Airflow's own keys, and links to the Airflow UI.

A DAG run's hooks fire in the scheduler and its task instances' hooks in worker processes;
none of them can ask another process which flowtrack run it made. So each run's id is a
name-based UUID of the Airflow keys: every process computes the same id, a task creates its
DAG run's run if it is first (the store ignores a second ``create_run`` of one id), and a hook
that fires twice changes nothing. One run per task instance (dag_id, run_id, task_id,
map_index): its tries are attempts of that run, and the try number is a tag.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid

# Fixed forever: changing it would give re-run hooks of old DAG runs new runs.
_NAMESPACE = uuid.UUID("6f0c1d0e-3b7a-5c55-9a51-0f7a1e5b2c11")


def _run_id(*parts: object) -> str:
    return uuid.uuid5(_NAMESPACE, json.dumps(parts)).hex


def dag_run_key(namespace: str, dag_id: str, run_id: str) -> str:
    """The flowtrack run id of a DAG run."""
    return _run_id("dag_run", namespace, dag_id, run_id)


def task_key(namespace: str, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """The flowtrack run id of a task instance (all its tries)."""
    return _run_id("task_instance", namespace, dag_id, run_id, task_id, map_index)


def airflow_base_url() -> str | None:
    """The Airflow UI's address (``[api] base_url``), or None when it is not configured."""
    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback=None)
    except Exception:  # a config that cannot be read must not stop tracking
        return None
    return str(base).rstrip("/") if base else None


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def dag_run_url(base: str | None, dag_id: str, run_id: str) -> str | None:
    if not base:
        return None
    return f"{base}/dags/{_quote(dag_id)}/runs/{_quote(run_id)}"


def task_url(
    base: str | None, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
) -> str | None:
    page = dag_run_url(base, dag_id, run_id)
    if page is None:
        return None
    page += f"/tasks/{_quote(task_id)}"
    if map_index >= 0:
        page += f"/mapped/{map_index}"
    return f"{page}?try_number={try_number}"
