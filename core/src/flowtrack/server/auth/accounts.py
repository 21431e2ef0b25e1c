"""Managing users, tokens and grants: what the ``flowtrack users`` commands and the
``/api/v1/auth`` endpoints both do, so the two cannot disagree on the rules."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.server.auth import credentials
from flowtrack.server.auth.permissions import Permission, ResourceKind, check_kind
from flowtrack.server.auth.repository import AuthRepository, Grant, Token, User, now_ms

ENV_ADMIN_USERNAME = "FLOWTRACK_ADMIN_USERNAME"
ENV_ADMIN_PASSWORD = "FLOWTRACK_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a secret
DEFAULT_ADMIN_NAME = "admin"
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def user(repo: AuthRepository, name: str) -> User:
    found = repo.get_user(name)
    if found is None:
        raise NotFoundError("user", name, "list users with `flowtrack users list`")
    return found


def create_user(repo: AuthRepository, name: str, password: str, *, is_admin: bool = False) -> User:
    return repo.create_user(name, credentials.hash_password(password), is_admin=is_admin)


def set_password(repo: AuthRepository, name: str, password: str) -> None:
    if not repo.update_user(name, password_hash=credentials.hash_password(password)):
        raise NotFoundError("user", name)


def set_admin(repo: AuthRepository, name: str, is_admin: bool) -> None:
    if not repo.update_user(name, is_admin=is_admin):
        raise NotFoundError("user", name)


def delete_user(repo: AuthRepository, name: str) -> None:
    if not repo.delete_user(name):
        raise NotFoundError("user", name)


def parse_duration(text: str | None) -> int | None:
    """Seconds in '90d', '12h', '30m', '1w2d' (None, '' or 'never': no expiry)."""
    if text is None or text.strip().lower() in ("", "never", "none"):
        return None
    compact = text.strip().lower()
    matches = list(_DURATION_RE.finditer(compact))
    if not matches or "".join(m.group(0) for m in matches).replace(" ", "") != compact.replace(
        " ", ""
    ):
        raise InvalidInputError(
            "expiry", text, "must be a duration like 90d, 12h, 30m, 1w or 'never'"
        )
    seconds = sum(int(m.group(1)) * _UNITS[m.group(2)] for m in matches)
    if seconds <= 0:
        raise InvalidInputError("expiry", text, "must be longer than zero")
    return seconds


def create_token(
    repo: AuthRepository, user_name: str, token_name: str, expires_in_s: int | None = None
) -> tuple[str, Token]:
    """A new token for the user: (the token itself, shown only now; its record)."""
    owner = user(repo, user_name)
    secret = credentials.new_token()
    expiry = now_ms() + expires_in_s * 1000 if expires_in_s else None
    return secret, repo.create_token(owner, token_name, credentials.token_digest(secret), expiry)


def revoke_token(repo: AuthRepository, user_name: str, token_name: str) -> None:
    if not repo.delete_token(user(repo, user_name), token_name):
        raise NotFoundError(
            "token",
            token_name,
            f"list the tokens of {user_name!r} with `flowtrack users token list`",
        )


def resolve_resource(repo: AuthRepository, kind: ResourceKind, ref: str) -> tuple[int, str]:
    """(id, name) of an experiment (given by id or name) or a registered model (by name)."""
    check_kind(kind)
    if kind == "experiment":
        by_name = repo.experiment_id_by_name(ref)
        if by_name is not None:
            return by_name, ref
        if ref.strip().isdigit() and repo.experiment_exists(int(ref)):
            return int(ref), ref
        raise NotFoundError("experiment", ref, "give its name or id")
    model_id = repo.model_id(ref)
    if model_id is None:
        raise NotFoundError("registered model", ref)
    return model_id, ref


def grant(
    repo: AuthRepository, kind: ResourceKind, ref: str, user_name: str, permission: str
) -> Grant:
    level = Permission.parse(permission)
    resource_id, name = resolve_resource(repo, kind, ref)
    repo.set_permission(kind, resource_id, user(repo, user_name), level)
    return Grant(kind, resource_id, name, user_name, level)


def revoke(repo: AuthRepository, kind: ResourceKind, ref: str, user_name: str) -> None:
    resource_id, _ = resolve_resource(repo, kind, ref)
    if not repo.delete_permission(kind, resource_id, user(repo, user_name)):
        raise NotFoundError(
            "permission", f"{user_name} on {kind} {ref}", "the user has only the default"
        )


def bootstrap_admin(
    repo: AuthRepository,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> str | None:
    """Make sure the server has an admin; return the name of the one created, if any.

    With ``FLOWTRACK_ADMIN_USERNAME`` and ``FLOWTRACK_ADMIN_PASSWORD`` set, that user is
    created. Otherwise a random password is generated and written to ``stream`` (stderr) this
    once; it is stored only hashed. There is no built-in default password.
    """
    environ = os.environ if environ is None else environ
    if repo.count_admins() > 0:
        return None
    name = environ.get(ENV_ADMIN_USERNAME, "").strip() or DEFAULT_ADMIN_NAME
    password = environ.get(ENV_ADMIN_PASSWORD) or ""
    generated = not password
    if generated:
        password = credentials.generate_password()
    else:
        try:
            credentials.check_password_text(password)
        except InvalidInputError as exc:
            raise InvalidInputError(ENV_ADMIN_PASSWORD, "***", exc.reason) from None
    if repo.get_user(name) is not None:
        raise ConflictError(
            f"the server has no admin and a user {name!r} already exists: make them admin with "
            f"`flowtrack users set-admin {name}`, or set {ENV_ADMIN_USERNAME} to a new name"
        )
    try:
        create_user(repo, name, password, is_admin=True)
    except ConflictError:
        # Another server process on the same database created the admin at the same moment.
        if repo.count_admins() > 0:
            return None
        raise
    if generated:
        out = stream if stream is not None else sys.stderr
        # Straight to the terminal, never through logging: log files get shipped and kept.
        out.write(
            f"\nflowtrack: created the admin user {name!r} with the password:\n\n"
            f"    {password}\n\n"
            "It is shown only this once and stored only hashed. Change it with "
            f"`flowtrack users set-password {name}`, or set {ENV_ADMIN_USERNAME} and "
            f"{ENV_ADMIN_PASSWORD} before the first start.\n\n"
        )
        out.flush()
    return name
