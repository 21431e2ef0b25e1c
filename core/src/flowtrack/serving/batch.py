"""``flowtrack models predict``: the server's input formats, read from a file or stdin."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from flowtrack.errors import FlowtrackError, InvalidInputError
from flowtrack.serving import outputs
from flowtrack.serving.inputs import CSV, JSON, RequestError, media_type, parse_request
from flowtrack.serving.model import open_model

_SHORT = {"json": JSON, "csv": CSV}
_BY_SUFFIX = {".json": "json", ".csv": "csv"}


def content_type_of(path: str, given: str | None, body: bytes) -> str:
    """``--content-type`` (json, csv or a media type), else the file's suffix, else a guess
    from the first character (``{`` is JSON)."""
    if given:
        full = _SHORT.get(given.lower(), given)
        if media_type(full) not in (JSON, CSV):
            raise InvalidInputError("--content-type", given, "must be json or csv")
        return full
    kind = _BY_SUFFIX.get(Path(path).suffix.lower()) if path != "-" else None
    if kind is None:
        kind = "json" if body.lstrip()[:1] == b"{" else "csv"
    return _SHORT[kind]


def output_format_of(path: str, given: str | None) -> str:
    if given:
        return given.lower()
    return _BY_SUFFIX.get(Path(path).suffix.lower(), "json") if path != "-" else "json"


def predict_file(
    model_uri: str,
    input_path: str,
    output_path: str,
    content_type: str | None = None,
    output_format: str | None = None,
) -> int:
    """Predict on the whole input and write the predictions; returns the number of rows
    written (or 0 when it is not a table)."""
    body = _read(input_path)
    kind = content_type_of(input_path, content_type, body)
    fmt = output_format_of(output_path, output_format)
    served = open_model(model_uri)
    try:
        request = parse_request(body, kind, served.model.signature)
    except RequestError as exc:
        where = "stdin" if input_path == "-" else repr(input_path)
        raise FlowtrackError(f"cannot read {where}: {exc}") from None
    predictions = served.model.predict(request.data)
    data = outputs.to_csv(predictions) if fmt == "csv" else outputs.to_json(predictions) + b"\n"
    _write(output_path, data)
    return _rows(predictions)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInputError("--input", path, "does not exist") from None
    except IsADirectoryError:
        raise InvalidInputError("--input", path, "is a folder; give a .csv or .json file") from None


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise InvalidInputError("--output", path, "is in a folder that does not exist")
    # Temp file + rename: a failed write never leaves half a predictions file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rows(predictions: Any) -> int:
    try:
        return len(predictions)
    except TypeError:
        return 0
