"""The web UI on a server with --auth: the browser is asked to log in (HTTP Basic), the pages
work with credentials, and the UI cannot do what the user may not (the API refuses and the
page says so)."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.serverfixtures import running_server
from tests.core.uibrowser import Console, browser, console, shot  # noqa: F401

pytestmark = pytest.mark.slow
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
        finally:
            context.close()
        still = requests.get(f"{url}/api/v1/experiments/{experiment_id}", auth=ADMIN)
        assert still.status_code == 200 and still.json()["lifecycle_stage"] == "active"
        assert console.unexpected() == []
