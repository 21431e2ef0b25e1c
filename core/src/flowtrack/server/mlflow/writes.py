"""Logging to runs: ``log-metric``, ``log-parameter``, ``set-tag``, ``delete-tag``, ``log-batch``,
``log-inputs`` and ``outputs``.

Writes go to the store synchronously (``apply_events`` without a journal id, as
``flowtrack.Client`` does): the MLflow client waits for each answer and sends nothing that
could be replayed by sequence number, so a server-side journal id would only add a row per
request. Two of MLflow's rules differ from flowtrack's and are kept for MLflow's clients:

- MLflow lets a client log to a FINISHED, FAILED or KILLED run (only deleted runs are
  refused); flowtrack's store refuses, so such a write is applied with the run reopened and
  closed again at its old status and end time, all in one transaction.
- A param that already has another value fails the whole request and writes nothing, with
  MLflow's INVALID_PARAMETER_VALUE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from flowtrack.entities import LifecycleStage, Run, RunStatus
from flowtrack.errors import NotFoundError
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.errors import MlflowRoute, invalid, not_found
from flowtrack.server.mlflow.request import Params, endpoint, parse_float
from flowtrack.server.state import ServerState
from flowtrack.store.base import TrackingStore
from flowtrack.store.events import Event, Rejection
from flowtrack.validation import (
    validate_key,
    validate_param_value,
    validate_tag_value,
)

router = APIRouter(route_class=MlflowRoute)

# MLflow's limits for one log-batch request (mlflow/utils/validation.py).
MAX_METRICS, MAX_PARAMS, MAX_TAGS, MAX_ENTITIES = 1000, 100, 100, 1000


def run_id_of(params: Params) -> str:
    """MLflow sends the id as ``run_id`` and, from older clients, ``run_uuid``."""
    run_id = params.text("run_id") or params.text("run_uuid")
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'")
    return run_id


def get_run(store: TrackingStore, run_id: str) -> Run:
    try:
        return store.get_run(run_id)
    except NotFoundError:
        raise not_found(f"Run with id={run_id} not found") from None


def live_run(store: TrackingStore, run_id: str) -> Run:
    """The run, which must not be deleted (MLflow refuses writes to deleted runs)."""
    run = get_run(store, run_id)
    _check_active(run)
    return run


def _check_active(run: Run) -> None:
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        raise invalid(
            f"The run {run.info.run_id} must be in the 'active' state. Current state is "
            "deleted; restore it to log to it"
        )


def apply(store: TrackingStore, run_id: str, events: list[Event], run: Run | None = None) -> None:
    """Write ``events`` (all for ``run_id``) with MLflow's rules; raise MLflow's errors.

    ``run``, when the caller has read it already, lets a write to an ended run go straight
    to the reopened form instead of being refused first."""
    if run is not None:
        _check_active(run)
    if run is not None and _ended(run) and any(e["op"] != "update_run" for e in events):
        rejections = store.apply_events(_reopened(run, events))
    else:
        rejections = store.apply_events(events)
        if not rejections:
            return
        run = live_run(store, run_id)
        if len(rejections) == len(events) and _ended(run):
            # The store refused the whole request for the run's status, so nothing was
            # written: apply it again between a reopen and a close.
            rejections = store.apply_events(_reopened(run, events))
    if rejections:
        raise invalid(_reasons(rejections))


def _ended(run: Run) -> bool:
    return RunStatus(run.info.status).is_terminal


def _reopened(run: Run, events: list[Event]) -> list[Event]:
    """``events`` between a reopen and a close that puts back the run's status and end time
    (or the ones the events set), all applied in one transaction."""
    status, end_time = str(run.info.status), run.info.end_time
    for e in events:
        if e["op"] == "update_run" and "status" in e:
            status, end_time = e["status"], e.get("end_time")
    run_id = run.info.run_id
    close: Event = {"op": "update_run", "run_id": run_id, "status": status}
    if status != RunStatus.RUNNING:
        close["end_time"] = end_time
    return [
        {"op": "update_run", "run_id": run_id, "status": str(RunStatus.RUNNING)},
        *events,
        close,
    ]


def _reasons(rejections: Sequence[Rejection]) -> str:
    shown = "; ".join(str(r) for r in rejections[:5])
    more = len(rejections) - 5
    return f"{shown}; and {more} more" if more > 0 else shown


def check_params(run: Run, params: dict[str, str]) -> None:
    for key, value in params.items():
        old = run.data.params.get(key)
        if old is not None and old != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{old}' for run ID='{run.info.run_id}'. Attempted logging "
                f"new value '{value}'. Log it under a new key or in a new run."
            )


def _metric_event(run_id: str, item: dict[str, Any] | Params) -> Event:
    params = item if isinstance(item, Params) else Params(item)
    key = validate_key("metric key", params.req_text("key"))
    value = parse_float(params.data.get("value"), f"the value of metric {key!r}")
    if value is None:
        raise invalid(f"Missing value for required parameter 'value' of metric {key!r}")
    timestamp = params.integer("timestamp")
    return {
        "op": "metric",
        "run_id": run_id,
        "key": key,
        "value": value,
        "timestamp": int(time.time() * 1000) if timestamp is None else timestamp,
        "step": params.integer("step") or 0,
    }


def _pairs(items: list[dict[str, Any]], field: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, value = item.get("key"), item.get("value", "")
        if not isinstance(key, str):
            raise invalid(f"Invalid {field}: every entry needs a string 'key', got {item!r}")
        out.append((key, value if isinstance(value, str) else json.dumps(value)))
    return out


def _param_events(run_id: str, pairs: list[tuple[str, str]]) -> tuple[list[Event], dict[str, str]]:
    events: list[Event] = []
    seen: dict[str, str] = {}
    for key, value in pairs:
        validate_key("param key", key)
        text = validate_param_value(key, value)
        if seen.get(key, text) != text:
            raise invalid(
                f"Duplicate param key '{key}' with different values in one request "
                f"({seen[key]!r} and {text!r}); params are immutable"
            )
        seen[key] = text
        events.append({"op": "param", "run_id": run_id, "key": key, "value": text})
    return events, seen


def _tag_events(run_id: str, pairs: list[tuple[str, str]]) -> list[Event]:
    return [
        {
            "op": "tag",
            "run_id": run_id,
            "key": validate_key("tag key", key),
            "value": validate_tag_value(key, value),
        }
        for key, value in pairs
    ]


def _write_with_params(
    state: ServerState, run_id: str, events: list[Event], params: dict[str, str]
) -> None:
    run = None
    if params:
        run = live_run(state.store, run_id)
        check_params(run, params)
    apply(state.store, run_id, events, run)


@endpoint(router, "/runs/log-metric", "POST", access=access.on_run(access.EDIT))
def log_metric(state: ServerState, params: Params) -> dict[str, Any]:
    """Log one metric point (value, timestamp, step)."""
    run_id = run_id_of(params)
    event = _metric_event(run_id, params)
    events = _without_known(
        state.store, run_id, [event], [event] if params.text("model_id") else []
    )
    if events:
        apply(state.store, run_id, events)
    return {}


def _point(event: Event) -> tuple[str, int, int]:
    return (repr(event["value"]), event["timestamp"], event["step"])


def _without_known(
    store: TrackingStore, run_id: str, events: list[Event], linked: list[Event]
) -> list[Event]:
    """``events`` less the ``linked`` ones (sent with a ``model_id``) the run already has.

    MLflow 3's ``log_model`` sends the run's metrics again, with the new model's id, to link
    them to it; MLflow's store ignores a point it already holds, flowtrack's would store it
    twice. Only those are checked, because it costs a read of the metric's history."""
    if not linked:
        return events
    known: set[tuple[str, str, int, int]] = set()
    for key in {e["key"] for e in linked}:
        for m in store.get_metric_history(run_id, key):
            known.add((key, *_point({"value": m.value, "timestamp": m.timestamp, "step": m.step})))
    skip = {id(e) for e in linked if (e["key"], *_point(e)) in known}
    return [e for e in events if id(e) not in skip]


