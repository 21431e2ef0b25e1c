"""DAG runs and task instances as flowtrack runs: what each listener hook sends.

Each hook builds its events and hands them to flowtrack's writer (one journal append; a
background thread delivers them, and spools them when the store is down), so a hook costs the
task no round trip to the store. Run ids come from Airflow's keys (`identity`), so the DAG
run's run, made by whichever process sees it first, and its task runs meet in one tree.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowtrack import config
from flowtrack.store.events import Event
from flowtrack.tracking import context
from flowtrack.tracking.context import RunState

from flowtrack_airflow import assets, identity, returns, selection
from flowtrack_airflow.settings import Settings
from flowtrack_airflow.values import error_text, params_of, tag_text

log = logging.getLogger("flowtrack.airflow")

SOURCE = "airflow"
# Airflow's final task states and the run status each becomes. UP_FOR_RETRY ends the attempt:
# the next try resumes the same run (RUNNING again).
STATUS = {
    "success": "FINISHED",
    "skipped": "FINISHED",
    "failed": "FAILED",
    "up_for_retry": "FAILED",
    "upstream_failed": "FAILED",
    "removed": "KILLED",
}


@dataclass(eq=False)
class Open:
    """A task instance this process is recording: its run, made active for the task's code."""

    state: RunState
    started: float
    # True once versioning for this try is queued: its end is queued behind it.
    queued: bool = False
    # The task opted in to versioning its return value (`returns`).
    version_returns: bool = False


_open: dict[str, Open] = {}


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else int(time.time() * 1000)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(getattr(value, "value", value))


def _experiment(settings: Settings, dag_id: str) -> dict[str, str | None]:
    name = settings.experiment_for(dag_id)
    if name.isdigit():
        return {"experiment_id": name, "experiment_name": None}
    return {"experiment_id": None, "experiment_name": name}


def _state(
    run_id: str, settings: Settings, dag_id: str, name: str, parent: str | None, start: int
) -> RunState:
    experiment = _experiment(settings, dag_id)
    return RunState(
        run_id=run_id,
        uri=config.get_tracking_uri(),
        experiment_id=experiment["experiment_id"],
        experiment_name=experiment["experiment_name"],
        run_name=name[:250],
        parent_run_id=parent,
        start_time=start,
        artifact_uri=None,  # looked up on the first log_artifact, not on the task's path
    )


def _create(state: RunState, ref: dict[str, Any], tags: dict[str, str]) -> Event:
    from flowtrack.plugins import facade
    from flowtrack.tracking.runs import create_event

    return create_event(
        state, SOURCE, ref, {**_context_tags(facade.run_context()), **_bounded(tags)}
    )


def _context_tags(found: dict[str, str]) -> dict[str, str]:
    # The plugins' context minus Airflow's task variables: in one process (dag.test) they are
    # still those of the task before, and this adapter sets the airflow.* tags itself.
    return {k: v for k, v in found.items() if not k.startswith("airflow.")}


def _bounded(tags: dict[str, str]) -> dict[str, str]:
    return {k: tag_text(v) for k, v in tags.items() if v}


def _tags(run_id: str, tags: dict[str, str]) -> list[Event]:
    return [
        {"op": "tag", "run_id": run_id, "key": k, "value": tag_text(v)}
        for k, v in tags.items()
        if v
    ]


def _params(run_id: str, values: Any) -> list[Event]:
    if not values:
        return []
    return [
        {"op": "param", "run_id": run_id, "key": k, "value": v}
        for k, v in params_of(dict(values)).items()
    ]


def _untag_error(run_id: str) -> Event:
    return {"op": "delete_tag", "run_id": run_id, "key": "flowtrack.error"}


def _submit(state: RunState, events: list[Event]) -> None:
    from flowtrack.tracking.policy import submit

    submit(state, events)


# -- DAG runs ------------------------------------------------------------------------------


def _reopen(run_id: str) -> Event:
    # The store takes tags and params only for a run that has not ended: a hook that knows the
    # run's state now (the scheduler's) puts it back to RUNNING before it writes them.
    return {"op": "update_run", "run_id": run_id, "status": "RUNNING"}


