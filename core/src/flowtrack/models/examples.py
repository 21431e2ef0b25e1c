"""Input examples, saved beside the model in formats that cannot run code when read.

A DataFrame is saved as JSON in pandas' "split" layout, rows and columns as JSON, arrays and
tensors as ``.npy`` with ``allow_pickle=False``; never a pickle.
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.models import libs
from flowtrack.models.files import ModelFiles
from flowtrack.models.inputs import is_columns, is_records

JSON_NAME = "input_example.json"
NPY_NAME = "input_example.npy"
RESERVED = (JSON_NAME, NPY_NAME)


def save_example(example: Any, directory: Path) -> dict[str, str]:
    """Write ``example``; return the manifest's ``input_example`` entry (path and type)."""
    if libs.is_dataframe(example):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        return _write_json(directory, "dataframe", {k: split[k] for k in ("columns", "data")})
    if libs.is_tensor(example):
        example = example.detach().cpu().numpy()
    if libs.is_ndarray(example):
        if example.dtype == object:
            raise InvalidInputError(
                "input_example", "object array", "must hold numbers or strings, not objects"
            )
        numpy = libs.need("numpy")
        with (directory / NPY_NAME).open("wb") as f:
            numpy.save(f, example, allow_pickle=False)
        return {"path": NPY_NAME, "type": "ndarray"}
    if is_records(example):
        return _write_json(directory, "records", example)
    if is_columns(example):
        return _write_json(directory, "columns", dict(example))
    if isinstance(example, list | tuple):
        return _write_json(directory, "list", list(example))
    raise InvalidInputError(
        "input_example",
        type(example).__name__,
        "must be a pandas DataFrame, a numpy array, a torch tensor, a list of dicts, "
        "a dict of lists or a list",
    )


def _write_json(directory: Path, kind: str, data: Any) -> dict[str, str]:
    try:
        text = json.dumps(data, default=_plain, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("input_example", data, f"cannot be saved as JSON: {exc}") from None
    (directory / JSON_NAME).write_text(text, encoding="utf-8")
    return {"path": JSON_NAME, "type": kind}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, dates: what json cannot write by itself."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def load_example(files: ModelFiles, info: Mapping[str, str]) -> Any:
    """The saved example: a DataFrame, array, list of dicts or dict of lists."""
    data = files.read_bytes(info["path"])
    kind = info.get("type")
    if kind == "ndarray":
        numpy = libs.need("numpy")
        return numpy.load(io.BytesIO(data), allow_pickle=False)
    loaded = json.loads(data)
    if kind == "dataframe":
        pandas = libs.need("pandas")
        return pandas.DataFrame(loaded["data"], columns=loaded["columns"])
    return loaded
