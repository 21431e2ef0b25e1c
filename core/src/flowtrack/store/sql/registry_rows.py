"""Reads of the SQL store's registry: rows to entities (tags, aliases and latest versions
loaded in bulk), lookups that raise `NotFoundError` with a hint, search queries and the audit
trail. The writes are in registry.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, exists, func, literal, select

from flowtrack.entities import DatasetVersion, LifecycleStage
from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.registry import filters
from flowtrack.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, Stage
from flowtrack.registry.validation import validate_stage
from flowtrack.store.sql import schema
from flowtrack.store.sql.lineage import _version as dataset_version
from flowtrack.store.sql.search import _NUMERIC, _ByteOrder, _string_test

M = schema.registered_models.c
V = schema.model_versions.c
MT = schema.registered_model_tags.c
VT = schema.model_version_tags.c
A = schema.registered_model_aliases.c
VD = schema.model_version_datasets.c
EV = schema.registry_events.c

STAGE_ORDER = list(Stage)
MODELS_HINT = "see Client().search_registered_models() for the registered models"


# -- lookups ----------------------------------------------------------------------------------
def model(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    """The registered model's row; with ``lock``, locked until the transaction ends (on
    PostgreSQL; an SQLite writer holds the whole database already)."""
    if not isinstance(name, str):
        raise InvalidInputError("model name", name, f"must be a string, not {type(name).__name__}")
    query = select(schema.registered_models).where(M.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError("registered model", name, MODELS_HINT)
    return row


def version_of(conn: Connection, model_row: Row[Any], version: int) -> ModelVersion:
    found = versions(conn, [(model_row.model_id, version)])
    if not found:
        numbers = conn.execute(
            select(V.version).where(V.model_id == model_row.model_id).order_by(V.version).limit(20)
        ).scalars()
        listed = ", ".join(str(n) for n in numbers) or "none yet"
        raise NotFoundError(
            "model version",
            f"{model_row.name}/{version}",
            f"versions of {model_row.name!r}: {listed}",
        )
    return found[0]


def alias_target(conn: Connection, model_row: Row[Any], alias: str) -> int:
    version = conn.execute(
        select(A.version).where(A.model_id == model_row.model_id, A.alias == alias)
    ).scalar()
    if version is None:
        known = ", ".join(aliases_of(conn, model_row.model_id)) or "none"
        raise NotFoundError(
            "alias",
            f"{model_row.name}@{alias}",
            f"aliases of {model_row.name!r}: {known}; set one with set_alias(name, alias, version)",
        )
    return int(version)


def aliases_of(conn: Connection, model_id: int) -> dict[str, int]:
    rows = conn.execute(select(A.alias, A.version).where(A.model_id == model_id).order_by(A.alias))
    return {r.alias: int(r.version) for r in rows}


def run_artifact_uri(conn: Connection, run_id: str) -> str:
    r = schema.runs.c
    run = conn.execute(select(r.artifact_uri, r.lifecycle_stage).where(r.run_id == run_id)).first()
    if run is None:
        raise NotFoundError(
            "run",
            run_id,
            "a version's source must be an artifact of an existing run; if the run was just "
            "logged in this process, call flowtrack.flush() first",
        )
    if run.lifecycle_stage == LifecycleStage.DELETED:
        raise InvalidInputError("run_id", run_id, "is deleted; restore it first (restore_run)")
    return str(run.artifact_uri)


def run_inputs(conn: Connection, run_id: str) -> list[str]:
    """The ids of the dataset versions the run logged as inputs."""
    rd = schema.run_datasets.c
    rows = conn.execute(
        select(rd.version_id)
        .where(rd.run_id == run_id, rd.direction == "input")
        .order_by(rd.version_id)
    )
    return [r[0] for r in rows]


# -- entities ---------------------------------------------------------------------------------
def versions(conn: Connection, keys: Sequence[tuple[int, int]]) -> list[ModelVersion]:
    """Versions by (model_id, version), in the order asked; missing ones are left out."""
    if not keys:
        return []
    ids = sorted({k[0] for k in keys})
    wanted = set(keys)
    rows = {
        (r.model_id, r.version): r
        for r in conn.execute(
            select(schema.model_versions, M.name)
            .join(schema.registered_models, M.model_id == V.model_id)
            .where(V.model_id.in_(ids), V.version.in_(sorted({k[1] for k in keys})))
        )
        if (r.model_id, r.version) in wanted
    }
    tags: dict[tuple[int, int], dict[str, str]] = {}
    for t in conn.execute(select(schema.model_version_tags).where(VT.model_id.in_(ids))):
        tags.setdefault((t.model_id, t.version), {})[t.key] = t.value
    aliases: dict[tuple[int, int], list[str]] = {}
    for a in conn.execute(
        select(schema.registered_model_aliases).where(A.model_id.in_(ids)).order_by(A.alias)
    ):
        aliases.setdefault((a.model_id, a.version), []).append(a.alias)
    return [_to_version(rows[k], tags.get(k, {}), aliases.get(k, [])) for k in keys if k in rows]


def models(conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    ids = [r.model_id for r in rows]
    if not ids:
        return []
    tags: dict[int, dict[str, str]] = {}
    for t in conn.execute(select(schema.registered_model_tags).where(MT.model_id.in_(ids))):
        tags.setdefault(t.model_id, {})[t.key] = t.value
    aliases: dict[int, dict[str, int]] = {}
    for a in conn.execute(
        select(schema.registered_model_aliases).where(A.model_id.in_(ids)).order_by(A.alias)
    ):
        aliases.setdefault(a.model_id, {})[a.alias] = int(a.version)
    latest = latest_by_stage(conn, ids)
    keys = [(i, n) for i in ids for s in STAGE_ORDER if (n := latest.get(i, {}).get(s))]
    id_of = {r.name: r.model_id for r in rows}
    latest_versions: dict[int, list[ModelVersion]] = {}
    for mv in versions(conn, keys):
        latest_versions.setdefault(id_of[mv.name], []).append(mv)
    return [
        RegisteredModel(
            name=r.name,
            creation_timestamp=int(r.creation_time),
            last_updated_timestamp=int(r.last_updated_time),
            description=r.description,
            latest_versions=latest_versions.get(r.model_id, []),
            tags=tags.get(r.model_id, {}),
            aliases=aliases.get(r.model_id, {}),
        )
        for r in rows
    ]


def latest_by_stage(conn: Connection, model_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """model_id -> stage -> the highest version in that stage."""
    rows = conn.execute(
        select(V.model_id, V.current_stage, func.max(V.version))
        .where(V.model_id.in_(list(model_ids)))
        .group_by(V.model_id, V.current_stage)
    )
    out: dict[int, dict[str, int]] = {}
    for model_id, stage, version in rows:
        out.setdefault(model_id, {})[stage] = int(version)
    return out


def version_datasets(conn: Connection, model_id: int, version: int) -> list[DatasetVersion]:
    dv = schema.dataset_versions
    rows = conn.execute(
        select(dv)
        .join(schema.model_version_datasets, VD.dataset_version_id == dv.c.version_id)
        .where(VD.model_id == model_id, VD.version == version)
        .order_by(dv.c.name, dv.c.uri, dv.c.created_time)
    )
    return [dataset_version(r) for r in rows]


def events(conn: Connection, name: str, version: int | None) -> list[RegistryEvent]:
    """The audit trail of a model (or one version), oldest first."""
    model_id = conn.execute(select(M.model_id).where(M.name == name)).scalar()
    if model_id is None:
        # A deleted model's events stay: the last model deleted under this name is meant.
        model_id = conn.execute(
            select(EV.model_id)
            .where(EV.name == name, EV.model_id.not_in(select(M.model_id)))
            .order_by(EV.event_id.desc())
            .limit(1)
        ).scalar()
        if model_id is None:
            raise NotFoundError("registered model", name, MODELS_HINT)
    query = select(schema.registry_events).where(EV.model_id == model_id)
    if version is not None:
        query = query.where(EV.version == version)
    rows = conn.execute(query.order_by(EV.event_id)).all()
    return [
        RegistryEvent(
            event_id=int(r.event_id),
            timestamp=int(r.time),
            user=r.user_id,
            action=r.action,
            name=r.name,
            version=r.version,
            detail=json.loads(r.detail),
        )
        for r in rows
    ]


# -- searches ---------------------------------------------------------------------------------
def model_search(clauses: list[filters.Clause], orders: list[tuple[str, bool]]) -> Select[Any]:
    query = select(schema.registered_models)
    for clause in clauses:
        if clause.kind == filters.TAG:
            match = _string_test(MT.value, clause.op, clause.value)
            query = query.where(
                exists().where(MT.model_id == M.model_id, MT.key == clause.key, match)
            )
        else:
            query = query.where(_string_test(M.name, clause.op, clause.value))
    columns = {"name": M.name, "creation_time": M.creation_time}
    columns["last_updated_time"] = M.last_updated_time
    return query.order_by(*_ordering(orders, columns), _ByteOrder(M.name), M.model_id)


def version_search(clauses: list[filters.Clause], orders: list[tuple[str, bool]]) -> Select[Any]:
    """(model_id, version) of the matching versions; by name, then newest version first."""
    query = select(V.model_id, V.version).join(schema.registered_models, M.model_id == V.model_id)
    for clause in clauses:
        query = query.where(_version_condition(clause))
    columns = {
        "name": M.name,
        "version": V.version,
        "creation_time": V.creation_time,
        "last_updated_time": V.last_updated_time,
    }
    return query.order_by(*_ordering(orders, columns), _ByteOrder(M.name), V.version.desc())


def _ordering(orders: list[tuple[str, bool]], columns: dict[str, Any]) -> list[Any]:
    out = []
    for name, ascending in orders:
        # Names sort by code point on both backends, so pages are the same everywhere.
        column = _ByteOrder(columns[name]) if name == "name" else columns[name]
        out.append(column.asc() if ascending else column.desc())
    return out


def _version_condition(clause: filters.Clause) -> Any:
    if clause.kind == filters.TAG:
        match = _string_test(VT.value, clause.op, clause.value)
        return exists().where(
            VT.model_id == V.model_id, VT.version == V.version, VT.key == clause.key, match
        )
    if clause.key == "version":
        return _NUMERIC[clause.op](V.version, literal(clause.value))
    column = M.name if clause.key == "name" else getattr(V, clause.key)
    value = clause.value
    if clause.key == "current_stage" and clause.op in ("=", "!=", "IN", "NOT IN"):
        # Stages are given in any case everywhere else, so here too.
        if isinstance(value, tuple):
            value = tuple(str(validate_stage(v, "filter_string")) for v in value)
        else:
            value = str(validate_stage(value, "filter_string"))
    return _string_test(column, clause.op, value)


def _to_version(row: Row[Any], tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=int(row.version),
        creation_timestamp=int(row.creation_time),
        last_updated_timestamp=int(row.last_updated_time),
        description=row.description,
        user_id=row.user_id,
        current_stage=row.current_stage,
        source=row.source,
        run_id=row.run_id,
        status=row.status,
        tags=tags,
        aliases=aliases,
        storage_location=row.storage_location,
        status_message=row.status_message,
    )
