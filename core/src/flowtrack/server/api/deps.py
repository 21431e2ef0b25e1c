"""Dependencies the API's handlers share."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request

from flowtrack.server.state import ServerState, current_user, get_state
from flowtrack.store.rest.http import USER_HEADER

State = Annotated[ServerState, Depends(get_state)]


def acting_user(request: Request) -> str:
    """Who a registry change is recorded under: the authenticated user when authentication is
    on, else the user the client names in the ``Flowtrack-User`` header (as MLflow trusts its
    client without auth), else ""."""
    user = current_user(request)
    if user is not None:
        return user
    return unquote(request.headers.get(USER_HEADER, ""))[:256]


User = Annotated[str, Depends(acting_user)]
