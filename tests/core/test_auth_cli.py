"""``flowtrack users ...`` through click's CliRunner, on the database a server would use."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack.server.auth import credentials, service_for_store
from flowtrack.server.auth.errors import AuthenticationRequired


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _ft(uri: str, *args: str, stdin: str | None = None, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, ["users", "--backend-store-uri", uri, *args], input=stdin)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result.output


def test_users_commands_end_to_end(store_uri: str) -> None:
    flowtrack.set_tracking_uri(store_uri)
    store = flowtrack.Client().store
    auth = service_for_store(store)
    name, other = f"ann-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"

    assert "Created user" in _ft(
        store_uri, "create", name, "--password-stdin", stdin="pass word 1\n"
    )
    # Prompted, with confirmation and hidden input.
    prompted = _ft(store_uri, "create", other, "--admin", stdin="pass word 2\npass word 2\n")
    assert "Created admin" in prompted and "pass word 2" not in prompted
    assert auth.authenticate(_basic(name, "pass word 1")).name == name
    assert auth.authenticate(_basic(other, "pass word 2")).is_admin
    listed = json.loads(_ft(store_uri, "list", "--json"))
    assert {(u["name"], u["is_admin"]) for u in listed} >= {(name, False), (other, True)}
    assert name in _ft(store_uri, "list")

    _ft(store_uri, "create", name, "--password-stdin", stdin="pass word 1\n", ok=False)
    assert "shorter than 8" in _ft(
        store_uri, "create", "x" + name, "--password-stdin", stdin="short\n", ok=False
    )

    generated = _ft(store_uri, "set-password", name, "--generate-password")
    new_password = generated.split("Password (shown only now): ")[1].strip()
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(_basic(name, "pass word 1"))
    assert auth.authenticate(_basic(name, new_password)).name == name

    out = _ft(store_uri, "token", "create", name, "--name", "ci", "--expires", "30d")
    token = out.strip().splitlines()[-1]
    assert token.startswith("ftk_") and "expires" in out
    assert auth.authenticate(f"Bearer {token}").token_name == "ci"
    tokens = json.loads(_ft(store_uri, "token", "list", name, "--json"))
    assert [t["name"] for t in tokens] == ["ci"] and token not in json.dumps(tokens)
    assert tokens[0]["expiry_time"] is not None
    _ft(store_uri, "token", "revoke", name, "ci")
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(f"Bearer {token}")
    _ft(store_uri, "token", "revoke", name, "ci", ok=False)

    experiment = f"exp-{uuid.uuid4().hex[:8]}"
    experiment_id = store.create_experiment(experiment)
    model = f"model-{uuid.uuid4().hex[:8]}"
    store.create_registered_model(model)
    assert "EDIT on experiment" in _ft(store_uri, "grant", name, "edit", "--experiment", experiment)
    _ft(store_uri, "grant", name, "MANAGE", "--model", model)
    grants = json.loads(_ft(store_uri, "permissions", name, "--json"))
    assert {(g["resource_type"], g["resource_name"], g["permission"]) for g in grants} == {
        ("experiment", experiment, "EDIT"),
        ("registered_model", model, "MANAGE"),
    }
    # By id works too, and re-granting changes the level.
    _ft(store_uri, "grant", name, "READ", "--experiment", experiment_id)
    assert "READ" in _ft(store_uri, "permissions", name)
    _ft(store_uri, "revoke", name, "--experiment", experiment)
    _ft(store_uri, "revoke", name, "--experiment", experiment, ok=False)
    _ft(store_uri, "grant", name, "OWNER", "--model", model, ok=False)
    _ft(store_uri, "grant", name, "READ", ok=False)
    _ft(store_uri, "grant", name, "READ", "--experiment", "e", "--model", "m", ok=False)
    _ft(store_uri, "grant", name, "READ", "--experiment", f"ghost-{uuid.uuid4().hex}", ok=False)

    _ft(store_uri, "set-admin", name)
    assert auth.authenticate(_basic(name, new_password)).is_admin
    _ft(store_uri, "set-admin", name, "--revoke")
    _ft(store_uri, "delete", name, stdin="n\n", ok=False)  # declined: nothing deleted
    assert auth.repo.get_user(name) is not None
    _ft(store_uri, "delete", name, "--yes")
    assert auth.repo.get_user(name) is None
    _ft(store_uri, "delete", name, "--yes", ok=False)


def test_users_refuses_a_server_uri_and_reads_the_tracking_uri(ft_home: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["users", "--backend-store-uri", "http://server:5000", "list"])
    assert refused.exit_code != 0 and "--backend-store-uri" in refused.output
    uri = f"sqlite:///{ft_home / 'server.db'}"
    done = runner.invoke(
        cli, ["--tracking-uri", uri, "users", "create", "carl", "--generate-password"]
    )
    assert done.exit_code == 0, done.output
    assert "carl" in runner.invoke(cli, ["--tracking-uri", uri, "users", "list"]).output


def test_both_password_sources_at_once_is_a_usage_error(ft_home: Path) -> None:
    uri = f"sqlite:///{ft_home / 'server.db'}"
    out = _ft(uri, "create", "dora", "--password-stdin", "--generate-password", ok=False)
    assert "only one of" in out
