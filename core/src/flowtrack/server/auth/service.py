"""Who is calling (authentication) and what they may do (permission resolution).

A user's permission on an experiment or registered model is, in order: MANAGE for admins;
else their explicit grant on it (the creator gets MANAGE when it is created); else the server's
default permission (READ unless configured). A run's permission is its experiment's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.server.auth import credentials
from flowtrack.server.auth.errors import AuthenticationRequired, PermissionDenied
from flowtrack.server.auth.permissions import Permission, ResourceKind
from flowtrack.server.auth.repository import AuthRepository, User
from flowtrack.server.auth.throttle import LoginThrottle

# How long a successful password check is remembered, so that a client sending Basic
# credentials with every request pays for scrypt once a minute rather than every time. A
# changed password or a deleted user takes effect at once: the user row is read every time.
LOGIN_CACHE_SECONDS = 60.0
_LOGIN_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    user_id: int
    is_admin: bool
    # The name of the API token used, or None for a password.
    token_name: str | None = None


def experiment_id_int(value: object) -> int:
    text = str(value).strip() if isinstance(value, str | int) else None
    if text is None or not text.isdigit() or len(text) > 18:
        raise InvalidInputError("experiment_id", value, "must be an experiment id (digits)")
    return int(text)


class AuthService:
    """What ``ServerState.auth`` holds when the server runs with ``--auth``."""

    def __init__(
        self, engine: Engine, *, default_permission: Permission | str = Permission.READ
    ) -> None:
        self.repo = AuthRepository(engine)
        self.default_permission = Permission.parse(default_permission, "default permission")
        # A per-process key: cache entries are HMACs, so memory never holds a password.
        self._cache_key = secrets.token_bytes(32)
        self._logins: dict[bytes, float] = {}
        self._lock = threading.Lock()
        # Each scrypt check takes 32 MiB and ~0.3 s of a core: a burst of (bad) logins must not
        # take all the memory and CPU, so only a few run at once and the rest wait their turn.
        self._hashing = threading.BoundedSemaphore(max(2, min(4, os.cpu_count() or 2)))
        self.throttle = LoginThrottle()

    # -- authentication ----------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization`` header; `AuthenticationRequired` if none."""
        if not authorization or not authorization.strip():
            raise AuthenticationRequired(
                "this server requires authentication: send HTTP Basic credentials (user name "
                "and password, or an API token as the password) or 'Authorization: Bearer "
                "<token>'"
            )
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return self.token_login(value)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationRequired(
                    "malformed Basic credentials: expected base64 of 'user:password'"
                ) from None
            name, sep, password = decoded.partition(":")
            if not sep:
                raise AuthenticationRequired(
                    "malformed Basic credentials: expected base64 of 'user:password'"
                )
            if credentials.looks_like_token(password):
                # A token as the password (for clients that only do Basic); a password that
                # merely looks like one is still checked as a password below.
                principal = self._token_principal(password)
                if principal is not None:
                    if principal.name != name:
                        raise AuthenticationRequired("invalid token: it belongs to another user")
                    return principal
            return self.password_login(name, password)
        raise AuthenticationRequired(
            f"unsupported authorization scheme {scheme[:20]!r}: use Basic or Bearer"
        )

    def password_login(self, name: str, password: str) -> Principal:
        found = self.repo.get_credentials(name)
        if found is None:
            self.throttle.check(name)
            with self._hashing:
                credentials.burn_time(password)
            self.throttle.failed(name)
            raise AuthenticationRequired("invalid user name or password")
        user, stored = found
        key = hmac.new(
            self._cache_key, f"{name}\0{password}\0{stored}".encode(), hashlib.sha256
        ).digest()
        now = time.monotonic()
        with self._lock:
            fresh = self._logins.get(key, 0.0) > now
        if not fresh:
            # A password checked recently passes above even while the name is locked out: a
            # running client is not stopped by someone guessing its password.
            self.throttle.check(name)
            with self._hashing:
                matches = credentials.verify_password(password, stored)
            if not matches:
                self.throttle.failed(name)
                raise AuthenticationRequired("invalid user name or password")
            self.throttle.succeeded(name)
            with self._lock:
                if len(self._logins) >= _LOGIN_CACHE_MAX:
                    self._logins = {k: t for k, t in self._logins.items() if t > now}
                    if len(self._logins) >= _LOGIN_CACHE_MAX:
                        self._logins.clear()
                self._logins[key] = now + LOGIN_CACHE_SECONDS
        return Principal(user.name, user.user_id, user.is_admin)

    def token_login(self, token: str) -> Principal:
        principal = self._token_principal(token)
        if principal is None:
            raise AuthenticationRequired(
                "invalid API token: it is unknown or was revoked; create one with "
                "`flowtrack users token create`"
            )
        return principal

    def _token_principal(self, token: str) -> Principal | None:
        """The owner of a live token; None for an unknown one; refused when expired."""
        found = self.repo.token_owner(credentials.token_digest(token)) if token else None
        if found is None:
            return None
        user, record = found
        if record.expiry_time is not None and record.expiry_time <= time.time() * 1000:
            raise AuthenticationRequired(
                f"API token {record.name!r} of user {user.name!r} has expired; create a new one"
            )
        return Principal(user.name, user.user_id, user.is_admin, token_name=record.name)

    # -- permissions -------------------------------------------------------------------
    def effective(
        self, principal: Principal, kind: ResourceKind, resource_ids: Iterable[int]
    ) -> dict[int, Permission]:
        ids = set(resource_ids)
        if principal.is_admin:
            return dict.fromkeys(ids, Permission.MANAGE)
        explicit = self.repo.get_permissions(kind, ids, principal.user_id)
        return {i: explicit.get(i, self.default_permission) for i in ids}

    def check(
        self,
        principal: Principal,
        needed: Permission,
        *,
        experiment_ids: Sequence[object] = (),
        experiment_names: Sequence[str] = (),
        run_ids: Sequence[str] = (),
        model_names: Sequence[str] = (),
        skip_missing_runs: bool = False,
    ) -> None:
        """Raise `PermissionDenied` unless ``principal`` has ``needed`` on every resource named;
        `NotFoundError` for a run (unless ``skip_missing_runs``: the store refuses writes to
        them anyway), experiment name or model that does not exist."""
        if principal.is_admin:
            return  # admins bypass every check; the handler still reports what is missing
        # resource id -> (what to call it, the `flowtrack users grant` option naming it)
        experiments = {
            experiment_id_int(e): (f"experiment {e}", f"--experiment {e}") for e in experiment_ids
        }
        for name in experiment_names:
            found = self.repo.experiment_id_by_name(name)
            if found is None:
                raise NotFoundError("experiment", name)
            experiments[found] = (f"experiment {name!r}", f"--experiment {found}")
        if run_ids:
            owners = self.repo.experiments_of_runs(run_ids)
            for run_id in run_ids:
                if run_id not in owners:
                    if skip_missing_runs:
                        continue
                    raise NotFoundError("run", run_id)
                experiments.setdefault(
                    owners[run_id],
                    (f"the experiment of run {run_id}", f"--experiment {owners[run_id]}"),
                )
        models: dict[int, tuple[str, str]] = {}
        for name in model_names:
            model_id = self.repo.model_id(name)
            if model_id is None:
                raise NotFoundError("registered model", name)
            models[model_id] = (f"registered model {name!r}", f"--model {name}")
        for kind, labels in (("experiment", experiments), ("registered_model", models)):
            have = self.effective(principal, kind, labels)  # type: ignore[arg-type]
            for resource_id, (label, option) in labels.items():
                if have[resource_id] >= needed:
                    continue
                if kind == "experiment" and not self.repo.experiment_exists(resource_id):
                    raise NotFoundError("experiment", str(resource_id))
                raise PermissionDenied(
                    f"user {principal.name!r} has {have[resource_id].name} on {label}; this "
                    f"request needs {needed.name}. A user with MANAGE on it (or an admin) can "
                    f"grant it: flowtrack users grant {principal.name} {needed.name} {option}"
                )

    def readable(
        self, principal: Principal, kind: ResourceKind, resource_ids: Iterable[int]
    ) -> set[int]:
        """The subset of ``resource_ids`` the principal may READ (for filtering searches)."""
        have = self.effective(principal, kind, resource_ids)
        return {i for i, p in have.items() if p >= Permission.READ}

    def grant_creator(
        self,
        principal: Principal,
        *,
        experiment_id: object | None = None,
        model_name: str | None = None,
    ) -> None:
        """Give the creator of a new experiment or model MANAGE on it (admins need nothing)."""
        if principal.is_admin:
            return
        user = self._user(principal.name)
        if experiment_id is not None:
            self.repo.set_permission(
                "experiment", experiment_id_int(experiment_id), user, Permission.MANAGE
            )
        if model_name is not None:
            model_id = self.repo.model_id(model_name)
            if model_id is None:
                raise NotFoundError("registered model", model_name)
            self.repo.set_permission("registered_model", model_id, user, Permission.MANAGE)

    def _user(self, name: str) -> User:
        user = self.repo.get_user(name)
        if user is None:
            raise NotFoundError("user", name, "list users with `flowtrack users list`")
        return user
