"""Who may call what: the permission checks of server/auth, applied to this API's routes.

Every route declares its check (``dependencies=needs(READ, run_id="run_id")``), so the auth
layer's `unchecked_routes` finds none forgotten. All of them are no-ops when the server runs
without ``--auth``. Levels as in MLflow: READ to see, EDIT to log and change, MANAGE to delete
and restore.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from flowtrack.server.auth.deps import (
    authenticated,
    check,
    grant_creator,
    readable_experiment_ids,
    readable_model_names,
    require,
)
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.state import get_state

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE

__all__ = [
    "EDIT",
    "MANAGE",
    "READ",
    "auth_on",
    "check",
    "grant_creator",
    "logged_in",
    "needs",
    "readable_experiment_ids",
    "readable_model_names",
]


def needs(permission: Permission, **fields: Any) -> list[Any]:
    """The route dependency checking ``permission`` on the resources named by ``fields``
    (path parameter, query parameter or JSON body field names; see auth.deps.require)."""
    return [Depends(require(permission, **fields))]


def logged_in() -> list[Any]:
    """For routes any authenticated user may call (they filter or check inside)."""
    return [Depends(authenticated)]


def auth_on(request: Request) -> bool:
    return get_state(request).auth is not None
