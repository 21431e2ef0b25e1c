"""Run search compiled to SQL and executed against real rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flowtrack.errors import InvalidInputError
from flowtrack.store.sql import schema
from flowtrack.store.sql.search import build_run_search, like_patterns
from sqlalchemy import Connection, Engine, create_engine, insert, text
from sqlalchemy.exc import DBAPIError, OperationalError

PG_ADMIN_URI = os.environ.get(
    "FLOWTRACK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Epoch milliseconds: bigger than a 32-bit integer, as real start times are.
T0 = 1_700_000_000_000

RUNS: list[dict[str, Any]] = [
    # run_id, experiment, name, status, start, end, stage, user, parent
    dict(zip(
        ("run_id", "experiment_id", "run_name", "status", "start_time", "end_time",
         "lifecycle_stage", "user_id", "parent_run_id"),
        row,
        strict=True,
    ))
    for row in [
        ("run1", 1, "alpha-run", "FINISHED", T0 + 1000, T0 + 1500, "active", "alice", None),
        ("run2", 1, "beta", "FAILED", T0 + 2000, T0 + 2100, "active", "bob", None),
        ("run3", 1, "gamma", "FINISHED", T0 + 3000, None, "active", "alice", "run1"),
        ("run4", 1, "delta", "RUNNING", T0 + 4000, None, "active", "carol", None),
        ("run5", 1, "epsilon", "FINISHED", T0 + 5000, T0 + 5100, "deleted", "alice", None),
        ("run6", 2, "zeta", "FINISHED", T0 + 6000, T0 + 6100, "active", "dave", None),
    ]
]  # fmt: skip
PARAMS = {
    "run1": {"alpha": "0.5", "model": "Abc"},
    "run2": {"alpha": "0.1", "model": "abc"},
    "run3": {"alpha": "0.5", "model": "ABD"},
    "run4": {"alpha": "1.0", "model": "x*[y]%_"},
    "run5": {"alpha": "0.5"},
    "run6": {"alpha": "0.5"},
}
TAGS = {
    "run1": {"team": "risk", "mlflow.user": "alice"},
    "run2": {"team": "growth", "owner": "zed"},
    "run3": {"team": "risk", "owner": "amy"},
    "run4": {"team": "Risk"},
    "run5": {"team": "risk"},
    "run6": {"team": "risk"},
}
# None is a NaN, which the store keeps as NULL.
METRICS: dict[str, dict[str, float | None]] = {
    "run1": {"auc": 0.91, "loss": 0.2},
    "run2": {"auc": 0.75},
    "run3": {"auc": None},
    "run4": {"loss": 0.5},
    "run5": {"auc": 0.99},
    "run6": {"auc": 0.95},
}
# Active runs of experiment 1 in the default order (newest first).
ACTIVE = ["run4", "run3", "run2", "run1"]


def _seed(engine: Engine) -> None:
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.experiments),
            [
                {
                    "experiment_id": eid,
                    "name": f"exp{eid}",
                    "artifact_location": f"/tmp/exp{eid}",
                    "lifecycle_stage": "active",
                    "creation_time": T0,
                    "last_update_time": T0,
                }
                for eid in (1, 2)
            ],
        )
        conn.execute(
            insert(schema.runs),
            [
                {
                    **run,
                    "source_type": "python",
                    "source_ref": "{}",
                    "artifact_uri": f"/tmp/artifacts/{run['run_id']}",
                    "deleted_time": T0 if run["lifecycle_stage"] == "deleted" else None,
                }
                for run in RUNS
            ],
        )
        conn.execute(insert(schema.params), _key_values(PARAMS))
        conn.execute(insert(schema.tags), _key_values(TAGS))
        conn.execute(
            insert(schema.latest_metrics),
            [
                {"run_id": r, "key": k, "value": v, "timestamp": T0, "step": 0}
                for r, values in METRICS.items()
                for k, v in values.items()
            ],
        )


def _key_values(data: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    return [{"run_id": r, "key": k, "value": v} for r, kv in data.items() for k, v in kv.items()]


def _create_database(conn: Connection, name: str) -> None:
    # An ICU English locale sorts 'abc' before 'ABD' where byte order does the opposite, so
    # the ordering tests prove results do not depend on the server's locale.
    try:
        conn.execute(
            text(
                f'CREATE DATABASE "{name}" TEMPLATE template0 '
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        )
    except DBAPIError:
        conn.execute(text(f'CREATE DATABASE "{name}"'))


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    name = f"ft_search_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            _create_database(conn, name)
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URI} is not reachable: {exc}")
    engine = create_engine(PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}")
    try:
        _seed(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The seeded database of one backend; the tests only read it."""
    if request.param == "postgresql":
        pg: Engine = request.getfixturevalue("pg_engine")
        yield pg
        return
    lite = create_engine(f"sqlite:///{tmp_path / 'search.db'}")
    _seed(lite)
    yield lite
    lite.dispose()


