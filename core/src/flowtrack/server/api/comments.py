"""Discussions: comments on runs, dataset versions and model versions (flowtrack/comments.py).

Permissions with --auth: reading a target's comments needs READ on it (a run: its experiment;
a model version: the registered model; dataset versions are readable by every logged-in user,
as elsewhere in the API); commenting needs EDIT on it (a dataset version: EDIT on the
experiment of some run that read or wrote it). Only the author of a comment, or an admin, may
edit or delete it, and only while they may still comment there.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.comments import (
    DATASET_VERSION,
    MODEL_VERSION,
    RUN,
    Comment,
    comment_to_dict,
    model_version_key,
    validate_kind,
    validate_target,
)
from flowtrack.server.api.access import EDIT, READ, check, logged_in, needs
from flowtrack.server.api.deps import State, User
from flowtrack.server.api.guards import VersionNumber
from flowtrack.server.api.guards import page_token as check_token
from flowtrack.server.auth.deps import principal
from flowtrack.server.auth.errors import PermissionDenied
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import CommentCounts, CommentCreate, CommentUpdate
from flowtrack.server.state import ServerState

router = APIRouter(tags=["discussions"])

CommentId = Path(ge=1, lt=2**53)
_PAGE = Query(1000, ge=1, le=5000)
_MV = "/registered-models/{name}/versions/{version}/comments"


async def check_target(
    request: Request, state: ServerState, kind: str, key: str, needed: Permission
) -> None:
    """`PermissionDenied` unless the caller has ``needed`` on the comment's target."""
    if kind == RUN:
        await check(request, needed, run_ids=[key])
    elif kind == MODEL_VERSION:
        await check(request, needed, model_names=[model_version_key(key)[0]])
    elif needed > READ:
        await _check_dataset(request, state, key, needed)


async def _check_dataset(
    request: Request, state: ServerState, version_id: str, needed: Permission
) -> None:
    """Dataset versions have no permissions of their own: the caller needs ``needed`` on the
    experiment of at least one run that read or wrote the version."""
    auth, who = state.auth, principal(request)
    if auth is None or who is None or who.is_admin:
        return

    def best() -> Permission:
        runs = [
            r
            for direction in ("input", "output")
            for r in state.store.get_dataset_run_ids(version_id, direction)
        ]
        experiments = set(auth.repo.experiments_of_runs(runs).values())
        have = auth.effective(who, "experiment", experiments)
        return max(have.values(), default=Permission.NONE)

    if await anyio.to_thread.run_sync(best) < needed:
        raise PermissionDenied(
            f"user {who.name!r} may not comment on dataset version {version_id}: that needs "
            f"{needed.name} on the experiment of a run that read or wrote it"
        )


def _author(state: ServerState, user: str) -> str:
    # `flowtrack ui` serves one person on their own machine: their comments are theirs.
    if not user and state.settings.get("ui"):
        from flowtrack.registry.audit import current_user

        return current_user()
    return user


def _editable(request: Request, comment: Comment) -> bool:
    """May the caller edit or delete it (what the UI offers; the server checks again)?"""
    who = principal(request)
    return who is None or who.is_admin or who.name == comment.author


def _json(request: Request, comment: Comment) -> dict[str, Any]:
    return {**comment_to_dict(comment), "editable": _editable(request, comment)}


async def _list(
    request: Request,
    state: ServerState,
    kind: str,
    key: str,
    max_results: int,
    page_token: str | None,
) -> JSON:
    page = await run_in_threadpool(
        state.store.list_comments, kind, key, max_results, check_token(page_token)
    )
    return JSON(
        {
            "comments": [_json(request, c) for c in page.items],
            "next_page_token": page.token,
        }
    )


async def _add(
    request: Request, state: ServerState, kind: str, key: str, body: CommentCreate, user: str
) -> JSON:
    author = _author(state, user)
    comment = await run_in_threadpool(
        lambda: state.store.add_comment(kind, key, body.body, user=author, reply_to=body.reply_to)
    )
    return JSON(_json(request, comment))


@router.get(
    "/runs/{run_id}/comments",
    summary="A run's comments, oldest first (a page)",
    dependencies=needs(READ, run_id="run_id"),
)
async def list_run_comments(
    run_id: str,
    request: Request,
    state: State,
    max_results: int = _PAGE,
    page_token: str | None = None,
) -> JSON:
    return await _list(request, state, RUN, run_id, max_results, page_token)


