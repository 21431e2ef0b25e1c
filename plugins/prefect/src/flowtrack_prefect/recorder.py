"""Prefect flow and task runs as flowtrack runs.

A flow run becomes a run (source ``prefect``) when it enters Running; each task run inside it
becomes a child run, started on the task's own thread and context just before the task's
function runs, so ``flowtrack.log_metric`` in the task lands in it. A subflow's run is a child
of the run active where it is called. The run ends when Prefect reaches a final state:
Completed -> FINISHED, Failed and Crashed -> FAILED, Cancelled -> KILLED.

Every entry point here catches everything: tracking never fails or stops a flow.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowtrack_prefect import lineage, reconcile
from flowtrack_prefect.links import create_run_artifact, prefect_flow_run_url
from flowtrack_prefect.params import flatten, truncate

if TYPE_CHECKING:
    from flowtrack.tracking.context import RunState

log = logging.getLogger("flowtrack.prefect")

SOURCE = "prefect"
# How long a flow run's end waits for its tasks' versioning (hashing, writing files).
LINEAGE_WAIT_S = 60.0


@dataclass(frozen=True)
class Options:
    """What `tracked` (or `enable`) was asked for."""

    experiment: str | None = None
    version_outputs: bool = False
    register_model: str | None = None

    def for_children(self) -> Options:
        # A subflow or task records data as its flow does, but only the flow registers.
        return Options(self.experiment, self.version_outputs, None)


@dataclass(eq=False)
class Record:
    """A Prefect run being recorded, and the flowtrack run it is recorded as."""

    state: RunState
    options: Options
    flow: Record | None  # the flow run's record for a task run; None for a flow run
    started: float = field(default_factory=time.monotonic)
    jobs: list[Future[None]] = field(default_factory=list)
    # True once versioning work for this run is queued: its end must be queued after it,
    # since the store takes no datasets for a run that has ended.
    queued: bool = False
    token: contextvars.Token[Record | None] | None = None


_records: dict[str, Record] = {}
_records_lock = threading.Lock()
# The tracked flow run the code runs in: copied into task threads with the context.
current_flow: contextvars.ContextVar[Record | None] = contextvars.ContextVar(
    "flowtrack_prefect_flow", default=None
)


def _status(state: Any) -> str:
    if state.is_completed():
        return "FINISHED"
    if state.is_cancelled() or state.is_cancelling():
        return "KILLED"
    return "FAILED"


def _value_of(state: Any) -> Any:
    """The return value (or exception) a state holds, without going to the result store."""
    from prefect._internal.result_records import ResultRecord

    data = state.data
    return data.result if isinstance(data, ResultRecord) else data


def _error(state: Any) -> str:
    try:
        value = _value_of(state)
    except Exception:
        value = None
    if isinstance(value, BaseException):
        return truncate(f"{type(value).__name__}: {value}", 8000)
    return truncate(state.message or state.name or "failed", 8000)


def _experiment_of(options: Options, parent: RunState | None) -> dict[str, str | None]:
    if options.experiment:
        return {"experiment_name": options.experiment}
    if parent is not None and parent.experiment_id:
        return {"experiment_id": parent.experiment_id}
    if parent is not None and parent.experiment_name:
        return {"experiment_name": parent.experiment_name}
    return {}


def _start(
    name: str,
    options: Options,
    tags: dict[str, str],
    source_ref: dict[str, Any],
    params: dict[str, Any],
) -> RunState:
    import flowtrack
    from flowtrack.tracking import context

    parent = context.current()
    active = flowtrack.start_run(
        run_name=name[:250] or None,
        nested=parent is not None,
        tags=tags,
        source_type=SOURCE,
        source_ref=source_ref,
        **_experiment_of(options, parent),
    )
    if params:
        try:  # the run is started and active: a param it refuses must not leave it half-made
            flowtrack.log_params(flatten(params))
        except Exception as exc:
            log.warning("flowtrack: params of %s not logged: %s", name, exc)
    return active._state


def _finish(record: Record, status: str, tags: dict[str, str], flush: bool) -> None:
    from flowtrack.tracking import context, runs
    from flowtrack.tracking.log import _tag_events
    from flowtrack.tracking.policy import submit

    state = record.state
    if flush:  # a flow run: what it logged is in the store when the flow call returns
        submit(state, _tag_events(state.run_id, tags))
        runs._end(state, status)
        return
    events = [
        *_tag_events(state.run_id, tags),
        {"op": "update_run", "run_id": state.run_id, "status": status, "end_time": runs._now()},
    ]
    if record.queued:
        _schedule(record, lambda: submit(state, events))
    else:
        submit(state, events)
    context.pop(state)


# -- flows -----------------------------------------------------------------------------------


def flow_state(flow: Any, flow_run: Any, state: Any, options: Options) -> None:
    """Record a flow run's state change (any state; only Running and final ones matter)."""
    try:
        if state.is_running():
            _flow_started(flow, flow_run, options)
        elif state.is_final() or state.is_cancelling():
            _flow_ended(flow, flow_run, state, options)
    except Exception:
        log.warning("flowtrack: could not record flow run %s", flow_run.id, exc_info=True)


