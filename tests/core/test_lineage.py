"""Lineage: dataset versions as inputs and outputs of runs, on the real stores."""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from pathlib import Path
from typing import Any

import flowtrack
import flowtrack.testing
import pytest
from click.testing import CliRunner
from flowtrack.data.pointer import load as load_pointer
from flowtrack.data.repo import DataRepo
from flowtrack.entities import DatasetVersion
from flowtrack.plugins import facade
from flowtrack.plugins.records import SerializerSpec
from flowtrack.store.events import Applied
from flowtrack.tracking.datasets import log_object_output, version_id_for

from tests.core.faults import missing_pg_database


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _cached_objects(home: Path) -> list[Path]:
    cache = home / "cache" / "blake3"
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_inputs_and_outputs_round_trip(store_uri: str, tmp_path: Path) -> None:
    flowtrack.set_tracking_uri(store_uri)
    flowtrack.set_experiment(f"lineage-{uuid.uuid4().hex[:8]}")
    train = _write(tmp_path / f"train-{uuid.uuid4().hex[:6]}.csv", "a,b\n1,2\n3,4\n")
    model = tmp_path / f"model-{uuid.uuid4().hex[:6]}"
    _write(model / "weights.bin", "w" * 100)
    _write(model / "meta" / "config.json", "{}")
    with flowtrack.start_run(run_name="train") as run:
        logged_in = flowtrack.log_input(train)
        logged_out = flowtrack.log_output(model, name="model")
    run_id = run.info.run_id
    client = flowtrack.Client()

    inputs = client.get_run_inputs(run_id)
    outputs = client.get_run_outputs(run_id)
    assert inputs == [logged_in]
    assert isinstance(logged_in, DatasetVersion)
    assert logged_in.name == train.name
    assert logged_in.uri == str(train.resolve())
    assert logged_in.size == len("a,b\n1,2\n3,4\n") and logged_in.file_count == 1
    assert logged_in.mode == "snapshot" and logged_in.algorithm == "blake3"
    assert logged_in.created_by_run_id is None
    assert logged_in.version_id == version_id_for(logged_in.uri, logged_in.digest)

    assert len(outputs) == 1
    out = outputs[0]
    assert out == logged_out
    assert out.name == "model" and out.uri == str(model.resolve())
    assert out.digest.endswith(".dir") and out.file_count == 2 and out.size == 102
    assert out.created_by_run_id == run_id

    assert client.get_dataset_versions("model") == [out]
    assert client.get_dataset_versions(str(train)) == [logged_in]
    assert [r.info.run_id for r in client.get_runs_reading(logged_in.version_id)] == [run_id]
    assert client.get_runs_reading(out.version_id) == []
    producer = client.get_producer(model)
    assert producer is not None and producer.info.run_id == run_id


