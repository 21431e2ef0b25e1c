"""What every request handler of the server shares: the store, where artifacts go, settings.

Routers get it with ``Depends(get_state)``; ``create_app`` (server/app.py) puts it on
``app.state.flowtrack``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# At run time, not only for type checking: FastAPI reads the annotation of `get_state` to know
# it takes the request (a name it cannot resolve would become a query parameter).
from starlette.requests import Request

if TYPE_CHECKING:
    from flowtrack.store.base import TrackingStore


@dataclass
class ServerState:
    store: TrackingStore
    # The fsspec URL under which the server keeps run artifacts (proxied to clients).
    artifacts_destination: str
    # Filled by the auth layer when --auth is on; None means every request is allowed.
    auth: Any | None = None
    # From the command line: "auth" (bool), "allowed_hosts" and "cors_origins" (lists of str),
    # "max_body" and "max_json_body" (bytes), "default_permission" (str), "workers" (int),
    # "backend_store_uri" (str, password hidden), "ui" (bool: started by `flowtrack ui`).
    settings: dict[str, Any] = field(default_factory=dict)
    # experiment id -> artifact location; locations never change once set, so this is a cache.
    locations: dict[str, str] = field(default_factory=dict)


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.flowtrack
    return state


def current_user(request: Request) -> str | None:
    """The authenticated user of a request, or None when authentication is off.

    Runs created and registry changes made through the API are recorded under this user;
    when it is None, under the user the client names (the ``Flowtrack-User`` header, the
    run's ``user_id``), as MLflow does without auth.
    """
    if get_state(request).auth is None:
        return None
    from flowtrack.server.auth.deps import current_user as authenticated_user

    return authenticated_user(request)