def _flow_started(flow: Any, flow_run: Any, options: Options) -> None:
    key = str(flow_run.id)
    if key in _records:  # a retry of the flow run: same run, attempts counted at the end
        return
    tags = {
        "prefect.flow_name": flow.name,
        "prefect.flow_run_id": key,
        "prefect.flow_run_name": flow_run.name or "",
    }
    if flow_run.deployment_id:
        tags["prefect.deployment_id"] = str(flow_run.deployment_id)
    source_ref: dict[str, Any] = {"flow_name": flow.name, "flow_run_id": key}
    url = prefect_flow_run_url(key)
    if url:
        tags["prefect.ui_url"] = url
        # The web UI's Source column links to source_ref["url"] (docs/ui.md).
        source_ref["url"] = url
    state = _start(
        flow_run.name or flow.name,
        options,
        tags,
        source_ref,
        dict(flow_run.parameters or {}),
    )
    record = Record(state, options, None)
    record.token = current_flow.set(record)
    try:
        create_run_artifact(state.uri, state.run_id, flow.name, flow_run.id)
    except Exception as exc:
        log.warning("flowtrack: could not add the link artifact to flow run %s: %s", key, exc)
    with _records_lock:
        _records[key] = record
    try:  # once per process: end the runs that flow runs of dead processes left RUNNING
        reconcile.start_background()
        reconcile.note_local(key)
    except Exception as exc:
        log.warning("flowtrack: could not start reconciling Prefect runs: %s", exc)


def _flow_ended(flow: Any, flow_run: Any, state: Any, options: Options) -> None:
    with _records_lock:
        record = _records.pop(str(flow_run.id), None)
    if record is None:
        if state.is_crashed() or state.is_cancelled() or state.is_cancelling():
            _end_elsewhere(flow_run, state, options)
        return
    status = _status(state)
    tags = {
        "prefect.state": state.name or str(state.type),
        "prefect.attempts": str(flow_run.run_count),
    }
    if status == "FAILED":
        tags["flowtrack.error"] = _error(state)
    if not lineage.wait(record.jobs, LINEAGE_WAIT_S):
        log.warning("flowtrack: versioning of flow run %s's data is still running", flow_run.id)
    if status != "FINISHED":
        _end_open_tasks(record, status, tags)
    if status == "FINISHED" and record.options.register_model:
        _register_model(record, _value_of(state))
    _finish(record, status, tags, flush=True)
    if record.token is not None:
        try:
            current_flow.reset(record.token)
        except ValueError:  # ended in another context than it started in
            current_flow.set(None)


def _end_open_tasks(flow_record: Record, status: str, tags: dict[str, str]) -> None:
    """End the task runs of a failed flow run that Prefect never reported ended.

    A task that crashes (a BaseException such as KeyboardInterrupt) leaves the task engine
    without a final call to its hooks; its run must not stay RUNNING, nor stay the active run
    of the code that catches the exception.
    """
    with _records_lock:
        open_tasks = [(k, r) for k, r in _records.items() if r.flow is flow_record]
        for key, _ in open_tasks:
            del _records[key]
    for _, task_record in open_tasks:
        swept = {k: v for k, v in tags.items() if k != "prefect.attempts"}
        _finish(task_record, status, swept, flush=False)


def _end_elsewhere(flow_run: Any, state: Any, options: Options) -> None:
    """End the runs a flow run's process left RUNNING when it was killed or cancelled.

    Prefect's runner (``serve``, workers) fires the on_crashed and on_cancellation hooks in its
    own process after the flow run's process is gone; there, the runs are found in the store
    by their ``prefect.flow_run_id`` tag (the flow run's and its task runs').
    """
    import flowtrack

    client = flowtrack.Client()
    if options.experiment:
        experiment = client.get_experiment_by_name(options.experiment)
        experiments = [experiment.experiment_id] if experiment is not None else []
    else:
        experiments = [e.experiment_id for e in _items(client.search_experiments())]
    if not experiments:
        return
    found = client.search_runs(
        experiments, filter=f"tags.`prefect.flow_run_id` = '{flow_run.id}'", max_results=50_000
    )
    status = _status(state)
    for run in _items(found):
        if run.info.status != "RUNNING":
            continue
        run_id = run.info.run_id
        client.set_tag(run_id, "prefect.state", state.name or str(state.type))
        if status == "FAILED":
            client.set_tag(run_id, "flowtrack.error", _error(state))
        client.set_terminated(run_id, status)


