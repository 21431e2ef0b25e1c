"""Signatures: inference from input examples, and checking predict's input against them."""

from __future__ import annotations

from pathlib import Path

import flowtrack.models as fm
import numpy as np
import pandas as pd
import pytest
import torch
from flowtrack.errors import InvalidInputError
from flowtrack.models import ColumnSpec, ModelInputError, ModelSignature, Schema, TensorSpec
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.core.modelzoo import Doubler

FRAME = pd.DataFrame(
    {
        "age": [31, 45],
        "income": [1.5, 2.5],
        "city": ["Oslo", "Lima"],
        "member": [True, False],
        "joined": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    }
)


def test_dataframe_columns_and_types() -> None:
    sig = fm.infer_signature(FRAME)
    assert sig.inputs.columns == (
        ColumnSpec("age", "int64"),
        ColumnSpec("income", "float64"),
        ColumnSpec("city", "string"),
        ColumnSpec("member", "bool"),
        ColumnSpec("joined", "datetime"),
    )
    assert sig.outputs is None


def test_arrays_and_tensors_get_a_batch_dimension() -> None:
    sig = fm.infer_signature(np.zeros((5, 3, 2), dtype="float32"), np.zeros(5, dtype="int64"))
    assert sig.inputs.tensor == TensorSpec("float32", (-1, 3, 2))
    assert sig.outputs is not None and sig.outputs.tensor == TensorSpec("int64", (-1,))
    tensor = fm.infer_signature(torch.zeros(7, 4, dtype=torch.float64))
    assert tensor.inputs.tensor == TensorSpec("float64", (-1, 4))


def test_rows_and_columns_of_python_values() -> None:
    rows = fm.infer_signature([{"a": 1, "b": "x"}, {"a": 2, "b": None, "c": 0.5}])
    assert rows.inputs.columns == (
        ColumnSpec("a", "int64"),
        ColumnSpec("b", "string"),
        ColumnSpec("c", "float64"),
    )
    columns = fm.infer_signature({"a": [1.0, 2], "flag": [True, False]})
    assert columns.inputs.columns == (ColumnSpec("a", "float64"), ColumnSpec("flag", "bool"))
    assert fm.infer_signature([[1, 2], [3, 4]]).inputs.tensor == TensorSpec("int64", (-1, 2))


def test_signature_survives_the_manifest(tmp_path: Path) -> None:
    fm.save_model(Doubler(), tmp_path / "m", input_example=FRAME[["age", "income"]])
    loaded = fm.load(tmp_path / "m")
    assert loaded.signature == ModelSignature(
        Schema(columns=(ColumnSpec("age", "int64"), ColumnSpec("income", "float64"))),
        # Inferred by predicting on the example: int times 2.0 is a float.
        Schema(columns=(ColumnSpec("age", "float64"), ColumnSpec("income", "float64"))),
    )


def test_missing_column_is_named() -> None:
    sig = fm.infer_signature(FRAME)
    with pytest.raises(ModelInputError) as caught:
        fm.check_input(sig, FRAME.drop(columns=["income"]))
    assert caught.value.field == "income"
    assert isinstance(caught.value, InvalidInputError)
    assert "model input 'income' is missing" in str(caught.value)


def test_incompatible_type_is_named() -> None:
    sig = fm.infer_signature(FRAME)
    bad = FRAME.assign(age=["old", "young"])
    with pytest.raises(ModelInputError) as caught:
        fm.check_input(sig, bad)
    assert caught.value.field == "age"
    assert "expects int64" in str(caught.value) and "'old'" in str(caught.value)
    with pytest.raises(ModelInputError, match="'age'"):
        fm.check_input(sig, FRAME.assign(age=[1.5, 2.0]))  # floats where ints are expected


def test_compatible_input_is_converted() -> None:
    sig = fm.infer_signature(FRAME[["income", "age", "joined"]])
    records = [{"age": 3, "income": 4, "joined": "2024-03-01", "extra": "dropped"}]
    frame = fm.check_input(sig, records)
    assert list(frame.columns) == ["income", "age", "joined"]  # the signature's order
    assert str(frame["income"].dtype) == "float64"  # an int column widened to float
    assert frame["joined"].iloc[0] == pd.Timestamp("2024-03-01")
    # A plain 2-D array takes the signature's column names.
    array = fm.check_input(fm.infer_signature(FRAME[["age", "income"]]), np.array([[1, 2.0]]))
    assert list(array.columns) == ["age", "income"]


def test_tensor_shape_and_dtype_are_checked() -> None:
    sig = fm.infer_signature(np.zeros((2, 4), dtype="float32"))
    ok = fm.check_input(sig, np.ones((9, 4), dtype="float64"))
    assert ok.dtype == np.float32 and ok.shape == (9, 4)
    with pytest.raises(ModelInputError, match=r"shape \(9, 3\)") as caught:
        fm.check_input(sig, np.ones((9, 3)))
    assert caught.value.field == "input"
    ints = fm.infer_signature(np.zeros((2,), dtype="int8"))
    with pytest.raises(ModelInputError, match="dtype float64"):
        fm.check_input(ints, np.ones(2))
    with pytest.raises(ModelInputError, match="outside int8"):
        fm.check_input(ints, np.array([1000]))


def test_predict_enforces_the_signature(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    fm.save_model(clf, tmp_path / "m", input_example=X[:5])
    model = fm.load(tmp_path / "m")
    with pytest.raises(ModelInputError) as caught:
        model.predict(X.drop(columns=["sepal width (cm)"]))
    assert caught.value.field == "sepal width (cm)"
    records = X[:3].to_dict(orient="records")
    assert (model.predict(records) == clf.predict(X[:3])).all()
    # Columns in another order (and an extra one) still give the same predictions.
    shuffled = X[list(reversed(X.columns))].assign(noise=1)
    assert (model.predict(shuffled) == clf.predict(X)).all()


def test_a_hand_given_signature_wins(tmp_path: Path) -> None:
    sig = ModelSignature(Schema(columns=(ColumnSpec("x", "float64"),)))
    manifest = fm.save_model(Doubler(), tmp_path / "m", input_example=FRAME, signature=sig)
    assert manifest.signature == sig
    with pytest.raises(InvalidInputError, match="ModelSignature"):
        fm.save_model(Doubler(), tmp_path / "n", signature={"inputs": {}})  # type: ignore[arg-type]