def _dag_run_events(
    dag_run: Any, settings: Settings, hook: str, reopen: bool = False
) -> tuple[RunState, list[Event]]:
    """The DAG run's run (created if new; RUNNING again if ``reopen``) and its conf as params.

    Only the scheduler's hooks reopen: a task's events may reach the store late (spooled, then
    `flowtrack sync`), and must not turn a DAG run that ended back to RUNNING. The first
    ``hook`` to create the run is its ``airflow.created_by`` tag: under a scheduler,
    ``on_dag_run_running``; under `dag.test()`, the first task's."""
    dag_id, run_id = str(dag_run.dag_id), str(dag_run.run_id)
    state = _state(
        identity.dag_run_key(settings.namespace, dag_id, run_id),
        settings,
        dag_id,
        f"{dag_id} {run_id}",
        None,
        _ms(getattr(dag_run, "start_date", None)),
    )
    tags = {
        "airflow.dag_id": dag_id,
        "airflow.run_id": run_id,
        "airflow.run_type": _text(getattr(dag_run, "run_type", None)),
        "airflow.logical_date": _text(getattr(dag_run, "logical_date", None)),
        "airflow.ui_url": identity.dag_run_url(identity.airflow_base_url(), dag_id, run_id) or "",
        "airflow.created_by": hook,
    }
    if settings.namespace:
        tags["airflow.namespace"] = settings.namespace
    events = [_create(state, {"dag_id": dag_id, "run_id": run_id}, tags)]
    if reopen:
        events.append(_reopen(state.run_id))
    events += _params(state.run_id, getattr(dag_run, "conf", None))
    return state, events


def dag_run_running(dag_run: Any, settings: Settings) -> None:
    # A cleared DAG run runs again: its run is RUNNING again too.
    state, events = _dag_run_events(dag_run, settings, "on_dag_run_running", reopen=True)
    _submit(state, events)


def dag_run_ended(dag_run: Any, settings: Settings, msg: str | None, failed: bool) -> None:
    """The DAG run succeeded or failed (the hook that fired says which)."""
    hook = "on_dag_run_failed" if failed else "on_dag_run_success"
    state, events = _dag_run_events(dag_run, settings, hook, reopen=True)
    status = "FAILED" if failed else "FINISHED"
    tags = {"airflow.state": "failed" if failed else "success"}
    if status == "FAILED" and msg:
        tags["flowtrack.error"] = msg
    events += _tags(state.run_id, tags)
    if status != "FAILED":  # a failed DAG run marked successful (in the UI) is no longer failed
        events.append(_untag_error(state.run_id))
    end = getattr(dag_run, "end_date", None)
    events.append(
        {"op": "update_run", "run_id": state.run_id, "status": status, "end_time": _ms(end)}
    )
    _submit(state, events)


# -- task instances ------------------------------------------------------------------------


def _is_runtime(ti: Any) -> bool:
    """True for the worker's RuntimeTaskInstance; False for the scheduler's ORM row, which must
    not be asked for anything that reads Airflow's database."""
    return type(ti).__module__.startswith("airflow.sdk")


def _task_state(ti: Any, settings: Settings) -> RunState:
    dag_id, run_id = str(ti.dag_id), str(ti.run_id)
    map_index = int(getattr(ti, "map_index", -1) if ti.map_index is not None else -1)
    name = str(ti.task_id) if map_index < 0 else f"{ti.task_id}[{map_index}]"
    return _state(
        identity.task_key(settings.namespace, dag_id, run_id, str(ti.task_id), map_index),
        settings,
        dag_id,
        name,
        identity.dag_run_key(settings.namespace, dag_id, run_id),
        _ms(getattr(ti, "start_date", None)),
    )


def _operator(ti: Any) -> str:
    task = getattr(ti, "task", None)
    if task is not None:
        return str(getattr(task, "task_type", None) or type(task).__name__)
    return str(getattr(ti, "operator", "") or "")


def _upstream(ti: Any) -> str:
    # The task's upstream task ids: the edges of the web UI's pipeline graph (docs/ui.md).
    ids = getattr(getattr(ti, "task", None), "upstream_task_ids", None) or ()
    return ",".join(sorted(str(i) for i in ids))


def _task_tags(ti: Any) -> dict[str, str]:
    map_index = ti.map_index if ti.map_index is not None else -1
    return {
        "airflow.upstream": _upstream(ti),
        "airflow.dag_id": str(ti.dag_id),
        "airflow.run_id": str(ti.run_id),
        "airflow.task_id": str(ti.task_id),
        "airflow.map_index": str(map_index),
        "airflow.try_number": str(ti.try_number),
        "airflow.max_tries": str(getattr(ti, "max_tries", "") or 0),
        "airflow.operator": _operator(ti),
        "airflow.ui_url": identity.task_url(
            identity.airflow_base_url(),
            str(ti.dag_id),
            str(ti.run_id),
            str(ti.task_id),
            map_index,
            int(ti.try_number),
        )
        or "",
    }


def _ref(ti: Any) -> dict[str, Any]:
    return {
        "dag_id": str(ti.dag_id),
        "run_id": str(ti.run_id),
        "task_id": str(ti.task_id),
        "map_index": ti.map_index if ti.map_index is not None else -1,
        "try_number": int(ti.try_number),
    }


