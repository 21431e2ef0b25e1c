"""The SQL tracking store: SQLite (embedded default) and PostgreSQL through one code path."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from flowtrack.config import default_artifact_root
from flowtrack.entities import (
    DatasetVersion,
    Experiment,
    LifecycleStage,
    Metric,
    MetricColumns,
    PagedList,
    Run,
    RunData,
    RunInfo,
    ViewType,
)
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError, StoreUnavailableError
from flowtrack.store.events import Event, Rejection
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.store.sql import lineage, schema
from flowtrack.store.sql.blocks import columns
from flowtrack.store.sql.comments import SqlComments
from flowtrack.store.sql.dialect import insert_ignore, upsert
from flowtrack.store.sql.engine import make_engine
from flowtrack.store.sql.ingest import apply_events
from flowtrack.store.sql.migrate import ensure_schema
from flowtrack.store.sql.registry import SqlRegistry
from flowtrack.validation import validate_experiment_name

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"

E, R = schema.experiments.c, schema.runs.c


def _now() -> int:
    return int(time.time() * 1000)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


class SqlStore(SqlComments, SqlRegistry):
    """Tracking here; the model registry's methods come from `SqlRegistry` (registry.py), the
    discussions' from `SqlComments` (comments.py)."""

    def __init__(self, uri: str, artifact_root: str | None = None) -> None:
        self.uri = uri
        self.artifact_root = artifact_root or default_artifact_root(uri)
        self._locations: dict[int, str] = {}
        with self._faults():
            self.engine = make_engine(uri)
            ensure_schema(self.engine)

    # -- plumbing --------------------------------------------------------------------
    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise ConflictError(str(exc.orig)) from exc
        except DBAPIError as exc:
            raise StoreUnavailableError(f"store {self._safe_uri()} failed: {exc.orig}") from exc

    def _safe_uri(self) -> str:
        return (
            self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else ""
        )

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

    def close(self) -> None:
        self.engine.dispose()

    # -- experiments -----------------------------------------------------------------
    def _insert_experiment(
        self, conn: Connection, name: str, artifact_location: str | None, *, default: bool = False
    ) -> int:
        now = _now()
        row: dict[str, Any] = {
            "name": name,
            "artifact_location": artifact_location or "",
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "creation_time": now,
            "last_update_time": now,
        }
        if default:
            row["experiment_id"] = DEFAULT_EXPERIMENT_ID
        insert_ignore(conn, schema.experiments, [row], ["name"])
        found = conn.execute(
            select(E.experiment_id, E.artifact_location).where(E.name == name)
        ).one()
        experiment_id = int(found.experiment_id)
        if not found.artifact_location:
            conn.execute(
                schema.experiments.update()
                .where(E.experiment_id == experiment_id)
                .values(artifact_location=_join(self.artifact_root, str(experiment_id)))
            )
        return experiment_id

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        validate_experiment_name(name)
        with self._write() as conn:
            if conn.execute(select(E.experiment_id).where(E.name == name)).first():
                raise ConflictError(
                    f"experiment {name!r} already exists; use set_experiment({name!r}) to use it"
                )
            experiment_id = self._insert_experiment(conn, name, artifact_location)
            if tags:
                conn.execute(
                    schema.experiment_tags.insert(),
                    [
                        {"experiment_id": experiment_id, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
        return str(experiment_id)

    def get_or_create_experiment(self, name: str) -> Experiment:
        validate_experiment_name(name)
        found = self.get_experiment_by_name(name)
        if found is not None:
            return found
        with self._write() as conn:
            experiment_id = self._insert_experiment(
                conn, name, None, default=name == DEFAULT_EXPERIMENT_NAME
            )
        return self.get_experiment(str(experiment_id))

    def _experiments(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[Experiment]:
        ids = [r.experiment_id for r in rows]
        t = schema.experiment_tags.c
        tags: dict[int, dict[str, str]] = {}
        if ids:
            for tag in conn.execute(
                select(t.experiment_id, t.key, t.value).where(t.experiment_id.in_(ids))
            ):
                tags.setdefault(tag.experiment_id, {})[tag.key] = tag.value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=r.lifecycle_stage,
                tags=tags.get(r.experiment_id, {}),
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._read() as conn:
            rows = conn.execute(
                select(schema.experiments).where(E.experiment_id == _experiment_int(experiment_id))
            ).all()
            if not rows:
                raise NotFoundError(
                    "experiment", experiment_id, "list them with `flowtrack experiments list`"
                )
            return self._experiments(conn, rows)[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._read() as conn:
            rows = conn.execute(select(schema.experiments).where(E.name == name)).all()
            return self._experiments(conn, rows)[0] if rows else None

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
        name_like: str | None = None,
    ) -> PagedList:
        offset = decode_token(page_token)
        query = select(schema.experiments).order_by(E.experiment_id)
        if view_type == ViewType.ACTIVE_ONLY:
            query = query.where(E.lifecycle_stage == LifecycleStage.ACTIVE)
        elif view_type == ViewType.DELETED_ONLY:
            query = query.where(E.lifecycle_stage == LifecycleStage.DELETED)
        if name_like:
            query = query.where(E.name.ilike(name_like))
        with self._read() as conn:
            rows = conn.execute(query.offset(offset).limit(max_results + 1)).all()
            items = self._experiments(conn, rows[:max_results])
        token = encode_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(items, token)

    def _set_experiment(self, experiment_id: str, **values: Any) -> None:
        with self._write() as conn:
            done = conn.execute(
                schema.experiments.update()
                .where(E.experiment_id == _experiment_int(experiment_id))
                .values(last_update_time=_now(), **values)
            )
            if done.rowcount == 0:
                raise NotFoundError("experiment", experiment_id)

    def delete_experiment(self, experiment_id: str) -> None:
        if _experiment_int(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise InvalidInputError(
                "experiment_id", experiment_id, "the Default experiment cannot be deleted"
            )
        self._set_experiment(experiment_id, lifecycle_stage=LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment(experiment_id, lifecycle_stage=LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validate_experiment_name(new_name)
        try:
            self._set_experiment(experiment_id, name=new_name)
        except ConflictError as exc:
            # The unique index on the name is the only constraint a rename can break; say
            # which name, not the database's wording.
            raise ConflictError(
                f"experiment name {new_name!r} is taken by another experiment; choose another"
            ) from exc

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with self._write() as conn:
            upsert(
                conn,
                schema.experiment_tags,
                [{"experiment_id": _experiment_int(experiment_id), "key": key, "value": value}],
                ["experiment_id", "key"],
                ["value"],
            )

    def count_runs(self, experiment_ids: Sequence[str]) -> dict[str, int]:
        ids = [_experiment_int(e) for e in experiment_ids]
        with self._read() as conn:
            rows = conn.execute(
                select(R.experiment_id, func.count())
                .where(R.experiment_id.in_(ids), R.lifecycle_stage == LifecycleStage.ACTIVE)
                .group_by(R.experiment_id)
            )
            counts = {str(r[0]): int(r[1]) for r in rows}
        return {str(e): counts.get(str(e), 0) for e in ids}

    # -- runs ------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        runs = self.get_runs([run_id])
        if not runs:
            raise NotFoundError("run", run_id, "list runs with `flowtrack runs list`")
        return runs[0]

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs by id, in the order asked. Read through the driver's cursor: building
        SQLAlchemy rows for the params, tags and metrics of a thousand runs costs more than
        the queries."""
        if not run_ids:
            return []
        ids = list(dict.fromkeys(run_ids))
        with self._read() as conn:
            rows = {r[0]: r for r in _fetch(conn, f"SELECT {_RUN_COLUMNS} FROM runs", ids)}
            found = list(rows)
            params = _by_run(conn, "params", found, metric=False)
            tags = _by_run(conn, "tags", found, metric=False)
            metrics = _by_run(conn, "latest_metrics", found, metric=True)
        return [
            _to_run(rows[i], params.get(i, {}), metrics.get(i, {}), tags.get(i, {}))
            for i in run_ids
            if i in rows
        ]

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        from flowtrack.store.sql.search import build_run_search

        if max_results < 1 or max_results > 50000:
            raise InvalidInputError("max_results", max_results, "must be between 1 and 50000")
        offset = decode_token(page_token)
        query = build_run_search(
            [_experiment_int(e) for e in experiment_ids],
            filter_string,
            order_by,
            str(view_type),
            max_results + 1,
            offset,
        )
        with self._read() as conn:
            ids = [row[0] for row in conn.execute(query)]
        token = encode_token(offset + max_results) if len(ids) > max_results else None
        return PagedList(self.get_runs(ids[:max_results]), token)

    def get_child_run_ids(self, run_id: str) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                select(R.run_id)
                .where(R.parent_run_id == run_id, R.lifecycle_stage == LifecycleStage.ACTIVE)
                .order_by(R.start_time, R.run_id)
            )
            return [r[0] for r in rows]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.get_metric_columns(run_id, key).metrics(key)

    def get_metric_columns(self, run_id: str, key: str) -> MetricColumns:
        b = schema.metric_blocks.c
        with self._read() as conn:
            rows = conn.execute(
                select(b.data, b.count).where(b.run_id == run_id, b.key == key).order_by(b.id)
            ).all()
        return columns((bytes(r[0]), int(r[1])) for r in rows)

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        deleted_time = _now() if stage == LifecycleStage.DELETED else None
        with self._write() as conn:
            done = conn.execute(
                schema.runs.update()
                .where(R.run_id == run_id)
                .values(lifecycle_stage=stage, deleted_time=deleted_time)
            )
            if done.rowcount == 0:
                raise NotFoundError("run", run_id)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    # -- lineage (the SQL is in lineage.py) --------------------------------------------
    def get_run_datasets(self, run_id: str, direction: str) -> list[DatasetVersion]:
        with self._read() as conn:
            return lineage.run_datasets(conn, run_id, direction)

    def get_dataset_versions(self, names_or_uris: Sequence[str]) -> list[DatasetVersion]:
        with self._read() as conn:
            return lineage.versions(conn, list(names_or_uris))

    def get_dataset_versions_by_digest(self, digests: Sequence[str]) -> list[DatasetVersion]:
        with self._read() as conn:
            return lineage.versions_with_digests(conn, list(digests))

    def get_dataset_run_ids(self, version_id: str, direction: str) -> list[str]:
        with self._read() as conn:
            return lineage.run_ids_with(conn, version_id, direction)

    # -- writes ----------------------------------------------------------------------
    def apply_events(
        self, events: Sequence[Event], journal_id: str | None = None
    ) -> list[Rejection]:
        with self._write() as conn:
            if journal_id is not None:
                events = _unapplied(conn, journal_id, events)
                if not events:
                    return []
            return apply_events(conn, events, self._resolve_experiment, self._artifact_uri)

    def _resolve_experiment(self, conn: Connection, event: Event) -> int:
        if event.get("experiment_id") is not None:
            experiment_id = _experiment_int(str(event["experiment_id"]))
            if experiment_id in self._locations or self._location(conn, experiment_id):
                return experiment_id
        name = event.get("experiment_name") or DEFAULT_EXPERIMENT_NAME
        return self._insert_experiment(conn, name, None, default=name == DEFAULT_EXPERIMENT_NAME)

    def _location(self, conn: Connection, experiment_id: int) -> str | None:
        # Artifact locations never change once set, so they are safe to remember.
        location = self._locations.get(experiment_id)
        if location is None:
            location = conn.execute(
                select(E.artifact_location).where(E.experiment_id == experiment_id)
            ).scalar()
            if location:
                self._locations[experiment_id] = location
        return location

    def _artifact_uri(self, conn: Connection, experiment_id: int, run_id: str) -> str:
        return _join(self._location(conn, experiment_id) or "", run_id, "artifacts")


def _unapplied(conn: Connection, journal_id: str, events: Sequence[Event]) -> Sequence[Event]:
    """Drop the events of this journal that an earlier delivery already wrote; note the rest."""
    j = schema.journals
    done = conn.execute(select(j.c.applied_seq).where(j.c.journal_id == journal_id)).scalar()
    if done is not None:
        events = [e for e in events if e["seq"] > done]
    if events:
        upsert(
            conn,
            j,
            [{"journal_id": journal_id, "applied_seq": events[-1]["seq"], "updated_time": _now()}],
            ["journal_id"],
            ["applied_seq", "updated_time"],
        )
    return events


def new_run_id() -> str:
    return uuid.uuid4().hex


def _experiment_int(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "experiment_id", experiment_id, "must be a number; to use a name, pass it as name="
        ) from None


def _float(value: float | None) -> float:
    return float("nan") if value is None else float(value)


_RUN_COLUMNS = (
    "run_id, experiment_id, run_name, status, start_time, end_time, lifecycle_stage, "
    "artifact_uri, parent_run_id, user_id, source_type, source_ref"
)
_IN_CHUNK = 900


def _fetch(conn: Connection, select_sql: str, run_ids: list[str]) -> list[tuple[Any, ...]]:
    """``select_sql WHERE run_id IN (...)`` through the DBAPI cursor, in chunks."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    out: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(run_ids), _IN_CHUNK):
            chunk = run_ids[start : start + _IN_CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cursor.execute(f"{select_sql} WHERE run_id IN ({marks})", chunk)
            out.extend(cursor.fetchall())
    finally:
        cursor.close()
    return out


def _by_run(
    conn: Connection, table: str, run_ids: list[str], metric: bool
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run_id, key, value in _fetch(conn, f"SELECT run_id, key, value FROM {table}", run_ids):
        out.setdefault(run_id, {})[key] = _float(value) if metric else value
    return out


def _to_run(
    row: tuple[Any, ...], params: dict[str, str], metrics: dict[str, float], tags: dict[str, str]
) -> Run:
    (run_id, experiment_id, run_name, status, start_time, end_time, stage, artifact_uri,
     parent_run_id, user_id, source_type, source_ref) = row  # fmt: skip
    info = RunInfo(
        run_id=run_id,
        experiment_id=str(experiment_id),
        run_name=run_name,
        status=status,
        start_time=start_time,
        end_time=end_time,
        lifecycle_stage=stage,
        artifact_uri=artifact_uri,
        parent_run_id=parent_run_id,
        user_id=user_id,
        source_type=source_type,
        source_ref=json.loads(source_ref or "{}"),
    )
    return Run(info, RunData(params=params, metrics=metrics, tags=tags))
