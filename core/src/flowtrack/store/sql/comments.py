"""Discussions in the SQL store (the `comments` table), mixed into `SqlStore`.

Targets are checked in the transaction that writes the comment, so a comment never lands on a
run, dataset version or model version that does not exist. Model versions are stored under the
model's id (``"<model_id>/<version>"``) and shown under its current name.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, func, select
from sqlalchemy.orm import aliased

from flowtrack.comments import (
    DATASET_VERSION,
    MODEL_VERSION,
    RUN,
    Comment,
    model_version_key,
    validate_body,
    validate_comment_id,
    validate_kind,
    validate_target,
)
from flowtrack.entities import PagedList
from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.store.base import TrackingStore
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.store.sql import registry_rows, schema

C = schema.comments.c
MAX_PAGE = 5000


def _now() -> int:
    return int(time.time() * 1000)


class SqlComments(TrackingStore):
    """The discussion methods of `TrackingStore` for SQLite and PostgreSQL."""

    @abc.abstractmethod
    def _read(self) -> AbstractContextManager[Connection]: ...

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Connection]: ...

    def add_comment(
        self,
        target_kind: str,
        target_id: str,
        body: str,
        *,
        user: str = "",
        reply_to: int | None = None,
    ) -> Comment:
        kind, key = validate_target(target_kind, target_id)
        body = validate_body(body)
        parent = validate_comment_id(reply_to) if reply_to is not None else None
        now = _now()
        with self._write() as conn:
            stored = _stored_key(conn, kind, key)
            if parent is not None:
                parent = _thread_of(conn, parent, kind, stored)
            row = {
                "target_kind": kind,
                "target_id": stored,
                "reply_to": parent,
                "author": (user or "")[:256],
                "body": body,
                "created_time": now,
                "updated_time": now,
                "deleted": False,
            }
            comment_id = conn.execute(
                schema.comments.insert().values(row).returning(C.comment_id)
            ).scalar_one()
            return _to_comment(conn, _row(conn, int(comment_id)), key)

    def get_comment(self, comment_id: int) -> Comment:
        with self._read() as conn:
            return _to_comment(conn, _row(conn, validate_comment_id(comment_id)))

    def list_comments(
        self,
        target_kind: str,
        target_id: str,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        kind, key = validate_target(target_kind, target_id)
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_PAGE:
            raise InvalidInputError("max_results", max_results, f"must be between 1 and {MAX_PAGE}")
        offset = decode_token(page_token)
        reply = aliased(schema.comments)
        live_reply = exists().where(reply.c.reply_to == C.comment_id, reply.c.deleted.is_(False))
        with self._read() as conn:
            stored = _stored_key(conn, kind, key)
            rows = conn.execute(
                select(schema.comments)
                .where(C.target_kind == kind, C.target_id == stored)
                .where(C.deleted.is_(False) | live_reply)
                .order_by(C.comment_id)
                .offset(offset)
                .limit(max_results + 1)
            ).all()
        items = [_comment(r, key) for r in rows[:max_results]]
        token = encode_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(items, token)

    def update_comment(self, comment_id: int, body: str) -> Comment:
        comment_id = validate_comment_id(comment_id)
        body = validate_body(body)
        with self._write() as conn:
            _row(conn, comment_id)  # 404 for an unknown or deleted comment
            conn.execute(
                schema.comments.update()
                .where(C.comment_id == comment_id)
                .values(body=body, updated_time=_now())
            )
            return _to_comment(conn, _row(conn, comment_id))

    def delete_comment(self, comment_id: int) -> None:
        comment_id = validate_comment_id(comment_id)
        with self._write() as conn:
            _row(conn, comment_id)
            conn.execute(
                schema.comments.update()
                .where(C.comment_id == comment_id)
                .values(deleted=True, body="", updated_time=_now())
            )

    def count_comments(self, target_kind: str, target_ids: Sequence[str]) -> dict[str, int]:
        kind = validate_kind(target_kind)
        keys = [validate_target(kind, k)[1] for k in dict.fromkeys(target_ids)]
        counts = dict.fromkeys(keys, 0)
        if not keys:
            return counts
        with self._read() as conn:
            stored = _stored_keys(conn, kind, keys)
            if not stored:
                return counts
            rows = conn.execute(
                select(C.target_id, func.count())
                .where(C.target_kind == kind, C.target_id.in_(list(stored)), C.deleted.is_(False))
                .group_by(C.target_id)
            )
            for target, n in rows:
                counts[stored[target]] = int(n)
        return counts


def _stored_key(conn: Connection, kind: str, key: str) -> str:
    """The key the table holds for a target, after checking that the target exists."""
    if kind == RUN:
        r = schema.runs.c
        if conn.execute(select(r.run_id).where(r.run_id == key)).first() is None:
            raise NotFoundError("run", key, "list runs with `flowtrack runs list`")
        return key
    if kind == DATASET_VERSION:
        d = schema.dataset_versions.c
        if conn.execute(select(d.version_id).where(d.version_id == key)).first() is None:
            raise NotFoundError("dataset version", key, "list them with `flowtrack data ...`")
        return key
    name, version = model_version_key(key)
    model = registry_rows.model(conn, name)
    registry_rows.version_of(conn, model, version)  # NotFoundError naming the version
    return f"{model.model_id}/{version}"


def _stored_keys(conn: Connection, kind: str, keys: list[str]) -> dict[str, str]:
    """stored key -> key, for the targets that exist (counting needs no error for the others)."""
    if kind != MODEL_VERSION:
        return {k: k for k in keys}
    parsed = {k: model_version_key(k) for k in keys}
    m = schema.registered_models.c
    names = sorted({name for name, _ in parsed.values()})
    rows = conn.execute(select(m.name, m.model_id).where(m.name.in_(names)))
    ids = {name: model_id for name, model_id in rows}
    return {f"{ids[n]}/{v}": k for k, (n, v) in parsed.items() if n in ids}


def _thread_of(conn: Connection, parent: int, kind: str, stored: str) -> int:
    """The thread a reply to ``parent`` joins: the parent's own thread if it is a reply."""
    found = conn.execute(
        select(C.comment_id, C.reply_to).where(
            and_(
                C.comment_id == parent,
                C.target_kind == kind,
                C.target_id == stored,
                C.deleted.is_(False),
            )
        )
    ).first()
    if found is None:
        raise NotFoundError("comment", str(parent), "reply_to must be a comment on the same target")
    return int(found.reply_to or found.comment_id)


def _row(conn: Connection, comment_id: int) -> Row[Any]:
    row = conn.execute(
        select(schema.comments).where(C.comment_id == comment_id, C.deleted.is_(False))
    ).first()
    if row is None:
        raise NotFoundError("comment", str(comment_id))
    return row


def _to_comment(conn: Connection, row: Row[Any], key: str | None = None) -> Comment:
    if key is None:
        key = row.target_id
        if row.target_kind == MODEL_VERSION:
            model_id, _, version = row.target_id.partition("/")
            m = schema.registered_models.c
            name = conn.execute(select(m.name).where(m.model_id == int(model_id))).scalar()
            # A deleted model's comments keep its id where the name was.
            key = f"{name if name is not None else '#' + model_id}/{version}"
    return _comment(row, key)


def _comment(row: Row[Any], key: str) -> Comment:
    return Comment(
        comment_id=int(row.comment_id),
        target_kind=row.target_kind,
        target_id=key,
        author=row.author,
        body=row.body,
        created_time=int(row.created_time),
        updated_time=int(row.updated_time),
        reply_to=int(row.reply_to) if row.reply_to is not None else None,
        deleted=bool(row.deleted),
    )
