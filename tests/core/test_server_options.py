"""``flowtrack server`` options for the settings that were environment variables only: body
limits, CORS origins and, with ``--auth``, the default permission. Checked on a real server
process (the options reach its uvicorn workers), and that the variables stay the defaults."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flowtrack.cli.main import cli

from tests.core.serverfixtures import running_server

pytestmark = pytest.mark.slow

ADMIN = ("boss", "boss password 123")
USER = ("eve", "eve password 123")
ORIGIN = "https://nb.corp"


def test_help_lists_the_options_and_their_variables() -> None:
    shown = CliRunner().invoke(cli, ["server", "--help"], terminal_width=200).output
    for option, variable in (
        ("--max-body-size", "FLOWTRACK_MAX_BODY_SIZE"),
        ("--max-json-body-size", "FLOWTRACK_MAX_JSON_BODY_SIZE"),
        ("--cors-allowed-origins", "FLOWTRACK_CORS_ALLOWED_ORIGINS"),
        ("--auth-default-permission", "FLOWTRACK_AUTH_DEFAULT_PERMISSION"),
    ):
        assert option in shown and variable in shown, option


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--max-body-size", "lots"], "--max-body-size"),
        (["--max-json-body-size", "1.5MiB"], "--max-json-body-size"),
        (["--auth-default-permission", "ALL"], "--auth-default-permission"),
    ],
)
def test_bad_values_are_usage_errors(args: list[str], named: str, ft_home: Path) -> None:
    result = CliRunner().invoke(cli, ["server", *args])
    assert result.exit_code == 2 and named in result.output, result.output
    assert not (ft_home / "flowtrack.db").exists()  # refused before anything was opened


def test_options_reach_the_server(tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        env={"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]},
        extra_args=(
            "--auth",
            "--auth-default-permission",
            "NONE",
            "--cors-allowed-origins",
            f"{ORIGIN},https://other.corp",
            "--max-json-body-size",
            "2KiB",
            "--max-body-size",
            "8KiB",
        ),
    ) as server:
        url = server.url
        made = requests.post(
            f"{url}/api/v1/experiments", json={"name": f"e-{uuid.uuid4().hex[:6]}"}, auth=ADMIN
        )
        assert made.status_code == 200, made.text
        experiment = made.json()["experiment_id"]
        created = requests.post(
            f"{url}/api/v1/auth/users", json={"name": USER[0], "password": USER[1]}, auth=ADMIN
        )
        assert created.status_code == 201, created.text
        # NONE by default: a user sees nothing they were not granted (READ would let them).
        assert requests.get(f"{url}/api/v1/experiments/{experiment}", auth=USER).status_code == 403
        assert requests.get(f"{url}/api/v1/experiments/{experiment}", auth=ADMIN).ok

        # The JSON limit, and the larger one for artifact uploads.
        big = {"name": "x", "pad": "y" * 3000}
        assert requests.post(f"{url}/api/v1/experiments", json=big, auth=ADMIN).status_code == 413
        artifact = f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/a.bin"
        assert requests.put(artifact, data=b"x" * 6000, auth=ADMIN).status_code == 200
        assert requests.put(artifact, data=b"x" * 9000, auth=ADMIN).status_code == 413

        # CORS for the listed origins only.
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = requests.options(
            f"{url}/api/v1/experiments", headers={"Origin": ORIGIN, **preflight}
        )
        assert allowed.headers.get("access-control-allow-origin") == ORIGIN
        other = requests.options(
            f"{url}/api/v1/experiments", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in other.headers


def test_the_environment_variables_stay_the_defaults(tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        env={"FLOWTRACK_MAX_JSON_BODY_SIZE": "1KiB", "FLOWTRACK_CORS_ALLOWED_ORIGINS": ORIGIN},
        extra_args=("--max-body-size", "4KiB"),
    ) as server:
        url = server.url
        big = {"name": "x", "pad": "y" * 2000}
        assert requests.post(f"{url}/api/v1/experiments", json=big).status_code == 413
        preflight = requests.options(
            f"{url}/api/v1/experiments",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") == ORIGIN
        artifact = f"{url}/api/2.0/mlflow-artifacts/artifacts/0/a.bin"
        assert requests.put(artifact, data=b"x" * 5000).status_code == 413