def _ids(
    engine: Engine,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    *,
    experiments: Sequence[int] = (1,),
    view_type: str = "active_only",
    max_results: int = 100,
    offset: int = 0,
) -> list[str]:
    query = build_run_search(experiments, filter_string, order_by, view_type, max_results, offset)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ACTIVE),
        ("metrics.auc > 0.8", ["run1"]),
        ("metrics.auc >= 0.75", ["run2", "run1"]),
        ("metrics.auc < 1", ["run2", "run1"]),
        # The NaN (NULL) of run3 and the missing auc of run4 never match, not even !=.
        ("metrics.auc != 0.91", ["run2"]),
        ("metrics.loss <= 0.5", ["run4", "run1"]),
        ("metrics.loss = 0.2", ["run1"]),
        ("params.alpha = '0.5'", ["run3", "run1"]),
        ("params.alpha != '0.5'", ["run4", "run2"]),
        ("tags.team = 'risk'", ["run3", "run1"]),
        ("tags.mlflow.user = 'alice'", ["run1"]),
        ('tags."mlflow.user" = "alice"', ["run1"]),
        ("metrics.auc > 0.5 and params.alpha = '0.5' AND tags.team = 'risk'", ["run1"]),
        ("params.alpha = '0.5' and tags.team = 'risk'", ["run3", "run1"]),
        ("metrics.auc > 0.8 and params.alpha = '0.1'", []),
        ("params.model LIKE 'Ab%'", ["run1"]),
        ("params.model LIKE 'A__'", ["run3", "run1"]),
        ("params.model LIKE '%c'", ["run2", "run1"]),
        ("params.model ILIKE 'ab%'", ["run3", "run2", "run1"]),
        ("params.model ILIKE 'AB_'", ["run3", "run2", "run1"]),
        # GLOB's metacharacters on SQLite stay literal.
        ("params.model LIKE 'x*[%'", ["run4"]),
        ("params.model LIKE '?%'", []),
        # A backslash makes % and _ literal: run4's model ends in '%_', not '%'.
        ("params.model LIKE '%\\%\\_'", ["run4"]),
        ("params.model LIKE '%\\%'", []),
        ("params.model ILIKE 'X*[Y]\\%\\_'", ["run4"]),
        ("tags.team LIKE 'R%'", ["run4"]),
        ("tags.team ILIKE 'r%'", ["run4", "run3", "run1"]),
        ("params.alpha IN ('0.1', '1.0')", ["run4", "run2"]),
        ("params.alpha NOT IN ('0.5', '0.1')", ["run4"]),
        # Runs without the tag match neither IN nor NOT IN.
        ("tags.owner NOT IN ('zed')", ["run3"]),
        ("tags.owner IN ('zed', 'amy')", ["run3", "run2"]),
        ("attributes.status = 'FINISHED'", ["run3", "run1"]),
        ("status != 'FINISHED'", ["run4", "run2"]),
        ("attributes.status IN ('RUNNING', 'FAILED')", ["run4", "run2"]),
        ("attributes.status NOT IN ('RUNNING', 'FAILED')", ["run3", "run1"]),
        (f"attributes.start_time >= {T0 + 2000} and start_time < {T0 + 4000}", ["run3", "run2"]),
        (f"start_time > {T0 + 1000.5}", ["run4", "run3", "run2"]),
        (f"end_time > {T0}", ["run2", "run1"]),
        ("attributes.run_name LIKE '%a'", ["run4", "run3", "run2"]),
        ("run_name ILIKE 'ALPHA%'", ["run1"]),
        ("run_name LIKE 'ALPHA%'", []),
        ("attributes.user_id = 'alice'", ["run3", "run1"]),
        ("parent_run_id = 'run1'", ["run3"]),
        ("run_id IN ('run2', 'run4', 'run5')", ["run4", "run2"]),
        ("attributes.experiment_id = '1'", ACTIVE),
        ("experiment_id LIKE '2%'", []),
        ("lifecycle_stage = 'active'", ACTIVE),
        ("source_type = 'python' and artifact_uri LIKE '%/run2'", ["run2"]),
    ],
)
def test_filter(engine: Engine, filter_string: str | None, expected: list[str]) -> None:
    assert _ids(engine, filter_string) == expected


