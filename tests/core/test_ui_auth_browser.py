"""The web UI in a real browser with --auth: a server whose pages ask for HTTP Basic
credentials; the browser logs in and the UI cannot do what the user may not (split from
test_ui_browser.py, which has the pages without auth).

Own module: the browser is module-scoped (see uibrowser.py)."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.serverfixtures import running_server
from tests.core.uibrowser import (  # noqa: F401
    Console,
    browser,
    console,
    lineage_nodes,
    page,
    refused_alias,
    shot,
)

pytestmark = pytest.mark.slow


# -- with --auth -----------------------------------------------------------------------------------


ADMIN = ("root", "ui-admin-passphrase")
BOB = ("bob", "bob-passphrase-1")


def test_ui_with_auth_logs_in_and_respects_permissions(
    browser: Any, console: Console, tmp_path: Path
) -> None:
    env = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
    with running_server(tmp_path / "server", env=env, extra_args=("--auth",)) as server:
        url = server.url
        # No credentials: the page and its files answer 401 with a Basic challenge, so a
        # browser shows its log-in.
        for path in ("/", "/experiments/0", "/ui/static/js/app.js", "/api/v1/ui/experiments"):
            refused = requests.get(url + path, timeout=30)
            assert refused.status_code == 401, path
            assert refused.headers["WWW-Authenticate"].startswith("Basic")
        made = requests.post(
            f"{url}/api/v1/auth/users", auth=ADMIN, json={"name": BOB[0], "password": BOB[1]}
        )
        assert made.status_code == 201, made.text
        created = requests.post(f"{url}/api/v1/experiments", auth=ADMIN, json={"name": "admins"})
        experiment_id = created.json()["experiment_id"]
        # A NONE grant hides an experiment from Bob altogether.
        secret = requests.post(f"{url}/api/v1/experiments", auth=ADMIN, json={"name": "secret"})
        secret_id = secret.json()["experiment_id"]
        granted = requests.put(
            f"{url}/api/v1/auth/permissions",
            auth=ADMIN,
            json={"user": BOB[0], "permission": "NONE", "experiment": secret_id},
        )
        assert granted.status_code == 200, granted.text

        # Bob (the default READ) sees the experiment and who he is, but cannot delete it.
        context = browser.new_context(
            http_credentials={"username": BOB[0], "password": BOB[1]},
            viewport={"width": 1360, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
            page.goto(url + "/")
            row = page.locator("#experiments tr", has_text="admins")
            row.wait_for()
            page.locator("#whoami", has_text="signed in as bob").wait_for()
            console.expect("403")
            row.get_by_role("button", name="Delete").click()
            page.get_by_role("button", name="Delete", exact=True).last.click()
            error = page.locator("dialog .form-error")
            error.filter(has_text="MANAGE").wait_for()
            assert "bob" in error.inner_text()
            shot(page, "auth-permission-denied")
            page.get_by_role("button", name="Cancel").click()
            assert page.locator("#experiments tr", has_text="secret").count() == 0
            response = page.goto(f"{url}/experiments/{secret_id}")
            assert response.status == 403
            page.locator(".error-page h1", has_text="403").wait_for()
            assert "NONE" in page.locator(".error-page").inner_text()
            registry_and_data_with_auth(page, url, console, experiment_id, secret_id)
        finally:
            context.close()
        still = requests.get(f"{url}/api/v1/experiments/{experiment_id}", auth=ADMIN)
        assert still.status_code == 200 and still.json()["lifecycle_stage"] == "active"
        assert console.unexpected() == []


def _admin_run(url: str, experiment_id: str, name: str, direction: str) -> str:
    """A run of the admin's that read or wrote the dataset secret-features."""
    made = requests.post(
        f"{url}/api/v1/runs", auth=ADMIN, json={"experiment_id": experiment_id, "run_name": name}
    )
    run_id: str = made.json()["info"]["run_id"]
    version = {
        "op": "dataset",
        "run_id": run_id,
        "direction": direction,
        "version_id": "5" * 32,
        "name": "secret-features",
        "uri": "/data/secret-features",
        "digest": "f" * 64,
        "algorithm": "blake3",
        "size": 10,
        "file_count": 1,
        "mode": "snapshot",
        "created_by_run_id": None,
        "created_time": 1,
    }
    link = {"op": "run_dataset", "run_id": run_id, "uri": version["uri"], "digest": "f" * 64}
    events = [version, {**link, "direction": direction}]
    written = requests.post(f"{url}/api/v1/events", auth=ADMIN, json={"events": events})
    assert written.status_code == 200 and not written.json()["rejections"], written.text
    return run_id


def registry_and_data_with_auth(
    page: Any, url: str, console: Console, experiment_id: str, secret_id: str
) -> None:
    """Bob (READ; NONE on the secret experiment): the empty registry and data pages say what to
    run; he cannot set an alias; runs of the secret experiment are left out of the data pages."""
    page.goto(url + "/models")
    assert "flowtrack.register_model()" in page.locator(".hint").inner_text()
    shot(page, "6-models-empty")
    page.goto(url + "/data")
    assert "flowtrack data add" in page.locator(".hint").inner_text()
    shot(page, "5-data-empty")

    writer = _admin_run(url, secret_id, "secret-writer", "output")
    reader = _admin_run(url, experiment_id, "admins-reader", "input")
    requests.post(f"{url}/api/v1/registered-models", auth=ADMIN, json={"name": "admins-model"})
    registered = requests.post(
        f"{url}/api/v1/registered-models/admins-model/versions",
        auth=ADMIN,
        json={"source": f"runs:/{reader}/model"},
    )
    assert registered.status_code == 200, registered.text

    page.goto(url + "/models/admins-model")
    assert "bob" in refused_alias(page, 1, "mine", "EDIT", "6-model-permission-denied")
    nodes = lineage_nodes(page)
    assert f"run:{reader}" in nodes and f"dataset:{'5' * 32}" in nodes
    assert f"run:{writer}" not in nodes  # in the experiment Bob may not read

    page.goto(url + "/data")
    listed = page.locator("#datasets-list tr[data-name='secret-features']")
    listed.wait_for()
    assert listed.locator(".written-by").inner_text() == "—"
    page.goto(url + "/data/secret-features")
    row = page.locator("#dataset-versions tbody tr")
    row.wait_for()
    assert row.locator(".read-by").inner_text() == "admins-reader"
    assert "secret-writer" not in row.inner_text()
    assert (
        requests.get(
            f"{url}/api/v1/registered-models/admins-model/aliases/mine", auth=ADMIN
        ).status_code
        == 404
    )
