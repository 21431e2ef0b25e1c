"""``/api/2.0/mlflow/experiments/...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from flowtrack.entities import Experiment, ViewType
from flowtrack.errors import NotFoundError
from flowtrack.registry.filters import parse_filter, parse_order_by
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.convert import experiment_json, inside_destination
from flowtrack.server.mlflow.errors import (
    RESOURCE_ALREADY_EXISTS,
    MlflowApiError,
    MlflowRoute,
    invalid,
    not_found,
)
from flowtrack.server.mlflow.matching import matches, sort_items
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.state import ServerState
from flowtrack.store.base import TrackingStore
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.validation import validate_key, validate_tag_value

router = APIRouter(route_class=MlflowRoute)

DEFAULT_ID, DEFAULT_NAME = "0", "Default"
_VIEW_TYPES = {
    "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "DELETED_ONLY": ViewType.DELETED_ONLY,
    "ALL": ViewType.ALL,
    # protobuf's JSON mapping may send an enum as its number
    "1": ViewType.ACTIVE_ONLY,
    "2": ViewType.DELETED_ONLY,
    "3": ViewType.ALL,
}
_ORDER_COLUMNS = {
    "name": "name",
    "experiment_id": "experiment_id",
    "creation_time": "creation_time",
    "last_update_time": "last_update_time",
}


def view_type(params: Params, name: str) -> ViewType:
    value = params.text(name)
    if value is None:
        return ViewType.ACTIVE_ONLY
    found = _VIEW_TYPES.get(value.upper())
    if found is None:
        raise invalid(f"Invalid {name} {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
    return found


def get_experiment(store: TrackingStore, experiment_id: str) -> Experiment:
    """The experiment, creating MLflow's Default (id 0) on first use: the MLflow client logs
    to experiment "0" when none is set, and MLflow's stores always have it."""
    try:
        return store.get_experiment(experiment_id)
    except NotFoundError:
        if experiment_id.strip() == DEFAULT_ID:
            default = store.get_or_create_experiment(DEFAULT_NAME)
            if default.experiment_id == DEFAULT_ID:
                return default
        raise not_found(
            f"No experiment with id={experiment_id} exists; list them with "
            "mlflow.search_experiments() or `flowtrack experiments list`"
        ) from None


def experiment_id_of(params: Params) -> str:
    return params.req_text("experiment_id")


@endpoint(router, "/experiments/create", "POST", access=access.LOGGED_IN)
def create_experiment(state: ServerState, params: Params) -> dict[str, Any]:
    """Create an experiment."""
    name = params.req_text("name")
    location = params.text("artifact_location") or None
    if location is not None:
        location = inside_destination(location, state.artifacts_destination)
    tags = params.key_values("tags")
    for key, value in tags.items():
        validate_key("tag key", key)
        validate_tag_value(key, value)
    experiment_id = state.store.create_experiment(name, location, tags or None)
    access.grant_creator(params, experiment_id=experiment_id)
    return {"experiment_id": experiment_id}


@endpoint(router, "/experiments/get", "GET", access=access.on_experiment(access.READ))
def get(state: ServerState, params: Params) -> dict[str, Any]:
    """Get an experiment by id."""
    experiment = get_experiment(state.store, experiment_id_of(params))
    return {"experiment": experiment_json(experiment, state.artifacts_destination)}


@endpoint(router, "/experiments/get-by-name", "GET", access=access.on_experiment_name(access.READ))
def get_by_name(state: ServerState, params: Params) -> dict[str, Any]:
    """Get an experiment by name."""
    name = params.req_text("experiment_name")
    found = state.store.get_experiment_by_name(name)
    if found is None and name == DEFAULT_NAME:
        found = state.store.get_or_create_experiment(DEFAULT_NAME)
    if found is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_json(found, state.artifacts_destination)}


def _all_experiments(store: TrackingStore, view: ViewType) -> list[Experiment]:
    out: list[Experiment] = []
    token: str | None = None
    while True:
        page = store.search_experiments(view, 1000, token)
        out.extend(page.items)
        token = page.token
        if not token:
            return out


def _getter(column: str) -> Callable[[Experiment], Any]:
    if column == "experiment_id":
        return lambda e: int(e.experiment_id)
    return lambda e: getattr(e, column)


@endpoint(router, "/experiments/search", "POST", "GET", access=access.LOGGED_IN)
def search(state: ServerState, params: Params) -> dict[str, Any]:
    """Search experiments: ``name`` and ``tags.<key>`` filters, MLflow's order_by columns.

    Experiments are few, so the filter and order are applied here rather than in SQL."""
    max_results = params.integer("max_results") or 1000
    if not 1 <= max_results <= 50000:
        raise invalid(f"Invalid max_results {max_results}: must be between 1 and 50000")
    clauses = parse_filter(params.text("filter"), {"name": "name"})
    order = parse_order_by(
        params.strings("order_by") or ["creation_time DESC", "experiment_id ASC"], _ORDER_COLUMNS
    )
    if not any(column == "experiment_id" for column, _ in order):
        order.append(("experiment_id", True))
    found = [
        e
        for e in _all_experiments(state.store, view_type(params, "view_type"))
        if matches(clauses, {"name": e.name}, e.tags)
    ]
    readable = set(access.readable_experiments(params, [e.experiment_id for e in found]))
    found = [e for e in found if e.experiment_id in readable]
    sort_items(found, [(_getter(column), ascending) for column, ascending in order])
    offset = decode_token(params.text("page_token"))
    page = found[offset : offset + max_results]
    out: dict[str, Any] = {
        "experiments": [experiment_json(e, state.artifacts_destination) for e in page]
    }
    if offset + max_results < len(found):
        out["next_page_token"] = encode_token(offset + max_results)
    return out


@endpoint(router, "/experiments/delete", "POST", access=access.on_experiment(access.MANAGE))
def delete(state: ServerState, params: Params) -> dict[str, Any]:
    """Mark an experiment deleted (restorable)."""
    state.store.delete_experiment(
        get_experiment(state.store, experiment_id_of(params)).experiment_id
    )
    return {}


@endpoint(router, "/experiments/restore", "POST", access=access.on_experiment(access.MANAGE))
def restore(state: ServerState, params: Params) -> dict[str, Any]:
    """Restore a deleted experiment."""
    state.store.restore_experiment(
        get_experiment(state.store, experiment_id_of(params)).experiment_id
    )
    return {}


@endpoint(router, "/experiments/update", "POST", access=access.on_experiment(access.EDIT))
def update(state: ServerState, params: Params) -> dict[str, Any]:
    """Rename an experiment."""
    experiment = get_experiment(state.store, experiment_id_of(params))
    new_name = params.text("new_name")
    if new_name:
        taken = state.store.get_experiment_by_name(new_name)
        if taken is not None and taken.experiment_id != experiment.experiment_id:
            raise MlflowApiError(
                RESOURCE_ALREADY_EXISTS,
                f"Experiment(name={new_name}) already exists; choose another name",
            )
        state.store.rename_experiment(experiment.experiment_id, new_name)
    return {}


@endpoint(
    router, "/experiments/set-experiment-tag", "POST", access=access.on_experiment(access.EDIT)
)
def set_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a tag on an experiment."""
    experiment = get_experiment(state.store, experiment_id_of(params))
    key = validate_key("tag key", params.req_text("key"))
    value = validate_tag_value(key, params.text("value") or "")
    state.store.set_experiment_tag(experiment.experiment_id, key, value)
    return {}
