"""Model versions: register, read, search, describe, delete, stages, tags, lineage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.registry.sources import run_id_of
from flowtrack.server.api.access import (
    EDIT,
    MANAGE,
    READ,
    check,
    logged_in,
    needs,
    readable_model_names,
)
from flowtrack.server.api.deps import State, User
from flowtrack.server.api.guards import VersionNumber
from flowtrack.server.api.guards import page_token as check_token
from flowtrack.server.api.registry import version_json, versions_json
from flowtrack.server.proxies import runs_of, version_proxy
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import Description, KeyValue, StageTransition, VersionCreate
from flowtrack.store.rest.codec import dataset_to_dict, stage_change_to_dict

router = APIRouter(tags=["registry"])
_NAME = {"model_name": "name"}

_V = "/registered-models/{name}/versions/{version}"


@router.post(
    "/registered-models/{name}/versions",
    summary="Register the next version of a model from a run's artifact",
    description="With authentication on: EDIT on the model and READ on the source run.",
    dependencies=needs(EDIT, **_NAME),
)
async def create_model_version(
    name: str, body: VersionCreate, request: Request, state: State, user: User
) -> JSON:
    run_id = body.run_id or run_id_of(body.source)
    if run_id is not None:
        # Registering a run's files makes them readable through the model: the caller must
        # be able to read the run.
        await check(request, READ, run_ids=[run_id])
    version = await run_in_threadpool(
        lambda: state.store.create_model_version(
            name, body.source, body.run_id, body.tags, body.description, user=user
        )
    )
    return JSON(version_json(state, version))


@router.get("/model-versions", summary="Search model versions (a page)", dependencies=logged_in())
async def search_model_versions(
    request: Request,
    state: State,
    filter: str | None = Query(None, description="e.g. name = 'churn' AND version_number > 3"),
    max_results: int = Query(10_000, ge=1, le=200_000),
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> JSON:
    page = await run_in_threadpool(
        state.store.search_model_versions, filter, max_results, order_by, check_token(page_token)
    )
    # With --auth, versions of models the caller may not read are left out of the page.
    readable = set(await readable_model_names(request, sorted({v.name for v in page.items})))
    versions = [v for v in page.items if v.name in readable]
    return JSON({"model_versions": versions_json(state, versions), "next_page_token": page.token})


@router.get(_V, summary="A model version", dependencies=needs(READ, **_NAME))
def get_model_version(name: str, version: VersionNumber, state: State) -> JSON:
    return JSON(version_json(state, state.store.get_model_version(name, version)))


@router.patch(_V, summary="Set a version's description", dependencies=needs(EDIT, **_NAME))
def update_model_version(
    name: str, version: VersionNumber, body: Description, state: State, user: User
) -> JSON:
    found = state.store.update_model_version(name, version, body.description, user=user)
    return JSON(version_json(state, found))


@router.delete(
    _V,
    summary="Delete a version and the aliases pointing at it",
    dependencies=needs(MANAGE, **_NAME),
)
def delete_model_version(name: str, version: VersionNumber, state: State, user: User) -> JSON:
    state.store.delete_model_version(name, version, user=user)
    return JSON({})


@router.post(
    f"{_V}/stage",
    summary="Move a version to a stage (optionally archiving the versions already there)",
    dependencies=needs(EDIT, **_NAME),
)
def transition_stage(
    name: str, version: VersionNumber, body: StageTransition, state: State, user: User
) -> JSON:
    changes = state.store.transition_model_version_stage(
        name, version, body.stage, body.archive_existing_versions, user=user
    )
    runs = runs_of(state, [c.version for c in changes])
    return JSON(
        {
            "changes": [
                stage_change_to_dict(c, version_proxy(state, c.version, runs)) for c in changes
            ]
        }
    )


@router.post(f"{_V}/tags", summary="Set a tag of a version", dependencies=needs(EDIT, **_NAME))
def set_model_version_tag(
    name: str, version: VersionNumber, body: KeyValue, state: State, user: User
) -> JSON:
    state.store.set_model_version_tag(name, version, body.key, body.value, user=user)
    return JSON({})


@router.delete(f"{_V}/tags", summary="Delete a tag of a version", dependencies=needs(EDIT, **_NAME))
def delete_model_version_tag(
    name: str, version: VersionNumber, state: State, user: User, key: str = Query(max_length=250)
) -> JSON:
    state.store.delete_model_version_tag(name, version, key, user=user)
    return JSON({})


@router.get(
    f"{_V}/datasets",
    summary="The dataset versions the source run had read at registration",
    dependencies=needs(READ, **_NAME),
)
def get_model_version_datasets(name: str, version: VersionNumber, state: State) -> JSON:
    datasets = state.store.get_model_version_datasets(name, version)
    return JSON({"versions": [dataset_to_dict(v) for v in datasets]})
