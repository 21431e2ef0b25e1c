"""``/api/v1/auth``: who am I, users (admins), tokens (admins and the user), permission grants
(whoever has MANAGE on the resource). Handlers are plain functions: FastAPI runs them in its
thread pool, where the blocking database calls belong."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from flowtrack.errors import InvalidInputError
from flowtrack.server.auth import accounts
from flowtrack.server.auth.deps import authenticated, principal, require_admin
from flowtrack.server.auth.errors import PermissionDenied
from flowtrack.server.auth.permissions import RESOURCE_KINDS, Permission, ResourceKind
from flowtrack.server.auth.repository import Grant, Token, User
from flowtrack.server.auth.service import AuthService, Principal
from flowtrack.server.state import get_state

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class NewUser(BaseModel):
    name: str
    password: str = Field(repr=False)
    is_admin: bool = False


class UserChange(BaseModel):
    password: str | None = Field(default=None, repr=False)
    is_admin: bool | None = None


class NewToken(BaseModel):
    name: str
    expires_in: str | None = Field(default=None, description="e.g. 90d, 12h; none: never")


class GrantRequest(BaseModel):
    user: str
    permission: str = Field(description="READ, EDIT, MANAGE or NONE")
    experiment: str | None = Field(default=None, description="experiment name or id")
    registered_model: str | None = None


def _service(request: Request) -> AuthService:
    auth: AuthService | None = get_state(request).auth
    if auth is None:
        raise HTTPException(404, "authentication is off on this server; start it with --auth")
    return auth


def _me(request: Request) -> Principal:
    who = principal(request)
    assert who is not None  # auth is on (checked by _service first)
    return who


def _self_or_admin(request: Request, name: str) -> AuthService:
    auth = _service(request)
    who = _me(request)
    if not who.is_admin and who.name != name:
        raise PermissionDenied(f"user {who.name!r} may only manage their own account")
    return auth


def _user(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "is_admin": user.is_admin,
        "creation_time": user.creation_time,
        "last_update_time": user.last_update_time,
    }


def _token(token: Token) -> dict[str, Any]:
    return {
        "user": token.user_name,
        "name": token.name,
        "creation_time": token.creation_time,
        "expiry_time": token.expiry_time,
    }


def _grant(grant: Grant) -> dict[str, Any]:
    return {
        "resource_type": grant.kind,
        "resource_id": str(grant.resource_id),
        "resource_name": grant.resource_name,
        "user": grant.user_name,
        "permission": grant.permission.name,
    }


@router.get("/whoami", dependencies=[Depends(authenticated)])
def whoami(request: Request) -> dict[str, Any]:
    auth: AuthService | None = get_state(request).auth
    who = principal(request)
    return {
        "auth_enabled": auth is not None,
        "user": who.name if who else None,
        "is_admin": who.is_admin if who else None,
        "token_name": who.token_name if who else None,
        "default_permission": auth.default_permission.name if auth else None,
    }


@router.get("/users", dependencies=[Depends(require_admin)])
def list_users(request: Request) -> dict[str, Any]:
    return {"users": [_user(u) for u in _service(request).repo.list_users()]}


@router.post("/users", dependencies=[Depends(require_admin)], status_code=201)
def create_user(request: Request, body: NewUser) -> dict[str, Any]:
    repo = _service(request).repo
    return {
        "user": _user(accounts.create_user(repo, body.name, body.password, is_admin=body.is_admin))
    }


@router.get("/users/{name}", dependencies=[Depends(authenticated)])
def get_user(request: Request, name: str) -> dict[str, Any]:
    return {"user": _user(accounts.user(_self_or_admin(request, name).repo, name))}


@router.patch("/users/{name}", dependencies=[Depends(authenticated)])
def update_user(request: Request, name: str, body: UserChange) -> dict[str, Any]:
    auth = _self_or_admin(request, name)
    if body.is_admin is not None:
        if not _me(request).is_admin:
            raise PermissionDenied("only an admin may make or unmake admins")
        accounts.set_admin(auth.repo, name, body.is_admin)
    if body.password is not None:
        accounts.set_password(auth.repo, name, body.password)
    return {"user": _user(accounts.user(auth.repo, name))}


@router.delete("/users/{name}", dependencies=[Depends(require_admin)])
def delete_user(request: Request, name: str) -> dict[str, Any]:
    accounts.delete_user(_service(request).repo, name)
    return {}


@router.get("/users/{name}/tokens", dependencies=[Depends(authenticated)])
def list_tokens(request: Request, name: str) -> dict[str, Any]:
    repo = _self_or_admin(request, name).repo
    return {"tokens": [_token(t) for t in repo.list_tokens(accounts.user(repo, name))]}


@router.post("/users/{name}/tokens", dependencies=[Depends(authenticated)], status_code=201)
def create_token(request: Request, name: str, body: NewToken) -> dict[str, Any]:
    repo = _self_or_admin(request, name).repo
    secret, token = accounts.create_token(
        repo, name, body.name, accounts.parse_duration(body.expires_in)
    )
    # The only time the token is ever shown: it is stored hashed.
    return {"token": secret, **_token(token)}


@router.delete("/users/{name}/tokens/{token_name}", dependencies=[Depends(authenticated)])
def revoke_token(request: Request, name: str, token_name: str) -> dict[str, Any]:
    accounts.revoke_token(_self_or_admin(request, name).repo, name, token_name)
    return {}


def _target(body_experiment: str | None, body_model: str | None) -> tuple[ResourceKind, str]:
    if (body_experiment is None) == (body_model is None):
        raise InvalidInputError(
            "resource", None, "give exactly one of 'experiment' and 'registered_model'"
        )
    if body_experiment is not None:
        return "experiment", body_experiment
    assert body_model is not None
    return "registered_model", body_model


def _must_manage(request: Request, kind: ResourceKind, ref: str) -> AuthService:
    auth = _service(request)
    resource_id, _ = accounts.resolve_resource(auth.repo, kind, ref)
    if kind == "experiment":
        auth.check(_me(request), Permission.MANAGE, experiment_ids=[resource_id])
    else:
        auth.check(_me(request), Permission.MANAGE, model_names=[ref])
    return auth


@router.get("/permissions", dependencies=[Depends(authenticated)])
def list_permissions(
    request: Request,
    user: str | None = None,
    experiment: str | None = None,
    registered_model: str | None = None,
) -> dict[str, Any]:
    """Grants, filtered by user and/or resource. Non-admins see their own grants, and all
    grants on a resource they MANAGE."""
    auth, who = _service(request), _me(request)
    if experiment is not None or registered_model is not None:
        kind, ref = _target(experiment, registered_model)
        resource_id, _ = accounts.resolve_resource(auth.repo, kind, ref)
        if not (who.is_admin or (user == who.name)):
            _must_manage(request, kind, ref)
        owner = accounts.user(auth.repo, user) if user else None
        grants = auth.repo.list_grants(kind, user=owner, resource_id=resource_id)
    else:
        if user is None:
            user = who.name
        if not who.is_admin and user != who.name:
            raise PermissionDenied("only an admin may list another user's permissions")
        owner = accounts.user(auth.repo, user)
        grants = [g for k in RESOURCE_KINDS for g in auth.repo.list_grants(k, user=owner)]
    return {
        "permissions": [_grant(g) for g in grants],
        "default_permission": auth.default_permission.name,
    }


@router.put("/permissions", dependencies=[Depends(authenticated)])
def set_permission(request: Request, body: GrantRequest) -> dict[str, Any]:
    kind, ref = _target(body.experiment, body.registered_model)
    auth = _must_manage(request, kind, ref)
    return {"permission": _grant(accounts.grant(auth.repo, kind, ref, body.user, body.permission))}


@router.delete("/permissions", dependencies=[Depends(authenticated)])
def delete_permission(
    request: Request,
    user: str = Query(),
    experiment: str | None = None,
    registered_model: str | None = None,
) -> dict[str, Any]:
    kind, ref = _target(experiment, registered_model)
    auth = _must_manage(request, kind, ref)
    accounts.revoke(auth.repo, kind, ref, user)
    return {}
