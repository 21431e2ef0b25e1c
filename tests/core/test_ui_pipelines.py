"""The Pipelines pages' queries (flowtrack/ui/pipelines.py) on SQLite and PostgreSQL, and their
endpoints through a real server, with and without --auth."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from flowtrack.errors import NotFoundError
from flowtrack.store.sql.store import SqlStore
from flowtrack.ui import pipelines

from tests.core.pipelineseed import pipeline_events
from tests.core.serverfixtures import running_server

# The SQLite and PostgreSQL store fixture of the other UI query tests:
# ruff: noqa: F811
from tests.core.test_ui_queries import store  # noqa: F401


def _seed(store: SqlStore) -> tuple[str, dict[str, Any]]:
    experiment_id = store.create_experiment(f"pipelines-{uuid.uuid4().hex[:6]}")
    events, ids = pipeline_events(experiment_id, int(time.time() * 1000) - 3_600_000)
    assert not store.apply_events(events)
    return experiment_id, ids


def _edges(found: dict[str, Any]) -> set[tuple[str, str]]:
    names = {t["run_id"]: t["run_name"] for t in found["tasks"]}
    return {(names[e["source"]], names[e["target"]]) for e in found["edges"]}


def test_list_is_pipeline_runs_newest_first_with_task_counts(store: SqlStore) -> None:
    exp, ids = _seed(store)
    found = pipelines.pipeline_runs(store, experiment_ids=[exp])
    listed = [p["run_id"] for p in found["pipelines"]]
    # Not the subflow (part of its flow run's pipeline), not the python run with a child.
    assert listed == [ids["dag_run"], ids["flow_run"], ids["dag_old"], ids["lineage_run"]]
    assert found["total"] == 4
    dag = found["pipelines"][0]
    assert dag["name"] == "churn_etl" and dag["source_type"] == "airflow"
    assert dag["state"] == "failed"
    assert dag["tasks"] == {
        "failed": 1,
        "skipped": 1,
        "success": 6,
        "upstream_failed": 1,
    }
    flow = found["pipelines"][1]
    assert flow["name"] == "train-flow" and flow["state"] == "success"
    assert flow["tasks"] == {"success": 4}  # three tasks and the subflow
    assert {(n["source"], n["name"], n["runs"]) for n in found["names"]} == {
        ("airflow", "churn_etl", 2),
        ("airflow", "lineage-dag", 1),
        ("prefect", "train-flow", 1),
    }


def test_list_filters_and_pages(store: SqlStore) -> None:
    exp, ids = _seed(store)
    by_source = pipelines.pipeline_runs(store, source="prefect", experiment_ids=[exp])
    assert [p["run_id"] for p in by_source["pipelines"]] == [ids["flow_run"]]
    by_name = pipelines.pipeline_runs(store, name="churn_etl", experiment_ids=[exp])
    assert [p["run_id"] for p in by_name["pipelines"]] == [ids["dag_run"], ids["dag_old"]]
    second = pipelines.pipeline_runs(store, offset=1, limit=2, experiment_ids=[exp])
    assert [p["run_id"] for p in second["pipelines"]] == [ids["flow_run"], ids["dag_old"]]
    assert second["total"] == 4
    assert pipelines.pipeline_runs(store, experiment_ids=[])["total"] == 0


def test_dag_run_graph_from_recorded_upstream_tasks(store: SqlStore) -> None:
    _, ids = _seed(store)
    found = pipelines.pipeline(store, ids["dag_run"])
    assert found["edges_from"] == "recorded"
    assert found["run"]["name"] == "churn_etl" and found["run"]["state"] == "failed"
    transforms = {f"transform[{i}]" for i in range(3)}
    assert _edges(found) == {
        ("extract", "validate"),
        ("validate", "notify"),
        *{("validate", t) for t in transforms},
        *{(t, "train") for t in transforms},
        ("train", "evaluate"),
        ("evaluate", "publish"),
    }
    by_name = {t["run_name"]: t for t in found["tasks"]}
    assert by_name["train"]["try_number"] == 2 and by_name["train"]["state"] == "success"
    assert (
        by_name["transform[1]"]["map_index"] == 1 and by_name["transform[1]"]["task"] == "transform"
    )
    assert by_name["extract"]["map_index"] is None
    assert by_name["publish"]["state"] == "upstream_failed"
    assert by_name["evaluate"]["end_time"] - by_name["evaluate"]["start_time"] == 19_000
    assert found["tasks"][0]["run_name"] == "extract"  # in start order


def test_flow_run_graph_with_a_subflow(store: SqlStore) -> None:
    _, ids = _seed(store)
    found = pipelines.pipeline(store, ids["flow_run"])
    assert found["edges_from"] == "recorded"
    assert _edges(found) == {("load-0", "fit-0"), ("fit-0", "score-0")}
    sub = next(t for t in found["tasks"] if t["run_id"] == ids["subflow"])
    assert sub["subflow"] == {"success": 2}
    inner = pipelines.pipeline(store, ids["subflow"])
    assert inner["run"]["parent"] == {
        "run_id": ids["flow_run"],
        "run_name": "train-flow-run",
        "experiment_id": inner["run"]["experiment_id"],
        "pipeline": True,
    }
    assert _edges(inner) == {("check-0", "report-0")}


def test_edges_fall_back_to_lineage_then_to_none(store: SqlStore) -> None:
    _, ids = _seed(store)
    from_data = pipelines.pipeline(store, ids["lineage_run"])
    assert from_data["edges_from"] == "lineage"
    assert _edges(from_data) == {("produce", "consume")}
    bare = pipelines.pipeline(store, ids["dag_old"])
    assert bare["edges_from"] == "none" and bare["edges"] == []
    assert [t["run_name"] for t in bare["tasks"]] == ["extract", "validate", "train"]
    # A run without task runs answers an empty graph; an unknown one is NotFoundError.
    plain = pipelines.pipeline(store, ids["dag_tasks"]["extract"])
    assert plain["tasks"] == [] and plain["run"]["parent"]["pipeline"] is True
    with pytest.raises(NotFoundError):
        pipelines.pipeline(store, "f" * 32)


def test_states_map_prefect_and_status_names() -> None:
    assert pipelines.state_of("FINISHED", "Completed") == "success"
    assert pipelines.state_of("FAILED", "Crashed") == "failed"
    assert pipelines.state_of("RUNNING", "AwaitingRetry") == "up_for_retry"
    assert pipelines.state_of("FAILED", "up_for_retry") == "up_for_retry"
    assert pipelines.state_of("KILLED", None) == "cancelled"
    assert pipelines.state_of("RUNNING", "") == "running"


# -- through the server --------------------------------------------------------------------

ADMIN = ("root", "pipelines-admin-passphrase")
BOB = ("bob", "bob-passphrase-1")


def _post_events(url: str, events: list[dict[str, Any]], auth: Any = None) -> None:
    written = requests.post(f"{url}/api/v1/events", auth=auth, json={"events": events}, timeout=30)
    assert written.status_code == 200 and not written.json()["rejections"], written.text


def test_endpoints_through_the_server(tmp_path: Path) -> None:
    with running_server(tmp_path / "server") as server:
        url = server.url
        exp = requests.post(f"{url}/api/v1/experiments", json={"name": "p"}).json()["experiment_id"]
        events, ids = pipeline_events(exp, int(time.time() * 1000))
        _post_events(url, events)
        listed = requests.get(f"{url}/api/v1/ui/pipelines", params={"source": "airflow"}).json()
        assert [p["run_id"] for p in listed["pipelines"]] == [
            ids["dag_run"],
            ids["dag_old"],
            ids["lineage_run"],
        ]
        graph = requests.get(f"{url}/api/v1/ui/pipelines/{ids['dag_run']}").json()
        assert len(graph["tasks"]) == 9 and len(graph["edges"]) == 10
        assert requests.get(f"{url}/api/v1/ui/pipelines/{'f' * 32}").status_code == 404
        refused = requests.get(f"{url}/api/v1/ui/pipelines", params={"limit": 0})
        assert refused.status_code == 400 and "limit" in refused.text
        for path in ("/pipelines", f"/pipelines/{ids['dag_run']}"):
            assert requests.get(url + path).status_code == 200
        assert requests.get(f"{url}/pipelines/{'f' * 32}").status_code == 404


def test_endpoints_with_auth_leave_out_what_the_user_may_not_read(tmp_path: Path) -> None:
    env = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
    with running_server(tmp_path / "server", env=env, extra_args=("--auth",)) as server:
        url = server.url
        made = requests.post(
            f"{url}/api/v1/auth/users", auth=ADMIN, json={"name": BOB[0], "password": BOB[1]}
        )
        assert made.status_code == 201, made.text
        open_exp, secret = (
            requests.post(f"{url}/api/v1/experiments", auth=ADMIN, json={"name": n}).json()[
                "experiment_id"
            ]
            for n in ("open", "secret")
        )
        granted = requests.put(
            f"{url}/api/v1/auth/permissions",
            auth=ADMIN,
            json={"user": BOB[0], "permission": "NONE", "experiment": secret},
        )
        assert granted.status_code == 200, granted.text
        now = int(time.time() * 1000)
        visible, seen = pipeline_events(open_exp, now)
        hidden, unseen = pipeline_events(secret, now + 1)
        # A task run of Bob's DAG run that sits in the secret experiment.
        stray = {
            "op": "create_run",
            "run_id": uuid.uuid4().hex,
            "experiment_id": secret,
            "run_name": "stray",
            "parent_run_id": seen["dag_run"],
            "start_time": now,
            "source_type": "airflow",
            "tags": {"airflow.task_id": "stray", "airflow.upstream": "extract"},
        }
        _post_events(url, [*visible, *hidden, stray], auth=ADMIN)

        assert requests.get(f"{url}/api/v1/ui/pipelines").status_code == 401
        mine = requests.get(f"{url}/api/v1/ui/pipelines", auth=BOB).json()
        assert [p["run_id"] for p in mine["pipelines"]][:1] == [seen["dag_run"]]
        assert unseen["dag_run"] not in {p["run_id"] for p in mine["pipelines"]}
        assert mine["total"] == 4
        admins = requests.get(f"{url}/api/v1/ui/pipelines", auth=ADMIN).json()
        assert admins["total"] == 8
        refused = requests.get(f"{url}/api/v1/ui/pipelines/{unseen['dag_run']}", auth=BOB)
        assert refused.status_code == 403
        assert requests.get(f"{url}/pipelines/{unseen['dag_run']}", auth=BOB).status_code == 403
        graph = requests.get(f"{url}/api/v1/ui/pipelines/{seen['dag_run']}", auth=BOB).json()
        assert "stray" not in {t["run_name"] for t in graph["tasks"]}
        assert len(graph["tasks"]) == 9 and len(graph["edges"]) == 10
        full = requests.get(f"{url}/api/v1/ui/pipelines/{seen['dag_run']}", auth=ADMIN).json()
        assert len(full["tasks"]) == 10 and len(full["edges"]) == 11
