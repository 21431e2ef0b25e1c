"""flowtrack's own REST API, under ``/api/v1`` (the MLflow-compatible one is server/mlflow)."""

from __future__ import annotations

from fastapi import APIRouter

from flowtrack.server.api import (
    artifacts,
    comments,
    experiments,
    lineage,
    registry,
    runs,
    versions,
    writes,
)

router = APIRouter(prefix="/api/v1")
for module in (experiments, runs, writes, lineage, registry, versions, artifacts, comments):
    router.include_router(module.router)