@endpoint(router, "/runs/log-parameter", "POST", access=access.on_run(access.EDIT))
def log_param(state: ServerState, params: Params) -> dict[str, Any]:
    """Log a param; a second, different value is refused."""
    run_id = run_id_of(params)
    events, values = _param_events(run_id, [(params.req_text("key"), params.text("value") or "")])
    _write_with_params(state, run_id, events, values)
    return {}


@endpoint(router, "/runs/set-tag", "POST", access=access.on_run(access.EDIT))
def set_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a tag on a run."""
    run_id = run_id_of(params)
    pairs = [(params.req_text("key"), params.text("value") or "")]
    apply(state.store, run_id, _tag_events(run_id, pairs))
    return {}


@endpoint(router, "/runs/delete-tag", "POST", access=access.on_run(access.EDIT))
def delete_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a tag of a run."""
    run_id = run_id_of(params)
    key = params.req_text("key")
    run = live_run(state.store, run_id)
    if key not in run.data.tags:
        raise not_found(f"No tag with name: {key} in run with id {run_id}")
    apply(state.store, run_id, [{"op": "delete_tag", "run_id": run_id, "key": key}], run)
    return {}


@endpoint(router, "/runs/log-batch", "POST", access=access.on_run(access.EDIT))
def log_batch(state: ServerState, params: Params) -> dict[str, Any]:
    """Log metrics, params and tags of one run in one transaction: all or nothing."""
    run_id = run_id_of(params)
    metrics, raw_params, tags = (
        params.objects("metrics"),
        params.objects("params"),
        params.objects("tags"),
    )
    if (
        len(metrics) > MAX_METRICS
        or len(raw_params) > MAX_PARAMS
        or len(tags) > MAX_TAGS
        or len(metrics) + len(raw_params) + len(tags) > MAX_ENTITIES
    ):
        raise invalid(
            f"A batch logging request can contain at most {MAX_METRICS} metrics, "
            f"{MAX_PARAMS} params and {MAX_TAGS} tags, {MAX_ENTITIES} in all; got "
            f"{len(metrics)}, {len(raw_params)} and {len(tags)}: split it into several requests"
        )
    param_events, values = _param_events(run_id, _pairs(raw_params, "params"))
    metric_events = [_metric_event(run_id, m) for m in metrics]
    linked = [e for e, m in zip(metric_events, metrics, strict=True) if m.get("model_id")]
    events = [
        *param_events,
        *_tag_events(run_id, _pairs(tags, "tags")),
        *_without_known(state.store, run_id, metric_events, linked),
    ]
    if events:
        _write_with_params(state, run_id, events, values)
    else:
        live_run(state.store, run_id)  # an empty batch still needs a live run, as in MLflow
    return {}
