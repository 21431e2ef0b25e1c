"""Users, tokens and permission grants in the tracking database (SQLAlchemy Core).

The tables come from migration 0004 (store/sql/schema.py); this class only reads and writes
them, plus the few lookups permission checks need (a run's experiment, a model's id).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from flowtrack.errors import ConflictError, InvalidInputError, StoreUnavailableError
from flowtrack.server.auth.permissions import Permission, ResourceKind
from flowtrack.store.sql import schema

U, T = schema.users.c, schema.api_tokens.c
MAX_NAME_LENGTH = 256
# No ':' (HTTP Basic splits user:password at the first one) and nothing that needs quoting.
_USER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+\-]*")


def check_user_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInputError("user name", name, "must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError("user name", name, "is longer than 256 characters")
    if not _USER_RE.fullmatch(name):
        raise InvalidInputError(
            "user name",
            name,
            "may contain letters, digits and _ . @ + - and must start with a letter or digit",
        )
    return name


def check_token_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("token name", name, "must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError("token name", name, "is longer than 256 characters")
    return name


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    is_admin: bool
    creation_time: int
    last_update_time: int


@dataclass(frozen=True)
class Token:
    token_id: int
    user_name: str
    name: str
    creation_time: int
    expiry_time: int | None


@dataclass(frozen=True)
class Grant:
    kind: ResourceKind
    resource_id: int
    resource_name: str
    user_name: str
    permission: Permission


_GRANT_TABLES: dict[ResourceKind, tuple[Table, str, Table, str]] = {
    # kind: (grant table, its resource column, resource table, the resource's name column)
    "experiment": (schema.experiment_permissions, "experiment_id", schema.experiments, "name"),
    "registered_model": (
        schema.registered_model_permissions,
        "model_id",
        schema.registered_models,
        "name",
    ),
}


def _user(row: object) -> User:
    return User(
        int(row.user_id),  # type: ignore[attr-defined]
        str(row.name),  # type: ignore[attr-defined]
        bool(row.is_admin),  # type: ignore[attr-defined]
        int(row.creation_time),  # type: ignore[attr-defined]
        int(row.last_update_time),  # type: ignore[attr-defined]
    )


class AuthRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- plumbing --------------------------------------------------------------------
    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise ConflictError(str(exc.orig)) from exc
        except DBAPIError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise StoreUnavailableError(f"auth database {url} failed: {exc.orig}") from exc

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._faults(), self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._faults(), self.engine.connect() as raw:
            conn = raw.execution_options(flowtrack_write=True)
            with conn.begin():
                yield conn

    # -- users -----------------------------------------------------------------------
    def create_user(self, name: str, password_hash: str, *, is_admin: bool = False) -> User:
        check_user_name(name)
        now = now_ms()
        with self._write() as conn:
            if conn.execute(select(U.user_id).where(U.name == name)).first():
                raise ConflictError(f"user {name!r} already exists")
            conn.execute(
                schema.users.insert().values(
                    name=name,
                    password_hash=password_hash,
                    is_admin=is_admin,
                    creation_time=now,
                    last_update_time=now,
                )
            )
            return _user(conn.execute(select(schema.users).where(U.name == name)).one())

    def get_user(self, name: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(schema.users).where(U.name == name)).first()
        return _user(row) if row else None

    def get_credentials(self, name: str) -> tuple[User, str] | None:
        """The user and their password hash, for checking a password."""
        with self._read() as conn:
            row = conn.execute(select(schema.users).where(U.name == name)).first()
        return (_user(row), str(row.password_hash)) if row else None

    def list_users(self) -> list[User]:
        with self._read() as conn:
            rows = conn.execute(select(schema.users).order_by(U.name)).all()
        return [_user(r) for r in rows]

    def update_user(
        self, name: str, *, password_hash: str | None = None, is_admin: bool | None = None
    ) -> bool:
        values: dict[str, object] = {"last_update_time": now_ms()}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        with self._write() as conn:
            done = conn.execute(schema.users.update().where(U.name == name).values(**values))
            if is_admin is False and done.rowcount and self._admins(conn) == 0:
                raise ConflictError(f"{name!r} is the last admin; make another user admin first")
        return bool(done.rowcount)

    def delete_user(self, name: str) -> bool:
        """Delete the user with their tokens and grants (SQLite does not cascade)."""
        with self._write() as conn:
            row = conn.execute(select(U.user_id, U.is_admin).where(U.name == name)).first()
            if row is None:
                return False
            uid = int(row.user_id)
            conn.execute(schema.api_tokens.delete().where(T.user_id == uid))
            for table, *_ in _GRANT_TABLES.values():
                conn.execute(table.delete().where(table.c.user_id == uid))
            conn.execute(schema.users.delete().where(U.user_id == uid))
            if row.is_admin and self._admins(conn) == 0:
                # Raising rolls the transaction back: a server nobody can administer is worse.
                raise ConflictError(f"{name!r} is the last admin; make another user admin first")
        return True

    def count_admins(self) -> int:
        with self._read() as conn:
            return self._admins(conn)

    @staticmethod
    def _admins(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).where(U.is_admin.is_(True))).scalar_one())

    # -- tokens ----------------------------------------------------------------------
    def create_token(self, user: User, name: str, digest: str, expiry_time: int | None) -> Token:
        check_token_name(name)
        now = now_ms()
        with self._write() as conn:
            taken = select(T.token_id).where(T.user_id == user.user_id, T.name == name)
            if conn.execute(taken).first():
                raise ConflictError(
                    f"user {user.name!r} already has a token named {name!r}; revoke it first "
                    "or choose another name"
                )
            conn.execute(
                schema.api_tokens.insert().values(
                    user_id=user.user_id,
                    name=name,
                    token_hash=digest,
                    creation_time=now,
                    expiry_time=expiry_time,
                )
            )
            token_id = conn.execute(taken).scalar_one()
        return Token(int(token_id), user.name, name, now, expiry_time)

    def token_owner(self, digest: str) -> tuple[User, Token] | None:
        query = (
            select(
                schema.users,
                T.token_id,
                T.name.label("token_name"),
                T.creation_time.label("token_time"),
                T.expiry_time,
            )
            .join(schema.api_tokens, T.user_id == U.user_id)
            .where(T.token_hash == digest)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        user = _user(row)
        token = Token(
            int(row.token_id), user.name, str(row.token_name), int(row.token_time), row.expiry_time
        )
        return user, token

    def list_tokens(self, user: User | None = None) -> list[Token]:
        query = (
            select(T.token_id, U.name.label("user_name"), T.name, T.creation_time, T.expiry_time)
            .join(schema.users, T.user_id == U.user_id)
            .order_by(U.name, T.name)
        )
        if user is not None:
            query = query.where(T.user_id == user.user_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            Token(
                int(r.token_id), str(r.user_name), str(r.name), int(r.creation_time), r.expiry_time
            )
            for r in rows
        ]

    def delete_token(self, user: User, name: str) -> bool:
        with self._write() as conn:
            done = conn.execute(
                schema.api_tokens.delete().where(T.user_id == user.user_id, T.name == name)
            )
        return bool(done.rowcount)

    # -- permission grants -------------------------------------------------------------
    def set_permission(
        self, kind: ResourceKind, resource_id: int, user: User, permission: Permission
    ) -> None:
        table, column, *_ = _GRANT_TABLES[kind]
        key = (table.c[column] == resource_id) & (table.c.user_id == user.user_id)
        with self._write() as conn:
            # Read-then-write under the write lock (BEGIN IMMEDIATE on SQLite); on PostgreSQL
            # a concurrent first grant surfaces as ConflictError and the caller may retry.
            if conn.execute(select(table.c.user_id).where(key)).first():
                conn.execute(table.update().where(key).values(permission=permission.name))
            else:
                conn.execute(
                    table.insert().values(
                        {
                            column: resource_id,
                            "user_id": user.user_id,
                            "permission": permission.name,
                        }
                    )
                )

    def delete_permission(self, kind: ResourceKind, resource_id: int, user: User) -> bool:
        table, column, *_ = _GRANT_TABLES[kind]
        with self._write() as conn:
            done = conn.execute(
                table.delete().where(
                    table.c[column] == resource_id, table.c.user_id == user.user_id
                )
            )
        return bool(done.rowcount)

    def get_permissions(
        self, kind: ResourceKind, resource_ids: Iterable[int], user_id: int
    ) -> dict[int, Permission]:
        """Explicit grants of one user on these resources (missing ones have none)."""
        table, column, *_ = _GRANT_TABLES[kind]
        ids = sorted(set(resource_ids))
        if not ids:
            return {}
        query = select(table.c[column], table.c.permission).where(
            table.c.user_id == user_id, table.c[column].in_(ids)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return {int(r[0]): Permission[str(r[1])] for r in rows}

    def list_grants(
        self,
        kind: ResourceKind,
        *,
        user: User | None = None,
        resource_id: int | None = None,
    ) -> list[Grant]:
        table, column, resource, name_column = _GRANT_TABLES[kind]
        query = (
            select(table.c[column], resource.c[name_column], U.name, table.c.permission)
            .join(resource, resource.c[column] == table.c[column])
            .join(schema.users, U.user_id == table.c.user_id)
            .order_by(table.c[column], U.name)
        )
        if user is not None:
            query = query.where(table.c.user_id == user.user_id)
        if resource_id is not None:
            query = query.where(table.c[column] == resource_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [Grant(kind, int(r[0]), str(r[1]), str(r[2]), Permission[str(r[3])]) for r in rows]

    # -- the resources permissions are about ---------------------------------------------
    def experiment_exists(self, experiment_id: int) -> bool:
        E = schema.experiments.c
        with self._read() as conn:
            found = conn.execute(
                select(E.experiment_id).where(E.experiment_id == experiment_id)
            ).first()
        return found is not None

    def experiment_id_by_name(self, name: str) -> int | None:
        E = schema.experiments.c
        with self._read() as conn:
            found = conn.execute(select(E.experiment_id).where(E.name == name)).first()
        return int(found[0]) if found else None

    def experiments_of_runs(self, run_ids: Sequence[str]) -> dict[str, int]:
        R = schema.runs.c
        if not run_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                select(R.run_id, R.experiment_id).where(R.run_id.in_(sorted(set(run_ids))))
            ).all()
        return {str(r[0]): int(r[1]) for r in rows}

    def model_id(self, name: str) -> int | None:
        M = schema.registered_models.c
        with self._read() as conn:
            found = conn.execute(select(M.model_id).where(M.name == name)).first()
        return int(found[0]) if found else None