def _items(found: Any) -> list[Any]:
    return list(getattr(found, "items", found))


def _register_model(record: Record, model: Any) -> None:
    if model is None:
        log.warning("flowtrack: register_model is set but the flow returned None")
        return
    try:
        import flowtrack.models

        info = flowtrack.models.log_model(
            model, "model", registered_model_name=record.options.register_model
        )
        version = getattr(info, "registered_model_version", None)
        log.info(
            "flowtrack: registered %s version %s from run %s",
            record.options.register_model,
            version,
            record.state.run_id,
        )
    except Exception as exc:
        log.warning("flowtrack: could not log or register the flow's model: %s", exc)


# -- tasks -----------------------------------------------------------------------------------

# Tasks opted in one by one (`tracked_task`), by their function: `with_options` copies share it.
tracked_tasks: dict[Any, Options] = {}
enabled: list[Options] = []  # `enable()`: every flow and task in the process


def task_options(task: Any) -> Options | None:
    """How to record ``task``'s runs, or None if they are not recorded.

    In a tracked flow run, the flow's options; a task marked with `tracked_task` also
    versions its result if either asks for it.
    """
    own = tracked_tasks.get(getattr(task, "fn", None))
    flow = current_flow.get()
    inherited = flow.options if flow is not None else (enabled[0] if enabled else None)
    if inherited is None:
        return own
    if own is not None and own.version_outputs:
        return Options(inherited.experiment, True, None)
    return inherited.for_children()


def task_state(task: Any, task_run: Any, state: Any) -> None:
    """Record a task run's state change (Running starts its run, a final state ends it)."""
    try:
        if state.is_running():
            options = task_options(task)
            if options is not None:
                _task_started(task, task_run, options)
        elif state.is_final():
            _task_ended(task, task_run, state)
    except Exception:
        log.warning("flowtrack: could not record task run %s", task_run.id, exc_info=True)


def _task_parameters() -> dict[str, Any]:
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    return dict(ctx.parameters or {}) if ctx is not None else {}


def _task_started(task: Any, task_run: Any, options: Options) -> None:
    key = str(task_run.id)
    if key in _records:  # a retry: the same run; attempts are counted at the end
        return
    tags = {
        "prefect.task_name": task.name,
        "prefect.task_run_id": key,
        "prefect.task_run_name": task_run.name or "",
        "prefect.retries": str(task.retries or 0),
    }
    upstream = _upstream(task_run)
    if upstream:
        tags["prefect.upstream"] = upstream
    ref: dict[str, Any] = {"task_name": task.name, "task_run_id": key}
    if task_run.flow_run_id:
        tags["prefect.flow_run_id"] = ref["flow_run_id"] = str(task_run.flow_run_id)
    params = _task_parameters()
    state = _start(task_run.name or task.name, options, tags, ref, params)
    record = Record(state, options, current_flow.get())
    with _records_lock:
        _records[key] = record
    job = lineage.version_inputs(params)
    if job is not None:
        _schedule(record, job)


def _upstream(task_run: Any) -> str:
    """The task runs whose results this one takes (arguments, ``wait_for``), comma-separated:
    the edges of the web UI's pipeline graph (docs/ui.md). Whole ids only, within a tag."""
    ids: set[str] = set()
    for inputs in (getattr(task_run, "task_inputs", None) or {}).values():
        for item in inputs:
            if getattr(item, "input_type", None) == "task_run":
                ids.add(str(item.id))
    text = ",".join(sorted(ids))
    return text if len(text) <= 8000 else text[: text.rfind(",", 0, 8001)]


def _schedule(record: Record, job: Any) -> None:
    record.queued = True
    future = lineage.in_background(job)
    (record.flow or record).jobs.append(future)


def _task_ended(task: Any, task_run: Any, state: Any) -> None:
    with _records_lock:
        record = _records.pop(str(task_run.id), None)
    if record is None:
        return
    status = _status(state)
    tags = {
        "prefect.state": state.name or str(state.type),
        "prefect.attempts": str(max(task_run.run_count, 1)),
        "prefect.duration_s": f"{time.monotonic() - record.started:.3f}",
    }
    if status == "FAILED":
        tags["flowtrack.error"] = _error(state)
    if status == "FINISHED" and record.options.version_outputs:
        job = lineage.version_output(_value_of(state), task.name)
        if job is not None:
            _schedule(record, job)
    _finish(record, status, tags, flush=False)
