"""``/api/2.0/mlflow/model-versions/...``.

A version's source must be its run's artifacts (flowtrack's rule, docs/registry.md), so the
sources an MLflow client sends are translated first: ``models:/<model_id>`` (MLflow 3's
``log_model`` + ``registered_model_name``) becomes ``runs:/<run>/<path>`` of the logged
model's files, and ``mlflow-artifacts:/...`` the place in the artifacts destination it names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter

from flowtrack.plugins import facade
from flowtrack.registry.sources import run_id_of
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.convert import (
    SCHEME,
    from_mlflow_uri,
    model_version_json,
    to_mlflow_uri,
)
from flowtrack.server.mlflow.errors import MlflowRoute
from flowtrack.server.mlflow.logged_models import model_source
from flowtrack.server.mlflow.registry import name_of, search_filter, version_of
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.mlflow.writes import get_run
from flowtrack.server.state import ServerState

router = APIRouter(route_class=MlflowRoute)


def _source(state: ServerState, params: Params) -> tuple[str, str | None]:
    source = params.req_text("source")
    run_id = params.text("run_id") or None
    model_id = params.text("model_id")
    parsed = urlparse(source)
    if not model_id and parsed.scheme == "models" and parsed.path.strip("/").startswith("m-"):
        model_id = parsed.path.strip("/")
    if model_id:
        source, model_run = model_source(state, model_id, params)
        return source, run_id or model_run
    if parsed.scheme == SCHEME and run_id:
        # MLflow's register_model("runs:/<run>/model") sends the model's artifact URI: as a
        # runs:/ URI it reads as flowtrack's own registrations do.
        location = from_mlflow_uri(source, state.artifacts_destination)
        root = get_run(state.store, run_id).info.artifact_uri.rstrip("/")
        if location.startswith(root + "/"):
            return f"runs:/{run_id}/{location[len(root) + 1 :]}", run_id
        return location, run_id
    return from_mlflow_uri(source, state.artifacts_destination), run_id


@endpoint(router, "/model-versions/create", "POST", access=access.on_model(access.EDIT))
def create(state: ServerState, params: Params) -> dict[str, Any]:
    """Register the next version of a model from a run's artifacts."""
    source, run_id = _source(state, params)
    owner = run_id or run_id_of(source)
    if owner is not None:
        # Registering a run's files makes them readable through the model: the caller must be
        # able to read the run (READ on its experiment), as flowtrack's own API requires.
        access.check(params, access.READ, run_ids=[owner])
    version = state.store.create_model_version(
        name_of(params),
        source,
        run_id,
        params.key_values("tags") or None,
        params.text("description"),
        user=access.user(params),
    )
    facade.model_version_created(version)
    return {"model_version": model_version_json(version, state.artifacts_destination)}


@endpoint(router, "/model-versions/get", "GET", access=access.on_model(access.READ))
def get(state: ServerState, params: Params) -> dict[str, Any]:
    """Get a model version."""
    version = state.store.get_model_version(name_of(params), version_of(params))
    return {"model_version": model_version_json(version, state.artifacts_destination)}


@endpoint(router, "/model-versions/update", "PATCH", access=access.on_model(access.EDIT))
def update(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a version's description."""
    version = state.store.update_model_version(
        name_of(params), version_of(params), params.text("description"), user=access.user(params)
    )
    return {"model_version": model_version_json(version, state.artifacts_destination)}


@endpoint(router, "/model-versions/delete", "DELETE", access=access.on_model(access.MANAGE))
def delete(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a version (its number is not reused) and the aliases pointing at it."""
    state.store.delete_model_version(name_of(params), version_of(params), user=access.user(params))
    return {}


@endpoint(router, "/model-versions/search", "GET", access=access.LOGGED_IN)
def search(state: ServerState, params: Params) -> dict[str, Any]:
    """Search versions (``name``, ``run_id``, ``source``, ``current_stage``, ``tags.<key>``,
    ``version_number``; MLflow's syntax)."""
    page = state.store.search_model_versions(
        search_filter(params),
        params.integer("max_results") or 10000,
        params.strings("order_by") or None,
        params.text("page_token") or None,
    )
    readable = set(access.readable_models(params, {v.name for v in page.items}))
    out: dict[str, Any] = {
        "model_versions": [
            model_version_json(v, state.artifacts_destination)
            for v in page.items
            if v.name in readable
        ]
    }
    if page.token:
        out["next_page_token"] = page.token
    return out


@endpoint(router, "/model-versions/transition-stage", "POST", access=access.on_model(access.EDIT))
def transition_stage(state: ServerState, params: Params) -> dict[str, Any]:
    """Move a version to None, Staging, Production or Archived."""
    changes = state.store.transition_model_version_stage(
        name_of(params),
        version_of(params),
        params.req_text("stage"),
        params.flag("archive_existing_versions"),
        user=access.user(params),
    )
    for change in changes:
        facade.model_stage_changed(change.version, change.old_stage, change.new_stage)
    return {"model_version": model_version_json(changes[0].version, state.artifacts_destination)}


@endpoint(router, "/model-versions/get-download-uri", "GET", access=access.on_model(access.READ))
def get_download_uri(state: ServerState, params: Params) -> dict[str, Any]:
    """Where the version's files are, as a URI the MLflow client downloads from."""
    version = state.store.get_model_version(name_of(params), version_of(params))
    location = version.storage_location or version.source
    return {"artifact_uri": to_mlflow_uri(location, state.artifacts_destination)}


@endpoint(router, "/model-versions/set-tag", "POST", access=access.on_model(access.EDIT))
def set_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a tag on a version."""
    state.store.set_model_version_tag(
        name_of(params),
        version_of(params),
        params.req_text("key"),
        params.text("value") or "",
        user=access.user(params),
    )
    return {}


@endpoint(router, "/model-versions/delete-tag", "DELETE", access=access.on_model(access.EDIT))
def delete_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a tag of a version."""
    state.store.delete_model_version_tag(
        name_of(params), version_of(params), params.req_text("key"), user=access.user(params)
    )
    return {}
