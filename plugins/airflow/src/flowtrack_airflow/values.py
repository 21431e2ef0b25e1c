"""Airflow values as flowtrack params and tags: conf and params flattened, text bounded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowtrack.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH

MAX_DEPTH = 3
# A DAG run conf can be large; past this many top-level keys the rest is summarised, so a
# huge conf costs the task a bounded amount of work.
MAX_KEYS = 200


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in a note of its real length."""
    if len(text) <= limit:
        return text
    note = f"... [truncated by flowtrack: {len(text)} characters]"
    return text[: limit - len(note)] + note


def tag_text(value: Any) -> str:
    return bounded(str(value), MAX_TAG_VALUE_LENGTH)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def params_of(values: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, str]:
    """{"a": {"b": 1}} -> {"a.b": "1"}; deeper or odd values kept as JSON text, bounded."""
    flat: dict[str, str] = {}
    for index, (raw_key, value) in enumerate(values.items()):
        if index >= MAX_KEYS:
            flat[f"{prefix}..."] = f"{len(values) - MAX_KEYS} more keys not logged"
            break
        key = f"{prefix}{raw_key}"[:MAX_KEY_LENGTH]
        if isinstance(value, Mapping) and value and depth < MAX_DEPTH:
            flat.update(params_of(value, f"{key}.", depth + 1))
        else:
            flat[key] = bounded(_as_text(value), MAX_PARAM_VALUE_LENGTH)
    return flat


def error_text(error: Any) -> str:
    if isinstance(error, BaseException):
        return tag_text(f"{type(error).__name__}: {error}")
    return tag_text(error or "failed")