def test_same_content_is_one_version_and_a_change_is_a_new_one(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.csv", "x\n1\n")
    with flowtrack.start_run(run_name="first") as first:
        a = flowtrack.log_input(data)
        again = flowtrack.log_input(data)  # twice in one run: one link
    with flowtrack.start_run(run_name="second") as second:
        b = flowtrack.log_input(data)
    assert a is not None and b is not None and again is not None
    assert a.version_id == b.version_id == again.version_id and a.digest == b.digest

    _write(data, "x\n1\n2\n")
    with flowtrack.start_run(run_name="third") as third:
        c = flowtrack.log_input(data)
    assert c is not None and c.digest != a.digest and c.version_id != a.version_id

    client = flowtrack.Client()
    versions = client.get_dataset_versions("data.csv")
    assert [v.version_id for v in versions] == [c.version_id, a.version_id]  # newest first
    # The store keeps the first logging's time for the shared version.
    assert versions[1].created_time == a.created_time
    assert client.get_run_inputs(first.info.run_id) == [versions[1]]
    readers = client.get_runs_reading(a.version_id)
    assert [r.info.run_id for r in readers] == [first.info.run_id, second.info.run_id]
    assert [r.info.run_id for r in client.get_runs_reading(c.version_id)] == [third.info.run_id]

    client.delete_run(second.info.run_id)
    assert [r.info.run_id for r in client.get_runs_reading(a.version_id)] == [first.info.run_id]


def test_producer_of_a_file(tmp_path: Path) -> None:
    raw = _write(tmp_path / "raw.csv", "raw\n")
    features = tmp_path / "features.csv"
    with flowtrack.start_run(run_name="prepare") as prepare:
        flowtrack.log_input(raw)
        _write(features, "f\n0.5\n")
        flowtrack.log_output(features)
    with flowtrack.start_run(run_name="train") as train:
        flowtrack.log_input(features)
        # Reading it again later, or from another run, does not change who made it.
        flowtrack.log_output(features)
    client = flowtrack.Client()
    producer = client.get_producer(features)
    assert producer is not None and producer.info.run_id == prepare.info.run_id
    assert producer.info.run_name == "prepare"
    assert client.get_run_outputs(train.info.run_id)[0].created_by_run_id == prepare.info.run_id
    # Same bytes copied elsewhere: found by content.
    copy = _write(tmp_path / "elsewhere" / "copy.csv", "f\n0.5\n")
    found = client.get_producer(copy)
    assert found is not None and found.info.run_id == prepare.info.run_id
    assert client.get_producer(raw) is None  # read, never written
    _write(features, "f\n0.7\n")
    assert client.get_producer(features) is None  # changed since: nobody wrote this content


def test_reference_mode_fingerprints_without_copying(tmp_path: Path, ft_home: Path) -> None:
    folder = tmp_path / "remote-like"
    _write(folder / "part-0.csv", "a\n1\n")
    _write(folder / "nested" / "part-1.csv", "a\n2\n")
    url = f"file://{folder}"
    with flowtrack.start_run() as run:
        first = flowtrack.log_input(url, mode="reference")
        same = flowtrack.log_input(url, mode="reference")
        _write(folder / "nested" / "part-1.csv", "a\n2\n3\n")
        changed = flowtrack.log_input(url, mode="reference")
    assert first is not None and same is not None and changed is not None
    assert first.mode == "reference" and first.digest.startswith("ref:")
    assert first.uri == str(folder.resolve()) and first.name == "remote-like"
    assert first.file_count == 2 and first.size == 8
    assert same.digest == first.digest
    assert changed.digest != first.digest and changed.size == 10
    assert _cached_objects(ft_home) == []  # nothing was copied
    assert not list(folder.parent.glob("*.ft"))  # and no pointer written
    stored = flowtrack.Client().get_run_inputs(run.info.run_id)
    assert {v.digest for v in stored} == {first.digest, changed.digest}


def test_urls_default_to_reference_and_cannot_be_snapshotted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/table/part-0.parquet", b"PAR1....")
    with flowtrack.start_run() as run:
        version = flowtrack.log_input("memory://bucket/table")
        with caplog.at_level(logging.ERROR, logger="flowtrack"):
            refused = flowtrack.log_input("memory://bucket/table", mode="snapshot")
            bad_mode = flowtrack.log_input("memory://bucket/table", mode="copy")
    assert version is not None and version.mode == "reference"
    assert version.uri == "memory://bucket/table" and version.name == "table"
    assert version.file_count == 1 and version.size == 8
    assert refused is None and bad_mode is None
    assert "is not a local path" in caplog.text
    assert "must be 'snapshot' or 'reference'" in caplog.text
    assert len(flowtrack.Client().get_run_inputs(run.info.run_id)) == 1


def test_missing_path_is_reported_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="flowtrack"), flowtrack.start_run() as run:
        assert flowtrack.log_input(tmp_path / "nope.csv") is None
    assert "does not exist" in caplog.text
    assert flowtrack.Client().get_run_inputs(run.info.run_id) == []


def test_inside_a_data_repo_versions_into_the_repo(
    tmp_path: Path, ft_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    repo = DataRepo.init(tmp_path)
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "data" / "images" / "a.png", "png-a")
    _write(tmp_path / "data" / "images" / "b.png", "png-b")
    with flowtrack.start_run() as run:
        version = flowtrack.log_input("data/images")
    assert version is not None
    pointer = load_pointer(tmp_path / "data" / "images.ft")
    assert pointer.hash == version.digest and version.digest.endswith(".dir")
    assert pointer.files == version.file_count == 2 and pointer.size == version.size == 10
    assert version.uri == str((tmp_path / "data" / "images").resolve())
    assert repo.cache.has(version.digest)
    assert "/images" in (tmp_path / "data" / ".gitignore").read_text()
    assert _cached_objects(ft_home) == []  # the repo's cache, not the user's
    assert flowtrack.Client().get_run_inputs(run.info.run_id) == [version]
    assert flowtrack.Client().get_producer("data/images") is None  # only read


