"""The server application: flowtrack's REST API, the MLflow-compatible API, health and version.

``create_app(state)`` builds it around a `ServerState`; ``create_app_from_env()`` is the
factory uvicorn calls in each worker process (``flowtrack server`` hands the settings over in
``FLOWTRACK_SERVER_*`` variables, because workers are separate processes).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from flowtrack import __version__
from flowtrack.server.responses import JSON, error, install_error_handlers
from flowtrack.server.state import ServerState
from flowtrack.store.base import TrackingStore

log = logging.getLogger("flowtrack.server")

ENV_BACKEND = "FLOWTRACK_SERVER_BACKEND_STORE_URI"
ENV_ARTIFACTS = "FLOWTRACK_SERVER_ARTIFACTS_DESTINATION"
ENV_SETTINGS = "FLOWTRACK_SERVER_SETTINGS"  # JSON object

DESCRIPTION = """\
flowtrack's tracking server. Everything the Python API does is here under `/api/v1`:
experiments, runs (search with MLflow's filter grammar), the write path (event batches, or
log-batch and log-metric), metric history (paged, or downsampled for charts), lineage, the model
registry and the artifact proxy. The MLflow-compatible API is under `/api/2.0/mlflow`.

Errors are JSON: `{"error_code", "message"}`, plus `field`, `value` and `reason` for bad input
(400), `kind` and `id` for something that does not exist (404). 409 is a conflict with what the
store holds, 503 a store that is unavailable (try again later).
"""


def open_store(backend_store_uri: str, artifacts_destination: str) -> TrackingStore:
    """The store the server serves, its schema migrated. New experiments keep their artifacts
    under ``artifacts_destination``."""
    from urllib.parse import urlparse

    from flowtrack.config import normalize_uri
    from flowtrack.errors import InvalidInputError

    uri = normalize_uri(backend_store_uri)
    scheme = urlparse(uri).scheme.split("+", 1)[0]
    if scheme in ("sqlite", "postgresql", "postgres"):
        from flowtrack.store.sql.store import SqlStore

        return SqlStore(uri, artifact_root=artifacts_destination.rstrip("/"))
    if scheme in ("http", "https"):
        raise InvalidInputError(
            "backend store URI",
            backend_store_uri,
            "must be a database (sqlite:// or postgresql://)",
        )
    from flowtrack.tracking.stores import get_store

    return get_store(uri)


def create_app(state: ServerState) -> FastAPI:
    from flowtrack import ui
    from flowtrack.server import mlflow
    from flowtrack.server.api import router as api_router
    from flowtrack.server.api.guards import no_nul

    app = FastAPI(
        title="flowtrack",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        default_response_class=JSON,
    )
    app.state.flowtrack = state
    install_error_handlers(app)

    @app.get("/health", tags=["server"], summary="200 when the server can reach its store")
    async def health() -> Response:
        try:
            await run_in_threadpool(state.store.count_runs, [])
        except Exception as exc:
            log.warning("flowtrack server: health check failed: %s", exc)
            return error(503, "STORE_UNAVAILABLE", "the server cannot reach its store")
        return JSON({"status": "ok"})

    @app.get("/version", tags=["server"], summary="The flowtrack version and API version")
    async def version() -> JSON:
        return JSON({"version": __version__, "api": "v1"})

    app.include_router(api_router, dependencies=[Depends(no_nul)])
    app.include_router(mlflow.router)
    ui.install(app)  # the web UI: pages at /, /experiments/..., /runs/...; docs/ui.md
    _protect(app, state)
    return app


def _protect(app: FastAPI, state: ServerState) -> None:
    """Authentication (with ``--auth``) and request hardening, wired as server/auth documents:
    the auth middleware is harmless when auth is off; hardening wraps everything (a bad Host
    or an oversized body is refused before anything else runs)."""
    from flowtrack.server import auth, hardening

    settings = state.settings
    if settings.get("auth") and state.auth is None:
        auth.enable(state, default_permission=settings.get("default_permission"))
    auth.install(app)
    # Options not given (None) fall back to the FLOWTRACK_* variables (hardening.ENV).
    hardening.install(
        app,
        hardening.Settings.from_options(
            host=settings.get("host", "127.0.0.1"),
            allowed_hosts=settings.get("allowed_hosts") or None,
            cors_origins=settings.get("cors_origins") or None,
            max_body=settings.get("max_body"),
            max_json_body=settings.get("max_json_body"),
        ),
    )


def settings_from_env() -> tuple[str, str, dict[str, Any]]:
    from flowtrack.config import default_artifact_root, default_tracking_uri

    backend = os.environ.get(ENV_BACKEND) or default_tracking_uri()
    artifacts = os.environ.get(ENV_ARTIFACTS) or default_artifact_root(default_tracking_uri())
    settings: dict[str, Any] = json.loads(os.environ.get(ENV_SETTINGS) or "{}")
    return backend, artifacts, settings


def create_app_from_env() -> FastAPI:
    """The app of one uvicorn worker, built from the ``FLOWTRACK_SERVER_*`` variables."""
    backend, artifacts, settings = settings_from_env()
    store = open_store(backend, artifacts)
    return create_app(ServerState(store=store, artifacts_destination=artifacts, settings=settings))
