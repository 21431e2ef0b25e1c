"""Model signatures: what a model takes and returns, inferred from an input example.

Two kinds of schema, as MLflow's:

* **columns**, for tables (a pandas DataFrame, a list of dicts, a dict of lists): each column's
  name and type. Types are ``bool``, ``int8`` ... ``int64``, ``uint8`` ... ``uint64``,
  ``float16`` ... ``float64``, ``string``, ``datetime``, ``category`` and ``object`` (anything).
* **tensor**, for arrays (numpy, torch): a dtype (numpy's name, e.g. ``float32``) and a shape
  in which -1 means any size (the first dimension, the batch, is always -1).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.models import libs

COLUMN_TYPES = frozenset(
    {"bool", "string", "datetime", "category", "object", "binary"}
    | {f"int{n}" for n in (8, 16, 32, 64)}
    | {f"uint{n}" for n in (8, 16, 32, 64)}
    | {f"float{n}" for n in (16, 32, 64)}
)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True, slots=True)
class Schema:
    """Either ``columns`` (a table) or ``tensor`` (an array)."""

    columns: tuple[ColumnSpec, ...] = ()
    tensor: TensorSpec | None = None

    @property
    def kind(self) -> str:
        return "tensor" if self.tensor is not None else "columns"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        if self.tensor is not None:
            return {"tensor": self.tensor.to_dict()}
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Any, field: str) -> Schema:
        if not isinstance(data, Mapping):
            raise InvalidInputError(field, data, "must be a mapping with 'columns' or 'tensor'")
        if "tensor" in data:
            tensor = data["tensor"]
            if not isinstance(tensor, Mapping):
                raise InvalidInputError(f"{field}.tensor", tensor, "must be a mapping")
            shape = tensor.get("shape")
            if not isinstance(shape, list) or not all(
                isinstance(d, int) and d >= -1 for d in shape
            ):
                raise InvalidInputError(f"{field}.tensor.shape", shape, "must be a list of ints")
            return cls(tensor=TensorSpec(str(tensor.get("dtype")), tuple(shape)))
        columns = data.get("columns")
        if not isinstance(columns, list) or not columns:
            raise InvalidInputError(f"{field}.columns", columns, "must be a non-empty list")
        specs = []
        for column in columns:
            if not isinstance(column, Mapping) or not isinstance(column.get("name"), str):
                raise InvalidInputError(f"{field}.columns", column, "needs a 'name'")
            if column.get("type") not in COLUMN_TYPES:
                raise InvalidInputError(
                    f"type of column {column['name']!r}",
                    column.get("type"),
                    f"must be one of {', '.join(sorted(COLUMN_TYPES))}",
                )
            specs.append(ColumnSpec(column["name"], column["type"]))
        return cls(columns=tuple(specs))


@dataclass(frozen=True, slots=True)
class ModelSignature:
    inputs: Schema
    outputs: Schema | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"inputs": self.inputs.to_dict()}
        if self.outputs is not None:
            out["outputs"] = self.outputs.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ModelSignature:
        if not isinstance(data, Mapping):
            raise InvalidInputError("signature", data, "must be a mapping with 'inputs'")
        outputs = data.get("outputs")
        return cls(
            inputs=Schema.from_dict(data.get("inputs"), "signature.inputs"),
            outputs=None if outputs is None else Schema.from_dict(outputs, "signature.outputs"),
        )


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """The signature of a model that takes ``model_input`` (and returns ``model_output``)."""
    outputs = None if model_output is None else infer_schema(model_output, "model_output")
    return ModelSignature(infer_schema(model_input, "model_input"), outputs)


def infer_schema(data: Any, field: str = "input_example") -> Schema:
    if libs.is_dataframe(data):
        return Schema(columns=tuple(ColumnSpec(str(n), column_type(data[n])) for n in data.columns))
    if libs.is_series(data):
        return _tensor_schema(data.to_numpy())
    if libs.is_ndarray(data):
        return _tensor_schema(data)
    if libs.is_tensor(data):
        return Schema(tensor=TensorSpec(tensor_dtype(data), (-1, *tuple(data.shape)[1:])))
    if isinstance(data, Mapping) and data and all(isinstance(k, str) for k in data):
        columns = [(k, _as_list(v)) for k, v in data.items()]
        if all(values is not None for _, values in columns):
            return Schema(columns=tuple(ColumnSpec(k, python_type(v or [])) for k, v in columns))
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        names = list(dict.fromkeys(str(k) for row in data for k in row))
        return Schema(
            columns=tuple(
                ColumnSpec(n, python_type([row[n] for row in data if n in row])) for n in names
            )
        )
    if isinstance(data, list | tuple) and data:
        numpy = libs.need("numpy")
        try:
            array = numpy.asarray(data)
        except ValueError as exc:
            raise InvalidInputError(field, data, f"is a ragged list: {exc}") from None
        if array.dtype != object:
            return _tensor_schema(array)
    raise InvalidInputError(
        field,
        type(data).__name__,
        "cannot be described: give a pandas DataFrame, a numpy array, a torch tensor, "
        "a list of dicts, a dict of lists or a list of numbers",
    )


def _as_list(values: Any) -> list[Any] | None:
    if isinstance(values, list | tuple):
        return list(values)
    if libs.is_ndarray(values) and values.ndim == 1:
        return list(values.tolist())
    return None


def _tensor_schema(array: Any) -> Schema:
    if array.dtype == object:
        raise InvalidInputError("input_example", "object array", "must hold numbers or strings")
    shape = (-1, *array.shape[1:]) if array.ndim else ()
    return Schema(tensor=TensorSpec(array_dtype(array.dtype), tuple(int(d) for d in shape)))


def array_dtype(dtype: Any) -> str:
    """numpy's name of a dtype, "string" for fixed-width text (its width is not a type)."""
    return "string" if dtype.kind in "US" else str(dtype.name)


def tensor_dtype(tensor: Any) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def column_type(series: Any) -> str:
    """The signature type of a pandas column."""
    pandas = libs.need("pandas")
    dtype = series.dtype
    types = pandas.api.types
    if types.is_bool_dtype(dtype):
        return "bool"
    if isinstance(dtype, pandas.CategoricalDtype):
        return "category"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_integer_dtype(dtype) or types.is_float_dtype(dtype):
        # Nullable "Int64" and numpy "int64" are one type to a model.
        return str(dtype.name).lower()
    if isinstance(dtype, pandas.StringDtype):
        return "string"
    return python_type(series.dropna().tolist())


def python_type(values: Sequence[Any]) -> str:
    """The signature type of a column given as Python values (None is a missing value)."""
    present = [v for v in values if v is not None]
    if not present:
        return "object"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in present):
        return "int64"
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return "float64"
    if all(isinstance(v, str) for v in present):
        return "string"
    if all(isinstance(v, bytes) for v in present):
        return "binary"
    return "object"
