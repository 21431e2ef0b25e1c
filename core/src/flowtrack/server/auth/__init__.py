"""Authentication and per-resource permissions for ``flowtrack server --auth``.

Wiring, in ``create_app`` (see docs/auth.md)::

    from flowtrack.server import auth, hardening

    state = ServerState(store=..., artifacts_destination=...)
    if with_auth:
        auth.enable(state)          # users live in the tracking database; first admin made here
    app.state.flowtrack = state
    auth.install(app)               # authentication middleware, 401/403 handlers, /api/v1/auth
    hardening.install(app, hardening.Settings(...))   # last: it must wrap everything else

Route handlers then check permissions with `require` / `check` (deps.py) and name the user
with `current_user`. This module imports FastAPI only inside `install`, so the
``flowtrack users`` commands stay light.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from flowtrack.server.auth.permissions import Permission

if TYPE_CHECKING:
    from flowtrack.server.auth.service import AuthService
    from flowtrack.server.state import ServerState

__all__ = ["Permission", "enable", "install", "service_for_store"]


def service_for_store(
    store: Any, *, default_permission: Permission | str = Permission.READ
) -> AuthService:
    """An `AuthService` on the SQL database of ``store`` (where users and grants are kept)."""
    from sqlalchemy import Engine

    from flowtrack.errors import InvalidInputError
    from flowtrack.server.auth.service import AuthService

    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        raise InvalidInputError(
            "backend store",
            getattr(store, "uri", store),
            "authentication keeps users and permissions in the tracking database, so --auth "
            "needs an SQL backend (sqlite:///... or postgresql://...)",
        )
    return AuthService(engine, default_permission=default_permission)


ENV_DEFAULT_PERMISSION = "FLOWTRACK_AUTH_DEFAULT_PERMISSION"


def enable(
    state: ServerState,
    *,
    default_permission: Permission | str | None = None,
    environ: Mapping[str, str] | None = None,
    stderr: TextIO | None = None,
) -> AuthService:
    """Turn authentication on for ``state``: build the service and make sure an admin exists
    (from FLOWTRACK_ADMIN_USERNAME/PASSWORD, else a generated password printed once).

    ``default_permission`` (what users have on what they did not create and were not granted)
    defaults to FLOWTRACK_AUTH_DEFAULT_PERMISSION, else READ.
    """
    import os

    from flowtrack.server.auth.accounts import bootstrap_admin

    env = os.environ if environ is None else environ
    if default_permission is None:
        default_permission = env.get(ENV_DEFAULT_PERMISSION) or Permission.READ
    service = service_for_store(state.store, default_permission=default_permission)
    bootstrap_admin(service.repo, environ, stderr)
    state.auth = service
    return service


def install(app: Any, public_paths: Iterable[str] | None = None) -> None:
    """Add the authentication middleware, the 401/403 error handlers and the /api/v1/auth
    routes to ``app``. Harmless when auth is off (``state.auth is None``): every request then
    passes and ``current_user`` is None. Call before `flowtrack.server.hardening.install`."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from flowtrack.server.auth.errors import (
        AuthenticationRequired,
        PermissionDenied,
        error_body,
        error_headers,
    )
    from flowtrack.server.auth.middleware import DEFAULT_PUBLIC_PATHS, AuthMiddleware
    from flowtrack.server.auth.routes import router

    async def refused(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthenticationRequired | PermissionDenied)
        return JSONResponse(error_body(exc), exc.status, headers=error_headers(exc))

    app.add_middleware(
        AuthMiddleware,
        public_paths=DEFAULT_PUBLIC_PATHS if public_paths is None else frozenset(public_paths),
    )
    app.add_exception_handler(AuthenticationRequired, refused)
    app.add_exception_handler(PermissionDenied, refused)
    app.include_router(router)
