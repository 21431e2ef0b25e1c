"""Task return values (XCom) versioned as outputs of the task's run, when the task opts in.

The value is read in the success hook, on the task's thread (``xcom_pull`` talks to the task's
supervisor); writing and hashing it run on the adapter's background thread (`assets`). A
JSON-able value becomes a canonical JSON file (sorted keys, so the same value is the same
version), a pandas DataFrame a parquet file when pyarrow is installed; anything else is skipped
with a debug log. Files go to flowtrack's user-level cache through the core's
``log_object_output``, named ``<dag_id>.<task_id>.json`` (``[<map_index>]`` for mapped tasks).
Nothing here raises: the task has succeeded, and tracking must not change that.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowtrack.plugins.records import SerializerSpec

log = logging.getLogger("flowtrack.airflow")

_UNSAFE = re.compile(r"[^\w.\-\[\]]+")


@dataclass(frozen=True, slots=True)
class JsonValue:
    """A JSON-able return value, marked so that only this adapter's serializer takes it (a
    bare number or string would otherwise go to another serializer, or to none)."""

    value: Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _write_json(obj: object, path: Path) -> None:
    assert isinstance(obj, JsonValue)
    path.write_text(canonical_json(obj.value), encoding="utf-8")


SERIALIZER = SerializerSpec(
    "airflow-return-json", lambda o: isinstance(o, JsonValue), ".json", _write_json
)


def dataset_name(dag_id: str, task_id: str, map_index: int) -> str:
    base = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index >= 0 else "")
    return _UNSAFE.sub("_", base)[:200]


def pull(ti: Any) -> Any:
    """The task's return value, or None if it returned nothing or it cannot be read."""
    map_index = ti.map_index if ti.map_index is not None else -1
    try:
        if map_index >= 0:
            return ti.xcom_pull(task_ids=ti.task_id, map_indexes=map_index)
        return ti.xcom_pull(task_ids=ti.task_id)
    except Exception as exc:  # an XCom backend's error must not reach the task
        log.warning("flowtrack: the return value of %s could not be read: %s", ti.task_id, exc)
        return None


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _is_frame(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    frame = getattr(pandas, "DataFrame", None) if pandas is not None else None
    return frame is not None and isinstance(value, frame)


def job(value: Any, name: str) -> Callable[[], None] | None:
    """The background job that versions ``value`` as an output of the active run, or None
    when there is nothing to version."""
    if value is None:
        return None
    if _is_frame(value):
        if importlib.util.find_spec("pyarrow") is None:
            log.debug("flowtrack: %s returned a DataFrame; pyarrow is missing: not versioned", name)
            return None
        target: Any = value  # the core's parquet serializer
    elif _jsonable(value):
        target = JsonValue(value)
    else:
        log.debug(
            "flowtrack: the return value of %s (%s) is neither JSON-able nor a DataFrame: "
            "not versioned",
            name,
            type(value).__name__,
        )
        return None

    def version() -> None:
        from flowtrack.tracking.datasets import log_object_output

        log_object_output(target, name)

    return version
