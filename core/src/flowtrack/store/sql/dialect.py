"""The few statements whose spelling differs between SQLite and PostgreSQL.

Upsert statements are built once per (dialect, table, columns) and reused: building one costs
more than executing it for a small batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.cache
def _ignore_stmt(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=keys)


@functools.cache
def _upsert_stmt(
    dialect: str,
    table: Table,
    keys: tuple[str, ...],
    update: tuple[str, ...],
    where: Callable[[Any], Any] | None,
) -> Any:
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in update},
        where=where(stmt.excluded) if where is not None else None,
    )


def insert_ignore(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    if rows:
        conn.execute(_ignore_stmt(conn.dialect.name, table, tuple(keys)), rows)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Callable[[Any], Any] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update-columns [WHERE where(excluded)]."""
    if rows:
        stmt = _upsert_stmt(conn.dialect.name, table, tuple(keys), tuple(update), where)
        conn.execute(stmt, rows)
