"""What a client may point the real server at, through both APIs (real app, real uvicorn):

* a new experiment's ``artifact_location`` must lie within the artifacts destination (MLflow's
  CVE class of a client aiming the server's artifact routes at its filesystem);
* a model version's ``source`` must lie within its run's artifacts, whatever the encoding;
* with ``--auth``, registering a version needs READ on the source run's experiment.

Each refusal is a 4xx that names the field and the value, and a sentinel file beside the store
is never served nor changed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack.errors import InvalidInputError
from flowtrack.server.app import create_app, open_store
from flowtrack.server.auth import accounts, credentials
from flowtrack.server.hardening import location_inside
from flowtrack.server.state import ServerState

from tests.core.authapp import Client, serve

ADMIN = ("root", "root password 1")
USER = ("eve", "eve password 1")
MLFLOW = "/api/2.0/mlflow"
SECRET = b"sentinel: must never be served"


@dataclass
class Site:
    client: Client
    root: Path  # the artifacts destination
    top: Path  # everything of this test: the store, the sentinel beside it
    state: ServerState
    run_id: str
    experiment_id: str

    def files_outside(self) -> dict[str, bytes]:
        out = {}
        for dirpath, _dirs, files in os.walk(self.top):
            for name in files:
                path = Path(dirpath) / name
                if self.root not in path.parents and ".db" not in path.name:
                    out[str(path)] = path.read_bytes()
        return out


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_auth: bool) -> Iterator[Site]:
    top = tmp_path / "site"
    root = top / "store" / "artifacts"
    store = open_store(f"sqlite:///{top / 'store' / 'server.db'}", str(root))
    flowtrack.set_tracking_uri(store.uri)
    flowtrack.set_experiment("owned")
    with flowtrack.start_run() as run:
        flowtrack.log_text("weights", "model/w.txt")
    assert flowtrack.flush()
    (top / "outside.txt").write_bytes(SECRET)
    (top / "store" / "outside.txt").write_bytes(SECRET)
    monkeypatch.setenv("FLOWTRACK_ADMIN_USERNAME", ADMIN[0])
    monkeypatch.setenv("FLOWTRACK_ADMIN_PASSWORD", ADMIN[1])
    state = ServerState(store=store, artifacts_destination=str(root), settings={"auth": with_auth})
    app = create_app(state)
    try:
        with serve(app) as client:
            yield Site(client, root, top, state, run.info.run_id, run.info.experiment_id)
    finally:
        store.close()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from _site(tmp_path, monkeypatch, with_auth=False)


@pytest.fixture
def auth_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from _site(tmp_path, monkeypatch, with_auth=True)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _refused_locations(site: Site) -> list[str]:
    root, top = str(site.root), str(site.top)
    return [
        "/etc",
        top,
        f"{top}/outside",
        f"file://{top}/x",
        f"file:{top}/x",
        f"{root}/../x",
        f"{root}/a/../../x",
        f"{root}/%2e%2e/x",
        f"{root}/%2E%2E%2Fx",
        f"{root}/%252e%252e/x",
        f"{root}-sibling/x",  # a prefix of the text, not of the path
        f"{root}2",
        f"file://evil.example{root}/x",
        f"{root}\\..\\x",
        f"{root}/a#/../../x",
        f"{root}/a;/../../x",
        f"{root}/a?versionId=1",
        f"{root}/a\x00b",
        "s3://bucket/x",
        "http://169.254.169.254/latest",
        "relative/folder",
        "~/.ssh",
        "C:\\Windows",
    ]


def test_artifact_location_of_a_new_experiment_stays_in_the_destination(site: Site) -> None:
    root = str(site.root)
    before = site.files_outside()
    for location in _refused_locations(site):
        name = _name("loc")
        own = site.client.request(
            "POST", "/api/v1/experiments", body={"name": name, "artifact_location": location}
        )
        assert own.status == 400, (location, own.body)
        if "\x00" not in location:  # NUL: refused in any field, before this check
            assert own.json()["field"] == "artifact_location", own.body
            assert own.json()["value"] == location
        mlflow = site.client.request(
            "POST",
            f"{MLFLOW}/experiments/create",
            body={"name": name, "artifact_location": location},
        )
        assert mlflow.status == 400, (location, mlflow.body)
        error = mlflow.json()
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "artifact_location" in error["message"] and repr(location)[:60] in error["message"]
        assert site.state.store.get_experiment_by_name(name) is None  # nothing was made
    for location in (
        "mlflow-artifacts:/../x",
        "mlflow-artifacts:/%2e%2e/x",
        "mlflow-artifacts:/a;b",
    ):
        reply = site.client.request(
            "POST",
            f"{MLFLOW}/experiments/create",
            body={"name": _name("loc"), "artifact_location": location},
        )
        assert reply.status == 400, (location, reply.body)

    # Inside the destination: accepted, and stored as the checked, normalized place.
    accepted = {
        f"{root}/team/a": f"{root}/team/a",
        f"file://{root}/team/b": f"{root}/team/b",
        f"{root}/./team//c/": f"{root}/team/c",
    }
    for location, stored in accepted.items():
        name = _name("ok")
        made = site.client.request(
            "POST", "/api/v1/experiments", body={"name": name, "artifact_location": location}
        )
        assert made.status == 200, made.body
        got = site.state.store.get_experiment(made.json()["experiment_id"])
        assert got.artifact_location == stored
    name = _name("ok")
    made = site.client.request(
        "POST",
        f"{MLFLOW}/experiments/create",
        body={"name": name, "artifact_location": "mlflow-artifacts:/team/d"},
    )
    assert made.status == 200, made.body
    assert site.state.store.get_experiment_by_name(name).artifact_location == f"{root}/team/d"  # type: ignore[union-attr]
    assert site.files_outside() == before


@pytest.mark.parametrize(
    ("location", "inside"),
    [
        ("s3://bucket/ft/x", "s3://bucket/ft/x"),
        ("S3://bucket/ft/x/", "s3://bucket/ft/x"),
        ("s3://bucket/ft", "s3://bucket/ft"),
        ("s3://bucket/ft2/x", None),
        ("s3://other/ft/x", None),
        ("s3://bucket/ft/../x", None),
        ("s3://bucket/ft/%2e%2e/x", None),
        ("s3://bucket/ft/x?versionId=2", None),
        ("s3://bucket/ft/x#y", None),
        ("gs://bucket/ft/x", None),
        ("s3://bucket@evil/ft/x", None),
        ("/ft/x", None),
    ],
)
def test_artifact_location_inside_an_object_store(location: str, inside: str | None) -> None:
    if inside is None:
        with pytest.raises(InvalidInputError, match="artifact_location") as refused:
            location_inside(location, "s3://bucket/ft")
        assert refused.value.value == location
    else:
        assert location_inside(location, "s3://bucket/ft") == inside


def _refused_sources(site: Site) -> list[tuple[str, str | None]]:
    """(source, run_id) pairs that try to register files outside the run's artifacts."""
    run = site.run_id
    run_root = site.state.store.get_run(run).info.artifact_uri
    top = str(site.top)
    return [
        (f"runs:/{run}/../../../../outside.txt", None),
        (f"runs:/{run}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside.txt", None),
        (f"runs:/{run}/%252e%252e/%252e%252e/%252e%252e/outside.txt", None),
        (f"runs:/{run}/..%2f..%2f..%2f..%2foutside.txt", None),
        (f"runs:/{run}//{top}/outside.txt", None),
        (f"runs:/{run}/model\\..\\..\\..\\..\\outside.txt", None),
        (f"runs:/{run}/model#/../../../../outside.txt", None),
        (f"runs:/{run}/model;/../../../../outside.txt", None),
        (f"{top}/outside.txt", run),
        (f"{top}/store/outside.txt", run),
        (f"file://{top}/outside.txt", run),
        (f"{run_root}/../../../outside.txt", run),
        (f"{run_root}/%2e%2e/%2e%2e/%2e%2e/outside.txt", run),
        (f"{run_root}/%252e%252e/%252e%252e/%252e%252e/outside.txt", run),
        (f"{run_root}/model#/../../../../outside.txt", run),
        (f"{run_root}/model;/../../../../outside.txt", run),
        (f"{run_root}\\..\\..\\outside.txt", run),
        (f"{run_root}-other/model", run),
        ("s3://bucket/model", run),
        ("file:///etc/passwd", run),
        ("/etc/passwd", None),
        (f"{run_root}/model", None),  # a path without its run id
    ]


