"""The active run: a context variable in-process, environment variables across processes.

A child process started while a run is active inherits ``FLOWTRACK_TRACKING_URI``,
``FLOWTRACK_RUN_ID``, ``FLOWTRACK_PARENT_RUN_ID`` and ``FLOWTRACK_EXPERIMENT``; there,
``flowtrack.log_metric`` with no run handling logs into that run, and
``start_run(nested=True)`` makes a child of it.
"""

from __future__ import annotations

import contextvars
import os
import threading
from dataclasses import dataclass, field

from flowtrack import config


@dataclass(eq=False)
class RunState:
    """What this process knows of a run it logs to, without asking the store."""

    run_id: str
    uri: str
    experiment_id: str | None
    experiment_name: str | None
    run_name: str
    parent_run_id: str | None
    start_time: int
    artifact_uri: str | None
    # False for a run this process attached to (from the environment or another owner):
    # leaving it must not end it.
    owned: bool = True
    # FLOWTRACK_STRICT as it was when the run started; read once, not on every log call.
    strict: bool = field(default_factory=config.strict_mode)
    params: dict[str, str] = field(default_factory=dict)
    saved_env: dict[str, str | None] = field(default_factory=dict)


_stack: contextvars.ContextVar[tuple[RunState, ...]] = contextvars.ContextVar(
    "flowtrack_active_runs", default=()
)
_env_runs: dict[tuple[str, str], RunState] = {}
_env_lock = threading.Lock()

_ENV_KEYS = (
    config.ENV_TRACKING_URI,
    config.ENV_RUN_ID,
    config.ENV_PARENT_RUN_ID,
    config.ENV_EXPERIMENT,
)


def stack() -> tuple[RunState, ...]:
    return _stack.get()


def current() -> RunState | None:
    runs = _stack.get()
    if runs:
        return runs[-1]
    return from_plugins() or from_environment()


def from_plugins() -> RunState | None:
    """The run a plugin knows this process works for (a PySpark driver's application run)."""
    from flowtrack.plugins import facade

    return facade.current_run()


def from_environment() -> RunState | None:
    """The run a parent process handed down, if any."""
    run_id = os.environ.get(config.ENV_RUN_ID)
    if not run_id:
        return None
    uri = config.get_tracking_uri()
    key = (uri, run_id)
    announce = False
    with _env_lock:
        state = _env_runs.get(key)
        if state is None:
            announce = True
            experiment = os.environ.get(config.ENV_EXPERIMENT)
            state = _env_runs[key] = RunState(
                run_id=run_id,
                uri=uri,
                experiment_id=experiment if experiment and experiment.isdigit() else None,
                experiment_name=experiment if experiment and not experiment.isdigit() else None,
                run_name="",
                parent_run_id=os.environ.get(config.ENV_PARENT_RUN_ID) or None,
                start_time=0,
                artifact_uri=None,
                owned=False,
            )
    if announce:
        _announce(state)
    return state


def _announce(state: RunState) -> None:
    # The owner of a handed-down run may not have recorded it yet when this process logs (a
    # Kubernetes pod can start while the watcher is down; a child process can outrun its
    # parent's writer). A provisional create, ahead of this process's events, makes the store
    # keep them; it is a no-op for a run that exists, and the owner's create completes it.
    from flowtrack.entities import SourceType
    from flowtrack.errors import FlowtrackError
    from flowtrack.tracking.policy import report, submit
    from flowtrack.tracking.runs import create_event
    from flowtrack.validation import validate_run_id

    try:
        validate_run_id(state.run_id)
        submit(state, [create_event(state, SourceType.PENDING, None, {})])
    except FlowtrackError as exc:
        report(exc)


def push(state: RunState) -> None:
    _stack.set((*_stack.get(), state))
    state.saved_env = {k: os.environ.get(k) for k in _ENV_KEYS}
    env_vars(state, os.environ)


def pop(state: RunState) -> None:
    runs = _stack.get()
    if state in runs:
        _stack.set(tuple(r for r in runs if r is not state))
    for key, value in state.saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def env_vars(
    state: RunState, into: dict[str, str] | os._Environ[str] | None = None
) -> dict[str, str]:
    """The variables that hand ``state`` to a child process (written into ``into`` if given)."""
    values = {config.ENV_TRACKING_URI: state.uri, config.ENV_RUN_ID: state.run_id}
    experiment = state.experiment_id or state.experiment_name
    if experiment:
        values[config.ENV_EXPERIMENT] = experiment
    if into is not None:
        into.update(values)
        if state.parent_run_id:
            into[config.ENV_PARENT_RUN_ID] = state.parent_run_id
        else:
            into.pop(config.ENV_PARENT_RUN_ID, None)
    if state.parent_run_id:
        values[config.ENV_PARENT_RUN_ID] = state.parent_run_id
    return values
