"""The model registry of the SQL store, mixed into `SqlStore`; the reads are in registry_rows.py.

Every write is one transaction that first locks the registered model's row (SELECT ... FOR
UPDATE on PostgreSQL; an SQLite writer already holds the database lock from BEGIN IMMEDIATE),
so two processes changing one model queue behind each other: version numbers come from the
model's counter without gaps or duplicates, an alias has one winner, and each change commits
together with its audit row or not at all.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Row, and_, select
from sqlalchemy.dialects import postgresql, sqlite

from flowtrack.entities import DatasetVersion, PagedList
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.registry import filters
from flowtrack.registry.entities import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryAction,
    RegistryEvent,
    Stage,
    StageChange,
)
from flowtrack.registry.sources import check_source_text, parse_runs_uri, storage_location
from flowtrack.registry.validation import (
    validate_alias,
    validate_description,
    validate_model_name,
    validate_stage,
    validate_version,
)
from flowtrack.store.base import TrackingStore
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.store.sql import registry_rows as rows
from flowtrack.store.sql import schema
from flowtrack.store.sql.dialect import upsert
from flowtrack.validation import validate_key, validate_run_id, validate_tag_value

M, V, MT, A = schema.registered_models.c, schema.model_versions.c, rows.MT, rows.A
Act = RegistryAction


def _now() -> int:
    return int(time.time() * 1000)


class SqlRegistry(TrackingStore):
    """The registry methods of `TrackingStore` for SQLite and PostgreSQL."""

    @abc.abstractmethod
    def _read(self) -> AbstractContextManager[Connection]: ...

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Connection]: ...

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        *,
        user: str = "",
    ) -> RegisteredModel:
        validate_model_name(name)
        tag_values = _tags(tags)
        description = validate_description(description)
        now = _now()
        with self._write() as conn:
            insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
            # A concurrent creation of the same name waits for the first, then does nothing.
            stmt = (
                insert(schema.registered_models)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(M.model_id)
            )
            row = {"name": name, "description": description, "last_version": 0}
            row |= {"creation_time": now, "last_updated_time": now}
            if conn.execute(stmt, row).first() is None:
                raise ConflictError(_exists(name))
            model = rows.model(conn, name, lock=True)
            _insert_tags(
                conn, schema.registered_model_tags, {"model_id": model.model_id}, tag_values
            )
            audit = _Audit(conn, user, model)
            audit(Act.CREATE_MODEL, None, description=description, tags=tag_values)
            return rows.models(conn, [model])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._read() as conn:
            return rows.models(conn, [rows.model(conn, name)])[0]

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        _check_max_results(max_results, 50000)
        query = rows.model_search(
            filters.parse_filter(filter_string, filters.MODEL_ATTRIBUTES),
            filters.parse_order_by(order_by, filters.MODEL_ORDER),
        )
        offset = decode_token(page_token)
        with self._read() as conn:
            found = conn.execute(query.offset(offset).limit(max_results + 1)).all()
            items = rows.models(conn, found[:max_results])
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(items, token)

    def rename_registered_model(
        self, name: str, new_name: str, *, user: str = ""
    ) -> RegisteredModel:
        validate_model_name(new_name, "new model name")
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            taken = conn.execute(select(M.model_id).where(M.name == new_name)).first()
            if taken is not None and new_name != name:
                raise ConflictError(_exists(new_name))
            _touch(conn, model.model_id, name=new_name)
            model = rows.model(conn, new_name)
            _Audit(conn, user, model)(Act.RENAME, None, old=name, new=new_name)
            return rows.models(conn, [model])[0]

    def update_registered_model(
        self, name: str, description: str | None, *, user: str = ""
    ) -> RegisteredModel:
        description = validate_description(description)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            _touch(conn, model.model_id, description=description)
            audit = _Audit(conn, user, model)
            audit(Act.UPDATE_DESCRIPTION, None, old=model.description, new=description)
            return rows.models(conn, [rows.model(conn, name)])[0]

    def delete_registered_model(self, name: str, *, user: str = "") -> None:
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            numbers = conn.execute(
                select(V.version).where(V.model_id == model.model_id).order_by(V.version)
            ).scalars()
            detail = {"versions": list(numbers), "aliases": rows.aliases_of(conn, model.model_id)}
            # SQLite does not enforce the foreign keys' ON DELETE CASCADE; delete explicitly.
            for table in (
                schema.registered_model_aliases,
                schema.model_version_tags,
                schema.model_version_datasets,
                schema.model_versions,
                schema.registered_model_tags,
                schema.registered_models,
            ):
                conn.execute(table.delete().where(table.c.model_id == model.model_id))
            _Audit(conn, user, model)(Act.DELETE, None, **detail)

    def set_registered_model_tag(self, name: str, key: str, value: str, *, user: str = "") -> None:
        value = validate_tag_value(validate_key("tag key", key), value)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            where = and_(MT.model_id == model.model_id, MT.key == key)
            old = conn.execute(select(MT.value).where(where)).scalar()
            row = {"model_id": model.model_id, "key": key, "value": value}
            upsert(conn, schema.registered_model_tags, [row], ["model_id", "key"], ["value"])
            _touch(conn, model.model_id)
            _Audit(conn, user, model)(Act.SET_TAG, None, key=key, old=old, new=value)

    def delete_registered_model_tag(self, name: str, key: str, *, user: str = "") -> None:
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            where = and_(MT.model_id == model.model_id, MT.key == key)
            old = conn.execute(select(MT.value).where(where)).scalar()
            if old is None:
                raise NotFoundError("tag", key, f"registered model {name!r} has no such tag")
            conn.execute(schema.registered_model_tags.delete().where(where))
            _touch(conn, model.model_id)
            _Audit(conn, user, model)(Act.DELETE_TAG, None, key=key, old=old, new=None)

    # -- versions --------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        *,
        user: str = "",
    ) -> ModelVersion:
        validate_model_name(name)
        check_source_text(source)
        if run_id is not None:
            validate_run_id(run_id)
        tag_values = _tags(tags)
        description = validate_description(description)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            location = storage_location(source, run_id, lambda r: rows.run_artifact_uri(conn, r))
            run_id = run_id or parse_runs_uri(source).run_id
            # The model row is locked, so this number is ours alone until commit.
            version = int(model.last_version) + 1
            _touch(conn, model.model_id, last_version=version)
            now = _now()
            key = {"model_id": model.model_id, "version": version}
            conn.execute(
                schema.model_versions.insert(),
                {
                    **key,
                    "source": source,
                    "storage_location": location,
                    "run_id": run_id,
                    "status": str(ModelVersionStatus.READY),
                    "status_message": None,
                    "current_stage": str(Stage.NONE),
                    "description": description,
                    "user_id": user[:256],
                    "creation_time": now,
                    "last_updated_time": now,
                },
            )
            _insert_tags(conn, schema.model_version_tags, key, tag_values)
            datasets = rows.run_inputs(conn, run_id)
            if datasets:
                conn.execute(
                    schema.model_version_datasets.insert(),
                    [{**key, "dataset_version_id": d} for d in datasets],
                )
            _Audit(conn, user, model)(
                Act.CREATE_VERSION,
                version,
                source=source,
                run_id=run_id,
                storage_location=location,
                datasets=datasets,
                tags=tag_values,
                description=description,
            )
            return rows.version_of(conn, model, version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        version = validate_version(version)
        with self._read() as conn:
            return rows.version_of(conn, rows.model(conn, name), version)

    def update_model_version(
        self, name: str, version: int, description: str | None, *, user: str = ""
    ) -> ModelVersion:
        version = validate_version(version)
        description = validate_description(description)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            old = rows.version_of(conn, model, version).description
            _touch(conn, model.model_id, version, description=description)
            _Audit(conn, user, model)(Act.UPDATE_DESCRIPTION, version, old=old, new=description)
            return rows.version_of(conn, model, version)

    def delete_model_version(self, name: str, version: int, *, user: str = "") -> None:
        version = validate_version(version)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            found = rows.version_of(conn, model, version)
            audit = _Audit(conn, user, model)
            for alias in found.aliases:
                audit(Act.DELETE_ALIAS, version, alias=alias, old=version, new=None)
            for table in (
                schema.registered_model_aliases,
                schema.model_version_tags,
                schema.model_version_datasets,
                schema.model_versions,
            ):
                c = table.c
                conn.execute(
                    table.delete().where(c.model_id == model.model_id, c.version == version)
                )
            _touch(conn, model.model_id)
            audit(
                Act.DELETE,
                version,
                source=found.source,
                run_id=found.run_id,
                stage=found.current_stage,
            )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        _check_max_results(max_results, 200000)
        query = rows.version_search(
            filters.parse_filter(filter_string, filters.VERSION_ATTRIBUTES),
            filters.parse_order_by(order_by, filters.VERSION_ORDER),
        )
        offset = decode_token(page_token)
        with self._read() as conn:
            keys = [(k[0], k[1]) for k in conn.execute(query.offset(offset).limit(max_results + 1))]
            items = rows.versions(conn, keys[:max_results])
        token = encode_token(offset + max_results) if len(keys) > max_results else None
        return PagedList(items, token)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        wanted = [validate_stage(s, "stages") for s in stages] if stages else rows.STAGE_ORDER
        with self._read() as conn:
            model = rows.model(conn, name)
            latest = rows.latest_by_stage(conn, [model.model_id]).get(model.model_id, {})
            keys = [(model.model_id, latest[s]) for s in dict.fromkeys(wanted) if s in latest]
            return rows.versions(conn, keys)

    # -- aliases ---------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user: str = ""
    ) -> None:
        validate_alias(alias)
        version = validate_version(version)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            rows.version_of(conn, model, version)  # it must exist
            old = rows.aliases_of(conn, model.model_id).get(alias)
            row = {"model_id": model.model_id, "alias": alias, "version": version}
            upsert(conn, schema.registered_model_aliases, [row], ["model_id", "alias"], ["version"])
            _touch(conn, model.model_id)
            _Audit(conn, user, model)(Act.SET_ALIAS, version, alias=alias, old=old, new=version)

    def delete_registered_model_alias(self, name: str, alias: str, *, user: str = "") -> None:
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            old = rows.alias_target(conn, model, alias)
            conn.execute(
                schema.registered_model_aliases.delete().where(
                    A.model_id == model.model_id, A.alias == alias
                )
            )
            _touch(conn, model.model_id)
            _Audit(conn, user, model)(Act.DELETE_ALIAS, old, alias=alias, old=old, new=None)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self._read() as conn:
            model = rows.model(conn, name)
            return rows.version_of(conn, model, rows.alias_target(conn, model, alias))

    # -- stages and tags -------------------------------------------------------------
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str | None,
        archive_existing_versions: bool = False,
        *,
        user: str = "",
    ) -> list[StageChange]:
        version = validate_version(version)
        new = validate_stage(stage)
        if archive_existing_versions and new not in (Stage.STAGING, Stage.PRODUCTION):
            raise InvalidInputError(
                "archive_existing_versions",
                archive_existing_versions,
                f"only applies when moving to Staging or Production, not {new}",
            )
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            old = rows.version_of(conn, model, version).current_stage
            moves: list[tuple[int, str, Stage]] = [(version, old, new)]
            if archive_existing_versions:
                holders = conn.execute(
                    select(V.version)
                    .where(V.model_id == model.model_id, V.current_stage == str(new))
                    .where(V.version != version)
                    .order_by(V.version)
                ).scalars()
                moves += [(int(n), str(new), Stage.ARCHIVED) for n in holders]
            audit = _Audit(conn, user, model)
            for number, before, after in moves:
                _touch(conn, model.model_id, number, current_stage=str(after))
                by = {"archived_by": version} if number != version else {}
                audit(Act.TRANSITION_STAGE, number, old=before, new=str(after), **by)
            _touch(conn, model.model_id)
            found = rows.versions(conn, [(model.model_id, n) for n, _, _ in moves])
            return [StageChange(mv, m[1], str(m[2])) for mv, m in zip(found, moves, strict=True)]

    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, user: str = ""
    ) -> None:
        version = validate_version(version)
        value = validate_tag_value(validate_key("tag key", key), value)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            old = rows.version_of(conn, model, version).tags.get(key)
            row = {"model_id": model.model_id, "version": version, "key": key, "value": value}
            keys = ["model_id", "version", "key"]
            upsert(conn, schema.model_version_tags, [row], keys, ["value"])
            _touch(conn, model.model_id, version)
            _Audit(conn, user, model)(Act.SET_TAG, version, key=key, old=old, new=value)

    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, user: str = ""
    ) -> None:
        version = validate_version(version)
        with self._write() as conn:
            model = rows.model(conn, name, lock=True)
            old = rows.version_of(conn, model, version).tags.get(key)
            if old is None:
                raise NotFoundError("tag", key, f"version {version} of {name!r} has no such tag")
            t = schema.model_version_tags.c
            conn.execute(
                schema.model_version_tags.delete().where(
                    t.model_id == model.model_id, t.version == version, t.key == key
                )
            )
            _touch(conn, model.model_id, version)
            _Audit(conn, user, model)(Act.DELETE_TAG, version, key=key, old=old, new=None)

    # -- lineage and history ---------------------------------------------------------
    def get_model_version_datasets(self, name: str, version: int) -> list[DatasetVersion]:
        version = validate_version(version)
        with self._read() as conn:
            model = rows.model(conn, name)
            rows.version_of(conn, model, version)
            return rows.version_datasets(conn, model.model_id, version)

    def get_registry_events(self, name: str, version: int | None = None) -> list[RegistryEvent]:
        number = None if version is None else validate_version(version)
        with self._read() as conn:
            return rows.events(conn, name, number)


# -- helpers --------------------------------------------------------------------------------


class _Audit:
    """Writes audit rows for one model in the caller's transaction."""

    def __init__(self, conn: Connection, user: str, model: Row[Any]) -> None:
        self.conn, self.user, self.model_id, self.name = conn, user, model.model_id, model.name

    def __call__(self, action: RegistryAction, version: int | None, **detail: Any) -> None:
        self.conn.execute(
            schema.registry_events.insert(),
            {
                "time": _now(),
                "user_id": self.user[:256],
                "action": str(action),
                "model_id": self.model_id,
                "name": self.name,
                "version": version,
                "detail": json.dumps(detail, sort_keys=True, default=str),
            },
        )


def _touch(conn: Connection, model_id: int, version: int | None = None, **values: Any) -> None:
    """Set ``values`` and the last-updated time on the model, or on one of its versions."""
    if version is None:
        table, where = schema.registered_models, M.model_id == model_id
    else:
        table, where = schema.model_versions, and_(V.model_id == model_id, V.version == version)
    conn.execute(table.update().where(where).values(last_updated_time=_now(), **values))


def _tags(tags: dict[str, Any] | None) -> dict[str, str]:
    return {validate_key("tag key", k): validate_tag_value(k, v) for k, v in (tags or {}).items()}


def _insert_tags(conn: Connection, table: Any, key: dict[str, Any], tags: dict[str, str]) -> None:
    if tags:
        conn.execute(table.insert(), [{**key, "key": k, "value": v} for k, v in tags.items()])


def _check_max_results(value: int, limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InvalidInputError("max_results", value, f"must be between 1 and {limit}")


def _exists(name: str) -> str:
    return (
        f"registered model {name!r} already exists; register a new version of it with "
        f"create_model_version({name!r}, ...) or choose another name"
    )
