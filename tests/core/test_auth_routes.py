"""No route of the real server is left without an auth decision: each declares a check from
server/auth/deps.py (require, authenticated or require_admin), or is one of the few public
ones. A new route without one fails here, before it can ship unchecked."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute
from flowtrack.server.app import create_app, open_store
from flowtrack.server.auth.deps import unchecked_routes
from flowtrack.server.auth.middleware import DEFAULT_PUBLIC_PATHS
from flowtrack.server.state import ServerState

# Public (no credentials) or pages that only redirect or describe the API: the middleware still
# asks for credentials on all but DEFAULT_PUBLIC_PATHS.
EXEMPT = {*DEFAULT_PUBLIC_PATHS, "/", "/docs", "/openapi.json", "/docs/oauth2-redirect"}


def test_every_route_of_the_server_has_an_auth_check(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'server.db'}", str(tmp_path / "artifacts"))
    try:
        app = create_app(ServerState(store=store, artifacts_destination=str(tmp_path / "a")))
        missing = unchecked_routes(app, exempt=EXEMPT)
        seen = [r.path for r in app.routes if isinstance(r, APIRoute)]
    finally:
        store.close()
    # Guard against a vacuous pass: a FastAPI that nests included routers instead of copying
    # their routes would leave app.routes without the API, and nothing would be checked.
    assert sum(p.startswith("/api/2.0/mlflow/") for p in seen) > 40, seen
    assert sum(p.startswith("/api/v1/") for p in seen) > 40, seen
    assert missing == [], (
        "these routes declare no permission check; add dependencies=[Depends(require(...))] "
        "(or authenticated / require_admin) from flowtrack.server.auth.deps:\n" + "\n".join(missing)
    )
