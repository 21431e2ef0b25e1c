"""JSON answers (orjson) and the mapping of flowtrack's exceptions to HTTP errors.

Every error body is ``{"error_code", "message", ...}``; a bad value adds ``field``, ``value``
and ``reason`` (so a client can rebuild the very `InvalidInputError`), a missing object adds
``kind`` and ``id``. A stack trace is logged, never sent.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from flowtrack.errors import (
    ConflictError,
    FlowtrackError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)
from flowtrack.store.rest.codec import enc_float

log = logging.getLogger("flowtrack.server")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: str, message: str, **extra: Any) -> JSON:
    return JSON({"error_code": code, "message": message, **extra}, status_code=status)


def json_safe(value: Any) -> Any:
    """A value for an error body: JSON types as they are (long strings cut), the rest as repr."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # orjson writes 64-bit integers only; a bigger one (a fuzzed step) is shown as text.
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return enc_float(value)
    if isinstance(value, str):
        return value if len(value) <= 1000 else value[:1000] + "..."
    text = repr(value)
    return text if len(text) <= 1000 else text[:1000] + "..."


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInputError)
    return error(
        400,
        "INVALID_INPUT",
        str(exc),
        field=exc.field,
        value=json_safe(exc.value),
        reason=exc.reason,
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFoundError)
    return error(404, "NOT_FOUND", str(exc), kind=exc.kind, id=exc.ident)


async def _conflict(request: Request, exc: Exception) -> Response:
    return error(409, "CONFLICT", str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    # The detail may name the database; it goes to the log, the client gets what to do.
    log.warning(
        "flowtrack server: the store failed on %s %s: %s", request.method, request.url.path, exc
    )
    return error(
        503,
        "STORE_UNAVAILABLE",
        "the server's store is unavailable (its log has the details); try again later",
    )


async def _flowtrack(request: Request, exc: Exception) -> Response:
    log.error("flowtrack server: %s %s failed: %s", request.method, request.url.path, exc)
    return error(500, "INTERNAL_ERROR", str(exc))


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())) or "request"
    reason = str(first.get("msg", "is not valid"))
    value = json_safe(first.get("input"))
    return error(
        400,
        "INVALID_INPUT",
        f"invalid {field} {value!r:.200}: {reason}",
        field=field,
        value=value,
        reason=reason,
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE"}
    code = codes.get(exc.status_code, "HTTP_ERROR")
    return JSON(
        {"error_code": code, "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("flowtrack server: %s %s failed", request.method, request.url.path, exc_info=exc)
    return error(500, "INTERNAL_ERROR", "internal server error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    # Most specific first: Starlette picks the handler by walking the exception's MRO.
    app.add_exception_handler(InvalidInputError, _invalid)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(StoreUnavailableError, _unavailable)
    app.add_exception_handler(FlowtrackError, _flowtrack)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
