"""Authentication of every request, as ASGI middleware.

Done here rather than as a per-route dependency so that no route can be forgotten: with
``--auth`` on, a request reaches a route only with valid credentials (except the few public
paths such as ``/health``). What the caller may do is then checked per route (deps.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from flowtrack.errors import StoreUnavailableError
from flowtrack.server.auth.errors import AuthenticationRequired, error_body, error_headers

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from flowtrack.server.auth.service import AuthService

log = logging.getLogger(__name__)

# Where the authenticated `Principal` is kept for the request's handlers (deps.principal).
PRINCIPAL_KEY = "flowtrack.principal"
# Load balancers and liveness probes call these without credentials; they reveal nothing.
DEFAULT_PUBLIC_PATHS: frozenset[str] = frozenset({"/health", "/version"})


class AuthMiddleware:
    def __init__(self, app: ASGIApp, public_paths: Iterable[str] = DEFAULT_PUBLIC_PATHS) -> None:
        self.app = app
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # Read per request, not at start-up: create_app may turn auth on after installing this.
        auth: AuthService | None = scope["app"].state.flowtrack.auth
        if auth is None or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        try:
            # Password checks are slow on purpose (scrypt) and the database call blocks: both
            # run in a worker thread so the event loop keeps serving other requests.
            principal = await anyio.to_thread.run_sync(auth.authenticate, header)
        except AuthenticationRequired as exc:
            log.info("%s %s %s: %s", exc.status, scope.get("method", ""), scope["path"], exc)
            await _refuse(scope, send, exc.status, error_body(exc), error_headers(exc))
            return
        except StoreUnavailableError as exc:
            log.warning("authentication could not reach the database: %s", exc)
            body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": str(exc)}
            await _refuse(scope, send, 503, body, {"Retry-After": "5"})
            return
        scope[PRINCIPAL_KEY] = principal
        # Also as ``request.state.user`` (the name), where the API handlers look for who is
        # calling (server/state.py current_user, the MLflow routes' request_user).
        scope.setdefault("state", {})["user"] = principal.name
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _refuse(
    scope: Scope, send: Send, status: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    payload = json.dumps(body).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
