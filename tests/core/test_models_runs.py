"""log_model inside runs, loading from runs:/ and models:/ URIs."""

from __future__ import annotations

import json
from pathlib import Path

import flowtrack
import flowtrack.models as fm
import numpy as np
import pytest
from flowtrack.errors import InvalidInputError
from flowtrack.tracking.stores import get_artifact_store
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.core.modelzoo import Doubler, add_one


def _iris_model() -> tuple[LogisticRegression, object]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(X, y), X


def test_log_model_stores_the_files_before_it_returns() -> None:
    clf, X = _iris_model()
    with flowtrack.start_run() as run:
        info = fm.log_model(clf, "model", input_example=X[:5])  # type: ignore[index]
        # Straight from the artifact store, without flushing: the files are there already.
        store = get_artifact_store(flowtrack.get_artifact_uri() or "")
        names = {f.path for f in store.list("model")}
        assert names == {
            "model/flowtrack-model.yaml",
            "model/model.pkl",
            "model/input_example.json",
            "model/requirements.txt",
        }
    run_id = run.info.run_id
    assert info.uri == info.model_uri == f"runs:/{run_id}/model"
    assert info.run_id == run_id and info.artifact_path == "model"
    assert info.flavor == "sklearn" and set(info.flavors) == {"sklearn", "python_function"}
    assert info.signature is not None and len(info.signature.inputs.columns) == 4
    model = fm.load(info.uri)
    assert (model.predict(X) == clf.predict(X)).all()
    assert model.metadata.run_id == run_id and model.metadata.artifact_path == "model"
    assert model.metadata.model_uuid == info.model_uuid


def test_the_run_records_its_logged_models() -> None:
    with flowtrack.start_run() as run:
        first = fm.log_model(add_one, "a")
        second = fm.log_model(Doubler(), "nested/b")
    stored = flowtrack.Client().get_run(run.info.run_id)
    history = json.loads(stored.data.tags[fm.HISTORY_TAG])
    assert [h["artifact_path"] for h in history] == ["a", "nested/b"]
    assert [h["model_uuid"] for h in history] == [first.model_uuid, second.model_uuid]
    assert history[1]["flavors"] == ["python_function"]
    assert fm.load(f"runs:/{run.info.run_id}/nested/b").predict(np.array([2])).tolist() == [4]


def test_log_model_without_a_run_starts_and_ends_one() -> None:
    info = fm.log_model(add_one)
    assert flowtrack.active_run() is None
    run = flowtrack.Client().get_run(info.run_id)
    assert run.info.status == "FINISHED"
    assert fm.load(info.uri).predict(np.array([1])).tolist() == [2]


def test_a_second_model_at_the_same_path_is_refused() -> None:
    with flowtrack.start_run():
        fm.log_model(add_one, "model")
        with pytest.raises(InvalidInputError, match="already has artifacts there"):
            fm.log_model(Doubler(), "model")


def test_bad_artifact_paths_and_uris_are_refused() -> None:
    with flowtrack.start_run():
        for bad in ("", "../x", "/abs"):
            with pytest.raises(InvalidInputError, match="artifact_path"):
                fm.log_model(add_one, bad)
    with pytest.raises(InvalidInputError, match="runs:/<run_id>"):
        fm.load("runs:/not-a-run/model")
    with pytest.raises(InvalidInputError, match="does not exist"):
        fm.load(f"runs:/{flowtrack.last_active_run().info.run_id}/nothing")  # type: ignore[union-attr]


def test_a_downloaded_model_is_deleted_with_its_object() -> None:
    info = fm.log_model(add_one)
    model = fm.load(info.uri)
    folder = model.path
    assert folder.is_dir() and folder != Path(info.uri)
    del model
    import gc

    gc.collect()
    assert not folder.exists()


def test_models_can_be_loaded_from_an_fsspec_url(tmp_path: Path) -> None:
    fm.save_model(Doubler(), tmp_path / "m", input_example=np.ones((2, 2)))
    import fsspec

    memory = fsspec.filesystem("memory")
    for path in (tmp_path / "m").iterdir():
        memory.pipe(f"/models/m/{path.name}", path.read_bytes())
    memory.pipe("/models/m/unlisted.bin", b"never downloaded")
    model = fm.load("memory://models/m")
    assert model.predict(np.ones((1, 2))).tolist() == [[2.0, 2.0]]
    assert not (model.path / "unlisted.bin").exists()


def test_log_model_registers_and_loads_through_models_uris() -> None:
    clf, X = _iris_model()
    with flowtrack.start_run():
        info = fm.log_model(clf, "model", registered_model_name="iris")
    version = info.registered_model_version
    assert version is not None and int(version.version) == 1
    client = flowtrack.Client()
    client.set_alias("iris", "champion", version.version)
    client.transition_stage("iris", version.version, "Production")
    for uri in ("models:/iris/1", "models:/iris@champion", "models:/iris/Production"):
        model = fm.load(uri)
        assert model.flavor == "sklearn"
        assert (model.predict(X) == clf.predict(X)).all()


def test_a_registered_model_with_a_tampered_file_is_refused() -> None:
    marker_free = Doubler()
    with flowtrack.start_run():
        info = fm.log_model(marker_free, "model", registered_model_name="doubler")
    root = Path(flowtrack.Client().get_run(info.run_id).info.artifact_uri) / "model"
    (root / "python_model.pkl").write_bytes(b"tampered")
    with pytest.raises(fm.ModelIntegrityError, match=r"python_model\.pkl"):
        fm.load("models:/doubler/1")