def test_store_down_then_back_delivers_lineage(tmp_path: Path) -> None:
    data = _write(tmp_path / "in.csv", "in\n")
    result = _write(tmp_path / "out.csv", "out\n")
    with missing_pg_database() as (uri, bring_up):
        flowtrack.set_tracking_uri(uri)
        with flowtrack.start_run(run_name="while-down") as run:
            read = flowtrack.log_input(data)
            wrote = flowtrack.log_output(result)
        assert read is not None and wrote is not None  # the task went on
        bring_up()  # type: ignore[operator]
        assert flowtrack.flush(timeout=30)
        client = flowtrack.Client()
        assert client.get_run_inputs(run.info.run_id) == [read]
        assert client.get_run_outputs(run.info.run_id) == [wrote]
        producer = client.get_producer(result)
        assert producer is not None and producer.info.run_id == run.info.run_id
        flowtrack.testing.reset()


class VersionRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str]] = []

    @flowtrack.hookimpl
    def flowtrack_data_versioned(
        self, version: DatasetVersion, run_id: str | None, direction: str
    ) -> None:
        self.calls.append((version.name, run_id, direction))


def test_hook_fires_once_per_new_version(tmp_path: Path) -> None:
    data = _write(tmp_path / "d.csv", "1\n")
    model = _write(tmp_path / "m.bin", "model")
    recorder = VersionRecorder()
    with flowtrack.testing.registered(recorder, "version-recorder"):
        with flowtrack.start_run() as first:
            flowtrack.log_input(data)
            flowtrack.log_input(data)
            flowtrack.log_output(model)
        assert flowtrack.flush()
        with flowtrack.start_run() as second:
            flowtrack.log_input(data)  # known: no call
            _write(data, "2\n")
            flowtrack.log_input(data)  # new content: a call
        assert flowtrack.flush()
    assert recorder.calls == [
        ("d.csv", first.info.run_id, "input"),
        ("m.bin", first.info.run_id, "output"),
        ("d.csv", second.info.run_id, "input"),
    ]


def test_the_store_refuses_lineage_of_unknown_or_deleted_runs() -> None:
    with flowtrack.start_run() as run:
        pass
    client = flowtrack.Client()
    store = client.store
    version: dict[str, Any] = {
        "op": "dataset",
        "direction": "input",
        "version_id": uuid.uuid4().hex,
        "name": "x",
        "uri": "/x",
        "digest": "abc",
        "algorithm": "blake3",
        "size": 1,
        "file_count": 1,
        "mode": "snapshot",
        "created_by_run_id": None,
        "created_time": 1,
    }
    link = {"op": "run_dataset", "uri": "/x", "digest": "abc", "direction": "input"}
    ghost = uuid.uuid4().hex
    refused = store.apply_events([{**version, "run_id": ghost}, {**link, "run_id": ghost}])
    assert [r.reason for r in refused] == [
        "the run does not exist (start it with flowtrack.start_run first)"
    ] * 2
    client.delete_run(run.info.run_id)
    refused = store.apply_events([{**link, "run_id": run.info.run_id}])
    assert "deleted" in refused[0].reason
    client.restore_run(run.info.run_id)
    client.update_run(run.info.run_id, status="RUNNING")
    unknown = store.apply_events([{**link, "run_id": run.info.run_id}])
    assert len(unknown) == 1 and "no dataset version at '/x'" in unknown[0].reason
    applied = store.apply_events(
        [{**version, "run_id": run.info.run_id}, {**link, "run_id": run.info.run_id}]
    )
    assert isinstance(applied, Applied) and list(applied) == []
    assert applied.new_versions == {version["version_id"]}
    assert [v.name for v in client.get_run_inputs(run.info.run_id)] == ["x"]


