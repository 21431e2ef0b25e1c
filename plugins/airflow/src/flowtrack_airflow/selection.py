"""What a DAG says about its own tracking: its tags and its ``flowtrack*`` params.

Read from the DAG object the hook already holds: on a worker the task's SDK DAG
(``task_instance.task.dag``), in the scheduler the serialized DAG it set on the DAG run
(``dag_run.dag``) or on the task instance (``ti.task.dag``). Nothing here queries Airflow's
database: in the scheduler that would break its HA locks (docs/airflow.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# DAG param that opts a DAG in (True) or out (False), whatever the mode.
TRACK_PARAM = "flowtrack"
# Param (DAG or task) and DAG tag that version task return values as outputs.
RETURNS_SWITCH = "flowtrack_version_returns"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def dag_of(holder: Any) -> Any:
    """The DAG of a task instance (through its task) or of a DAG run; None if not at hand."""
    task = getattr(holder, "task", None)
    target = task if task is not None else holder
    try:
        return getattr(target, "dag", None)
    except Exception:  # an SDK operator not assigned to a DAG raises instead of returning None
        return None


def dag_tags(dag: Any) -> frozenset[str]:
    tags = getattr(dag, "tags", None) if dag is not None else None
    return frozenset(str(t) for t in tags) if tags else frozenset()


def flag(value: Any) -> bool | None:
    """True/False for a boolean or a boolean-like string; None for anything else (unset)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def param_flag(params: Any, key: str) -> bool | None:
    """The boolean value of param ``key`` in ``params`` (ParamsDict or dict); None if unset."""
    if not isinstance(params, Mapping) or key not in params:
        return None
    try:
        return flag(params[key])
    except Exception:  # a Param with no value raises on access: it is unset
        return None


def dag_flag(dag: Any) -> bool | None:
    """The DAG's ``flowtrack`` param as declared in the DAG (not a run's conf: the scheduler
    decides from the DAG's definition, and so must the workers, to build the same tree)."""
    return param_flag(getattr(dag, "params", None) if dag is not None else None, TRACK_PARAM)


def versions_returns(params: Any, dag: Any, default: bool) -> bool:
    """Whether a task's return value is versioned: the resolved ``flowtrack_version_returns``
    param (the task's, else the DAG's, a run's conf included), else the DAG tag, else the
    ``[flowtrack] version_returns`` setting."""
    found = param_flag(params, RETURNS_SWITCH)
    if found is not None:
        return found
    if RETURNS_SWITCH in dag_tags(dag):
        return True
    return default
