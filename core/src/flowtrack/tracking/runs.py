"""Module-level run handling, in MLflow's shape: set_experiment, start_run, end_run."""

from __future__ import annotations

import functools
import getpass
import logging
import os
import threading
import time
import uuid
from types import TracebackType
from typing import Any

from flowtrack import config
from flowtrack.entities import Experiment, Run, RunInfo, RunStatus, SourceType
from flowtrack.errors import InvalidInputError, NotFoundError, StoreUnavailableError
from flowtrack.plugins import facade
from flowtrack.store.events import Event
from flowtrack.tracking import context
from flowtrack.tracking.bounded import bounded
from flowtrack.tracking.context import RunState
from flowtrack.tracking.names import run_name as random_run_name
from flowtrack.tracking.policy import report, submit
from flowtrack.tracking.stores import get_store
from flowtrack.tracking.writer import get_writer
from flowtrack.validation import (
    validate_experiment_name,
    validate_key,
    validate_run_id,
    validate_run_name,
    validate_tag_value,
)

log = logging.getLogger("flowtrack")

_experiment: dict[str, str | None] = {"name": None, "id": None}
_experiment_cache: dict[tuple[str, str], Experiment] = {}
_cache_lock = threading.Lock()
_last_run: list[RunState] = []


def _now() -> int:
    return int(time.time() * 1000)


# What getpass.getuser() reads, in its order, before it falls back to the passwd database.
_USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _user() -> str:
    # getuser() looks up the passwd database when none of these is set (tens of microseconds,
    # far more with a network NSS); its answer depends only on them and the uid.
    key = tuple(os.environ.get(name) for name in _USER_VARIABLES)
    return _user_of(key, os.getuid() if hasattr(os, "getuid") else None)


@functools.lru_cache(maxsize=8)
def _user_of(variables: tuple[str | None, ...], uid: int | None) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment | None:
    """Make an experiment the active one, creating it by name if needed (as MLflow).

    When the store is unreachable the name is remembered and the experiment is created when
    the first run's events are delivered; None is returned then.
    """
    if (experiment_name is None) == (experiment_id is None):
        report(
            InvalidInputError(
                "set_experiment", (experiment_name, experiment_id), "give exactly one of name or id"
            )
        )
        return None
    uri = config.get_tracking_uri()
    try:
        if experiment_id is not None:
            experiment = _resolve_experiment(uri, experiment_id=str(experiment_id))
        else:
            experiment = _resolve_experiment(uri, validate_experiment_name(experiment_name))
    except StoreUnavailableError as exc:
        log.warning("flowtrack: %s; experiment %r will be created later", exc, experiment_name)
        _experiment.update(name=experiment_name, id=None)
        return None
    except (InvalidInputError, NotFoundError) as exc:
        report(exc)
        return None
    _experiment.update(name=experiment.name, id=experiment.experiment_id)
    return experiment


