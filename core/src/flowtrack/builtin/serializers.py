"""Built-in plugin: how `log_object_output` writes common Python objects to a file.

bytes -> .bin, str -> .txt (UTF-8), a JSON-able dict or list -> .json; a pandas DataFrame ->
.parquet (.csv when pyarrow is not installed) and a numpy array -> .npy. pandas, numpy and
pyarrow are never imported here: an object can only be a DataFrame if pandas is imported
already, so ``handles`` looks in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from flowtrack.hookspecs import hookimpl
from flowtrack.plugins.records import SerializerSpec


def _is_jsonable(obj: object) -> bool:
    if not isinstance(obj, dict | list):
        return False
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _write_bytes(obj: object, path: Path) -> None:
    path.write_bytes(bytes(obj))  # type: ignore[call-overload]


def _write_text(obj: object, path: Path) -> None:
    path.write_text(str(obj), encoding="utf-8")


def _write_json(obj: object, path: Path) -> None:
    # Sorted keys: the same dict always makes the same file, hence the same version.
    path.write_text(json.dumps(obj, sort_keys=True, indent=2, allow_nan=False) + "\n")


def _loaded(module: str, attribute: str) -> Any:
    found = sys.modules.get(module)
    return getattr(found, attribute, None) if found is not None else None


def _is_dataframe(obj: object) -> bool:
    frame = _loaded("pandas", "DataFrame")
    return frame is not None and isinstance(obj, frame)


def _is_parquet_frame(obj: object) -> bool:
    return _is_dataframe(obj) and importlib.util.find_spec("pyarrow") is not None


def _write_parquet(obj: Any, path: Path) -> None:
    obj.to_parquet(path)


def _write_csv(obj: Any, path: Path) -> None:
    obj.to_csv(path, index=False)


def _is_ndarray(obj: object) -> bool:
    array = _loaded("numpy", "ndarray")
    return array is not None and isinstance(obj, array)


def _write_npy(obj: object, path: Path) -> None:
    numpy = sys.modules["numpy"]  # loaded: `obj` is one of its arrays
    with path.open("wb") as f:
        numpy.save(f, obj, allow_pickle=False)


@hookimpl
def flowtrack_register_serializers() -> list[SerializerSpec]:
    return [
        SerializerSpec("bytes", lambda o: isinstance(o, bytes | bytearray), ".bin", _write_bytes),
        SerializerSpec("text", lambda o: isinstance(o, str), ".txt", _write_text),
        SerializerSpec("json", _is_jsonable, ".json", _write_json),
        SerializerSpec("pandas-parquet", _is_parquet_frame, ".parquet", _write_parquet),
        SerializerSpec("pandas-csv", _is_dataframe, ".csv", _write_csv),
        SerializerSpec("numpy", _is_ndarray, ".npy", _write_npy),
    ]
