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


def _pending(run_id: str, experiment: str | None = None) -> dict[str, object]:
    # What a process handed FLOWTRACK_RUN_ID sends before its first event (context._announce).
    return {
        "op": "create_run",
        "run_id": run_id,
        "experiment_id": None,
        "experiment_name": experiment,
        "run_name": "",
        "parent_run_id": None,
        "start_time": 0,
        "user_id": "container",
        "source_type": "pending",
        "source_ref": {},
        "tags": {},
    }


def test_events_before_the_owners_create_are_kept_and_the_create_completes_the_run(
    store_uri: str,
) -> None:
    """A pod logs before the Kubernetes watcher has recorded its Job: the provisional run
    keeps the pod's events, and the watcher's create (a later batch) fills in the rest."""
    store = get_store(store_uri)
    run_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex
    early = store.apply_events(
        [
            _pending(run_id),
            {
                "op": "metric",
                "run_id": run_id,
                "key": "loss",
                "value": 0.5,
                "timestamp": 5,
                "step": 0,
            },
            {"op": "param", "run_id": run_id, "key": "alpha", "value": "1"},
        ]
    )
    assert list(early) == []
    provisional = store.get_run(run_id)
    assert provisional.info.source_type == "pending" and provisional.info.status == "RUNNING"
    artifact_uri = provisional.info.artifact_uri
    owner = _create(run_id, "train-churn") | {"parent_run_id": parent_id, "source_type": "k8s"}
    assert list(store.apply_events([_create(parent_id, "parent"), owner])) == []
    run = store.get_run(run_id)
    assert run.info.run_name == "train-churn" and run.info.source_type == "k8s"
    assert run.info.parent_run_id == parent_id and run.info.start_time == 1000
    assert run.info.user_id == "u" and run.data.tags["who"] == "train-churn"
    assert store.get_experiment(run.info.experiment_id).name == "twice"
    assert run.info.artifact_uri == artifact_uri  # files written there stay reachable
    assert run.data.metrics == {"loss": 0.5} and run.data.params == {"alpha": "1"}
    # Completed once: a later create (another pod's provisional one, or the owner's again)
    # changes nothing.
    again = _create(run_id, "renamed")
    assert list(store.apply_events([_pending(run_id, "elsewhere"), again])) == []
    assert store.get_run(run_id).info.run_name == "train-churn"


def test_owner_create_in_the_same_batch_as_the_provisional_one(store_uri: str) -> None:
    store = get_store(store_uri)
    run_id = uuid.uuid4().hex
    finished = {"op": "update_run", "run_id": run_id, "status": "FINISHED", "end_time": 9000}
    owner = _create(run_id, "owner") | {"source_type": "k8s"}
    assert list(store.apply_events([_pending(run_id), finished, owner])) == []
    run = store.get_run(run_id)
    assert (run.info.run_name, run.info.source_type) == ("owner", "k8s")
    assert (run.info.status, run.info.end_time) == ("FINISHED", 9000)  # the end stays
