"""flowtrack's own API on a real ``flowtrack server --auth``: the REST store sends the token
or the user and password from the environment; every route checks its permission; runs and
registry changes are recorded under the authenticated user; events refused for lack of
permission stay in the journal until the permission is granted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import flowtrack
import pytest
import requests
from flowtrack.registry import register_model
from flowtrack.store.rest.http import AccessDeniedError

from tests.core.serverfixtures import Server, running_server

pytestmark = pytest.mark.slow

ADMIN, ADMIN_PW = "boss", "boss password 123"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("auth-server"),
        env={"FLOWTRACK_ADMIN_USERNAME": ADMIN, "FLOWTRACK_ADMIN_PASSWORD": ADMIN_PW},
        extra_args=("--auth",),
    ) as server:
        yield server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _as_admin(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("FLOWTRACK_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("FLOWTRACK_TRACKING_PASSWORD", ADMIN_PW)
    monkeypatch.delenv("FLOWTRACK_TRACKING_TOKEN", raising=False)


def _user_with_token(server: Server) -> tuple[str, str]:
    name = _name("ana")
    admin = (ADMIN, ADMIN_PW)
    made = requests.post(
        f"{server.url}/api/v1/auth/users",
        json={"name": name, "password": "ana password 123"},
        auth=admin,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    token = requests.post(
        f"{server.url}/api/v1/auth/users/{name}/tokens", json={"name": "ci"}, auth=admin, timeout=30
    )
    assert token.status_code == 201, token.text
    return name, token.json()["token"]


def _grant_edit(server: Server, user: str, experiment: str) -> None:
    grant = requests.put(
        f"{server.url}/api/v1/auth/permissions",
        json={"user": user, "permission": "EDIT", "experiment": experiment},
        auth=(ADMIN, ADMIN_PW),
        timeout=30,
    )
    assert grant.status_code == 200, grant.text


def test_without_credentials_every_api_route_is_401(auth_server: Server) -> None:
    assert requests.get(f"{auth_server.url}/health", timeout=30).status_code == 200
    for method, path in (
        ("GET", "/api/v1/experiments"),
        ("POST", "/api/v1/events"),
        ("GET", f"/api/v1/runs/{'0' * 32}/artifacts/x.txt"),
        ("PUT", f"/api/v1/runs/{'0' * 32}/artifacts/x.txt"),
        ("GET", "/api/v1/registered-models"),
    ):
        answer = requests.request(method, auth_server.url + path, timeout=30)
        assert answer.status_code == 401, (method, path, answer.text)


def test_the_admin_logs_through_the_rest_store(
    auth_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _as_admin(monkeypatch, auth_server)
    flowtrack.set_experiment(_name("admin"))
    with flowtrack.start_run() as run:
        flowtrack.log_param("p", "1")
        flowtrack.log_metric("m", 2.0)
        flowtrack.log_text("w", "model/w.txt")
    client = flowtrack.Client()
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"p": "1"} and got.data.metrics == {"m": 2.0}
    assert got.info.user_id == ADMIN  # the authenticated user, not the login name
    local = Path(client.download_artifacts(run.info.run_id, "model/w.txt", tmp_path))
    assert local.read_text() == "w"
    name = _name("model")
    register_model(f"runs:/{run.info.run_id}/model", name)
    assert {e.user for e in client.get_registry_history(name)} == {ADMIN}


def test_permissions_are_checked_and_refused_events_wait_for_a_grant(
    auth_server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _as_admin(monkeypatch, auth_server)
    experiment = _name("owned-by-admin")
    flowtrack.set_experiment(experiment)
    with flowtrack.start_run() as theirs:
        flowtrack.log_metric("m", 1.0)
    user, token = _user_with_token(auth_server)

    monkeypatch.delenv("FLOWTRACK_TRACKING_USERNAME")
    monkeypatch.delenv("FLOWTRACK_TRACKING_PASSWORD")
    monkeypatch.setenv("FLOWTRACK_TRACKING_TOKEN", token)
    flowtrack.testing.reset()
    client = flowtrack.Client()
    # READ is the server's default permission: reading works, writing does not.
    assert client.get_run(theirs.info.run_id).data.metrics == {"m": 1.0}
    with pytest.raises(AccessDeniedError, match="403"):
        client.log_metric(theirs.info.run_id, "m", 2.0)
    with pytest.raises(AccessDeniedError, match="403"):
        client.delete_run(theirs.info.run_id)
    put = requests.put(
        f"{auth_server.url}/api/v1/runs/{theirs.info.run_id}/artifacts/x.txt",
        data=b"x",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert put.status_code == 403

    # Their own experiment: they made it, so they manage it.
    flowtrack.set_experiment(_name("owned-by-ana"))
    with flowtrack.start_run() as mine:
        flowtrack.log_metric("m", 3.0)
    assert client.get_run(mine.info.run_id).info.user_id == user
    client.delete_run(mine.info.run_id)

    # Logging into the admin's experiment: refused, kept in the journal, not lost.
    monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "2")
    with caplog.at_level(logging.WARNING, logger="flowtrack"):
        flowtrack.set_experiment(experiment)
        with flowtrack.start_run() as refused:
            flowtrack.log_metric("m", 4.0)
        assert not flowtrack.flush(timeout=2)
    assert "403" in caplog.text
    _grant_edit(auth_server, user, experiment)
    assert flowtrack.flush(timeout=30)
    got = client.get_run(refused.info.run_id)
    assert (got.info.status, got.data.metrics, got.info.user_id) == ("FINISHED", {"m": 4.0}, user)


def test_a_refused_process_leaves_its_events_for_flowtrack_sync(
    auth_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job without the permission ends; its events stay in the journal with a warning that
    says what to do; after the grant, `flowtrack sync` delivers them."""
    from click.testing import CliRunner
    from flowtrack.cli.main import cli

    from tests.core.faults import run_python

    _as_admin(monkeypatch, auth_server)
    experiment = _name("guarded")
    flowtrack.set_experiment(experiment)
    with flowtrack.start_run():
        pass
    assert flowtrack.flush()
    user, token = _user_with_token(auth_server)
    monkeypatch.delenv("FLOWTRACK_TRACKING_USERNAME")
    monkeypatch.delenv("FLOWTRACK_TRACKING_PASSWORD")
    monkeypatch.setenv("FLOWTRACK_TRACKING_TOKEN", token)

    done = run_python(
        f"""
        import flowtrack
        flowtrack.set_experiment({experiment!r})
        with flowtrack.start_run(run_name="refused") as run:
            flowtrack.log_param("p", "1")
            flowtrack.log_metric("m", 5.0)
        print(run.info.run_id)
        """,
        {"FLOWTRACK_FLUSH_TIMEOUT": "2"},
    )
    assert done.returncode == 0, done.stderr  # the user's job is not failed by the refusal
    run_id = done.stdout.strip().splitlines()[-1]
    warning = done.stderr
    assert "denied access (403" in warning, warning
    assert "have the permission granted" in warning and "flowtrack sync" in warning, warning

    flowtrack.testing.reset()  # this process's own journal is done with: only the job's waits
    runner = CliRunner()
    refused = runner.invoke(cli, ["sync"])
    assert refused.exit_code == 1 and "not delivered" in refused.output, refused.output
    _grant_edit(auth_server, user, experiment)
    delivered = runner.invoke(cli, ["sync"])
    assert delivered.exit_code == 0 and "delivered 1" in delivered.output, delivered.output
    got = flowtrack.Client().get_run(run_id)
    assert (got.info.status, got.info.run_name, got.info.user_id) == ("FINISHED", "refused", user)
    assert (got.data.params, got.data.metrics) == ({"p": "1"}, {"m": 5.0})
