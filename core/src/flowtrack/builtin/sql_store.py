"""Built-in plugin: the SQL tracking store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence

from flowtrack.hookspecs import hookimpl
from flowtrack.plugins.records import StoreSpec
from flowtrack.store.base import TrackingStore


def _factory(uri: str) -> TrackingStore:
    from flowtrack.store.sql.store import SqlStore

    return SqlStore(uri)


@hookimpl
def flowtrack_register_stores() -> Sequence[StoreSpec]:
    return [StoreSpec("sql", ("sqlite", "postgresql", "postgres"), _factory)]