def _versions(site: Site, model: str) -> list[Any]:
    return list(site.state.store.search_model_versions(f"name = '{model}'").items)


@pytest.mark.parametrize("with_auth", [False, True])
def test_model_version_sources_outside_the_run_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_auth: bool
) -> None:
    for site in _site(tmp_path, monkeypatch, with_auth=with_auth):
        user = ADMIN if with_auth else None  # an admin passes every permission check
        model = _name("model")
        assert site.client.request(
            "POST", "/api/v1/registered-models", body={"name": model}, user=user
        ).status in (200, 201)
        before = site.files_outside()
        for source, run_id in _refused_sources(site):
            body: dict[str, Any] = {"source": source}
            if run_id:
                body["run_id"] = run_id
            own = site.client.request(
                "POST", f"/api/v1/registered-models/{model}/versions", body=body, user=user
            )
            assert own.status == 400, (source, own.status, own.body)
            assert own.json()["field"] == "source" and SECRET not in own.body, own.body
            mlflow = site.client.request(
                "POST",
                f"{MLFLOW}/model-versions/create",
                body={"name": model, **body},
                user=user,
            )
            assert 400 <= mlflow.status < 500, (source, mlflow.status, mlflow.body)
            assert "source" in mlflow.json()["message"] and SECRET not in mlflow.body
        assert _versions(site, model) == []  # nothing was registered
        # A version of the run's own files works, and serves only them.
        good = site.client.request(
            "POST",
            f"/api/v1/registered-models/{model}/versions",
            body={"source": f"runs:/{site.run_id}/model"},
            user=user,
        )
        assert good.status in (200, 201), good.body
        uri = site.client.request(
            "GET", f"{MLFLOW}/model-versions/get-download-uri?name={model}&version=1", user=user
        )
        assert uri.status == 200 and "outside" not in uri.json()["artifact_uri"]
        assert site.files_outside() == before


