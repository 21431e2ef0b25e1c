"""Permission checks for route handlers of both APIs (flowtrack's and the MLflow-compatible).

Two ways to check, both no-ops when the server runs without ``--auth``:

* declaratively, a dependency naming where the ids are::

    @router.post("/runs/log-batch", dependencies=[Depends(require(EDIT, run_id="run_id"))])

  Each name is looked up in the path parameters, then the query string, then the JSON body
  (a tuple gives alternatives: ``run_id=("run_id", "run_uuid")``; a list value checks each);
* imperatively, with the values, from inside a handler::

    await check(request, Permission.READ, experiment_ids=body.experiment_ids)

Authentication itself happened in the middleware; a route that needs only a logged-in user
(creating an experiment, a search filtered with `readable_experiment_ids`) says so with
``Depends(authenticated)`` so that `unchecked_routes` can tell it was not forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import anyio.to_thread
from starlette.requests import Request

from flowtrack.errors import InvalidInputError
from flowtrack.server.auth.errors import AuthenticationRequired, PermissionDenied
from flowtrack.server.auth.middleware import PRINCIPAL_KEY
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.auth.service import AuthService, Principal, experiment_id_int
from flowtrack.server.hardening import safe_artifact_path
from flowtrack.server.state import get_state

Fields = str | tuple[str, ...] | None
# Marks the dependencies below, for `unchecked_routes`.
MARK = "__flowtrack_auth__"
_RUN_ID = re.compile(r"[0-9a-f]{32}")


def _auth(request: Request) -> AuthService | None:
    auth: AuthService | None = get_state(request).auth
    return auth


def principal(request: Request) -> Principal | None:
    """The authenticated caller; None when auth is off."""
    if _auth(request) is None:
        return None
    found: Principal | None = request.scope.get(PRINCIPAL_KEY)
    if found is None:
        # A public path, or the middleware is missing: refuse rather than guess.
        raise AuthenticationRequired("this endpoint requires authentication")
    return found


def current_user(request: Request) -> str | None:
    """The authenticated user's name (for ``user_id`` of runs and registry changes); None when
    auth is off."""
    found = principal(request)
    return found.name if found else None


async def authenticated(request: Request) -> None:
    """Any logged-in user may call this route (the middleware has checked the credentials)."""
    principal(request)


setattr(authenticated, MARK, "authenticated")


async def require_admin(request: Request) -> None:
    found = principal(request)
    if found is not None and not found.is_admin:
        raise PermissionDenied(f"user {found.name!r} is not an admin; this request needs one")


setattr(require_admin, MARK, "admin")


async def check(
    request: Request,
    needed: Permission,
    *,
    experiment_ids: Sequence[object] = (),
    experiment_names: Sequence[str] = (),
    run_ids: Sequence[str] = (),
    model_names: Sequence[str] = (),
    artifact_paths: Sequence[str] = (),
    skip_missing_runs: bool = False,
) -> None:
    """Raise `PermissionDenied` (403) unless the caller has ``needed`` on every resource.

    Unknown runs, experiment names and models are a `NotFoundError` (404), except runs with
    ``skip_missing_runs`` (an event batch: the store refuses writes to unknown runs itself).
    """
    auth, who = _auth(request), principal(request)
    if auth is None or who is None or who.is_admin:
        return
    exp_ids: list[object] = list(experiment_ids)
    runs = list(run_ids)
    for path in artifact_paths:
        # The same decoding and normalizing the artifact handler applies (and its 400 for a
        # traversal attempt), so that the path checked is the path used.
        exp, run = artifact_owner(safe_artifact_path(path))
        if exp is None:
            raise PermissionDenied(
                f"artifact path {path!r} is not inside an experiment's folder "
                "(<experiment_id>/<run_id>/...); only an admin may use it"
            )
        exp_ids.append(exp)
        if run is not None:
            runs.append(run)
    await anyio.to_thread.run_sync(
        lambda: auth.check(
            who,
            needed,
            experiment_ids=exp_ids,
            experiment_names=list(experiment_names),
            run_ids=runs,
            model_names=list(model_names),
            skip_missing_runs=skip_missing_runs,
        )
    )


def artifact_owner(path: str) -> tuple[str | None, str | None]:
    """(experiment id, run id) of an artifact path laid out as the server stores artifacts:
    ``<experiment_id>/<run_id>/artifacts/...`` (the run part may be absent)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or not parts[0].isdigit():
        return None, None
    run = parts[1] if len(parts) > 1 and _RUN_ID.fullmatch(parts[1]) else None
    return parts[0], run


