"""Request bodies in MLflow's scoring formats, turned into model input.

Shared by ``flowtrack models serve`` and ``flowtrack models predict``. JSON is an object with
exactly one of these keys (and optionally ``params``)::

    {"dataframe_split": {"columns": [...], "data": [[...], ...], "index": [...]}}
    {"dataframe_records": [{"col": value, ...}, ...]}
    {"instances": [...]}        # rows: a list of dicts, or a list of values / lists
    {"inputs": ...}             # like instances, or a dict of columns (or of one row's values)

CSV is a header line with the column names and one row per line. What comes out is a pandas
DataFrame, a list of dicts, a dict of lists or a numpy array: what `LoadedModel.predict` takes,
and it checks the result against the model's signature.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from flowtrack.errors import FlowtrackError
from flowtrack.models import libs
from flowtrack.models.signature import ModelSignature

log = logging.getLogger("flowtrack.serving")

JSON = "application/json"
CSV = "text/csv"
CONTENT_TYPES = (JSON, CSV)
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARAMS = "params"
_EXPECTED = (
    "a JSON object with exactly one of the keys "
    + ", ".join(FORMATS)
    + ' (and optionally "params"), e.g. {"dataframe_split": {"columns": ["a", "b"], '
    '"data": [[1, 2]]}}'
)


class RequestError(FlowtrackError):
    """A request the server cannot read: answered with ``status`` and the message, which says
    what was expected."""

    status = 400


class UnsupportedMediaType(RequestError):
    status = 415


@dataclass(frozen=True, slots=True)
class ModelRequest:
    data: Any
    params: dict[str, Any] | None = None


def media_type(content_type: str | None) -> str:
    """The bare media type: ``application/json; charset=utf-8`` -> ``application/json``."""
    if not content_type:
        return ""
    kind, _, parameters = content_type.partition(";")
    charset = parameters.strip().lower()
    if charset and charset.replace(" ", "") not in ("charset=utf-8", "charset=utf8"):
        raise UnsupportedMediaType(
            f"unsupported content type parameters {parameters.strip()!r}: send UTF-8 "
            f"(charset=utf-8) as {JSON} or {CSV}"
        )
    return kind.strip().lower()


def parse_request(
    body: bytes, content_type: str | None, signature: ModelSignature | None = None
) -> ModelRequest:
    """The model input in ``body``; `RequestError` (400, or 415 for another content type)
    when it cannot be read."""
    kind = media_type(content_type)
    if kind == JSON:
        return parse_json(body, signature)
    if kind == CSV:
        return ModelRequest(parse_csv(body))
    raise UnsupportedMediaType(
        f"content type {content_type or '(none)'!r} is not supported: send {JSON} "
        f"({', '.join(FORMATS)}) or {CSV}"
    )


def parse_json(body: bytes, signature: ModelSignature | None = None) -> ModelRequest:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the body is not valid JSON ({exc}); expected {_EXPECTED}") from None
    if not isinstance(document, dict):
        raise RequestError(f"the body is a JSON {_kind(document)}; expected {_EXPECTED}")
    params = document.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise RequestError(f'"params" is a JSON {_kind(params)}; expected an object')
    keys = [k for k in document if k != PARAMS]
    if len(keys) != 1 or keys[0] not in FORMATS:
        raise RequestError(f"the body has the keys {list(document)}; expected {_EXPECTED}")
    key = keys[0]
    value = document[key]
    if key == "dataframe_split":
        data = _split(value)
    elif key == "dataframe_records":
        data = _records(value)
    else:
        data = _tensor_or_rows(key, value, signature)
    return ModelRequest(data, params or None)


def parse_csv(body: bytes) -> Any:
    pandas = libs.need("pandas")
    if not body.strip():
        raise RequestError("the CSV body is empty; expected a header line and one row per line")
    try:
        return pandas.read_csv(io.BytesIO(body))
    except (ValueError, pandas.errors.ParserError) as exc:
        # EmptyDataError and UnicodeDecodeError are ValueErrors too.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RequestError(
            f"the body is not valid CSV ({first}); expected a header line with the column "
            "names and one row per line, in UTF-8"
        ) from None


def _split(value: Any) -> Any:
    expected = '{"columns": [...], "data": [[...], ...]} with an optional "index"'
    if not isinstance(value, dict):
        raise RequestError(f'"dataframe_split" is a JSON {_kind(value)}; expected {expected}')
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise RequestError(f'"dataframe_split" has unknown keys {unknown}; expected {expected}')
    data, columns, index = value.get("data"), value.get("columns"), value.get("index")
    if not isinstance(data, list):
        raise RequestError(f'"dataframe_split.data" must be a list of rows; expected {expected}')
    for field, given in (("columns", columns), ("index", index)):
        if given is not None and not isinstance(given, list):
            raise RequestError(
                f'"dataframe_split.{field}" is a JSON {_kind(given)}; expected a list'
            )
    if data and not all(isinstance(row, list) for row in data):
        bad = next(row for row in data if not isinstance(row, list))
        raise RequestError(
            f'"dataframe_split.data" holds {bad!r}; every row must be a list of values'
        )
    if columns is not None:
        widths = {len(row) for row in data}
        if widths - {len(columns)}:
            raise RequestError(
                f'"dataframe_split.data" has rows of {sorted(widths)} values but there are '
                f"{len(columns)} columns {columns}; every row needs one value per column"
            )
    if index is not None and len(index) != len(data):
        raise RequestError(
            f'"dataframe_split.index" has {len(index)} entries for {len(data)} rows; give one '
            "per row or leave it out"
        )
    pandas = libs.need("pandas")
    try:
        return pandas.DataFrame(data, columns=columns, index=index)
    except (ValueError, TypeError) as exc:
        raise RequestError(f'"dataframe_split" is not a table: {exc}') from None


def _records(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        shown = _kind(value) if not isinstance(value, list) else "list holding non-objects"
        raise RequestError(
            f'"dataframe_records" is a JSON {shown}; expected a list of rows as objects, '
            'e.g. [{"a": 1, "b": 2}]'
        )
    pandas = libs.need("pandas")
    return pandas.DataFrame(value)


def _tensor_or_rows(key: str, value: Any, signature: ModelSignature | None) -> Any:
    """TF-serving style input: rows as dicts, columns as a dict, or an array."""
    if isinstance(value, dict):
        if key == "instances":
            raise RequestError('"instances" is a JSON object; expected a list (one per row)')
        if value and not any(isinstance(v, list) for v in value.values()):
            return [value]  # {"inputs": {"a": 1, "b": 2}}: one row
        if not all(isinstance(v, list) for v in value.values()):
            raise RequestError(
                f'"{key}" mixes lists and single values; give every column as a list'
            )
        return value
    if not isinstance(value, list):
        raise RequestError(f'"{key}" is a JSON {_kind(value)}; expected a list or an object')
    if value and all(isinstance(r, dict) for r in value):
        return value
    schema = signature.inputs if signature is not None else None
    if (
        schema is not None
        and schema.tensor is None
        and value
        and all(isinstance(r, list) and len(r) == len(schema.columns) for r in value)
    ):
        # Rows of plain values for a table model: keep each column's own type (a numpy
        # array would make one type of them all: strings, if one column is text).
        return libs.need("pandas").DataFrame(value, columns=schema.names)
    numpy = libs.need("numpy")
    try:
        return numpy.asarray(value)
    except ValueError as exc:
        raise RequestError(
            f'"{key}" is not an array ({exc}); every row needs the same number of values'
        ) from None


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
