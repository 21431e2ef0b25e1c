"""Explicit steps (register a model, version data, log metrics): what the operators, the
``@task.flowtrack`` decorator and the helpers share.

Unlike the listener, a step is something the DAG's author asked for: bad input fails the task
with a `StepError` naming the argument and the value, and nothing is changed. A step logs into
the active run, the task instance's run the listener opened; when the DAG is not recorded
(opted out, tracking off) the step opens a run of its own for its duration, so what it logs
is never lost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException
from flowtrack.errors import FlowtrackError, InvalidInputError, NotFoundError
from flowtrack.tracking.context import RunState


class StepError(AirflowFailException):
    """Bad input to a flowtrack step: retrying would not help, so the task fails at once."""


def bad(step: str, field: str, value: Any, reason: str) -> StepError:
    """The error for ``field``'s ``value``, worded as the core's (``invalid <field> <value>``)."""
    return StepError(f"{step}: {InvalidInputError(field, value, reason)}")


@contextlib.contextmanager
def failing_as(step: str) -> Iterator[None]:
    """Turn flowtrack's errors into the task's: bad input fails the task without retries,
    anything else (the store down, say) may be retried by Airflow."""
    try:
        yield
    except (InvalidInputError, NotFoundError) as exc:
        raise StepError(f"{step}: {exc}") from exc
    except FlowtrackError as exc:
        raise AirflowException(f"{step}: {exc}") from exc


def airflow_ids() -> dict[str, str]:
    """The task's dag_id, run_id and task_id as tags (from the AIRFLOW_CTX_* variables)."""
    from flowtrack_airflow.plugin import flowtrack_run_context

    return flowtrack_run_context()


@contextlib.contextmanager
def step_run() -> Iterator[RunState]:
    """The run a step logs into: the active one, else one of its own for the step."""
    from flowtrack.tracking import context

    state = context.current()
    if state is not None:
        yield state
        return
    import flowtrack

    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    task_id = os.environ.get("AIRFLOW_CTX_TASK_ID")
    name = f"{dag_id}.{task_id}" if dag_id and task_id else "flowtrack step"
    with flowtrack.start_run(run_name=name) as run:  # FAILED if the step raises
        yield run._state
