"""Model input: the shapes ``predict`` accepts, and checking them against a signature.

Every flavor takes a pandas DataFrame, a numpy array, a torch tensor, a list of dicts (rows)
or a dict of lists (columns). ``check_input`` turns the input into what the signature
describes (a DataFrame with the signature's columns in its order, or an array of its dtype)
and raises `ModelInputError` naming the column when it cannot.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from flowtrack.models import libs
from flowtrack.models.errors import ModelInputError
from flowtrack.models.signature import ModelSignature, Schema, array_dtype, column_type

log = logging.getLogger("flowtrack.models")

_INTEGER = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_FLOAT = {"float16", "float32", "float64"}
# numpy kinds an array may have for each kind the signature expects.
_SAFE_KINDS = {"f": "fiub", "i": "iub", "u": "ub", "b": "b", "U": "US", "S": "S"}


def is_records(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(r, Mapping) for r in data)


def is_columns(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and bool(data)
        and all(isinstance(v, list | tuple) or libs.is_ndarray(v) for v in data.values())
    )


def as_frame(data: Any, columns: Sequence[str] | None = None) -> Any:
    """``data`` as a pandas DataFrame; a 2-D array gets ``columns`` as its column names."""
    pandas = libs.need("pandas")
    if libs.is_dataframe(data):
        return data
    if is_records(data) or is_columns(data):
        return pandas.DataFrame(data)
    array = as_array(data)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ModelInputError("input", f"shape {array.shape}", "must be a table (2 dimensions)")
    if columns is not None and len(columns) != array.shape[1]:
        raise ModelInputError(
            "input",
            f"{array.shape[1]} columns",
            f"has {array.shape[1]} columns; the model's signature expects {len(columns)}: "
            f"{', '.join(columns)}",
        )
    return pandas.DataFrame(array, columns=list(columns) if columns is not None else None)


def as_array(data: Any) -> Any:
    """``data`` as a numpy array (a DataFrame's values, a tensor copied to the CPU)."""
    numpy = libs.need("numpy")
    if libs.is_ndarray(data):
        return data
    if libs.is_dataframe(data) or libs.is_series(data):
        return data.to_numpy()
    if libs.is_tensor(data):
        return data.detach().cpu().numpy()
    if is_records(data) or is_columns(data):
        return as_frame(data).to_numpy()
    try:
        return numpy.asarray(data)
    except ValueError as exc:
        raise ModelInputError("input", type(data).__name__, f"is not an array: {exc}") from None


def as_model_input(data: Any) -> Any:
    """A DataFrame or array stays as it is; rows and columns become a DataFrame; anything
    else an array. What table-minded flavors (sklearn) pass to the model."""
    if libs.is_dataframe(data) or libs.is_ndarray(data):
        return data
    if is_records(data) or is_columns(data):
        return as_frame(data)
    return as_array(data)


def check_input(signature: ModelSignature | None, data: Any) -> Any:
    """``data`` converted to what ``signature`` describes; `ModelInputError` if it cannot be.

    Columns: each of the signature's columns must be present with a compatible type (an
    integer column where floats are expected is widened; floats where integers are expected
    are refused unless all are whole numbers); extra columns are dropped. Tensors: the
    dimensions must match (-1 is any size) and the dtype must be of a compatible kind; the
    array is cast to the signature's dtype. Without a signature, ``data`` is returned
    unchanged.
    """
    if signature is None:
        return data
    return check_schema(signature.inputs, data)


def check_schema(schema: Schema, data: Any) -> Any:
    if schema.tensor is not None:
        return _check_tensor(schema, data)
    return _check_columns(schema, data)


def _check_columns(schema: Schema, data: Any) -> Any:
    names = schema.names
    frame = as_frame(data, names)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    present = list(frame.columns)
    missing = [n for n in names if n not in present]
    if missing:
        raise ModelInputError(
            missing[0],
            None,
            f"is missing: the input has columns {present}; the model's signature expects {names}",
        )
    extra = [c for c in present if c not in names]
    if extra:
        log.debug("dropping input columns the signature does not name: %s", extra)
    if present != names:
        # Selecting columns copies the frame: only when the order or the set differs.
        frame = frame.loc[:, names]
    converted = {}
    for spec in schema.columns:
        column = frame[spec.name]
        checked = _check_column(spec.name, spec.type, column)
        if checked is not column:
            converted[spec.name] = checked
    # assign() makes a new frame: the caller's is never modified.
    return frame.assign(**converted) if converted else frame


def _check_column(name: str, expected: str, series: Any) -> Any:
    actual = column_type(series)
    if expected in (actual, "object"):
        return series
    if expected in _FLOAT and (actual in _INTEGER or actual in _FLOAT):
        return series.astype(expected)
    if expected in _INTEGER and actual in _INTEGER:
        return series
    if expected in _INTEGER and actual in _FLOAT and _whole(series):
        return series.astype(expected)  # 3.0 from a JSON or CSV reader is the integer 3
    if expected == "category" and actual in ("string", "object"):
        return series
    if expected == "datetime" and actual == "string":
        pandas = libs.need("pandas")
        try:
            return pandas.to_datetime(series)
        except (ValueError, TypeError) as exc:
            raise ModelInputError(
                name, _first(series), f"is not a date and time ({exc}); expected datetime"
            ) from None
    wrong = _first_wrong(series, expected)
    raise ModelInputError(
        name,
        wrong,
        f"has type {actual} (value {wrong!r}); the model's signature expects {expected}",
    )


def _whole(series: Any) -> bool:
    numpy = libs.need("numpy")
    values = series.to_numpy()
    return bool(numpy.isfinite(values).all() and (values == numpy.round(values)).all())


def _first_wrong(series: Any, expected: str) -> Any:
    """The first value that does not fit a numeric or bool ``expected`` type (the value to
    name in the error: in ``[3.5, "wide"]`` it is ``"wide"``), else the first value."""
    if expected in _INTEGER or expected in _FLOAT or expected == "bool":
        for value in series.dropna():
            plain = value.item() if hasattr(value, "item") else value
            if not _fits(plain, expected):
                return plain
    first = _first(series)
    return first.item() if hasattr(first, "item") else first


def _fits(value: Any, expected: str) -> bool:
    if expected == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return expected not in _INTEGER or float(value).is_integer()


def _first(series: Any) -> Any:
    values = series.dropna()
    return values.iloc[0] if len(values) else None


def _check_tensor(schema: Schema, data: Any) -> Any:
    assert schema.tensor is not None
    numpy = libs.need("numpy")
    expected = schema.tensor
    array = as_array(data)
    shape = tuple(array.shape)
    if len(shape) != len(expected.shape) or any(
        want not in (-1, got) for want, got in zip(expected.shape, shape, strict=True)
    ):
        raise ModelInputError(
            "input",
            f"shape {shape}",
            f"has shape {shape}; the model's signature expects {expected.shape} (-1 is any size)",
        )
    actual = array_dtype(array.dtype)
    if actual == expected.dtype:
        return array
    try:
        wanted = numpy.dtype("str" if expected.dtype == "string" else expected.dtype)
    except TypeError:
        return array  # a dtype numpy does not know (torch's bfloat16): the flavor casts
    # Widening within a kind, or ints and bools to floats, is safe; floats to ints is not.
    if array.dtype.kind not in _SAFE_KINDS.get(wanted.kind, wanted.kind):
        raise ModelInputError(
            "input",
            f"dtype {actual}",
            f"has dtype {actual}; the model's signature expects {expected.dtype}",
        )
    if wanted.kind in "iu" and array.size and array.dtype.kind in "iu":
        bounds = numpy.iinfo(wanted)
        if array.min() < bounds.min or array.max() > bounds.max:
            raise ModelInputError(
                "input",
                f"values {array.min()}..{array.max()}",
                f"has values outside {expected.dtype}, the dtype of the model's signature",
            )
    return array.astype(wanted, copy=False)
