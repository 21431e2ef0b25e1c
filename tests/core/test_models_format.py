"""The model directory: round trips of each built-in flavor, the manifest, saving safely."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import flowtrack
import flowtrack.models as fm
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from flowtrack.data.hashing import hash_file
from flowtrack.errors import InvalidInputError
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.core.modelzoo import Doubler, TinyNet, add_one


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def test_sklearn_round_trip_predicts_the_same(tmp_path: Path, iris: tuple) -> None:
    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    manifest = fm.save_model(clf, tmp_path / "m", input_example=X[:5])
    assert manifest.flavor == "sklearn"
    model = fm.load(tmp_path / "m")
    assert model.flavor == "sklearn"
    assert (model.predict(X) == clf.predict(X)).all()
    # The raw estimator is there for what predict does not cover.
    assert np.allclose(model.raw.predict_proba(X), clf.predict_proba(X))
    pd.testing.assert_frame_equal(model.input_example, X[:5].reset_index(drop=True))


def test_sklearn_pipeline_on_arrays(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    fm.save_model(pipe, tmp_path / "m", input_example=X[:3])
    model = fm.load(f"file://{tmp_path / 'm'}")
    assert model.signature is not None and model.signature.inputs.tensor is not None
    assert model.signature.inputs.tensor.shape == (-1, 30)
    assert (model.predict(X) == pipe.predict(X)).all()
    assert isinstance(model.input_example, np.ndarray)
    assert np.array_equal(model.input_example, X[:3])


def test_pytorch_state_dict_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = TinyNet(n_in=4, hidden=16, n_out=3)
    x = torch.randn(6, 4)
    manifest = fm.save_model(
        net,
        tmp_path / "m",
        input_example=x,
        flavor_options={"init_kwargs": {"n_in": 4, "hidden": 16, "n_out": 3}},
    )
    config = manifest.flavors["pytorch"]
    assert config["module_class"] == "tests.core.modelzoo:TinyNet"
    assert config["init_kwargs"] == {"n_in": 4, "hidden": 16, "n_out": 3}
    assert net.training  # inferring the output signature left the module as it was
    model = fm.load(tmp_path / "m")
    assert isinstance(model.raw, TinyNet) and not model.raw.training
    with torch.no_grad():
        expected = net(x).numpy()
    got = model.predict(x.numpy().astype("float64"))  # widened, then cast back to float32
    assert isinstance(got, np.ndarray) and np.allclose(got, expected)
    assert np.allclose(model.predict(x), expected)
    assert np.allclose(model.predict(x.tolist()), expected)
    frame = pd.DataFrame(x.numpy(), columns=list("abcd"))
    assert np.allclose(model.predict(frame), expected)


def test_pytorch_needs_the_constructor_arguments_at_save_time(tmp_path: Path) -> None:
    net = TinyNet(n_in=4, hidden=16, n_out=3)
    with pytest.raises(InvalidInputError, match="init_kwargs"):
        fm.save_model(net, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_python_function_with_a_function_and_a_class(tmp_path: Path) -> None:
    fm.save_model(add_one, tmp_path / "f", input_example=np.arange(4))
    assert list(fm.load(tmp_path / "f").predict(np.arange(4))) == [1, 2, 3, 4]
    fm.save_model(Doubler(3.0), tmp_path / "c", input_example=[{"a": 1.0}, {"a": 2.0}])
    model = fm.load(tmp_path / "c")
    assert model.flavor == "python_function" and isinstance(model.raw, Doubler)
    assert model.predict([{"a": 5.0}])["a"].tolist() == [15.0]
    fm.save_model(lambda data: data * 10, tmp_path / "lambda")  # cloudpickle
    assert fm.load(tmp_path / "lambda").predict(np.array([1])).tolist() == [10]


def test_every_model_loads_through_python_function(tmp_path: Path, iris: tuple) -> None:
    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    fm.save_model(clf, tmp_path / "m")
    model = fm.load(tmp_path / "m", flavor="python_function")
    assert model.flavor == "sklearn"  # python_function delegates to the flavor that saved it
    assert (model.predict(X) == clf.predict(X)).all()
    with pytest.raises(InvalidInputError, match="flavors"):
        fm.load(tmp_path / "m", flavor="pytorch")


def test_flavor_can_be_forced(tmp_path: Path, iris: tuple) -> None:
    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    manifest = fm.save_model(clf, tmp_path / "m", flavor="python_function")
    assert set(manifest.flavors) == {"python_function"}
    assert fm.load(tmp_path / "m").flavor == "python_function"
    with pytest.raises(InvalidInputError, match="not registered"):
        fm.save_model(clf, tmp_path / "n", flavor="xgboost")


def test_manifest_records_files_requirements_and_time(tmp_path: Path, iris: tuple) -> None:
    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    fm.save_model(clf, tmp_path / "m", input_example=X[:2], metadata={"team": "churn"})
    raw = yaml.safe_load((tmp_path / "m" / fm.MANIFEST_NAME).read_text())
    assert raw["format_version"] == 1 and raw["hash_algorithm"] == "blake3"
    assert raw["created_at"].endswith("Z") and raw["metadata"] == {"team": "churn"}
    assert raw["run_id"] is None and raw["flavor"] == "sklearn"
    assert raw["flavors"]["python_function"] == {"loader_flavor": "sklearn"}
    files = {f["path"]: f for f in raw["files"]}
    assert set(files) == {"model.pkl", "input_example.json", "requirements.txt"}
    for name, entry in files.items():
        path = tmp_path / "m" / name
        assert entry["size"] == path.stat().st_size
        assert entry["hash"] == hash_file(path, "blake3")
    sklearn_pin = f"scikit-learn=={metadata.version('scikit-learn')}"
    assert sklearn_pin in raw["requirements"]
    assert f"flowtrack=={flowtrack.__version__}" in raw["requirements"]
    assert f"pandas=={metadata.version('pandas')}" in raw["requirements"]
    written = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert written == raw["requirements"]
    example = json.loads((tmp_path / "m" / "input_example.json").read_text())
    assert example["columns"] == list(X.columns) and len(example["data"]) == 2


def test_extra_requirements_are_pinned_or_kept(tmp_path: Path) -> None:
    manifest = fm.save_model(add_one, tmp_path / "m", requirements=["PyYAML", "rich>=13"])
    assert f"PyYAML=={metadata.version('PyYAML')}" in manifest.requirements
    assert "rich>=13" in manifest.requirements
    with pytest.raises(InvalidInputError, match="not installed"):
        fm.save_model(add_one, tmp_path / "n", requirements=["no-such-dist-xyz"])


def test_a_model_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "m"
    target.mkdir()
    fm.save_model(add_one, target)  # an empty folder is fine
    before = (target / fm.MANIFEST_NAME).read_text()
    with pytest.raises(InvalidInputError, match="never overwritten"):
        fm.save_model(Doubler(), target)
    assert (target / fm.MANIFEST_NAME).read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folder left behind


def test_a_failed_save_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="input_example"):
        fm.save_model(add_one, tmp_path / "m", input_example=object())
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidInputError, match="metadata"):
        fm.save_model(add_one, tmp_path / "m", metadata={"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_unsupported_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no flavor handles it"):
        fm.save_model(42, tmp_path / "m")


def test_importing_models_imports_no_heavy_library() -> None:
    code = (
        "import sys, flowtrack, flowtrack.models, flowtrack.builtin.flavors\n"
        "from flowtrack.models import flavors\n"
        "flavors.choose(len)\n"
        "heavy = {'numpy', 'pandas', 'torch', 'sklearn'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_model_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(flowtrack.NotFoundError, match="no file or folder"):
        fm.load(tmp_path / "nothing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="a model is a folder"):
        fm.load(tmp_path / "file")


def test_the_model_folder_is_not_private(tmp_path: Path) -> None:
    fm.save_model(add_one, tmp_path / "m")
    (tmp_path / "plain").mkdir()
    # Made with the umask like any folder (not mkdtemp's 0700): a server run by another
    # user can read it.
    mode = (tmp_path / "m").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain").stat().st_mode & 0o777


def test_checking_input_leaves_the_callers_frame_alone() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    sig = fm.infer_signature(frame.astype("float64"))
    checked = fm.check_input(sig, frame)
    assert str(checked["a"].dtype) == "float64" and str(frame["a"].dtype) == "int64"
