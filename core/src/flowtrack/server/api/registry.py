"""The model registry: registered models, their tags, aliases and history.

Every change is recorded under the acting user (see deps.acting_user). Versions are in
versions.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.errors import InvalidInputError
from flowtrack.registry.entities import ModelVersion, RegisteredModel
from flowtrack.registry.validation import validate_version
from flowtrack.server.api.access import (
    EDIT,
    MANAGE,
    READ,
    grant_creator,
    logged_in,
    needs,
    readable_model_names,
)
from flowtrack.server.api.deps import State, User
from flowtrack.server.api.guards import MAX_ID
from flowtrack.server.api.guards import page_token as check_token
from flowtrack.server.proxies import runs_of, version_proxy
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import AliasTarget, Description, KeyValue, ModelCreate, ModelRename
from flowtrack.server.state import ServerState
from flowtrack.store.rest.codec import model_to_dict, registry_event_to_dict, version_to_dict

router = APIRouter(tags=["registry"])
_NAME = {"model_name": "name"}


def model_json(state: ServerState, model: RegisteredModel) -> dict[str, Any]:
    runs = runs_of(state, model.latest_versions)
    proxies = {v.version: version_proxy(state, v, runs) for v in model.latest_versions}
    return model_to_dict(model, proxies)


def versions_json(state: ServerState, versions: list[ModelVersion]) -> list[dict[str, Any]]:
    runs = runs_of(state, versions)
    return [version_to_dict(v, version_proxy(state, v, runs)) for v in versions]


def version_json(state: ServerState, version: ModelVersion) -> dict[str, Any]:
    return versions_json(state, [version])[0]


@router.post("/registered-models", summary="Create a registered model", dependencies=logged_in())
async def create_registered_model(
    body: ModelCreate, request: Request, state: State, user: User
) -> JSON:
    model = await run_in_threadpool(
        lambda: state.store.create_registered_model(
            body.name, body.tags, body.description, user=user
        )
    )
    await grant_creator(request, model_name=model.name)
    return JSON(model_json(state, model))


@router.get(
    "/registered-models", summary="Search registered models (a page)", dependencies=logged_in()
)
async def search_registered_models(
    request: Request,
    state: State,
    filter: str | None = Query(None, description="e.g. name LIKE 'churn%' AND tags.team = 'x'"),
    max_results: int = Query(100, ge=1, le=1000),
    order_by: Annotated[
        list[str] | None, Query(description="e.g. last_updated_timestamp DESC")
    ] = None,
    page_token: str | None = None,
) -> JSON:
    page = await run_in_threadpool(
        state.store.search_registered_models,
        filter,
        max_results,
        order_by,
        check_token(page_token),
    )
    # With --auth, the models the caller may not read are left out of the page.
    readable = set(await readable_model_names(request, [m.name for m in page.items]))
    models = [m for m in page.items if m.name in readable]
    return JSON(
        {
            "registered_models": [model_json(state, m) for m in models],
            "next_page_token": page.token,
        }
    )


@router.get(
    "/registered-models/{name}", summary="A registered model", dependencies=needs(READ, **_NAME)
)
def get_registered_model(name: str, state: State) -> JSON:
    return JSON(model_json(state, state.store.get_registered_model(name)))


@router.patch(
    "/registered-models/{name}",
    summary="Set a registered model's description",
    dependencies=needs(EDIT, **_NAME),
)
def update_registered_model(name: str, body: Description, state: State, user: User) -> JSON:
    model = state.store.update_registered_model(name, body.description, user=user)
    return JSON(model_json(state, model))


@router.post(
    "/registered-models/{name}/rename",
    summary="Rename a registered model",
    dependencies=needs(EDIT, **_NAME),
)
def rename_registered_model(name: str, body: ModelRename, state: State, user: User) -> JSON:
    model = state.store.rename_registered_model(name, body.new_name, user=user)
    return JSON(model_json(state, model))


@router.delete(
    "/registered-models/{name}",
    summary="Delete a registered model with its versions, tags and aliases (history is kept)",
    dependencies=needs(MANAGE, **_NAME),
)
def delete_registered_model(name: str, state: State, user: User) -> JSON:
    state.store.delete_registered_model(name, user=user)
    return JSON({})


@router.post(
    "/registered-models/{name}/tags",
    summary="Set a tag of a registered model",
    dependencies=needs(EDIT, **_NAME),
)
def set_registered_model_tag(name: str, body: KeyValue, state: State, user: User) -> JSON:
    state.store.set_registered_model_tag(name, body.key, body.value, user=user)
    return JSON({})


@router.delete(
    "/registered-models/{name}/tags",
    summary="Delete a tag of a registered model",
    dependencies=needs(EDIT, **_NAME),
)
def delete_registered_model_tag(
    name: str, state: State, user: User, key: str = Query(max_length=250)
) -> JSON:
    state.store.delete_registered_model_tag(name, key, user=user)
    return JSON({})


@router.get(
    "/registered-models/{name}/latest-versions",
    summary="The highest version in each stage (of the stages given; all if none)",
    dependencies=needs(READ, **_NAME),
)
def get_latest_versions(
    name: str, state: State, stage: Annotated[list[str] | None, Query()] = None
) -> JSON:
    versions = state.store.get_latest_versions(name, stage or None)
    return JSON({"model_versions": versions_json(state, versions)})


@router.put(
    "/registered-models/{name}/aliases/{alias}",
    summary="Point an alias at a version",
    dependencies=needs(EDIT, **_NAME),
)
def set_alias(name: str, alias: str, body: AliasTarget, state: State, user: User) -> JSON:
    number = validate_version(body.version)
    if number > MAX_ID:
        raise InvalidInputError("version", body.version, "no model has that many versions")
    state.store.set_registered_model_alias(name, alias, number, user=user)
    return JSON({})


@router.delete(
    "/registered-models/{name}/aliases/{alias}",
    summary="Delete an alias",
    dependencies=needs(EDIT, **_NAME),
)
def delete_alias(name: str, alias: str, state: State, user: User) -> JSON:
    state.store.delete_registered_model_alias(name, alias, user=user)
    return JSON({})


@router.get(
    "/registered-models/{name}/aliases/{alias}",
    summary="The version an alias names",
    dependencies=needs(READ, **_NAME),
)
def get_version_by_alias(name: str, alias: str, state: State) -> JSON:
    return JSON(version_json(state, state.store.get_model_version_by_alias(name, alias)))


@router.get(
    "/registered-models/{name}/history",
    summary="The audit trail of a model (or of one version), oldest first",
    dependencies=needs(READ, **_NAME),
)
def get_registry_history(
    name: str, state: State, version: int | None = Query(None, ge=1, le=MAX_ID)
) -> JSON:
    events = state.store.get_registry_events(name, version)
    return JSON({"events": [registry_event_to_dict(e) for e in events]})
