"""Who may call what on the MLflow-compatible API, with ``flowtrack server --auth``.

Each route declares its check with the auth layer's dependencies (server/auth/deps.py), which
read the ids from the request before the handler runs, so no route is left unchecked. They
are no-ops without ``--auth``. The permission each MLflow call needs follows MLflow's own auth
plugin: reading needs READ; logging, renaming and tagging need EDIT; deleting needs MANAGE;
creating an experiment or a registered model needs a login and makes the creator its manager.
Searches return only what the caller may read.

Handlers run in worker threads (the store is synchronous); the helpers below call the auth
layer's async functions from there, and cost nothing when auth is off.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

import anyio.from_thread

from flowtrack.server.auth import deps
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.mlflow.request import Params
from flowtrack.server.state import get_state

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE
_RUN = ("run_id", "run_uuid")

Dependency = Callable[..., Awaitable[None]]
T = TypeVar("T")

LOGGED_IN: list[Dependency] = [deps.authenticated]


def on_experiment(needed: Permission) -> list[Dependency]:
    return [deps.require(needed, experiment_id="experiment_id")]


def on_experiment_name(needed: Permission) -> list[Dependency]:
    return [deps.require(needed, experiment_name="experiment_name")]


def on_run(needed: Permission) -> list[Dependency]:
    return [deps.require(needed, run_id=_RUN)]


def on_model(needed: Permission) -> list[Dependency]:
    return [deps.require(needed, model_name="name")]


def on_artifact(needed: Permission, field: str = "path") -> list[Dependency]:
    return [deps.require(needed, artifact_path=field)]


def _active(params: Params) -> bool:
    request = params.request
    return request is not None and get_state(request).auth is not None


def _call(
    params: Params, function: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any
) -> T:
    """Run an async auth helper from the handler's worker thread."""
    assert params.request is not None
    return anyio.from_thread.run(functools.partial(function, params.request, *args, **kwargs))


def user(params: Params, fallback: str = "") -> str:
    """The authenticated user's name (with auth on it wins over what the client says)."""
    if not _active(params):
        return fallback
    return _call(params, _current_user) or fallback


async def _current_user(request: Any) -> str | None:
    return deps.current_user(request)


def check(params: Params, needed: Permission, **ids: Iterable[Any]) -> None:
    """Raise 403 unless the caller has ``needed`` on the resources named by ``ids`` (the keyword
    arguments of `deps.check`: experiment_ids, run_ids, model_names, artifact_paths)."""
    if _active(params):
        _call(params, deps.check, needed, **{k: list(v) for k, v in ids.items()})


def readable_experiments(params: Params, experiment_ids: Iterable[str]) -> list[str]:
    ids = list(experiment_ids)
    return _call(params, deps.readable_experiment_ids, ids) if _active(params) else ids


def readable_models(params: Params, names: Iterable[str]) -> list[str]:
    wanted = list(names)
    return _call(params, deps.readable_model_names, wanted) if _active(params) else wanted


def grant_creator(
    params: Params, *, experiment_id: str | None = None, model_name: str | None = None
) -> None:
    """The creator of an experiment or registered model manages it."""
    if _active(params):
        _call(params, deps.grant_creator, experiment_id=experiment_id, model_name=model_name)