def test_several_experiments(engine: Engine) -> None:
    assert _ids(engine, "experiment_id = '2'", experiments=[1, 2]) == ["run6"]
    assert _ids(engine, "metrics.auc > 0.9", experiments=[1, 2], view_type="all") == [
        "run6",
        "run5",
        "run1",
    ]
    assert _ids(engine, experiments=[2]) == ["run6"]
    assert _ids(engine, experiments=[]) == []


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # NaN (run3) and missing (run4) last in both directions, then newest first.
        (["metrics.auc DESC"], ["run1", "run2", "run4", "run3"]),
        (["metrics.auc"], ["run2", "run1", "run4", "run3"]),
        (["metrics.auc DESC", "params.alpha"], ["run1", "run2", "run3", "run4"]),
        (["params.alpha"], ["run2", "run3", "run1", "run4"]),
        (["params.alpha DESC"], ["run4", "run3", "run1", "run2"]),
        (["tags.owner"], ["run3", "run2", "run4", "run1"]),
        (["tags.owner DESC"], ["run2", "run3", "run4", "run1"]),
        # Code point order on both backends, whatever PostgreSQL's locale.
        (["params.model"], ["run3", "run1", "run2", "run4"]),
        (["tags.team", "run_id DESC"], ["run4", "run2", "run3", "run1"]),
        (["attributes.start_time ASC"], ["run1", "run2", "run3", "run4"]),
        (["start_time"], ["run1", "run2", "run3", "run4"]),
        (["start_time DESC"], ACTIVE),
        (["end_time"], ["run1", "run2", "run4", "run3"]),
        (["end_time DESC"], ["run2", "run1", "run4", "run3"]),
        (["run_name"], ["run1", "run2", "run4", "run3"]),
        (["attributes.status DESC"], ["run4", "run3", "run1", "run2"]),
        (["run_id"], ["run1", "run2", "run3", "run4"]),
    ],
)
def test_order_by(engine: Engine, order_by: list[str], expected: list[str]) -> None:
    assert _ids(engine, order_by=order_by) == expected


def test_order_by_with_filter(engine: Engine) -> None:
    assert _ids(engine, "params.alpha = '0.5'", ["metrics.auc"]) == ["run1", "run3"]
    assert _ids(engine, "tags.team ILIKE 'risk'", ["metrics.loss DESC"]) == [
        "run4",
        "run1",
        "run3",
    ]


def test_paging_by_offset(engine: Engine) -> None:
    assert _ids(engine, max_results=2) == ["run4", "run3"]
    assert _ids(engine, max_results=2, offset=2) == ["run2", "run1"]
    assert _ids(engine, max_results=2, offset=4) == []
    order = ["metrics.auc DESC"]
    assert _ids(engine, order_by=order, max_results=3) == ["run1", "run2", "run4"]
    assert _ids(engine, order_by=order, max_results=3, offset=3) == ["run3"]
    assert _ids(engine, "params.alpha = '0.5'", max_results=1, offset=1) == ["run1"]


def test_view_types(engine: Engine) -> None:
    assert _ids(engine, view_type="deleted_only") == ["run5"]
    assert _ids(engine, view_type="all") == ["run5", *ACTIVE]
    assert _ids(engine, "metrics.auc > 0.9", view_type="deleted_only") == ["run5"]
    assert _ids(engine, "metrics.auc > 0.9", view_type="all") == ["run5", "run1"]


def test_bad_input_is_rejected_before_any_sql() -> None:
    with pytest.raises(InvalidInputError, match="view_type 'archived'"):
        build_run_search([1], None, None, "archived", 10, 0)
    with pytest.raises(InvalidInputError, match="filter 'OR'"):
        build_run_search([1], "metrics.a > 1 OR metrics.b > 1", None, "all", 10, 0)
    with pytest.raises(InvalidInputError, match="order_by 'sideways'"):
        build_run_search([1], None, ["metrics.a sideways"], "all", 10, 0)
    with pytest.raises(InvalidInputError, match="offset -1"):
        build_run_search([1], None, None, "all", 10, -1)


@pytest.mark.parametrize(
    ("pattern", "like", "glob"),
    [
        ("Ab%", "Ab%", "Ab*"),
        ("a_c", "a_c", "a?c"),
        ("x*[y]?", "x*[y]?", "x[*][[]y][?]"),
        ("100\\%", "100\\%", "100%"),
        ("a\\_b", "a\\_b", "a_b"),
        ("a\\\\b", "a\\\\b", "a\\b"),
        ("\\q", "q", "q"),
        ("end\\", "end\\\\", "end\\"),
    ],
)
def test_like_patterns(pattern: str, like: str, glob: str) -> None:
    assert like_patterns(pattern) == (like, glob)
