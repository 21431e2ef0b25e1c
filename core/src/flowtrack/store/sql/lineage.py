"""Lineage reads of the SQL store: which dataset versions a run read or wrote, and back.

The writes are in ingest.py (the ``dataset`` and ``run_dataset`` events).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, or_, select

from flowtrack.entities import DatasetVersion, LifecycleStage
from flowtrack.store.sql import schema

V, L, R = schema.dataset_versions.c, schema.run_datasets.c, schema.runs.c


def _version(row: Row[Any]) -> DatasetVersion:
    return DatasetVersion(
        version_id=row.version_id,
        name=row.name,
        uri=row.uri,
        digest=row.digest,
        algorithm=row.algorithm,
        size=int(row.size),
        file_count=int(row.file_count),
        mode=row.mode,
        created_by_run_id=row.created_by_run_id,
        created_time=int(row.created_time),
    )


def run_datasets(conn: Connection, run_id: str, direction: str) -> list[DatasetVersion]:
    """The versions a run logged with ``direction``, by name then uri."""
    rows = conn.execute(
        select(schema.dataset_versions)
        .join(schema.run_datasets, L.version_id == V.version_id)
        .where(L.run_id == run_id, L.direction == direction)
        .order_by(V.name, V.uri, V.created_time)
    )
    return [_version(r) for r in rows]


def versions(conn: Connection, names_or_uris: list[str]) -> list[DatasetVersion]:
    """Versions whose name or uri is one of ``names_or_uris``, newest first."""
    rows = conn.execute(
        select(schema.dataset_versions)
        .where(or_(V.name.in_(names_or_uris), V.uri.in_(names_or_uris)))
        .order_by(V.created_time.desc(), V.version_id)
    )
    return [_version(r) for r in rows]


def versions_with_digests(conn: Connection, digests: list[str]) -> list[DatasetVersion]:
    """Versions whose digest is one of ``digests``, oldest first."""
    rows = conn.execute(
        select(schema.dataset_versions)
        .where(V.digest.in_(digests))
        .order_by(V.created_time, V.version_id)
    )
    return [_version(r) for r in rows]


def run_ids_with(conn: Connection, version_id: str, direction: str) -> list[str]:
    """Active runs that logged the version with ``direction``, in start order."""
    rows = conn.execute(
        select(R.run_id)
        .join(schema.run_datasets, L.run_id == R.run_id)
        .where(
            L.version_id == version_id,
            L.direction == direction,
            R.lifecycle_stage == LifecycleStage.ACTIVE,
        )
        .order_by(R.start_time, R.run_id)
    )
    return [r[0] for r in rows]
