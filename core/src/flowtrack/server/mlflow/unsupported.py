"""The rest of MLflow's API (traces, prompts, evaluation datasets, webhooks, ...): answered with
MLflow's ENDPOINT_NOT_FOUND and a pointer to what is covered, rather than the server's generic
404, so that the MLflow client raises an MlflowException that says what happened."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.errors import ENDPOINT_NOT_FOUND, MlflowRoute, error_response

router = APIRouter(route_class=MlflowRoute)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# MLflow calls that have a nearby way in flowtrack.
_HINTS = {
    "/api/2.0/mlflow/experiments/delete-experiment-tag": (
        "flowtrack cannot delete an experiment tag; set it to a new value instead"
    ),
}


@router.api_route(
    "/api/{version}/mlflow/{rest:path}",
    methods=_METHODS,
    include_in_schema=False,
    dependencies=[Depends(d) for d in access.LOGGED_IN],
)
async def not_supported(request: Request) -> Response:
    hint = _HINTS.get(request.url.path)
    if hint is None:
        hint = (
            "tracking, artifacts, logged models and the model registry are; traces, prompts, "
            "evaluation datasets and webhooks are not"
        )
    return error_response(
        ENDPOINT_NOT_FOUND,
        f"{request.method} {request.url.path} is not part of flowtrack's MLflow-compatible API "
        f"({hint}): see docs/mlflow-compat.md",
    )