def require(
    needed: Permission,
    *,
    experiment_id: Fields = None,
    experiment_name: Fields = None,
    run_id: Fields = None,
    model_name: Fields = None,
    artifact_path: Fields = None,
    optional: bool = False,
) -> Callable[[Request], Awaitable[None]]:
    """A dependency checking ``needed`` on the resources whose ids are in the named fields.

    A named field missing from the request is a 400 (without the id nothing can be checked),
    unless ``optional=True`` (e.g. the ``run_id`` of a model version).
    """
    given = {
        "experiment_ids": experiment_id,
        "experiment_names": experiment_name,
        "run_ids": run_id,
        "model_names": model_name,
        "artifact_paths": artifact_path,
    }
    specs = {k: (v,) if isinstance(v, str) else v for k, v in given.items() if v is not None}
    if not specs:
        raise ValueError("require() needs at least one of the id fields")

    async def dependency(request: Request) -> None:
        auth, who = _auth(request), principal(request)
        if auth is None or who is None or who.is_admin:
            return
        values: dict[str, list[Any]] = {}
        for target, fields in specs.items():
            found = await _lookup(request, fields)
            if not found and not optional:
                raise InvalidInputError(
                    " or ".join(fields),
                    None,
                    "is required (the permission check needs it)",
                )
            values[target] = found
        await check(
            request,
            needed,
            experiment_ids=values.get("experiment_ids", ()),
            experiment_names=values.get("experiment_names", ()),
            run_ids=values.get("run_ids", ()),
            model_names=values.get("model_names", ()),
            artifact_paths=values.get("artifact_paths", ()),
        )

    setattr(dependency, MARK, (needed.name, specs))
    return dependency


async def _lookup(request: Request, names: Iterable[str]) -> list[Any]:
    for name in names:
        if name in request.path_params:
            return [request.path_params[name]]
        if name in request.query_params:
            return request.query_params.getlist(name)
    body = await _json_body(request)
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise InvalidInputError(name, item, "must be a string")
        return [str(i) for i in items]
    return []


async def _json_body(request: Request) -> dict[str, Any]:
    # Not DELETE: the MLflow client sends e.g. registered-models/delete as DELETE with a body.
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return {}
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # Only JSON bodies: an artifact upload must stream through untouched, never be buffered here.
    if kind not in ("application/json", ""):
        return {}
    if kind == "" and request.headers.get("content-length", "0") == "0":
        return {}
    try:
        body = await request.json()  # cached on the request: the handler reads it again for free
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def readable_experiment_ids(request: Request, experiment_ids: Iterable[str]) -> list[str]:
    """The given ids the caller may READ, in order (all of them when auth is off)."""
    ids = list(experiment_ids)
    auth, who = _auth(request), principal(request)
    if auth is None or who is None or who.is_admin:
        return ids
    numeric = {i: experiment_id_int(i) for i in ids}
    allowed = await anyio.to_thread.run_sync(auth.readable, who, "experiment", numeric.values())
    return [i for i in ids if numeric[i] in allowed]


async def readable_model_names(request: Request, names: Iterable[str]) -> list[str]:
    """The given registered models the caller may READ, in order."""
    wanted = list(names)
    auth, who = _auth(request), principal(request)
    if auth is None or who is None or who.is_admin:
        return wanted

    def work() -> list[str]:
        assert auth is not None and who is not None
        ids = {n: auth.repo.model_id(n) for n in wanted}
        allowed = auth.readable(who, "registered_model", [i for i in ids.values() if i is not None])
        return [n for n in wanted if ids[n] in allowed]

    return await anyio.to_thread.run_sync(work)


async def grant_creator(
    request: Request, *, experiment_id: object | None = None, model_name: str | None = None
) -> None:
    """Call after creating an experiment or registered model: its creator gets MANAGE."""
    auth, who = _auth(request), principal(request)
    if auth is None or who is None:
        return
    await anyio.to_thread.run_sync(
        lambda: auth.grant_creator(who, experiment_id=experiment_id, model_name=model_name)
    )


def unchecked_routes(app: Any, exempt: Iterable[str] = ()) -> list[str]:
    """ "METHOD path" of every API route without a check from this module (for a test that
    keeps new routes from skipping authorization)."""
    from fastapi.routing import APIRoute

    skip = set(exempt)
    missing: list[str] = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path in skip:
            continue
        if not _has_mark(route.dependant):
            missing.extend(f"{m} {route.path}" for m in sorted(route.methods or ()))
    return missing


def _has_mark(dependant: Any) -> bool:
    if dependant.call is not None and hasattr(dependant.call, MARK):
        return True
    return any(_has_mark(d) for d in dependant.dependencies)
