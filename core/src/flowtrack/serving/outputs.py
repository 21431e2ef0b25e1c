"""Predictions as JSON (``{"predictions": ...}``, as MLflow's server answers) or as CSV."""

from __future__ import annotations

import datetime
import decimal
import io
from typing import Any

import orjson

from flowtrack.models import libs

# numpy arrays and scalars go straight to orjson's C encoder; the rest through `_default`.
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def plain(predictions: Any) -> Any:
    """What a model returned, in shapes JSON has: a DataFrame becomes a list of row objects
    (MLflow's "records"), a Series or tensor an array; numpy arrays are left to the encoder."""
    if libs.is_dataframe(predictions):
        return predictions.to_dict(orient="records")
    if libs.is_series(predictions):
        return predictions.to_numpy()
    if libs.is_tensor(predictions):
        return predictions.detach().cpu().numpy()
    if isinstance(predictions, dict):
        return {k: plain(v) for k, v in predictions.items()}
    if isinstance(predictions, tuple):
        return [plain(v) for v in predictions]
    return predictions


def to_json(predictions: Any) -> bytes:
    """``{"predictions": ...}`` as UTF-8 JSON; NaN becomes null."""
    return orjson.dumps({"predictions": plain(predictions)}, default=_default, option=_OPTIONS)


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, default=_default, option=_OPTIONS)


def _default(value: Any) -> Any:
    if libs.is_ndarray(value):
        # An array orjson does not take as it is (object or string dtype, not contiguous).
        return value.tolist()
    if libs.is_dataframe(value) or libs.is_series(value) or libs.is_tensor(value):
        return plain(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "isoformat"):  # pandas Timestamp, numpy datetime64 boxed by pandas
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars orjson does not know (float128, ...)
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def to_csv(predictions: Any) -> bytes:
    """A table of the predictions: one ``prediction`` column for one value per row,
    ``prediction_0``, ``prediction_1``... for several, a DataFrame's own columns, or one
    column per key of a dict."""
    pandas = libs.need("pandas")
    value = plain(predictions)
    if libs.is_dataframe(predictions):
        frame = predictions
    elif isinstance(value, dict):
        frame = pandas.DataFrame({str(k): _column(v) for k, v in value.items()})
    else:
        array = libs.need("numpy").asarray(value)
        if array.ndim <= 1:
            frame = pandas.DataFrame({"prediction": array.reshape(-1)})
        else:
            flat = array.reshape(array.shape[0], -1)
            frame = pandas.DataFrame(
                flat, columns=[f"prediction_{i}" for i in range(flat.shape[1])]
            )
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode("utf-8")


def _column(value: Any) -> Any:
    return value.tolist() if libs.is_ndarray(value) and value.ndim > 1 else value
