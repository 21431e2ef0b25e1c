"""Input validation with MLflow's limits, so that anything MLflow accepts is accepted here.

Every check raises `InvalidInputError` naming the field and the value, before anything is written.
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from typing import Any
from urllib.parse import unquote

from flowtrack.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500

# fullmatch, not "$": "$" also matches before a trailing newline.
_KEY_RE = re.compile(r"[/\w.\- :]*")


def validate_key(field: str, key: Any) -> str:
    """A metric, param or tag key: MLflow's charset, at most 250 characters, not path-like."""
    if not isinstance(key, str):
        raise InvalidInputError(field, key, f"must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidInputError(field, key, "must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(field, key, f"is {len(key)} characters long; the limit is 250")
    if not _KEY_RE.fullmatch(key):
        raise InvalidInputError(
            field,
            key,
            "may only contain letters, digits, underscores, dashes, periods, spaces, "
            "colons and slashes",
        )
    # Keys can become file names (artifact exports), so they must not climb out of a folder.
    if posixpath.normpath(key) != key.rstrip("/") or key.startswith("/") or ".." in key.split("/"):
        raise InvalidInputError(field, key, "must be a relative name without '.', '..' or '//'")
    return key


def validate_param_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInputError(
            f"value of param {key!r}", text, f"is {len(text)} characters long; the limit is 6000"
        )
    return text


def validate_tag_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInputError(
            f"value of tag {key!r}", text, f"is {len(text)} characters long; the limit is 8000"
        )
    return text


_valid_keys: set[str] = set()


def validate_key_cached(field: str, key: Any) -> str:
    """`validate_key` for hot paths: each distinct key is checked once per process."""
    if key in _valid_keys:
        return str(key)
    validate_key(field, key)
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return str(key)


def validate_metric_value(key: str, value: Any) -> float:
    kind = type(value)
    if kind is float:  # the common case, without the slow ABC checks below
        return float(value)
    # bool is a Number too, but logging True as a metric is almost always a mistake upstream.
    if kind is not int and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise InvalidInputError(
            f"value of metric {key!r}",
            value,
            "must be a number (int or float); NaN and inf are allowed",
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidInputError(
            f"value of metric {key!r}", value, "is too large for a 64-bit float"
        ) from None


def validate_step(key: str, step: Any) -> int:
    if type(step) is int and -(2**63) <= step < 2**63:
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInputError(f"step of metric {key!r}", step, "must be an integer")
    number = int(step)
    if not -(2**63) <= number < 2**63:
        raise InvalidInputError(f"step of metric {key!r}", number, "must fit in 64 bits")
    return number


def validate_timestamp(key: str, timestamp: Any) -> int:
    if type(timestamp) is int:
        return timestamp
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Integral):
        raise InvalidInputError(
            f"timestamp of metric {key!r}",
            timestamp,
            "must be an integer (milliseconds since epoch)",
        )
    return int(timestamp)


def validate_run_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidInputError("run_name", name, f"must be a string, not {type(name).__name__}")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidInputError("run_name", name, "is longer than 250 characters")
    return name


def validate_experiment_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidInputError(
            "experiment name", name, f"must be a string, not {type(name).__name__}"
        )
    if not name.strip():
        raise InvalidInputError("experiment name", name, "must not be empty")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidInputError("experiment name", name, "is longer than 500 characters")
    return name


_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def validate_positive_int(value: Any, field: str, upper: int, example: str = "") -> int:
    """A positive integer below ``upper``, given as an int or a str of digits (MLflow's clients
    send ids and version numbers as strings); ``example`` ends the error message."""
    problem = "must be a positive integer" + example
    if isinstance(value, bool):
        raise InvalidInputError(field, value, problem)
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, int):
        number = value
    else:
        raise InvalidInputError(field, value, problem)
    if not 1 <= number < upper:
        raise InvalidInputError(field, value, problem)
    return number


def validate_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidInputError("run_id", run_id, "must be 32 lowercase hex characters")
    return run_id


def validate_artifact_path(path: Any, field: str = "artifact_path") -> str:
    """A relative path inside a run's artifact root: no absolute, '..' or encoded escapes."""
    if path is None or path == "":
        return ""
    if not isinstance(path, str):
        raise InvalidInputError(field, path, "must be a string")
    if _plain_relative(path):
        return path  # nothing to decode or normalize: the common case, checked cheaply
    decoded = path
    # Decode repeatedly so that '%252e%252e' cannot smuggle '..' through one decoding.
    for _ in range(3):
        decoded = unquote(decoded)
    if "\\" in decoded or "\x00" in decoded:
        raise InvalidInputError(field, path, "must use '/' separators and no NUL characters")
    if decoded.startswith("/") or re.match(r"^[A-Za-z]:", decoded) or "://" in decoded:
        raise InvalidInputError(field, path, "must be relative to the run's artifact root")
    parts = [p for p in decoded.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidInputError(field, path, "must not contain '..'")
    return "/".join(parts)


_SUSPECT = re.compile(r"%|\\|\x00|\.\.|//|/\./|://")


def _plain_relative(path: str) -> bool:
    """True for a path the full check would return unchanged: relative, '/'-separated, no
    '.' or '..' segment, nothing encoded. Anything else takes the full check."""
    return not (
        path.startswith(("/", "./"))
        or path.endswith(("/", "/."))
        or path == "."
        or path[1:2] == ":"
        or _SUSPECT.search(path) is not None
    )


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
