"""Prefect parameters as flowtrack params: nested values flattened, long values truncated."""

from __future__ import annotations

import json
import os
import reprlib
from collections.abc import Mapping
from typing import Any

from flowtrack.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH

TRUNCATED_NOTE = "... [truncated by flowtrack: {n} characters]"
# Deeper structures are kept as JSON text under their parent key rather than exploded.
MAX_DEPTH = 4
# Containers larger than this are described by a bounded repr: serializing a million-item
# list to JSON would cost the task more than the param is worth.
MAX_ITEMS = 200
_repr = reprlib.Repr()  # keyword arguments only from Python 3.12
_repr.maxlevel, _repr.maxstring, _repr.maxother = 3, 2000, 2000
_repr.maxlist = _repr.maxdict = _repr.maxtuple = _repr.maxset = 20


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if value is None or isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, list | tuple | dict) or _size(value) > MAX_ITEMS:
        return _repr.repr(value)
    try:
        return json.dumps(value, default=_repr.repr, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _size(value: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> int:
    """Items in ``value`` and its direct children (enough to bound the JSON text's cost)."""
    items = value.values() if isinstance(value, dict) else value
    total = len(value)
    for item in items:
        if isinstance(item, list | tuple | dict):
            total += len(item)
    return total


def truncate(text: str, limit: int = MAX_PARAM_VALUE_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, ending in a note that says how long it was."""
    if len(text) <= limit:
        return text
    note = TRUNCATED_NOTE.format(n=len(text))
    return text[: limit - len(note)] + note


def flatten(params: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, str]:
    """{"a": {"b": 1}} -> {"a.b": "1"}; values become text, cut to the param value limit.

    Keys that are too long for a param key are dropped from the nesting (the value stays under
    the parent key, as JSON).
    """
    flat: dict[str, str] = {}
    for raw_key, value in params.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping) and value and depth < MAX_DEPTH:
            nested = flatten(value, f"{key}.", depth + 1)
            if all(len(k) <= MAX_KEY_LENGTH for k in nested):
                flat.update(nested)
                continue
        flat[key[:MAX_KEY_LENGTH]] = truncate(_text(value))
    return flat
