"""The model registry on the real stores: source containment, lineage to the run's data, the
audit trail, models:/ URIs, notifications and the migration of an older store."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import flowtrack
import flowtrack.testing
import pytest
from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.registry import ModelVersion, register_model
from flowtrack.registry.uris import parse_model_uri, resolve_model_uri

from tests.core.registryhelpers import finished_run as _run
from tests.core.registryhelpers import fresh_name as _name
from tests.core.registryhelpers import registry_client


@pytest.fixture
def client(store_uri: str) -> flowtrack.Client:
    return registry_client(store_uri)


# -- source validation (MLflow CVE-2023-1177 class) ---------------------------------------------


def test_sources_outside_the_run_are_refused(client: flowtrack.Client) -> None:
    name = _name()
    client.create_registered_model(name)
    mine, other = _run(), _run()
    my_root = client.get_run(mine).info.artifact_uri
    other_root = client.get_run(other).info.artifact_uri
    refused: list[tuple[str, str | None]] = [
        (f"runs:/{other}/model", mine),  # another run's artifacts
        (f"{other_root}/model", mine),
        (f"runs:/{mine}/../../{other}/artifacts/model", None),  # climbing out
        (f"runs:/{mine}/model/../../../{other}/artifacts", None),
        (f"{my_root}/../../{other}/artifacts/model", mine),
        (f"runs:/{mine}/%2e%2e/%2e%2e/{other}/artifacts", None),  # encoded
        (f"runs:/{mine}/%252e%252e/x", None),  # double-encoded
        (f"{my_root}/%2e%2e/%2e%2e/{other}/artifacts", mine),
        (f"{my_root}/%2E%2E/secret", mine),
        (f"runs:/{mine}//etc/passwd", None),  # absolute
        ("/etc/passwd", mine),
        ("file:///etc/passwd", mine),
        (f"{my_root}-evil/model", mine),  # a sibling sharing the prefix
        ("/etc/passwd", None),  # no run at all
        ("s3://bucket/model", None),
        (f"runs:/{'0' * 32}/model", None),  # no such run
        ("runs:/not-a-run-id/model", None),
        (f"{my_root}/model\\..\\..", mine),
    ]
    for source, run_id in refused:
        with pytest.raises((InvalidInputError, NotFoundError)) as raised:
            client.create_model_version(name, source, run_id=run_id)
        assert isinstance(raised.value, NotFoundError) or raised.value.field == "source", source
    # Nothing was written, not even a version number.
    assert client.search_model_versions(f"name = '{name}'").items == []
    assert [e.action for e in client.get_registry_history(name)] == ["create_model"]

    inside = client.create_model_version(name, f"{my_root}/model", run_id=mine)
    assert (inside.version, inside.storage_location, inside.run_id) == (
        1,
        f"{my_root}/model",
        mine,
    )
    as_file_uri = client.create_model_version(name, f"file://{my_root}/model", run_id=mine)
    assert as_file_uri.version == 2
    matching = client.create_model_version(name, f"runs:/{mine}/model", run_id=mine)
    assert matching.storage_location == f"{my_root}/model"
    client.delete_run(other)
    with pytest.raises(InvalidInputError, match="deleted"):
        client.create_model_version(name, f"runs:/{other}/model")


# -- lineage ------------------------------------------------------------------------------------


def test_register_model_links_the_runs_input_data(client: flowtrack.Client, tmp_path: Path) -> None:
    train = tmp_path / f"train-{uuid.uuid4().hex[:6]}.csv"
    train.write_text("a,b\n1,2\n")
    labels = tmp_path / f"labels-{uuid.uuid4().hex[:6]}.csv"
    labels.write_text("y\n1\n")
    written = tmp_path / f"predictions-{uuid.uuid4().hex[:6]}.csv"
    written.write_text("p\n0.5\n")
    name = _name()
    with flowtrack.start_run() as run:
        train_version = flowtrack.log_input(train)
        labels_version = flowtrack.log_input(labels, name="labels")
        flowtrack.log_output(written)
        flowtrack.log_text("weights", "model/model.txt")
        # Registered while the run is still open: what was logged is delivered first.
        mv = register_model(f"runs:/{run.info.run_id}/model", name, tags={"t": "1"})
    assert (mv.version, mv.run_id, mv.tags) == (1, run.info.run_id, {"t": "1"})
    inputs = client.get_model_version_inputs(name, 1)
    assert train_version is not None and labels_version is not None
    assert {v.version_id for v in inputs} == {train_version.version_id, labels_version.version_id}
    assert {v.name for v in inputs} == {train.name, "labels"}
    created = client.get_registry_history(name, 1)[0]
    assert created.action == "create_version"
    assert sorted(created.detail["datasets"]) == sorted(v.version_id for v in inputs)

    # A run that read nothing links nothing.
    second = register_model(f"runs:/{_run()}/model", name)
    assert second.version == 2
    assert client.get_model_version_inputs(name, 2) == []
    assert len(client.get_model_version_inputs(name, "1")) == 2
    with pytest.raises(InvalidInputError, match="model_uri"):
        register_model("s3://bucket/model", name)


# -- audit trail --------------------------------------------------------------------------------


def test_audit_trail_says_who_did_what_when(
    client: flowtrack.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("FLOWTRACK_USER", "ana@example.com")
    name = _name()
    run_id = _run()
    start = int(time.time() * 1000)
    client.create_registered_model(name, description="d0")
    mv = client.create_model_version(name, f"runs:/{run_id}/model")
    client.set_alias(name, "champion", mv.version)
    monkeypatch.setenv("FLOWTRACK_USER", "bob")
    client.transition_stage(name, mv.version, "Staging")
    client.update_registered_model(name, "d1")
    client.set_model_version_tag(name, 1, "k", "v")
    client.set_model_version_tag(name, 1, "k", "w")
    client.delete_alias(name, "champion")

    history = client.get_registry_history(name)
    assert [(e.user, e.action, e.version) for e in history] == [
        ("ana@example.com", "create_model", None),
        ("ana@example.com", "create_version", 1),
        ("ana@example.com", "set_alias", 1),
        ("bob", "transition_stage", 1),
        ("bob", "update_description", None),
        ("bob", "set_tag", 1),
        ("bob", "set_tag", 1),
        ("bob", "delete_alias", 1),
    ]
    assert all(e.name == name for e in history)
    assert [e.event_id for e in history] == sorted(e.event_id for e in history)
    assert start <= history[0].timestamp <= history[-1].timestamp
    assert history[1].detail["source"] == f"runs:/{run_id}/model"
    assert history[1].detail["run_id"] == run_id
    assert history[3].detail == {"old": "None", "new": "Staging"}
    assert history[4].detail == {"old": "d0", "new": "d1"}
    assert history[6].detail == {"key": "k", "old": "v", "new": "w"}
    assert history[7].detail == {"alias": "champion", "old": 1, "new": None}
    assert client.get_model_version(name, 1).user_id == "ana@example.com"
    assert [e.action for e in client.get_registry_history(name, version="1")] == [
        "create_version",
        "set_alias",
        "transition_stage",
        "set_tag",
        "set_tag",
        "delete_alias",
    ]


def test_user_falls_back_to_the_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from flowtrack.registry.audit import current_user

    monkeypatch.delenv("FLOWTRACK_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "login")
    assert current_user() == "login"

    def no_user() -> str:
        raise OSError("no passwd entry")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert current_user() == ""


# -- models:/ URIs ------------------------------------------------------------------------------


def test_resolve_model_uri_in_all_four_forms(client: flowtrack.Client, store_uri: str) -> None:
    name = _name()
    run_id = _run()
    root = client.get_run(run_id).info.artifact_uri
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model")
    client.create_model_version(name, f"{root}/model", run_id=run_id)
    client.create_model_version(name, f"runs:/{run_id}/model")
    client.set_alias(name, "champion", 2)
    client.transition_stage(name, 1, "Production")

    assert resolve_model_uri(f"models:/{name}/2")[0].version == 2
    version, location = resolve_model_uri(f"models:/{name}@champion")
    assert (version.version, location) == (2, f"{root}/model")
    assert resolve_model_uri(f"models:/{name}/Production")[0].version == 1
    assert resolve_model_uri(f"models:/{name}/production")[0].version == 1
    version, location = resolve_model_uri(f"models:/{name}/latest")
    assert (version.version, location) == (3, f"{root}/model")
    assert resolve_model_uri(f"models:/{name}/1", tracking_uri=store_uri)[0].version == 1

    with pytest.raises(NotFoundError, match="registered model"):
        resolve_model_uri(f"models:/{_name('nope')}/1")
    with pytest.raises(NotFoundError, match=r"aliases of .*: champion"):
        resolve_model_uri(f"models:/{name}@missing")
    with pytest.raises(NotFoundError, match="versions of"):
        resolve_model_uri(f"models:/{name}/9")
    with pytest.raises(NotFoundError, match="transition_stage"):
        resolve_model_uri(f"models:/{name}/Staging")
    empty = _name("empty")
    client.create_registered_model(empty)
    with pytest.raises(NotFoundError, match="no versions"):
        resolve_model_uri(f"models:/{empty}/latest")
    for bad in (
        "runs:/x/model",
        "models:/",
        f"models:/{name}",
        f"models:/{name}/",
        f"models:/{name}/1/extra",
        f"models:/{name}/Live",
        f"models:/{name}@",
        "models:/a@b/1",
    ):
        with pytest.raises(InvalidInputError):
            resolve_model_uri(bad)


def test_parse_model_uri() -> None:
    assert parse_model_uri("models:/m/3").version == 3
    assert parse_model_uri("models:/m@champ").alias == "champ"
    assert parse_model_uri("models:/m/ARCHIVED").stage == "Archived"
    assert parse_model_uri("models:/m/Latest").latest
    assert parse_model_uri("models:/my model.v2/1").name == "my model.v2"


# -- notifications ------------------------------------------------------------------------------


class RegistryRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @flowtrack.hookimpl
    def flowtrack_model_version_created(self, version: ModelVersion) -> None:
        self.events.append(("created", version.name, version.version, version.run_id))

    @flowtrack.hookimpl
    def flowtrack_model_alias_set(self, name: str, alias: str, version: int) -> None:
        self.events.append(("alias", name, alias, version))

    @flowtrack.hookimpl
    def flowtrack_model_stage_changed(
        self, version: ModelVersion, old_stage: str, new_stage: str
    ) -> None:
        self.events.append(("stage", version.version, old_stage, new_stage, version.current_stage))


class BrokenRegistryPlugin:
    @flowtrack.hookimpl
    def flowtrack_model_version_created(self, version: ModelVersion) -> None:
        raise RuntimeError("webhook down")

    @flowtrack.hookimpl
    def flowtrack_model_alias_set(self, alias: str) -> None:  # a subset of the arguments
        raise RuntimeError("webhook down")


def test_notifications_reach_plugins_and_broken_ones_are_logged(
    client: flowtrack.Client, caplog: pytest.LogCaptureFixture
) -> None:
    name = _name()
    run_id = _run()
    recorder = RegistryRecorder()
    with (
        flowtrack.testing.registered(recorder, "recorder"),
        flowtrack.testing.registered(BrokenRegistryPlugin(), "broken_webhook"),
        caplog.at_level(logging.ERROR, logger="flowtrack.plugins"),
    ):
        mv = register_model(f"runs:/{run_id}/model", name)
        client.create_model_version(name, f"runs:/{run_id}/model")
        client.set_alias(name, "champion", mv.version)
        client.transition_stage(name, 1, "Production")
        client.transition_stage(name, 2, "Production", archive_existing=True)
        # A refused change notifies nobody.
        with pytest.raises(InvalidInputError):
            client.set_alias(name, "latest", 1)
    assert recorder.events == [
        ("created", name, 1, run_id),
        ("created", name, 2, run_id),
        ("alias", name, "champion", 1),
        ("stage", 1, "None", "Production", "Production"),
        ("stage", 2, "None", "Production", "Production"),
        ("stage", 1, "Production", "Archived", "Archived"),
    ]
    errors = [r.getMessage() for r in caplog.records]
    assert sum("'broken_webhook'" in m and "model_version_created" in m for m in errors) == 2
    assert sum("'broken_webhook'" in m and "model_alias_set" in m for m in errors) == 1
    # The changes themselves went through.
    assert client.get_model_version_by_alias(name, "champion").version == 1


# -- migration ----------------------------------------------------------------------------------


def _upgrade_to(uri: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config
    from flowtrack.store.sql.engine import make_engine
    from flowtrack.store.sql.migrate import MIGRATIONS_DIR

    engine = make_engine(uri)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
            " creation_time, last_update_time) VALUES (7, 'old', '/tmp/old', 'active', 1, 1)"
        )
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_at_revision_0002_is_upgraded(
    backend: str, ft_home: Path, request: pytest.FixtureRequest
) -> None:
    from flowtrack.store.sql.migrate import HEAD_REVISION, current_revision
    from flowtrack.store.sql.store import SqlStore
    from sqlalchemy import inspect

    if backend == "sqlite":
        ft_home.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{ft_home / 'old.db'}"
    else:
        from tests.core.faults import missing_pg_database

        cm = missing_pg_database()
        uri, bring_up = cm.__enter__()
        request.addfinalizer(lambda: cm.__exit__(None, None, None))
        bring_up()  # type: ignore[operator]
    _upgrade_to(uri, "0002")
    store = SqlStore(uri)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION == "0005"
        tables = set(inspect(store.engine).get_table_names())
        assert {
            "registered_models",
            "registered_model_tags",
            "model_versions",
            "model_version_tags",
            "registered_model_aliases",
            "model_version_datasets",
            "registry_events",
        } <= tables
        assert store.get_experiment("7").name == "old"  # existing data kept
        store.create_registered_model("upgraded", user="test")
        assert store.get_registry_events("upgraded")[0].user == "test"
    finally:
        store.close()
