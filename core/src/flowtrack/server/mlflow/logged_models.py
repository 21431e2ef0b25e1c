"""``/api/2.0/mlflow/logged-models/...``: MLflow 3's LoggedModels, enough for ``log_model``,
loading ``models:/<model_id>`` and ``runs:/<run_id>/<name>``, and registering them (records
and file layout: logged_store.py). Not kept: metrics linked to a model, and model inputs."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from flowtrack.errors import NotFoundError
from flowtrack.registry.filters import parse_filter
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.convert import from_mlflow_uri, tags_json, to_mlflow_uri
from flowtrack.server.mlflow.errors import MlflowRoute, invalid, not_found
from flowtrack.server.mlflow.experiments import get_experiment
from flowtrack.server.mlflow.logged_store import (
    STATUSES,
    LoggedModel,
    check_model_id,
    logged_models,
    new_model_id,
)
from flowtrack.server.mlflow.matching import matches, sort_items
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.mlflow.writes import get_run
from flowtrack.server.state import ServerState
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.tracking.stores import get_artifact_store
from flowtrack.validation import validate_artifact_path, validate_key, validate_tag_value

router = APIRouter(route_class=MlflowRoute)

_FILTER_ATTRIBUTES = {
    "name": "name",
    "model_id": "model_id",
    "source_run_id": "source_run_id",
    "status": "status",
    "model_type": "model_type",
    "experiment_id": "experiment_id",
}
_ORDER_FIELDS = {"name", "model_id", "creation_timestamp", "last_updated_timestamp"}


def _now() -> int:
    return int(time.time() * 1000)


def model_json(model: LoggedModel, destination: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp_ms,
        "last_updated_timestamp_ms": model.last_updated_timestamp_ms,
        "artifact_uri": to_mlflow_uri(model.artifact_location, destination),
        "status": model.status,
        "model_type": model.model_type,
        "tags": tags_json(model.tags),
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    return {"info": info, "data": {"params": tags_json(model.params), "metrics": []}}


def get_logged_model(
    state: ServerState, model_id: str, params: Params, needed: Permission = access.READ
) -> LoggedModel:
    """The model, after checking that the caller has ``needed`` on its experiment."""
    try:
        model = logged_models(state.artifacts_destination).get(model_id)
    except NotFoundError:
        raise not_found(f"Logged model with ID '{model_id}' not found") from None
    access.check(params, needed, experiment_ids=[model.experiment_id])
    return model


def _location(
    state: ServerState, experiment_location: str, name: str, run_id: str, model_id: str
) -> str:
    """Inside the run's artifacts at ``<name>`` (MLflow 2's layout), unless that path holds
    files already (another model of the same name, the run's own artifacts); without a run,
    MLflow 3's ``<experiment>/models/<id>/artifacts``."""
    if not run_id:
        return f"{experiment_location.rstrip('/')}/models/{model_id}/artifacts"
    root = get_run(state.store, run_id).info.artifact_uri.rstrip("/")
    taken = bool(get_artifact_store(root).list(name))
    return f"{root}/models/{model_id}" if taken else f"{root}/{name}"


def _tags(params: Params) -> dict[str, str]:
    tags = params.key_values("tags")
    for key, value in tags.items():
        validate_key("tag key", key)
        validate_tag_value(key, value)
    return tags


@endpoint(router, "/logged-models", "POST", access=access.on_experiment(access.EDIT))
def create(state: ServerState, params: Params) -> dict[str, Any]:
    """Create a LoggedModel (PENDING) and say where to upload its files."""
    experiment = get_experiment(state.store, params.req_text("experiment_id"))
    name = validate_artifact_path(params.text("name") or "model", "name")
    if not name:
        raise invalid("Invalid name: a logged model needs a name such as 'model'")
    run_id = params.text("source_run_id") or ""
    model_id = new_model_id()
    location = _location(state, experiment.artifact_location, name, run_id, model_id)
    now = _now()
    model = LoggedModel(
        model_id=model_id,
        experiment_id=experiment.experiment_id,
        name=name,
        artifact_location=location,
        creation_timestamp_ms=now,
        last_updated_timestamp_ms=now,
        model_type=params.text("model_type") or "",
        source_run_id=run_id,
        tags=_tags(params),
        params=params.key_values("params"),
    )
    logged_models(state.artifacts_destination).save(model)
    return {"model": model_json(model, state.artifacts_destination)}


@endpoint(router, "/logged-models/{model_id}", "GET", access=access.LOGGED_IN)
def get(state: ServerState, params: Params) -> dict[str, Any]:
    """Get a LoggedModel."""
    model = get_logged_model(state, params.req_text("model_id"), params)
    return {"model": model_json(model, state.artifacts_destination)}


def _update(state: ServerState, params: Params, change: dict[str, Any]) -> LoggedModel:
    store = logged_models(state.artifacts_destination)
    with store.lock:
        model = get_logged_model(state, params.req_text("model_id"), params, access.EDIT)
        for key, value in change.items():
            current = getattr(model, key)
            if isinstance(current, dict):
                current.update(value)
            else:
                setattr(model, key, value)
        model.last_updated_timestamp_ms = _now()
        store.save(model)
    return model


@endpoint(router, "/logged-models/{model_id}", "PATCH", access=access.LOGGED_IN)
def finalize(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a LoggedModel's status (READY once its files are uploaded)."""
    status = params.req_text("status")
    if status not in STATUSES:
        raise invalid(f"Invalid status {status!r}: use one of {', '.join(STATUSES)}")
    model = _update(state, params, {"status": status})
    return {"model": model_json(model, state.artifacts_destination)}


@endpoint(router, "/logged-models/{model_id}", "DELETE", access=access.LOGGED_IN)
def delete(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a LoggedModel's record (its files stay with the run, as MLflow's do)."""
    model_id = check_model_id(params.req_text("model_id"))
    get_logged_model(state, model_id, params, access.MANAGE)
    try:
        logged_models(state.artifacts_destination).delete(model_id)
    except NotFoundError:
        raise not_found(f"Logged model with ID '{model_id}' not found") from None
    return {}


@endpoint(router, "/logged-models/{model_id}/tags", "PATCH", access=access.LOGGED_IN)
def set_tags(state: ServerState, params: Params) -> dict[str, Any]:
    """Set tags on a LoggedModel."""
    _update(state, params, {"tags": _tags(params)})
    return {}


@endpoint(router, "/logged-models/{model_id}/tags/{tag_key}", "DELETE", access=access.LOGGED_IN)
def delete_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a tag of a LoggedModel."""
    model_id, key = params.req_text("model_id"), params.req_text("tag_key")
    store = logged_models(state.artifacts_destination)
    with store.lock:
        model = get_logged_model(state, model_id, params, access.EDIT)
        if model.tags.pop(key, None) is None:
            raise not_found(f"No tag with key {key!r} on logged model {model_id}")
        model.last_updated_timestamp_ms = _now()
        store.save(model)
    return {}


@endpoint(router, "/logged-models/{model_id}/params", "POST", access=access.LOGGED_IN)
def log_params(state: ServerState, params: Params) -> dict[str, Any]:
    """Log params of a LoggedModel."""
    _update(state, params, {"params": params.key_values("params")})
    return {}


def _order(params: Params) -> list[tuple[str, bool]]:
    order = []
    for item in params.objects("order_by"):
        field = item.get("field_name")
        if field not in _ORDER_FIELDS:
            raise invalid(
                f"Invalid order_by field {field!r}: use one of {', '.join(sorted(_ORDER_FIELDS))}"
            )
        order.append((str(field), item.get("ascending", True) is not False))
    return order or [("creation_timestamp", False)]


@endpoint(router, "/logged-models/search", "POST", access=access.LOGGED_IN)
def search(state: ServerState, params: Params) -> dict[str, Any]:
    """Search LoggedModels of some experiments by name, id, source run, status and tags."""
    experiment_ids = set(params.strings("experiment_ids"))
    # Without experiment ids MLflow searches every experiment: the caller's readable ones.
    every = {m.experiment_id for m in logged_models(state.artifacts_destination).all()}
    experiment_ids = set(access.readable_experiments(params, sorted(experiment_ids or every)))
    clauses = parse_filter(params.text("filter"), _FILTER_ATTRIBUTES)
    found = [
        m
        for m in logged_models(state.artifacts_destination).all()
        if m.experiment_id in experiment_ids and matches(clauses, _attributes(m), m.tags)
    ]
    sort_items(found, [(_getter(f), asc) for f, asc in _order(params)])
    size = params.integer("max_results") or 100
    offset = decode_token(params.text("page_token"))
    out: dict[str, Any] = {
        "models": [
            model_json(m, state.artifacts_destination) for m in found[offset : offset + size]
        ]
    }
    if offset + size < len(found):
        out["next_page_token"] = encode_token(offset + size)
    return out


def _attributes(model: LoggedModel) -> dict[str, Any]:
    return {k: getattr(model, k) for k in _FILTER_ATTRIBUTES}


def _getter(field: str) -> Any:
    attribute = {
        "creation_timestamp": "creation_timestamp_ms",
        "last_updated_timestamp": "last_updated_timestamp_ms",
    }.get(field, field)
    return lambda m: getattr(m, attribute)


def model_source(state: ServerState, model_id: str, params: Params) -> tuple[str, str]:
    """A LoggedModel as a version source flowtrack's registry accepts: ``(runs:/<run>/<path>,
    run_id)`` when its files are inside its run's artifacts."""
    model = get_logged_model(state, check_model_id(model_id), params)
    if not model.source_run_id:
        raise invalid(
            f"Logged model {model_id} was logged outside a run; flowtrack registers only "
            "models whose files are a run's artifacts: log it inside mlflow.start_run()"
        )
    root = get_run(state.store, model.source_run_id).info.artifact_uri.rstrip("/")
    location = from_mlflow_uri(model.artifact_location, state.artifacts_destination)
    if not location.startswith(root + "/"):
        raise invalid(
            f"Logged model {model_id} is stored at {model.artifact_location}, outside the "
            f"artifacts of its run {model.source_run_id}; it cannot be registered"
        )
    return f"runs:/{model.source_run_id}/{location[len(root) + 1 :]}", model.source_run_id
