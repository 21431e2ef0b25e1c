"""``/api/2.0/mlflow/registered-models/...``: registered models, their tags and aliases.

The store checks names, aliases and stages and writes the audit trail (the user is the one
the auth layer names, if any); the notification hooks run here after each change, as
``flowtrack.Client`` runs them, so plugins hear of changes made by MLflow clients too.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter

from flowtrack.plugins import facade
from flowtrack.registry.validation import validate_version
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.convert import model_version_json, registered_model_json
from flowtrack.server.mlflow.errors import MlflowRoute
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.state import ServerState

router = APIRouter(route_class=MlflowRoute)


# The MLflow client adds this clause to every registry search so that prompts (registered
# models with this tag) stay out of model listings. flowtrack has no prompts, and its stores,
# like SQL, let `!=` match no model that lacks the tag: the clause is dropped.
_CLAUSE = (
    r"tags?\.(?:`mlflow\.prompt\.is_prompt`|\"mlflow\.prompt\.is_prompt\"|mlflow\.prompt\.is_prompt)"
    r"\s*!=\s*'true'"
)
_PROMPT_CLAUSES = [
    re.compile(rf"\s+AND\s+{_CLAUSE}", re.IGNORECASE),
    re.compile(rf"{_CLAUSE}\s+AND\s+", re.IGNORECASE),
    re.compile(rf"^\s*{_CLAUSE}\s*$", re.IGNORECASE),
]


def search_filter(params: Params) -> str | None:
    text = params.text("filter") or ""
    for clause in _PROMPT_CLAUSES:
        text = clause.sub("", text, count=1)
    return text.strip() or None


def name_of(params: Params) -> str:
    return params.req_text("name")


def version_of(params: Params) -> int:
    return validate_version(params.req_text("version"))


@endpoint(router, "/registered-models/create", "POST", access=access.LOGGED_IN)
def create(state: ServerState, params: Params) -> dict[str, Any]:
    """Create a registered model; RESOURCE_ALREADY_EXISTS if the name is taken."""
    model = state.store.create_registered_model(
        name_of(params),
        params.key_values("tags") or None,
        params.text("description"),
        user=access.user(params),
    )
    access.grant_creator(params, model_name=model.name)
    return {"registered_model": registered_model_json(model, state.artifacts_destination)}


@endpoint(router, "/registered-models/get", "GET", access=access.on_model(access.READ))
def get(state: ServerState, params: Params) -> dict[str, Any]:
    """Get a registered model with its latest versions, tags and aliases."""
    return {
        "registered_model": registered_model_json(
            state.store.get_registered_model(name_of(params)), state.artifacts_destination
        )
    }


@endpoint(router, "/registered-models/rename", "POST", access=access.on_model(access.EDIT))
def rename(state: ServerState, params: Params) -> dict[str, Any]:
    """Rename a registered model; versions, aliases, tags and history follow it."""
    model = state.store.rename_registered_model(
        name_of(params), params.req_text("new_name"), user=access.user(params)
    )
    return {"registered_model": registered_model_json(model, state.artifacts_destination)}


@endpoint(router, "/registered-models/update", "PATCH", access=access.on_model(access.EDIT))
def update(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a registered model's description."""
    model = state.store.update_registered_model(
        name_of(params), params.text("description"), user=access.user(params)
    )
    return {"registered_model": registered_model_json(model, state.artifacts_destination)}


@endpoint(router, "/registered-models/delete", "DELETE", access=access.on_model(access.MANAGE))
def delete(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a registered model with its versions (its history is kept)."""
    state.store.delete_registered_model(name_of(params), user=access.user(params))
    return {}


@endpoint(router, "/registered-models/search", "GET", access=access.LOGGED_IN)
def search(state: ServerState, params: Params) -> dict[str, Any]:
    """Search registered models (``name``, ``tags.<key>``; MLflow's syntax)."""
    page = state.store.search_registered_models(
        search_filter(params),
        params.integer("max_results") or 100,
        params.strings("order_by") or None,
        params.text("page_token") or None,
    )
    # Models the caller may not read are left out of the page (so a page may come short).
    readable = set(access.readable_models(params, [m.name for m in page.items]))
    out: dict[str, Any] = {
        "registered_models": [
            registered_model_json(m, state.artifacts_destination)
            for m in page.items
            if m.name in readable
        ]
    }
    if page.token:
        out["next_page_token"] = page.token
    return out


@endpoint(
    router,
    "/registered-models/get-latest-versions",
    "POST",
    "GET",
    access=access.on_model(access.READ),
)
def get_latest_versions(state: ServerState, params: Params) -> dict[str, Any]:
    """The highest version in each stage (of ``stages`` if given)."""
    versions = state.store.get_latest_versions(name_of(params), params.strings("stages") or None)
    return {
        "model_versions": [model_version_json(v, state.artifacts_destination) for v in versions]
    }


@endpoint(router, "/registered-models/set-tag", "POST", access=access.on_model(access.EDIT))
def set_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Set a tag on a registered model."""
    state.store.set_registered_model_tag(
        name_of(params),
        params.req_text("key"),
        params.text("value") or "",
        user=access.user(params),
    )
    return {}


@endpoint(router, "/registered-models/delete-tag", "DELETE", access=access.on_model(access.EDIT))
def delete_tag(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete a tag of a registered model."""
    state.store.delete_registered_model_tag(
        name_of(params), params.req_text("key"), user=access.user(params)
    )
    return {}


@endpoint(router, "/registered-models/alias", "POST", access=access.on_model(access.EDIT))
def set_alias(state: ServerState, params: Params) -> dict[str, Any]:
    """Point an alias at a version (moving it if it pointed elsewhere)."""
    name, alias, version = name_of(params), params.req_text("alias"), version_of(params)
    state.store.set_registered_model_alias(name, alias, version, user=access.user(params))
    facade.model_alias_set(name, alias, version)
    return {}


@endpoint(router, "/registered-models/alias", "DELETE", access=access.on_model(access.EDIT))
def delete_alias(state: ServerState, params: Params) -> dict[str, Any]:
    """Delete an alias."""
    state.store.delete_registered_model_alias(
        name_of(params), params.req_text("alias"), user=access.user(params)
    )
    return {}


@endpoint(router, "/registered-models/alias", "GET", access=access.on_model(access.READ))
def get_by_alias(state: ServerState, params: Params) -> dict[str, Any]:
    """The version an alias points at."""
    version = state.store.get_model_version_by_alias(name_of(params), params.req_text("alias"))
    return {"model_version": model_version_json(version, state.artifacts_destination)}
