"""A create_run for a run id the store already has is a no-op, also in a later batch.

Orchestrator adapters compute run ids from the orchestrator's keys, and each of their
processes sends the create_run of a run it may not be the first to see (an Airflow DAG run's
run is sent by every task of it).
"""

from __future__ import annotations

import uuid

from flowtrack.tracking.stores import get_store


def _create(run_id: str, name: str) -> dict[str, object]:
    return {
        "op": "create_run",
        "run_id": run_id,
        "experiment_id": None,
        "experiment_name": "twice",
        "run_name": name,
        "parent_run_id": None,
        "start_time": 1000,
        "user_id": "u",
        "source_type": "airflow",
        "source_ref": {"dag_id": "d"},
        "tags": {"who": name},
    }


def test_second_create_of_one_run_in_a_later_batch_changes_nothing(store_uri: str) -> None:
    store = get_store(store_uri)
    run_id = uuid.uuid4().hex
    assert list(store.apply_events([_create(run_id, "first")])) == []
    again = store.apply_events(
        [
            _create(run_id, "second"),
            {"op": "param", "run_id": run_id, "key": "alpha", "value": "1"},
            {"op": "update_run", "run_id": run_id, "status": "FINISHED", "end_time": 2000},
        ]
    )
    assert list(again) == []
    run = store.get_run(run_id)
    assert run.info.run_name == "first" and run.data.tags["who"] == "first"
    assert run.data.params == {"alpha": "1"} and run.info.status == "FINISHED"
    refused = store.apply_events(
        [_create(run_id, "third"), {"op": "param", "run_id": run_id, "key": "alpha", "value": "2"}]
    )
    assert [r.reason for r in refused] == [
        "the run is FINISHED; resume it with flowtrack.start_run(run_id=...) to log more"
    ]
