"""The MLflow-compatible REST surface (``/api/2.0/mlflow/...`` and the artifact proxy
``/api/2.0/mlflow-artifacts/...``), mounted by ``create_app``, so that an unmodified MLflow 3.x
client (``MLFLOW_TRACKING_URI=http://<flowtrack server>``) logs to flowtrack. See
docs/mlflow-compat.md for what is covered.

Every route answers failures in MLflow's error format (errors.py). Modules: experiments, runs,
writes (logging to runs), inputs (datasets and model outputs of runs), registry and versions
(the model registry), logged_models (MLflow 3's LoggedModels), artifacts (the proxy and
server-info), unsupported (the rest of MLflow's paths); access.py says who may call what with
``--auth``.
"""

from fastapi import APIRouter

from flowtrack.server.mlflow import (
    artifacts,
    experiments,
    inputs,
    logged_models,
    registry,
    runs,
    unsupported,
    versions,
    writes,
)
from flowtrack.server.mlflow.errors import MlflowRoute

router = APIRouter(route_class=MlflowRoute, tags=["MLflow-compatible API"])
for _module in (experiments, runs, writes, inputs, registry, versions, logged_models):
    router.include_router(_module.router)
router.include_router(artifacts.router)
# Last: it answers whatever MLflow path the routes above do not serve.
router.include_router(unsupported.router)

__all__ = ["router"]
