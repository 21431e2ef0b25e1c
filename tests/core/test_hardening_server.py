"""Every traversal variant against the real server's artifact routes (flowtrack's API and the
MLflow artifact proxy: read, upload, list, delete), sent raw on the wire: a 400, and nothing
outside the store read, written or deleted. With auth on, an admin (who passes every
permission check) gets the same answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowtrack.server.app import create_app, open_store
from flowtrack.server.state import ServerState

from tests.core.authapp import serve
from tests.core.test_hardening import TRAVERSALS

ADMIN = ("root", "root password 1")


def _files(top: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = Path(dirpath) / name
            if path.suffix not in (".db", ".db-wal", ".db-shm", ".lock"):
                out[str(path.relative_to(top))] = path.read_bytes()
    return out


@pytest.mark.parametrize("with_auth", [False, True])
def test_traversal_on_the_real_artifact_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_auth: bool
) -> None:
    import flowtrack

    root = tmp_path / "store" / "artifacts"
    store = open_store(f"sqlite:///{tmp_path / 'store' / 'server.db'}", str(root))
    experiment_id = store.create_experiment("traversal")
    flowtrack.set_tracking_uri(store.uri)
    flowtrack.set_experiment("traversal")
    with flowtrack.start_run() as run:
        flowtrack.log_text("inside", "inside.txt")
    assert flowtrack.flush()
    run_id = run.info.run_id
    (tmp_path / "outside.txt").write_text("secret")
    (tmp_path / "store" / "outside.txt").write_text("secret")
    before = _files(tmp_path)
    monkeypatch.setenv("FLOWTRACK_ADMIN_USERNAME", ADMIN[0])
    monkeypatch.setenv("FLOWTRACK_ADMIN_PASSWORD", ADMIN[1])
    state = ServerState(store=store, artifacts_destination=str(root), settings={"auth": with_auth})
    app = create_app(state)
    user = ADMIN if with_auth else None
    # Where the raw text is the whole artifact path: every variant must be a 400.
    whole = ["/api/2.0/mlflow-artifacts/artifacts/"]
    lists = [
        "/api/2.0/mlflow-artifacts/artifacts?path=",
        f"/api/v1/runs/{run_id}/artifacts?path=",
        f"/api/v1/experiments/{experiment_id}/artifacts?path=",
    ]
    # Below a run's or experiment's folder a variant may also be a harmless name there (the
    # '/etc/passwd' of '<run>/artifacts//etc/passwd' is just 'etc/passwd' inside): a 4xx, or
    # a read or write that stays inside the store (checked below).
    below = [
        f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/",
        f"/api/v1/runs/{run_id}/artifacts/",
        f"/api/v1/experiments/{experiment_id}/artifacts/",
    ]
    try:
        with serve(app) as client:
            inside = client.request("GET", below[1] + "inside.txt", user=user)
            assert inside.status == 200 and inside.body == b"inside"
            for raw in TRAVERSALS:
                for method in ("GET", "PUT", "DELETE"):
                    for url in [p + raw for p in whole] + [q + raw for q in lists]:
                        if method != "GET" and "?path=" in url:
                            continue
                        reply = client.request(method, url, user=user, body=b"pwned")
                        assert reply.status == 400, (method, url, reply.status, reply.body)
                        assert b"secret" not in reply.body
                    for url in [p + raw for p in below]:
                        if method == "DELETE" and not url.startswith(whole[0]):
                            continue  # flowtrack's API deletes no single artifacts
                        reply = client.request(method, url, user=user, body=b"pwned")
                        assert reply.status in (200, 400, 404), (method, url, reply.status)
                        assert b"secret" not in reply.body
    finally:
        store.close()
    outside = {k: v for k, v in _files(tmp_path).items() if not k.startswith("store/artifacts/")}
    assert outside == {k: v for k, v in before.items() if not k.startswith("store/artifacts/")}
    written = set(_files(tmp_path)) - set(before)
    assert all(k.startswith("store/artifacts/") for k in written), written
