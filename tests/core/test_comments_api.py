"""The discussion endpoints of the real app (``create_app``, served by uvicorn) on SQLite and
PostgreSQL: without auth (the author is the ``Flowtrack-User`` the client names) and with
``--auth`` (a reader cannot post, only the author or an admin may edit or delete, the author is
the authenticated user whatever the client claims, model versions follow the registry's
permissions and dataset versions the experiments of the runs that used them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack.comments import MAX_BODY_LENGTH
from flowtrack.server.app import create_app
from flowtrack.server.auth import accounts, credentials
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.state import ServerState
from flowtrack.store.sql.store import SqlStore

from tests.core.authapp import Client, serve

ADMIN = ("root", "root password 1")
PW = "user password 1"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


@pytest.fixture
def world(store_uri: str, tmp_path: Path) -> dict[str, Any]:
    """An experiment with a run that read a dataset version and registered a model version."""
    flowtrack.set_tracking_uri(store_uri)
    experiment = _name("talk")
    flowtrack.set_experiment(experiment)
    data = tmp_path / "train.csv"
    data.write_text("a\n1\n")
    with flowtrack.start_run() as run:
        version = flowtrack.log_input(data, name=_name("train"))
        flowtrack.log_text("weights", "model/model.txt")
    assert flowtrack.flush() and version is not None
    model = _name("model")
    flowtrack.register_model(f"runs:/{run.info.run_id}/model", model)
    exp_id = flowtrack.Client().get_experiment_by_name(experiment).experiment_id  # type: ignore[union-attr]
    return {
        "run": run.info.run_id,
        "experiment": exp_id,
        "dataset": version.version_id,
        "model": model,
    }


def _app(store_uri: str, tmp_path: Path, *, auth: bool) -> Any:
    store = SqlStore(store_uri)
    state = ServerState(
        store=store, artifacts_destination=str(tmp_path / "artifacts"), settings={"auth": auth}
    )
    app = create_app(state)
    if auth:
        repo = state.auth.repo  # type: ignore[union-attr]
        if repo.get_user(ADMIN[0]) is None:  # PostgreSQL tests share one database
            accounts.create_user(repo, *ADMIN, is_admin=True)
    return app


@pytest.fixture
def open_app(store_uri: str, tmp_path: Path) -> Iterator[Client]:
    with serve(_app(store_uri, tmp_path, auth=False)) as client:
        yield client


def test_without_auth(open_app: Client, world: dict[str, Any]) -> None:
    path = f"/api/v1/runs/{world['run']}/comments"
    made = open_app.request(
        "POST", path, body={"body": "Nice **run**"}, headers={"Flowtrack-User": "carol"}
    )
    assert made.status == 200, made.body
    comment = made.json()
    assert (comment["author"], comment["body"], comment["editable"]) == (
        "carol",
        "Nice **run**",
        True,
    )
    listed = open_app.request("GET", path).json()
    assert [c["comment_id"] for c in listed["comments"]] == [comment["comment_id"]]
    assert listed["next_page_token"] is None
    one = f"/api/v1/comments/{comment['comment_id']}"
    assert open_app.request("PATCH", one, body={"body": "edited"}).json()["body"] == "edited"
    assert open_app.request("GET", one).json()["body"] == "edited"
    counts = open_app.request(
        "POST", "/api/v1/comments/counts", body={"target_kind": "run", "target_ids": [world["run"]]}
    )
    assert counts.json() == {"counts": {world["run"]: 1}}
    assert open_app.request("DELETE", one).status == 200
    assert open_app.request("GET", one).status == 404

    # Model and dataset versions, under the routes of their targets.
    mv = f"/api/v1/registered-models/{world['model']}/versions/1/comments"
    assert open_app.request("POST", mv, body={"body": "ship it"}).status == 200
    assert open_app.request("GET", mv).json()["comments"][0]["target_id"] == f"{world['model']}/1"
    ds = f"/api/v1/dataset-versions/{world['dataset']}/comments"
    assert open_app.request("POST", ds, body={"body": "row 2?"}).status == 200
    assert [c["body"] for c in open_app.request("GET", ds).json()["comments"]] == ["row 2?"]

    # Refusals: a 404 naming the target, a 400 naming the field.
    missing = open_app.request("POST", f"/api/v1/runs/{'f' * 32}/comments", body={"body": "x"})
    assert missing.status == 404 and missing.json()["kind"] == "run"
    assert (
        open_app.request(
            "GET", f"/api/v1/registered-models/{world['model']}/versions/9/comments"
        ).status
        == 404
    )
    too_long = open_app.request("POST", path, body={"body": "x" * (MAX_BODY_LENGTH + 1)})
    assert too_long.status == 400 and too_long.json()["field"] == "body"
    assert "the limit is 20000" in too_long.json()["reason"]
    empty = open_app.request("POST", path, body={"body": ""})
    assert (empty.status, empty.json()["field"]) == (400, "body")
    assert open_app.request("GET", path).json()["comments"] == []


def _user(app: Any, prefix: str) -> tuple[str, str]:
    name = _name(prefix)
    accounts.create_user(app.state.flowtrack.auth.repo, name, PW)
    return name, PW


def _grant(app: Any, user: str, kind: str, resource_id: int, level: Permission) -> None:
    repo = app.state.flowtrack.auth.repo
    repo.set_permission(kind, resource_id, repo.get_user(user), level)


def test_with_auth(store_uri: str, tmp_path: Path, world: dict[str, Any]) -> None:
    app = _app(store_uri, tmp_path, auth=True)
    alice, bob = _user(app, "alice"), _user(app, "bob")
    _grant(app, alice[0], "experiment", int(world["experiment"]), Permission.EDIT)
    path = f"/api/v1/runs/{world['run']}/comments"
    with serve(app) as c:
        assert c.request("GET", path).status == 401
        # The author is the authenticated user, whatever name the client sends.
        made = c.request(
            "POST", path, body={"body": "mine"}, user=alice, headers={"Flowtrack-User": "mallory"}
        )
        assert made.status == 200, made.body
        comment = made.json()
        assert comment["author"] == alice[0]
        one = f"/api/v1/comments/{comment['comment_id']}"

        # bob has the default READ: he reads, but may not post, edit or delete.
        listed = c.request("GET", path, user=bob).json()["comments"]
        assert [(x["author"], x["editable"]) for x in listed] == [(alice[0], False)]
        refused = c.request("POST", path, body={"body": "mine too"}, user=bob)
        assert refused.status == 403 and "needs EDIT" in refused.json()["message"]
        # Even with EDIT on the experiment, a comment stays its author's.
        _grant(app, bob[0], "experiment", int(world["experiment"]), Permission.EDIT)
        for method, body in (("PATCH", {"body": "hijacked"}), ("DELETE", None)):
            denied = c.request(method, one, body=body, user=bob)
            assert (
                denied.status == 403 and "only its author or an admin" in denied.json()["message"]
            )
        assert c.request("GET", one, user=bob).json()["body"] == "mine"
        bobs = c.request("POST", path, body={"body": "now I may"}, user=bob).json()
        assert bobs["author"] == bob[0]
        assert (
            c.request(
                "PATCH", f"/api/v1/comments/{bobs['comment_id']}", body={"body": "x"}, user=alice
            ).status
            == 403
        )

        # The author edits, an admin may delete anyone's.
        assert c.request("PATCH", one, body={"body": "mine, edited"}, user=alice).status == 200
        assert (
            c.request("DELETE", f"/api/v1/comments/{bobs['comment_id']}", user=ADMIN).status == 200
        )
        assert [x["body"] for x in c.request("GET", path, user=alice).json()["comments"]] == [
            "mine, edited"
        ]

        # Model versions follow the registry's permissions: READ reads, EDIT comments.
        mv = f"/api/v1/registered-models/{world['model']}/versions/1/comments"
        assert c.request("GET", mv, user=bob).status == 200
        assert c.request("POST", mv, body={"body": "x"}, user=bob).status == 403
        model_id = app.state.flowtrack.auth.repo.model_id(world["model"])
        _grant(app, bob[0], "registered_model", model_id, Permission.EDIT)
        assert c.request("POST", mv, body={"body": "x"}, user=bob).status == 200

        # Dataset versions: EDIT on the experiment of a run that read or wrote the version.
        ds = f"/api/v1/dataset-versions/{world['dataset']}/comments"
        carol = _user(app, "carol")
        assert c.request("GET", ds, user=carol).status == 200
        denied = c.request("POST", ds, body={"body": "x"}, user=carol)
        assert denied.status == 403 and "a run that read or wrote it" in denied.json()["message"]
        assert c.request("POST", ds, body={"body": "ok"}, user=alice).status == 200
        assert (
            c.request(
                "POST", "/api/v1/dataset-versions/nope/comments", body={"body": "x"}, user=carol
            ).status
            == 404
        )

        # A user with NONE on the experiment cannot read the run's discussion or its counts.
        _grant(app, carol[0], "experiment", int(world["experiment"]), Permission.NONE)
        assert c.request("GET", path, user=carol).status == 403
        assert c.request("GET", one, user=carol).status == 403
        counts = {"target_kind": "run", "target_ids": [world["run"]]}
        assert c.request("POST", "/api/v1/comments/counts", body=counts, user=carol).status == 403
        assert c.request("POST", "/api/v1/comments/counts", body=counts, user=alice).json() == {
            "counts": {world["run"]: 1}
        }


def test_under_flowtrack_ui_the_author_is_the_local_user(
    store_uri: str, tmp_path: Path, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTRACK_USER", "local-dev")
    store = SqlStore(store_uri)
    state = ServerState(
        store=store, artifacts_destination=str(tmp_path / "a"), settings={"ui": True}
    )
    with serve(create_app(state)) as c:
        made = c.request("POST", f"/api/v1/runs/{world['run']}/comments", body={"body": "hi"})
        assert made.status == 200, made.body
        assert made.json()["author"] == "local-dev"
        # A client that names its user is still believed (as under `flowtrack server`).
        named = c.request(
            "POST",
            f"/api/v1/runs/{world['run']}/comments",
            body={"body": "hi"},
            headers={"Flowtrack-User": "script"},
        )
        assert named.json()["author"] == "script"
