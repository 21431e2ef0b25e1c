"""The web UI's own queries (flowtrack/ui/queries.py) on SQLite and PostgreSQL: run counts with
last activity, and the keys an experiment's runs use (the runs table's columns)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowtrack.store.sql.store import SqlStore
from flowtrack.ui.queries import _keys_by_search, column_keys, run_activity


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgresql":
        uri = request.getfixturevalue("pg_database")
    else:
        uri = f"sqlite:///{tmp_path / 'ui.db'}"
    opened = SqlStore(uri, artifact_root=str(tmp_path / "artifacts"))
    yield opened
    opened.close()


def _run(experiment_id: str, start: int, **data: Any) -> list[dict[str, Any]]:
    run_id = uuid.uuid4().hex
    events: list[dict[str, Any]] = [
        {
            "op": "create_run",
            "run_id": run_id,
            "experiment_id": experiment_id,
            "run_name": run_id[:6],
            "start_time": start,
            "tags": data.get("tags", {}),
        }
    ]
    events += [
        {"op": "param", "run_id": run_id, "key": k, "value": v}
        for k, v in data.get("params", {}).items()
    ]
    if data.get("metrics"):
        events.append(
            {
                "op": "metrics",
                "run_id": run_id,
                "values": data["metrics"],
                "timestamp": start,
                "step": 0,
            }
        )
    if "end" in data:
        events.append(
            {"op": "update_run", "run_id": run_id, "status": "FINISHED", "end_time": data["end"]}
        )
    return events


def test_run_counts_and_last_activity(store: SqlStore) -> None:
    busy = store.create_experiment(f"busy-{uuid.uuid4().hex[:6]}")
    idle = store.create_experiment(f"idle-{uuid.uuid4().hex[:6]}")
    events = _run(busy, 1_000, end=5_000) + _run(busy, 3_000) + _run(busy, 9_000)
    assert not store.apply_events(events)
    deleted = events[-1]["run_id"]
    store.delete_run(deleted)  # a deleted run neither counts nor is activity
    found = run_activity(store, [busy, idle])
    assert found == {
        busy: {"runs": 2, "last_activity": 5_000},
        idle: {"runs": 0, "last_activity": 0},
    }


def test_column_keys_are_the_distinct_keys_of_active_runs(store: SqlStore) -> None:
    exp = store.create_experiment(f"cols-{uuid.uuid4().hex[:6]}")
    other = store.create_experiment(f"other-{uuid.uuid4().hex[:6]}")
    events = (
        _run(exp, 1, params={"b": "1", "a": "2"}, metrics={"loss": 0.5}, tags={"team": "x"})
        + _run(exp, 2, params={"a": "3", "c.d": "4"}, metrics={"loss": 0.4, "auc": 0.9})
        + _run(other, 3, params={"elsewhere": "1"}, metrics={"nope": 1.0})
    )
    gone = _run(exp, 4, params={"deleted_only": "1"})
    assert not store.apply_events(events + gone)
    store.delete_run(gone[0]["run_id"])
    keys = column_keys(store, exp)
    assert keys["params"] == ["a", "b", "c.d"]
    assert keys["metrics"] == ["auc", "loss"]
    assert keys["tags"] == ["team"]
    assert keys["truncated"] is False
    # Stores without SQL get the same answer through search_runs.
    assert _keys_by_search(store, exp) == keys
    assert column_keys(store, store.create_experiment(f"e-{uuid.uuid4().hex[:6]}")) == {
        "params": [],
        "metrics": [],
        "tags": [],
        "truncated": False,
    }