def _grant(site: Site, level: str) -> None:
    body = {"user": USER[0], "permission": level, "experiment": site.experiment_id}
    grant = site.client.request("PUT", "/api/v1/auth/permissions", user=ADMIN, body=body)
    assert grant.status == 200, grant.body


def test_registering_a_version_needs_read_on_the_source_run(auth_site: Site) -> None:
    site = auth_site
    repo = site.state.auth.repo  # type: ignore[union-attr]
    accounts.create_user(repo, *USER)
    client = site.client
    run_source = f"runs:/{site.run_id}/model"
    # The user makes a model of their own (MANAGE as its creator) ...
    for path, body in (
        ("/api/v1/registered-models", {"name": "eves"}),
        (f"{MLFLOW}/registered-models/create", {"name": "eves-mlflow"}),
    ):
        made = client.request("POST", path, body=body, user=USER)
        assert made.status in (200, 201), made.body
    # ... but may not read the admin's experiment.
    _grant(site, "NONE")
    attempts = [
        ("/api/v1/registered-models/eves/versions", {"source": run_source}),
        (
            "/api/v1/registered-models/eves/versions",
            {
                "source": f"{site.state.store.get_run(site.run_id).info.artifact_uri}/model",
                "run_id": site.run_id,
            },
        ),
        (f"{MLFLOW}/model-versions/create", {"name": "eves-mlflow", "source": run_source}),
        (
            f"{MLFLOW}/model-versions/create",
            {"name": "eves-mlflow", "source": "mlflow-artifacts:/x/model", "run_id": site.run_id},
        ),
        (
            f"{MLFLOW}/model-versions/create",
            {"name": "eves-mlflow", "source": run_source, "run_id": site.run_id},
        ),
    ]
    for path, body in attempts:
        refused = client.request("POST", path, body=body, user=USER)
        assert refused.status == 403, (path, body, refused.status, refused.body)
        assert refused.json()["error_code"] == "PERMISSION_DENIED"
    assert _versions(site, "eves") == [] and _versions(site, "eves-mlflow") == []
    # With READ on the experiment it works, through both APIs.
    _grant(site, "READ")
    for path, body in (attempts[0], attempts[2]):
        done = client.request("POST", path, body=body, user=USER)
        assert done.status in (200, 201), (path, done.body)
    assert len(_versions(site, "eves")) == len(_versions(site, "eves-mlflow")) == 1
