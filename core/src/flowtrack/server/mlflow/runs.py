"""``/api/2.0/mlflow/runs/{create,get,update,delete,restore,search}`` and the metric history."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter

from flowtrack.entities import LifecycleStage, RunStatus
from flowtrack.errors import NotFoundError
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.convert import (
    PARENT_TAG,
    RUN_NAME_TAG,
    metric_json,
    run_info_json,
    run_json,
)
from flowtrack.server.mlflow.errors import MlflowRoute, invalid, not_found
from flowtrack.server.mlflow.experiments import get_experiment, view_type
from flowtrack.server.mlflow.inputs import dataset_inputs
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.mlflow.writes import apply, get_run, run_id_of
from flowtrack.server.state import ServerState
from flowtrack.store.events import Event
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.validation import validate_key, validate_run_name, validate_tag_value

router = APIRouter(route_class=MlflowRoute)

_STATUSES = {s.value for s in RunStatus}
# MLflow's ceiling for one get-history page (and the page size its client asks for).
_HISTORY_PAGE = 25000


def now_ms() -> int:
    return int(time.time() * 1000)


def _status(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in _STATUSES:
        raise invalid(f"Invalid status {value!r}: use one of {', '.join(sorted(_STATUSES))}")
    return value.upper()


@endpoint(router, "/runs/create", "POST", access=access.on_experiment(access.EDIT))
def create(state: ServerState, params: Params) -> dict[str, Any]:
    """Create a run (RUNNING); ``tags["mlflow.parentRunId"]`` makes it a child run."""
    from flowtrack.tracking.names import run_name as random_name

    experiment_id = params.text("experiment_id") or "0"
    experiment = get_experiment(state.store, experiment_id)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise invalid(
            f"The experiment {experiment_id} must be in the 'active' state to create runs in "
            "it; restore it first"
        )
    tags = params.key_values("tags")
    for key, value in tags.items():
        validate_key("tag key", key)
        validate_tag_value(key, value)
    name = params.text("run_name") or tags.get(RUN_NAME_TAG) or random_name()
    validate_run_name(name)
    # MLflow keeps the run name in a tag as well; its UI and client read either.
    tags[RUN_NAME_TAG] = name
    run_id = uuid.uuid4().hex
    event: Event = {
        "op": "create_run",
        "run_id": run_id,
        "experiment_id": experiment.experiment_id,
        "run_name": name,
        "parent_run_id": tags.get(PARENT_TAG) or None,
        "start_time": params.integer("start_time") or now_ms(),
        "user_id": access.user(params, params.text("user_id") or ""),
        "tags": tags,
    }
    apply(state.store, run_id, [event])
    return {"run": run_json(get_run(state.store, run_id), state.artifacts_destination)}


@endpoint(router, "/runs/get", "GET", access=access.on_run(access.READ))
def get(state: ServerState, params: Params) -> dict[str, Any]:
    """Get a run with its params, latest metrics, tags and dataset inputs."""
    run_id = run_id_of(params)
    run = get_run(state.store, run_id)
    inputs = dataset_inputs(state.store, run_id)
    return {"run": run_json(run, state.artifacts_destination, inputs)}


@endpoint(router, "/runs/update", "POST", access=access.on_run(access.EDIT))
def update(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a run's status, end time or name."""
    run_id = run_id_of(params)
    run = get_run(state.store, run_id)
    event: Event = {"op": "update_run", "run_id": run_id}
    events = [event]
    status = _status(params.text("status"))
    if status is not None:
        event["status"] = status
        end_time = params.integer("end_time")
        if end_time is None and RunStatus(status).is_terminal:
            end_time = now_ms()
        if end_time is not None:
            event["end_time"] = end_time
    name = params.text("run_name")
    if name:
        event["run_name"] = validate_run_name(name)
        events.append({"op": "tag", "run_id": run_id, "key": RUN_NAME_TAG, "value": name})
    apply(state.store, run_id, events, run)
    info = get_run(state.store, run_id).info
    return {"run_info": run_info_json(info, state.artifacts_destination)}


@endpoint(router, "/runs/delete", "POST", access=access.on_run(access.MANAGE))
def delete(state: ServerState, params: Params) -> dict[str, Any]:
    """Mark a run deleted (restorable)."""
    run_id = run_id_of(params)
    try:
        state.store.delete_run(run_id)
    except NotFoundError:
        raise not_found(f"Run with id={run_id} not found") from None
    return {}


@endpoint(router, "/runs/restore", "POST", access=access.on_run(access.MANAGE))
def restore(state: ServerState, params: Params) -> dict[str, Any]:
    """Restore a deleted run."""
    run_id = run_id_of(params)
    try:
        state.store.restore_run(run_id)
    except NotFoundError:
        raise not_found(f"Run with id={run_id} not found") from None
    return {}


@endpoint(router, "/runs/search", "POST", access=access.LOGGED_IN)
def search(state: ServerState, params: Params) -> dict[str, Any]:
    """Search runs. The filter and order_by grammar is MLflow's and goes to the store as is;
    page tokens are the store's."""
    experiment_ids = params.strings("experiment_ids")
    if not experiment_ids:
        raise invalid("Missing value for required parameter 'experiment_ids'")
    # Experiments the caller may not read are left out, as MLflow's auth plugin does.
    experiment_ids = access.readable_experiments(params, experiment_ids)
    if not experiment_ids:
        return {"runs": []}
    max_results = params.integer("max_results") or 1000
    page = state.store.search_runs(
        experiment_ids,
        params.text("filter") or None,
        params.strings("order_by") or None,
        view_type(params, "run_view_type"),
        max_results,
        params.text("page_token") or None,
    )
    out: dict[str, Any] = {
        "runs": [run_json(run, state.artifacts_destination) for run in page.items]
    }
    if page.token:
        out["next_page_token"] = page.token
    return out


@endpoint(router, "/metrics/get-history", "GET", access=access.on_run(access.READ))
def get_history(state: ServerState, params: Params) -> dict[str, Any]:
    """Every point of one metric of a run, oldest step first, in pages of ``max_results``."""
    run_id = run_id_of(params)
    key = params.req_text("metric_key")
    get_run(state.store, run_id)
    points = state.store.get_metric_history(run_id, key)
    size = params.integer("max_results") or _HISTORY_PAGE
    if not 1 <= size <= _HISTORY_PAGE:
        raise invalid(f"Invalid max_results {size}: must be between 1 and {_HISTORY_PAGE}")
    offset = decode_token(params.text("page_token"))
    out: dict[str, Any] = {"metrics": [metric_json(m) for m in points[offset : offset + size]]}
    if offset + size < len(points):
        out["next_page_token"] = encode_token(offset + size)
    return out
