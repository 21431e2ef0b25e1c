"""Auth over HTTP, through a real uvicorn: 401 without or with bad credentials, 403 when
under-permitted (READ < EDIT < MANAGE on experiments, runs, models and artifacts), 200 with the
right ones, admins bypass; the /api/v1/auth endpoints; auth off lets everything through."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import flowtrack
import pytest
from flowtrack.server.auth import credentials
from flowtrack.server.auth.deps import unchecked_routes

from tests.core.authapp import Client, build_app, serve

ADMIN = ("root", "root password 1")
ENV = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
PW = "user password 1"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(store_uri: str) -> object:
    flowtrack.set_tracking_uri(store_uri)
    store = flowtrack.Client().store
    store.get_or_create_experiment("Default")  # experiment 0, which the tests use
    return store


def _with_admin(app: object) -> None:
    """The test admin: PostgreSQL tests share one database, where admins made by other tests
    already exist (so none was made from ENV); add ours if it is missing."""
    from flowtrack.server.auth import accounts

    repo = app.state.flowtrack.auth.repo  # type: ignore[attr-defined]
    if repo.get_user(ADMIN[0]) is None:
        accounts.create_user(repo, ADMIN[0], ADMIN[1], is_admin=True)


@pytest.fixture
def client(store: object, tmp_path: Path) -> Iterator[Client]:
    app = build_app(store, tmp_path / "artifacts", with_auth=True, environ=ENV)  # type: ignore[arg-type]
    _with_admin(app)
    with serve(app) as c:
        yield c


def _new_user(client: Client, prefix: str) -> tuple[str, str]:
    name = _name(prefix)
    done = client.request(
        "POST", "/api/v1/auth/users", user=ADMIN, body={"name": name, "password": PW}
    )
    assert done.status == 201, done.body
    return name, PW


def test_unauthenticated_and_bad_credentials_get_401(client: Client) -> None:
    refused = client.request("GET", "/api/v1/experiments/0")
    assert refused.status == 401
    assert refused.headers["www-authenticate"].startswith('Basic realm="flowtrack"')
    assert refused.json()["error_code"] == "UNAUTHENTICATED"
    assert client.request("GET", "/health").status == 200  # probes need no credentials

    name, pw = _new_user(client, "ann")
    assert client.request("GET", "/api/v1/experiments/0", user=(name, pw)).status == 200
    for bad in [(name, "wrong password"), (_name("ghost"), pw), (name, "")]:
        reply = client.request("GET", "/api/v1/experiments/0", user=bad)
        assert reply.status == 401, bad
        assert "password" not in reply.headers.get("www-authenticate", "").lower()
    assert client.request("GET", "/", headers={"Authorization": "Negotiate abc"}).status == 401

    made = client.request(
        "POST", f"/api/v1/auth/users/{name}/tokens", user=(name, pw), body={"name": "laptop"}
    )
    assert made.status == 201
    token = made.json()["token"]
    assert client.request("GET", "/api/v1/experiments/0", token=token).status == 200
    whoami = client.request("GET", "/api/v1/auth/whoami", token=token).json()
    assert (whoami["user"], whoami["token_name"]) == (name, "laptop")
    listed = client.request("GET", f"/api/v1/auth/users/{name}/tokens", token=token).json()
    assert [t["name"] for t in listed["tokens"]] == ["laptop"] and token not in str(listed)
    revoked = client.request("DELETE", f"/api/v1/auth/users/{name}/tokens/laptop", token=token)
    assert revoked.status == 200
    assert client.request("GET", "/api/v1/experiments/0", token=token).status == 401
    assert client.request("GET", "/api/v1/experiments/0", token="ftk_" + "x" * 43).status == 401


def test_expired_token_gets_401(client: Client) -> None:
    name, pw = _new_user(client, "tmp")
    made = client.request(
        "POST",
        f"/api/v1/auth/users/{name}/tokens",
        user=(name, pw),
        body={"name": "brief", "expires_in": "1s"},
    )
    token = made.json()["token"]
    assert made.json()["expiry_time"] is not None
    assert client.request("GET", "/api/v1/experiments/0", token=token).status == 200
    import time

    time.sleep(1.1)
    reply = client.request("GET", "/api/v1/experiments/0", token=token)
    assert reply.status == 401 and "expired" in reply.json()["message"]


def test_permission_matrix(client: Client, store: object) -> None:
    owner, reader, editor, manager = (_new_user(client, p) for p in ("own", "rd", "ed", "mg"))
    made = client.request("POST", "/api/v1/experiments", user=owner, body={"name": _name("exp")})
    assert made.status == 200
    exp = made.json()["experiment_id"]
    exp_name = flowtrack.Client().store.get_experiment(exp).name
    flowtrack.set_experiment(experiment_id=exp)
    with flowtrack.start_run() as run:
        pass
    assert flowtrack.flush()
    run_id = run.info.run_id
    model = _name("model")
    assert (
        client.request(
            "POST", "/api/2.0/mlflow/registered-models/create", user=owner, body={"name": model}
        ).status
        == 200
    )

    # The owner (MANAGE as creator) grants through the API.
    for who, level in ((editor, "EDIT"), (manager, "MANAGE")):
        for resource in ({"experiment": exp}, {"registered_model": model}):
            done = client.request(
                "PUT",
                "/api/v1/auth/permissions",
                user=owner,
                body={"user": who[0], "permission": level, **resource},
            )
            assert done.status == 200, done.body

    art = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_id}/artifacts/model.txt"
    calls = {
        "READ": [
            ("GET", f"/api/v1/experiments/{exp}", None),
            ("GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}", None),
            ("GET", f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={exp_name}", None),
            ("GET", f"/api/2.0/mlflow/registered-models/get?name={model}", None),
        ],
        "EDIT": [
            ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp}),
            ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_uuid": run_id}),
            ("POST", "/api/2.0/mlflow/model-versions/create", {"name": model, "run_id": run_id}),
            ("PUT", art, b"weights"),
        ],
        "MANAGE": [("POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": exp})],
    }
    levels = {"READ": 1, "EDIT": 2, "MANAGE": 3}
    users = {reader: 1, editor: 2, manager: 3, owner: 3, ADMIN: 3}
    for level, requests in calls.items():
        for who, has in users.items():
            for method, path, body in requests:
                reply = client.request(method, path, user=who, body=body)
                expected = 200 if has >= levels[level] else 403
                assert reply.status == expected, (who[0], method, path, reply.body)
                if expected == 403:
                    assert reply.json()["error_code"] == "PERMISSION_DENIED"
    assert client.request("GET", art, user=reader).body == b"weights"

    # Artifact paths outside an experiment's folder are for admins only.
    loose = "/api/2.0/mlflow-artifacts/artifacts/shared/file.txt"
    assert client.request("PUT", loose, user=manager, body=b"x").status == 403
    assert client.request("PUT", loose, user=ADMIN, body=b"x").status == 200
    # A run of another experiment cannot be reached through this experiment's folder.
    client.request(
        "PUT",
        "/api/v1/auth/permissions",
        user=ADMIN,
        body={"user": editor[0], "permission": "NONE", "experiment": "0"},
    )
    flowtrack.set_experiment(experiment_id="0")
    with flowtrack.start_run() as other:
        pass
    assert flowtrack.flush()
    sneaky = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{other.info.run_id}/artifacts/x"
    assert client.request("PUT", sneaky, user=editor, body=b"x").status == 403

    # A missing id is a 400, a missing resource a 404 (for a non-admin, before any 403).
    assert client.request("POST", "/api/2.0/mlflow/runs/create", user=reader, body={}).status == 400
    ghost = client.request("GET", f"/api/2.0/mlflow/runs/get?run_id={'0' * 32}", user=reader)
    assert ghost.status == 404
    # The handler learns who is calling.
    called = client.request(
        "POST", "/api/2.0/mlflow/runs/create", user=editor, body={"experiment_id": exp}
    )
    assert called.json()["user"] == called.json()["state_user"] == editor[0]
    # Deleting a model needs MANAGE on it.
    gone = f"/api/2.0/mlflow/registered-models/delete?name={model}"
    assert client.request("DELETE", gone, user=editor).status == 403
    assert client.request("DELETE", gone, user=manager).status == 200


def test_default_none_hides_experiments_from_listings(store: object, tmp_path: Path) -> None:
    from flowtrack.server import auth as auth_pkg

    app = build_app(store, tmp_path / "a", with_auth=True, environ=ENV)  # type: ignore[arg-type]
    app.state.flowtrack.auth = auth_pkg.service_for_store(store, default_permission="NONE")
    _with_admin(app)
    with serve(app) as client:
        mine, theirs = _new_user(client, "mine"), _new_user(client, "theirs")
        exp = client.request(
            "POST", "/api/v1/experiments", user=mine, body={"name": _name("private")}
        ).json()["experiment_id"]
        assert (
            exp in client.request("GET", "/api/v1/experiments", user=mine).json()["experiment_ids"]
        )
        listed = client.request("GET", "/api/v1/experiments", user=theirs).json()
        assert exp not in listed["experiment_ids"]
        assert client.request("GET", f"/api/v1/experiments/{exp}", user=theirs).status == 403


def test_auth_endpoints_rules(client: Client) -> None:
    ann, bob = _new_user(client, "ann"), _new_user(client, "bob")
    assert client.request("GET", "/api/v1/auth/users", user=ann).status == 403
    names = [
        u["name"] for u in client.request("GET", "/api/v1/auth/users", user=ADMIN).json()["users"]
    ]
    assert ann[0] in names and bob[0] in names
    body = {"name": _name("x"), "password": PW}
    assert client.request("POST", "/api/v1/auth/users", user=ann, body=body).status == 403
    # Users manage their own account and tokens, not others'.
    assert client.request("GET", f"/api/v1/auth/users/{bob[0]}", user=ann).status == 403
    assert (
        client.request(
            "POST", f"/api/v1/auth/users/{bob[0]}/tokens", user=ann, body={"name": "steal"}
        ).status
        == 403
    )
    assert (
        client.request(
            "PATCH", f"/api/v1/auth/users/{ann[0]}", user=ann, body={"is_admin": True}
        ).status
        == 403
    )
    changed = client.request(
        "PATCH", f"/api/v1/auth/users/{ann[0]}", user=ann, body={"password": "brand new password"}
    )
    assert changed.status == 200 and "password" not in changed.json()["user"]
    assert client.request("GET", "/api/v1/auth/whoami", user=ann).status == 401
    ann = (ann[0], "brand new password")
    assert (
        client.request(
            "PATCH", f"/api/v1/auth/users/{ann[0]}", user=ann, body={"password": "short"}
        ).status
        == 400
    )
    # Granting needs MANAGE on the resource.
    grant = {"user": bob[0], "permission": "EDIT", "experiment": "0"}
    assert client.request("PUT", "/api/v1/auth/permissions", user=ann, body=grant).status == 403
    assert client.request("PUT", "/api/v1/auth/permissions", user=ADMIN, body=grant).status == 200
    mine = client.request("GET", "/api/v1/auth/permissions", user=bob).json()
    assert [(p["resource_id"], p["permission"]) for p in mine["permissions"]] == [("0", "EDIT")]
    assert client.request("GET", f"/api/v1/auth/permissions?user={bob[0]}", user=ann).status == 403
    assert (
        client.request(
            "DELETE", f"/api/v1/auth/permissions?user={bob[0]}&experiment=0", user=ADMIN
        ).status
        == 200
    )
    assert (
        client.request(
            "PUT",
            "/api/v1/auth/permissions",
            user=ADMIN,
            body={"user": bob[0], "permission": "EDIT"},
        ).status
        == 400
    )
    assert client.request("DELETE", f"/api/v1/auth/users/{bob[0]}", user=ann).status == 403
    assert client.request("DELETE", f"/api/v1/auth/users/{bob[0]}", user=ADMIN).status == 200
    assert client.request("GET", "/api/v1/auth/whoami", user=bob).status == 401


def test_auth_off_lets_everything_through(store: object, tmp_path: Path) -> None:
    app = build_app(store, tmp_path / "a", with_auth=False)  # type: ignore[arg-type]
    with serve(app) as client:
        assert client.request("GET", "/api/v1/experiments/0").status == 200
        created = client.request("POST", "/api/2.0/mlflow/runs/create", body={"experiment_id": "0"})
        assert created.status == 200
        assert created.json()["user"] is None and created.json()["state_user"] is None
        who = client.request("GET", "/api/v1/auth/whoami").json()
        assert who["auth_enabled"] is False and who["user"] is None
        assert client.request("GET", "/api/v1/auth/users").status == 404


def test_every_route_of_the_test_app_is_checked(store: object, tmp_path: Path) -> None:
    app = build_app(store, tmp_path / "a", with_auth=False)  # type: ignore[arg-type]
    assert (
        unchecked_routes(
            app, exempt={"/health", "/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}
        )
        == []
    )

    @app.get("/forgotten")
    def forgotten() -> None: ...

    assert unchecked_routes(app, exempt={"/health"}) == ["GET /forgotten"]
