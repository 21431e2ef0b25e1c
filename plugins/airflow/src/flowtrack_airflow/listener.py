"""The Airflow listener: hook implementations for Airflow 3's listener specs.

Task-instance hooks run in the task's own process (``RuntimeTaskInstance``), except failures
the executor reports, which the scheduler sends with its ORM ``TaskInstance``; DAG-run hooks run
in the scheduler (all of them in-process under ``dag.test()`` and ``airflow dags test``, which
never fire ``on_dag_run_running``). Pluggy passes arguments by keyword, so each function takes
the arguments it uses.

No hook raises: pluggy would skip the listeners after this one (OpenLineage's, say). Errors
are logged with the hook's name and swallowed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from airflow.listeners import hookimpl

from flowtrack_airflow import recorder, selection, settings

log = logging.getLogger("flowtrack.airflow")


@contextlib.contextmanager
def _guard(hook: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        log.warning(
            "flowtrack: the %s listener failed; Airflow is not affected", hook, exc_info=True
        )


def _tracked(holder: Any) -> settings.Settings | None:
    """The settings if the DAG of ``holder`` (a task instance or a DAG run) is recorded; its
    DAG object, for opt-in by tag or param, is the one the hook holds (no database query)."""
    current = settings.load()
    return current if current.tracks(str(holder.dag_id), selection.dag_of(holder)) else None


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    with _guard("on_task_instance_running"):
        found = _tracked(task_instance)
        if found is not None:
            recorder.task_started(task_instance, found)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    with _guard("on_task_instance_success"):
        found = _tracked(task_instance)
        if found is not None:
            recorder.task_ended(task_instance, found)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    with _guard("on_task_instance_failed"):
        found = _tracked(task_instance)
        if found is not None:
            recorder.task_ended(task_instance, found, error)


@hookimpl
def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
    with _guard("on_task_instance_skipped"):
        found = _tracked(task_instance)
        if found is not None:
            recorder.task_ended(task_instance, found)


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    with _guard("on_dag_run_running"):
        found = _tracked(dag_run)
        if found is not None:
            recorder.dag_run_running(dag_run, found)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    with _guard("on_dag_run_success"):
        found = _tracked(dag_run)
        if found is not None:
            recorder.dag_run_ended(dag_run, found, msg, failed=False)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    with _guard("on_dag_run_failed"):
        found = _tracked(dag_run)
        if found is not None:
            recorder.dag_run_ended(dag_run, found, msg, failed=True)


@hookimpl
def before_stopping(component: Any) -> None:
    # After each task (the task runner ends with os._exit, so atexit never runs there) and
    # when a scheduler stops: what was queued is delivered, or left in the journal.
    with _guard("before_stopping"):
        if settings.load().enabled:
            recorder.flush()