def _resolve_experiment(
    uri: str, name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """The experiment by name (created if new) or id; cached, and bounded in time so that a
    slow store cannot hold the task (StoreUnavailableError past FLOWTRACK_FLUSH_TIMEOUT)."""
    key = (uri, f"id:{experiment_id}" if experiment_id is not None else f"name:{name}")
    found = _experiment_cache.get(key)
    if found is None:
        store = get_store(uri)
        if experiment_id is not None:
            found = bounded(lambda: store.get_experiment(experiment_id))
        else:
            found = bounded(lambda: store.get_or_create_experiment(name or "Default"))
        with _cache_lock:
            _experiment_cache[key] = found
    return found


def _chosen_experiment(
    experiment_id: str | None, experiment_name: str | None = None
) -> tuple[str | None, str | None]:
    """(id, name) of the experiment a new run goes to."""
    if experiment_id is not None:
        return str(experiment_id), None
    if experiment_name is not None:
        return None, validate_experiment_name(experiment_name)
    if _experiment["id"] or _experiment["name"]:
        return _experiment["id"], _experiment["name"]
    from_env = os.environ.get(config.ENV_EXPERIMENT)
    if from_env:
        return (from_env, None) if from_env.isdigit() else (None, from_env)
    return None, "Default"


class ActiveRun:
    """The run started by `start_run`; a context manager that ends it (FAILED on error)."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    @property
    def info(self) -> RunInfo:
        s = self._state
        return RunInfo(
            run_id=s.run_id,
            experiment_id=s.experiment_id or "",
            run_name=s.run_name,
            status=RunStatus.RUNNING,
            start_time=s.start_time,
            end_time=None,
            lifecycle_stage="active",
            artifact_uri=s.artifact_uri or "",
            parent_run_id=s.parent_run_id,
        )

    @property
    def run_id(self) -> str:
        return self._state.run_id

    def to_run(self) -> Run:
        """The run as the store holds it now (waits for pending events first)."""
        get_writer(self._state.uri).flush()
        return get_store(self._state.uri).get_run(self._state.run_id)

    @property
    def data(self) -> Any:
        return self.to_run().data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        _end(self._state, status)

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self._state.run_id} name={self._state.run_name!r}>"


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    source_type: str = SourceType.PYTHON,
    source_ref: dict[str, Any] | None = None,
    experiment_name: str | None = None,
) -> ActiveRun:
    """Start a run (or resume one with ``run_id``) and make it the active run.

    ``nested=True`` makes it a child of the active run (or of the run handed down by a parent
    process). ``source_type`` and ``source_ref`` say what produced it; the orchestrator
    adapters set them (source_ref holds e.g. dag_id/run_id/task_id/try). ``experiment_name``
    picks the experiment by name for this run only (created if new, also when the store is
    down: then on delivery), without changing the active experiment.
    """
    uri = config.get_tracking_uri()
    active = context.stack()
    if active and not nested and run_id is None:
        report(
            InvalidInputError(
                "nested",
                False,
                f"run {active[-1].run_id} is already active; call start_run(nested=True) for "
                "a child run, or end_run() first. Starting it as a child run",
            )
        )
        nested = True
    if run_id is not None:
        state = _resume(uri, run_id)
        if state is not None:
            context.push(state)
            return ActiveRun(state)
    # A run a plugin names (a Spark driver's application run) comes before the environment's.
    inherited = context.from_plugins() or context.from_environment()
    if not active and not nested and inherited is not None and parent_run_id is None:
        # A parent process owns this run: log into it, but leave ending it to the owner.
        context.push(inherited)
        return ActiveRun(inherited)
    if parent_run_id is None and nested:
        parent = active[-1] if active else inherited
        parent_run_id = parent.run_id if parent else None
    return ActiveRun(
        _create(
            uri,
            experiment_id,
            run_name,
            parent_run_id,
            tags,
            description,
            source_type,
            source_ref,
            experiment_name,
        )
    )


def _create(
    uri: str,
    experiment_id: str | None,
    run_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
    source_type: str,
    source_ref: dict[str, Any] | None,
    experiment_name: str | None = None,
) -> RunState:
    name = validate_run_name(run_name) if run_name else random_run_name()
    run_tags = facade.run_context()
    for key, value in (tags or {}).items():
        run_tags[validate_key("tag key", key)] = validate_tag_value(key, value)
    if description:
        run_tags["flowtrack.note"] = validate_tag_value("flowtrack.note", description)
    exp_id, exp_name = _chosen_experiment(experiment_id, experiment_name)
    artifact_location = None
    try:
        experiment = (
            get_store(uri).get_experiment(exp_id)
            if exp_id
            else _resolve_experiment(uri, exp_name or "Default")
        )
        exp_id, exp_name, artifact_location = (
            experiment.experiment_id,
            experiment.name,
            experiment.artifact_location,
        )
    except StoreUnavailableError as exc:
        log.warning("flowtrack: %s; the run is recorded locally and delivered later", exc)
    run_id = uuid.uuid4().hex
    state = RunState(
        run_id=run_id,
        uri=uri,
        experiment_id=exp_id,
        experiment_name=exp_name,
        run_name=name,
        parent_run_id=parent_run_id,
        start_time=_now(),
        artifact_uri=f"{artifact_location.rstrip('/')}/{run_id}/artifacts"
        if artifact_location
        else None,
    )
    submit(state, [create_event(state, source_type, source_ref, run_tags)])
    context.push(state)
    return state


def create_event(
    state: RunState, source_type: str, source_ref: dict[str, Any] | None, tags: dict[str, str]
) -> Event:
    """The ``create_run`` event of ``state`` (for adapters that create runs by their own ids:
    the store ignores a second one with the same id)."""
    return {
        "op": "create_run",
        "run_id": state.run_id,
        "experiment_id": state.experiment_id,
        "experiment_name": state.experiment_name,
        "run_name": state.run_name,
        "parent_run_id": state.parent_run_id,
        "start_time": state.start_time,
        "user_id": _user(),
        "source_type": str(source_type),
        "source_ref": source_ref or {},
        "tags": tags,
    }


def _resume(uri: str, run_id: str) -> RunState | None:
    try:
        valid_id = validate_run_id(run_id)
        run = bounded(lambda: get_store(uri).get_run(valid_id))
    except (InvalidInputError, NotFoundError) as exc:
        report(exc)
        log.error("flowtrack: starting a new run instead of %r", run_id)
        return None
    state = RunState(
        run_id=run.info.run_id,
        uri=uri,
        experiment_id=run.info.experiment_id,
        experiment_name=None,
        run_name=run.info.run_name,
        parent_run_id=run.info.parent_run_id,
        start_time=run.info.start_time,
        artifact_uri=run.info.artifact_uri,
        params=dict(run.data.params),
    )
    submit(state, [{"op": "update_run", "run_id": run_id, "status": RunStatus.RUNNING}])
    return state


def _end(state: RunState, status: str) -> None:
    if state.owned:
        submit(
            state,
            [
                {
                    "op": "update_run",
                    "run_id": state.run_id,
                    "status": str(status),
                    "end_time": _now(),
                }
            ],
        )
    context.pop(state)
    _last_run[:] = [state]
    if not config.strict_mode():
        get_writer(state.uri).flush()


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (FINISHED unless told otherwise) and wait for its events to land."""
    try:
        status = RunStatus(status)
    except ValueError:
        report(InvalidInputError("status", status, "must be FINISHED, FAILED or KILLED"))
        return
    state = context.stack()[-1] if context.stack() else None
    if state is not None:
        _end(state, status)


def active_run() -> ActiveRun | None:
    state = context.current()
    return ActiveRun(state) if state is not None else None


def last_active_run() -> Run | None:
    """The run that ended last in this process, as the store holds it."""
    if not _last_run:
        return None
    return ActiveRun(_last_run[0]).to_run()


def require_run() -> RunState:
    """The run to log to: the active one, the inherited one, or a new one (as MLflow)."""
    state = context.current()
    if state is None:
        state = start_run()._state
    return state


def flush(timeout: float | None = None) -> bool:
    """Wait until everything logged so far is in the store; False if it is still pending."""
    from flowtrack.tracking.writer import flush_all

    return flush_all(timeout)


def get_tracking_uri() -> str:
    return config.get_tracking_uri()


def set_tracking_uri(uri: str | None) -> None:
    config.set_tracking_uri(uri)
    _experiment.update(name=None, id=None)