def test_builtin_serializers_write_bytes_text_and_json(ft_home: Path) -> None:
    with flowtrack.start_run() as run:
        as_bytes = log_object_output(b"\x00\x01binary", "blob")
        as_text = log_object_output("hello", "greeting")
        as_json = log_object_output({"b": [1, 2], "a": None}, "metrics")
        as_json_again = log_object_output({"a": None, "b": [1, 2]}, "metrics")
        nothing = log_object_output(object(), "thing")
    assert as_bytes is not None and as_text is not None and as_json is not None
    assert (as_bytes.name, as_text.name, as_json.name) == (
        "blob.bin",
        "greeting.txt",
        "metrics.json",
    )
    assert Path(as_bytes.uri).read_bytes() == b"\x00\x01binary"
    assert Path(as_text.uri).read_text() == "hello"
    assert json.loads(Path(as_json.uri).read_text()) == {"a": None, "b": [1, 2]}
    assert Path(as_json.uri).is_relative_to(ft_home / "cache")
    assert as_json_again is not None and as_json_again.version_id == as_json.version_id
    assert nothing is None
    outputs = flowtrack.Client().get_run_outputs(run.info.run_id)
    assert sorted(v.name for v in outputs) == ["blob.bin", "greeting.txt", "metrics.json"]
    assert all(v.created_by_run_id == run.info.run_id for v in outputs)
    names = [s.name for s in facade.serializers()]
    # Installed adapters may register serializers of their own (plugins' come first; the
    # Airflow adapter's takes only its own marker type): the built-ins keep their order.
    builtins = ["bytes", "text", "json"]
    assert [n for n in names if n in builtins] == builtins


def test_a_plugin_serializer_wins_over_the_builtins(tmp_path: Path) -> None:
    class Upper:
        @flowtrack.hookimpl
        def flowtrack_register_serializers(self) -> list[SerializerSpec]:
            return [
                SerializerSpec(
                    "upper",
                    lambda o: isinstance(o, str),
                    ".upper",
                    lambda o, p: p.write_text(str(o).upper()),
                )
            ]

    with flowtrack.testing.registered(Upper(), "upper"), flowtrack.start_run():
        version = log_object_output("shout", "words")
    assert version is not None and version.name == "words.upper"
    assert Path(version.uri).read_text() == "SHOUT"


def test_runs_show_lists_inputs_and_outputs(tmp_path: Path) -> None:
    from flowtrack.cli.main import cli

    data = _write(tmp_path / "train.csv", "a\n1\n")
    out = _write(tmp_path / "preds.csv", "p\n0\n")
    with flowtrack.start_run() as run:
        read = flowtrack.log_input(data)
        wrote = flowtrack.log_output(out, name="predictions")
    assert read is not None and wrote is not None
    runner = CliRunner()
    shown = runner.invoke(cli, ["runs", "show", run.info.run_id])
    assert shown.exit_code == 0, shown.output
    text = shown.output
    inputs_part = text.split("Inputs")[1].split("Outputs")[0]
    outputs_part = text.split("Outputs")[1].split("Artifacts")[0]
    assert f"train.csv: {data.resolve()}  {read.digest[:12]}  4 bytes  1 file  snapshot" in (
        inputs_part
    )
    assert f"predictions: {out.resolve()}  {wrote.digest[:12]}" in outputs_part
    data_json = json.loads(runner.invoke(cli, ["runs", "show", run.info.run_id, "--json"]).output)
    assert [v["version_id"] for v in data_json["inputs"]] == [read.version_id]
    assert data_json["outputs"][0]["name"] == "predictions"
    assert data_json["outputs"][0]["created_by_run_id"] == run.info.run_id


def test_a_store_at_revision_0001_is_upgraded(ft_home: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from flowtrack.store.sql.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
    from flowtrack.store.sql.store import SqlStore
    from sqlalchemy import create_engine, inspect

    uri = f"sqlite:///{ft_home / 'old.db'}"
    ft_home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(uri)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    assert "dataset_versions" not in inspect(engine).get_table_names()
    store = SqlStore(uri)
    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION == "0005"
    assert {"dataset_versions", "run_datasets"} <= set(inspect(store.engine).get_table_names())
    store.close()
    engine.dispose()
