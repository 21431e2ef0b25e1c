"""Errors in MLflow's wire format: ``{"error_code": ..., "message": ...}`` with MLflow's statuses.

The MLflow client turns such a body into an ``MlflowException`` carrying ``error_code``, and
some of its code depends on the exact code: ``get_experiment_by_name`` returns None on
RESOURCE_DOES_NOT_EXIST, ``register_model`` carries on after RESOURCE_ALREADY_EXISTS, and
503 (TEMPORARILY_UNAVAILABLE) is retried. So every failure of this package goes through
`MlflowRoute`, which maps flowtrack's exceptions onto those codes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from flowtrack.errors import (
    ConflictError,
    FlowtrackError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)

log = logging.getLogger("flowtrack.server")

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
INTERNAL_ERROR = "INTERNAL_ERROR"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_REQUEST = "BAD_REQUEST"

# mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS, for the codes this package sends.
STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    BAD_REQUEST: 400,
    UNAUTHENTICATED: 401,
    PERMISSION_DENIED: 403,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    INTERNAL_ERROR: 500,
    TEMPORARILY_UNAVAILABLE: 503,
}
# What an HTTPException raised by a dependency (the auth layer, say) becomes.
_CODE_OF_STATUS = {
    400: BAD_REQUEST,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: RESOURCE_DOES_NOT_EXIST,
    413: INVALID_PARAMETER_VALUE,
    503: TEMPORARILY_UNAVAILABLE,
}


class MlflowApiError(Exception):
    """An error to send as MLflow sends it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 500)


def invalid(message: str) -> MlflowApiError:
    return MlflowApiError(INVALID_PARAMETER_VALUE, message)


def not_found(message: str) -> MlflowApiError:
    return MlflowApiError(RESOURCE_DOES_NOT_EXIST, message)


def error_response(
    code: str, message: str, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error_code": code, "message": message},
        status_code=status or STATUS.get(code, 500),
        headers=headers,
    )


def to_api_error(exc: Exception) -> MlflowApiError:
    """flowtrack's exceptions as MLflow error codes."""
    if isinstance(exc, MlflowApiError):
        return exc
    if isinstance(exc, NotFoundError):
        return MlflowApiError(RESOURCE_DOES_NOT_EXIST, str(exc))
    if isinstance(exc, InvalidInputError):
        return MlflowApiError(INVALID_PARAMETER_VALUE, str(exc))
    if isinstance(exc, ConflictError):
        # The store raises it for a taken name (experiment, registered model), which is what
        # MLflow calls RESOURCE_ALREADY_EXISTS; refused run writes are mapped by the caller.
        return MlflowApiError(RESOURCE_ALREADY_EXISTS, str(exc))
    if isinstance(exc, StoreUnavailableError):
        # The detail may name the database: it goes to the log, the client gets what to do.
        log.warning("MLflow API: the store failed: %s", exc)
        return MlflowApiError(
            TEMPORARILY_UNAVAILABLE, "the server's store is unavailable; retry later"
        )
    if isinstance(exc, FlowtrackError):
        return MlflowApiError(INVALID_PARAMETER_VALUE, str(exc))
    return MlflowApiError(INTERNAL_ERROR, "internal server error; see the server log")


class MlflowRoute(APIRoute):
    """A route whose every failure is answered in MLflow's error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                # Raised by dependencies (the auth layer's 401/403 among them): their status
                # and headers (WWW-Authenticate) are kept, the body is MLflow's.
                code = getattr(exc, "error_code", None) or _CODE_OF_STATUS.get(
                    exc.status_code, BAD_REQUEST
                )
                headers = dict(exc.headers) if exc.headers else None
                return error_response(code, str(exc.detail), exc.status_code, headers)
            except Exception as exc:
                error = to_api_error(exc)
                if error.code == INTERNAL_ERROR:
                    log.exception("MLflow API: %s %s failed", request.method, request.url.path)
                return error_response(error.code, error.message)

        return handle
