"""The two refusals of the auth layer, and how they look on the wire.

Bodies carry MLflow's ``error_code`` and ``message`` (the MLflow client shows the message),
and ``detail`` as FastAPI's own errors do, so both kinds of client print something useful.

They are HTTPExceptions as well as flowtrack errors, so that code which turns every other
exception into its own error format (the MLflow routes' `MlflowRoute` catches HTTPException
first) keeps their 401/403 status and the WWW-Authenticate header.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.exceptions import HTTPException

from flowtrack.errors import FlowtrackError

REALM = "flowtrack"


class _Refusal(FlowtrackError, HTTPException):
    status: ClassVar[int]
    error_code: ClassVar[str]

    def __init__(self, message: str) -> None:
        HTTPException.__init__(self, self.status, message, self._headers())
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.detail)

    def _headers(self) -> dict[str, str] | None:
        return None


class AuthenticationRequired(_Refusal):
    """No credentials, or credentials that match no user or live token: HTTP 401."""

    status = 401
    error_code = "UNAUTHENTICATED"

    def _headers(self) -> dict[str, str] | None:
        # Basic, so a browser shows its log-in prompt (the web UI needs nothing else); Bearer
        # tokens are accepted all the same, but one challenge is all every browser parses.
        return {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


class LoginThrottled(AuthenticationRequired):
    """Too many failed log-ins for one user name (auth/throttle.py): HTTP 429, Retry-After."""

    status = 429
    error_code = "REQUEST_LIMIT_EXCEEDED"  # MLflow's code for 429; its client backs off

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message)

    def _headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class PermissionDenied(_Refusal):
    """Authenticated, but without the permission the request needs: HTTP 403."""

    status = 403
    error_code = "PERMISSION_DENIED"


def error_body(exc: AuthenticationRequired | PermissionDenied) -> dict[str, Any]:
    return {"error_code": exc.error_code, "message": str(exc), "detail": str(exc)}


def error_headers(exc: AuthenticationRequired | PermissionDenied) -> dict[str, str]:
    return dict(exc.headers or {})