def task_started(ti: Any, settings: Settings) -> None:
    """A try of a task instance starts: its run (and its DAG run's) created or resumed, and
    made the active run, so flowtrack calls in the task and its subprocesses land in it."""
    template = ti.get_template_context() if _is_runtime(ti) else {}
    events: list[Event] = []
    dag_run = template.get("dag_run")
    if dag_run is not None:
        events += _dag_run_events(dag_run, settings, "on_task_instance_running")[1]
    state = _task_state(ti, settings)
    tags = {**_task_tags(ti), "airflow.state": "running"}
    events.append(_create(state, _ref(ti), tags))
    if int(ti.try_number) > 1:
        # A retry or a cleared task (its try number goes up too): the same run, RUNNING again,
        # with this try's tags and without the error of the try before. A first try never
        # reopens: its start can reach the store after the scheduler failed it (a task killed
        # before its events were delivered, its journal replayed later), and must not turn
        # that run back to RUNNING for good.
        events += [_reopen(state.run_id), *_tags(state.run_id, tags), _untag_error(state.run_id)]
    params = template.get("params")
    if params:
        dump = getattr(params, "dump", None)
        events += _params(state.run_id, dump() if callable(dump) else params)
    _submit(state, events)
    _open.pop(state.run_id, None)
    context.push(state)
    record = Open(state, time.monotonic())
    record.version_returns = selection.versions_returns(
        params, selection.dag_of(ti), settings.version_returns
    )
    _open[state.run_id] = record
    inlets = assets.uris(getattr(getattr(ti, "task", None), "inlets", None))
    if inlets:
        record.queued = True
        assets.in_background(lambda: assets.version(inlets, "input"))


def task_ended(ti: Any, settings: Settings, error: Any = None) -> None:
    """A try ends (success, skipped, failed, up for retry): tags and the run's status."""
    fresh = _task_state(ti, settings)
    record = _open.pop(fresh.run_id, None)
    events: list[Event] = []
    if record is None:  # the try was not seen starting here (the scheduler reports a failure)
        state = fresh
        events += [_create(state, _ref(ti), _task_tags(ti)), _reopen(state.run_id)]
    else:
        state = record.state
    airflow_state = _text(getattr(ti, "state", None)) or ("failed" if error else "success")
    status = STATUS.get(airflow_state, "FAILED" if error else "FINISHED")
    start, end = getattr(ti, "start_date", None), getattr(ti, "end_date", None)
    if start is not None and end is not None:
        duration = (end - start).total_seconds()
    elif record is not None:
        duration = time.monotonic() - record.started
    else:
        duration = None
    tags = {
        "airflow.state": airflow_state,
        "airflow.try_number": str(ti.try_number),
        "airflow.duration_s": f"{duration:.3f}" if duration is not None else "",
    }
    if status == "FAILED":
        tags["flowtrack.error"] = error_text(error)
    events += _tags(state.run_id, tags)
    if status != "FAILED" and record is None:  # a failed task marked successful (in the UI)
        events.append(_untag_error(state.run_id))
    events.append(
        {"op": "update_run", "run_id": state.run_id, "status": status, "end_time": _ms(end)}
    )
    outlets = assets.uris(getattr(getattr(ti, "task", None), "outlets", None))
    if status != "FINISHED" or record is None:
        outlets = []  # a failed try's outlets hold nothing it finished writing
    jobs = [lambda: assets.version(outlets, "output")] if outlets else []
    if record is not None and record.version_returns and airflow_state == "success":
        ref = _ref(ti)
        name = returns.dataset_name(ref["dag_id"], ref["task_id"], ref["map_index"])
        found = returns.job(returns.pull(ti), name)
        if found is not None:
            jobs.append(found)
    if jobs or (record is not None and record.queued):

        def version_then_end() -> None:
            for job in jobs:  # each on its own: the run's end is submitted whatever happens
                assets.logged(job)()
            _submit(state, events)

        assets.in_background(version_then_end)  # in this context: the task's run is active
    else:
        _submit(state, events)
    if record is not None:
        context.pop(state)


def flush() -> None:
    """Deliver what this process queued (a task process ends with os._exit: no atexit)."""
    from flowtrack.tracking.writer import flush_all

    if not assets.wait():
        log.warning("flowtrack: versioning of the task's assets is still running; left behind")
    if not flush_all():
        log.warning(
            "flowtrack: the tracking store did not take every event in time; the rest stay in "
            "the journal and are delivered by the next flowtrack process or `flowtrack sync`"
        )
