"""A model directory that was tampered with is refused before anything is deserialized."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import flowtrack.models as fm
import numpy as np
import pytest
import yaml
from flowtrack.data.hashing import hash_file
from flowtrack.errors import InvalidInputError
from flowtrack.models import ModelIntegrityError

from tests.core.modelzoo import Booby, Doubler, add_one


def _manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / fm.MANIFEST_NAME).read_text())
    return data


def _write_manifest(folder: Path, data: dict[str, Any]) -> None:
    (folder / fm.MANIFEST_NAME).write_text(yaml.safe_dump(data, sort_keys=False))


def test_the_booby_trap_works_when_unpickled(tmp_path: Path) -> None:
    # The control for the test below: this pickle really does create its marker.
    marker = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(Booby(marker)))
    assert marker.exists()


def test_a_tampered_pickle_is_refused_before_unpickling(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(Doubler(), model)
    marker = tmp_path / "pwned"
    (model / "python_model.pkl").write_bytes(pickle.dumps(Booby(marker)))
    with pytest.raises(ModelIntegrityError, match=r"python_model\.pkl") as caught:
        fm.load(model)
    assert caught.value.path == "python_model.pkl"
    assert not marker.exists()


def test_a_same_size_change_is_caught_by_the_hash(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(Doubler(), model)
    pkl = model / "python_model.pkl"
    data = bytearray(pkl.read_bytes())
    data[-2] ^= 0xFF
    pkl.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match its hash"):
        fm.load(model)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(add_one, model, input_example=np.arange(3))
    (model / "input_example.npy").unlink()
    with pytest.raises(ModelIntegrityError, match=r"'input_example.npy' is listed .* missing"):
        fm.load(model)


def test_an_extra_file_is_ignored_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = tmp_path / "m"
    fm.save_model(add_one, model)
    (model / "notes.txt").write_text("hello")
    with caplog.at_level(logging.WARNING, logger="flowtrack.models"):
        loaded = fm.load(model)
    assert "'notes.txt' is not in the manifest; ignored" in caplog.text
    assert loaded.predict(np.array([1])).tolist() == [2]


@pytest.mark.parametrize(
    "path",
    ["../outside.pkl", "/etc/passwd", "%2e%2e/outside.pkl", "a/../../outside.pkl", "a//b", "./x"],
)
def test_path_escapes_in_a_hand_edited_manifest_are_refused(tmp_path: Path, path: str) -> None:
    model = tmp_path / "m"
    fm.save_model(Doubler(), model)
    marker = tmp_path / "pwned"
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(pickle.dumps(Booby(marker)))
    data = _manifest(model)
    # A consistent forgery: the manifest points at the evil file with its real hash.
    data["files"].append(
        {"path": path, "hash": hash_file(outside, "blake3"), "size": outside.stat().st_size}
    )
    data["flavors"]["python_function"]["model_file"] = path
    _write_manifest(model, data)
    with pytest.raises(ModelIntegrityError, match="not valid") as caught:
        fm.load(model)
    assert caught.value.path == fm.MANIFEST_NAME
    assert not marker.exists()


def test_a_flavor_may_only_read_listed_files(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(Doubler(), model)
    marker = tmp_path / "pwned"
    (model / "evil.pkl").write_bytes(pickle.dumps(Booby(marker)))
    data = _manifest(model)
    data["flavors"]["python_function"]["model_file"] = "evil.pkl"  # not in `files`
    _write_manifest(model, data)
    with pytest.raises(ModelIntegrityError, match=r"'evil\.pkl' is not listed"):
        fm.load(model)
    assert not marker.exists()


def test_a_symlink_out_of_the_model_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(Doubler(), model)
    pkl = model / "python_model.pkl"
    outside = tmp_path / "copy.pkl"
    outside.write_bytes(pkl.read_bytes())  # same bytes, same hash
    pkl.unlink()
    pkl.symlink_to(outside)
    with pytest.raises(ModelIntegrityError, match="not a regular file"):
        fm.load(model)


def test_a_symlink_is_never_saved_into_a_model(tmp_path: Path) -> None:
    from flowtrack.models.files import hash_tree

    secret = tmp_path / "secret"
    secret.write_text("s")
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "link").symlink_to(secret)
    with pytest.raises(InvalidInputError, match="symbolic link"):
        hash_tree(folder)


def test_unreadable_and_future_manifests(tmp_path: Path) -> None:
    model = tmp_path / "m"
    fm.save_model(add_one, model)
    data = _manifest(model)
    _write_manifest(model, {**data, "format_version": 99})
    with pytest.raises(ModelIntegrityError, match="upgrade flowtrack"):
        fm.load(model)
    (model / fm.MANIFEST_NAME).write_text("{ not yaml")
    with pytest.raises(ModelIntegrityError, match="cannot be read"):
        fm.load(model)
    (model / fm.MANIFEST_NAME).write_text("!!python/object/apply:os.system ['true']")
    with pytest.raises(ModelIntegrityError, match="cannot be read"):  # safe_load only
        fm.load(model)
    (model / fm.MANIFEST_NAME).unlink()
    with pytest.raises(ModelIntegrityError, match="not a flowtrack model directory"):
        fm.load(model)


def test_pytorch_module_class_must_be_a_module(tmp_path: Path) -> None:
    from tests.core.modelzoo import TinyNet

    model = tmp_path / "m"
    fm.save_model(TinyNet(), model)
    data = _manifest(model)
    # The manifest names a class to call: anything but a torch module class is refused.
    data["flavors"]["pytorch"]["module_class"] = "os:system"
    data["flavors"]["pytorch"]["init_kwargs"] = {"command": f"touch {tmp_path / 'pwned'}"}
    _write_manifest(model, data)
    with pytest.raises(InvalidInputError, match=r"not a torch\.nn\.Module"):
        fm.load(model)
    assert not (tmp_path / "pwned").exists()