@router.post(
    "/runs/{run_id}/comments",
    summary="Comment on a run (markdown)",
    dependencies=needs(EDIT, run_id="run_id"),
)
async def add_run_comment(
    run_id: str, body: CommentCreate, request: Request, state: State, user: User
) -> JSON:
    return await _add(request, state, RUN, run_id, body, user)


@router.get(
    "/dataset-versions/{version_id}/comments",
    summary="A dataset version's comments, oldest first (a page)",
    dependencies=logged_in(),
)
async def list_dataset_comments(
    version_id: str,
    request: Request,
    state: State,
    max_results: int = _PAGE,
    page_token: str | None = None,
) -> JSON:
    return await _list(request, state, DATASET_VERSION, version_id, max_results, page_token)


@router.post(
    "/dataset-versions/{version_id}/comments",
    summary="Comment on a dataset version (markdown)",
    description="With authentication on: EDIT on the experiment of a run that read or wrote it.",
    dependencies=logged_in(),
)
async def add_dataset_comment(
    version_id: str, body: CommentCreate, request: Request, state: State, user: User
) -> JSON:
    # 404 for an unknown version before the permission check (which would find no runs).
    await run_in_threadpool(state.store.list_comments, DATASET_VERSION, version_id, 1, None)
    await _check_dataset(request, state, version_id, EDIT)
    return await _add(request, state, DATASET_VERSION, version_id, body, user)


@router.get(
    _MV,
    summary="A model version's comments, oldest first (a page)",
    dependencies=needs(READ, model_name="name"),
)
async def list_model_version_comments(
    name: str,
    version: VersionNumber,
    request: Request,
    state: State,
    max_results: int = _PAGE,
    page_token: str | None = None,
) -> JSON:
    return await _list(request, state, MODEL_VERSION, f"{name}/{version}", max_results, page_token)


@router.post(
    _MV,
    summary="Comment on a model version (markdown)",
    dependencies=needs(EDIT, model_name="name"),
)
async def add_model_version_comment(
    name: str,
    version: VersionNumber,
    body: CommentCreate,
    request: Request,
    state: State,
    user: User,
) -> JSON:
    return await _add(request, state, MODEL_VERSION, f"{name}/{version}", body, user)


async def _own(
    request: Request, state: ServerState, comment_id: int, needed: Permission
) -> Comment:
    comment = await run_in_threadpool(state.store.get_comment, comment_id)
    await check_target(request, state, comment.target_kind, comment.target_id, needed)
    if needed > READ and not _editable(request, comment):
        who = principal(request)
        raise PermissionDenied(
            f"comment {comment_id} is {comment.author!r}'s; only its author or an admin may "
            f"change it, not {who.name if who else ''!r}"
        )
    return comment


@router.get("/comments/{comment_id}", summary="One comment", dependencies=logged_in())
async def get_comment(request: Request, state: State, comment_id: int = CommentId) -> JSON:
    return JSON(_json(request, await _own(request, state, comment_id, READ)))


@router.patch(
    "/comments/{comment_id}",
    summary="Edit a comment (its author or an admin)",
    dependencies=logged_in(),
)
async def update_comment(
    request: Request, body: CommentUpdate, state: State, comment_id: int = CommentId
) -> JSON:
    await _own(request, state, comment_id, EDIT)
    comment = await run_in_threadpool(state.store.update_comment, comment_id, body.body)
    return JSON(_json(request, comment))


@router.delete(
    "/comments/{comment_id}",
    summary="Delete a comment (its author or an admin)",
    dependencies=logged_in(),
)
async def delete_comment(request: Request, state: State, comment_id: int = CommentId) -> JSON:
    await _own(request, state, comment_id, EDIT)
    await run_in_threadpool(state.store.delete_comment, comment_id)
    return JSON({})


@router.post(
    "/comments/counts",
    summary="How many comments each of some targets has (for badges)",
    dependencies=logged_in(),
)
async def count_comments(body: CommentCounts, request: Request, state: State) -> JSON:
    kind = validate_kind(body.target_kind)
    keys = [validate_target(kind, k)[1] for k in body.target_ids]
    if kind == RUN and keys:
        await check(request, READ, run_ids=keys, skip_missing_runs=True)
    elif kind == MODEL_VERSION and keys:
        names = sorted({model_version_key(k)[0] for k in keys})
        await check(request, READ, model_names=names)
    counts = await run_in_threadpool(state.store.count_comments, kind, keys)
    return JSON({"counts": counts})
