"""Checking event batches that arrive over HTTP before the store applies them.

A client's journal holds events its own process validated, but the server cannot trust a
client: every event is checked here for the fields and types the store relies on, with the
store's limits (key charset, value lengths, column sizes, 64-bit integers). An event that fails
is answered as a rejection (and set aside by the client, as the store's own refusals are);
the rest of the batch is applied. A malformed event must never reach the database: a database
error would answer 503 and the client would retry the same batch forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowtrack.entities import RunStatus
from flowtrack.errors import InvalidInputError
from flowtrack.store.events import DIRECTIONS, OPS, Event
from flowtrack.store.rest.codec import dec_float
from flowtrack.validation import (
    validate_experiment_name,
    validate_key_cached,
    validate_run_id,
)

_STATUSES = frozenset(str(s) for s in RunStatus)
_I64 = 2**63


class Bad(Exception):
    """One event is malformed; the message says which field and why."""


def _int(e: Event, field: str, *, optional: bool = False) -> None:
    value = e.get(field)
    if value is None and optional:
        return
    if type(value) is not int or not -_I64 <= value < _I64:
        raise Bad(f"{field} must be a 64-bit integer, not {value!r:.80}")


def _str(e: Event, field: str, limit: int, *, optional: bool = False) -> None:
    value = e.get(field)
    if value is None and optional:
        return
    if type(value) is not str:
        raise Bad(f"{field} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise Bad(f"{field} is {len(value)} characters long; the limit is {limit}")


def _run_id(value: Any, field: str = "run_id") -> None:
    try:
        validate_run_id(value)
    except InvalidInputError:
        raise Bad(f"{field} must be 32 lowercase hex characters, not {value!r:.80}") from None


def _key(value: Any, what: str) -> str:
    try:
        return validate_key_cached(what, value)
    except InvalidInputError as exc:
        raise Bad(str(exc)) from None


def _text_map(value: Any, field: str, limit: int) -> None:
    if not isinstance(value, dict):
        raise Bad(f"{field} must be an object of string values")
    for key, text in value.items():
        _key(key, f"{field} key")
        if type(text) is not str or len(text) > limit:
            raise Bad(f"{field}[{key!r}] must be a string of at most {limit} characters")


def _create_run(e: Event) -> None:
    experiment_id = e.get("experiment_id")
    if experiment_id is not None and not (
        (type(experiment_id) is int and 0 <= experiment_id < 2**31)
        or (
            type(experiment_id) is str
            and experiment_id.isascii()
            and experiment_id.isdigit()
            and len(experiment_id) < 10
        )
    ):
        raise Bad(f"experiment_id must be a number, not {experiment_id!r:.80}")
    name = e.get("experiment_name")
    if name is not None:
        try:
            validate_experiment_name(name)
        except InvalidInputError as exc:
            raise Bad(str(exc)) from None
    _str(e, "run_name", 250, optional=True)
    if e.get("parent_run_id") is not None:
        _run_id(e["parent_run_id"], "parent_run_id")
    _int(e, "start_time", optional=True)
    _str(e, "user_id", 256, optional=True)
    _str(e, "source_type", 20, optional=True)
    if e.get("source_ref") is not None and not isinstance(e["source_ref"], dict):
        raise Bad("source_ref must be an object")
    if e.get("status") is not None and e["status"] not in _STATUSES:
        raise Bad(f"status must be one of {', '.join(sorted(_STATUSES))}")
    if e.get("tags") is not None:
        _text_map(e["tags"], "tags", 8000)


def _metric(e: Event) -> None:
    _key(e.get("key"), "metric key")
    e["value"] = dec_float(e.get("value"), "value")
    _int(e, "timestamp")
    _int(e, "step")


def _metrics(e: Event) -> None:
    values = e.get("values")
    if not isinstance(values, dict) or not values:
        raise Bad("values must be a non-empty object of metric key -> number")
    for key, value in values.items():
        _key(key, "metric key")
        if type(value) is not float:
            values[key] = dec_float(value, f"value of metric {key!r}")
    _int(e, "timestamp")
    _int(e, "step")


def _param(e: Event) -> None:
    _key(e.get("key"), "param key")
    _str(e, "value", 6000)


def _tag(e: Event) -> None:
    _key(e.get("key"), "tag key")
    _str(e, "value", 8000)


def _delete_tag(e: Event) -> None:
    _key(e.get("key"), "tag key")


def _update_run(e: Event) -> None:
    if e.get("status") is not None and e["status"] not in _STATUSES:
        raise Bad(f"status must be one of {', '.join(sorted(_STATUSES))}")
    _int(e, "end_time", optional=True)
    _str(e, "run_name", 250, optional=True)
    # The store treats a present None as a value; only known fields may be present.
    for field in ("status", "run_name"):
        if field in e and e[field] is None:
            del e[field]


def _artifacts(e: Event) -> None:
    paths = e.get("paths")
    if not isinstance(paths, list) or not all(type(p) is str for p in paths):
        raise Bad("paths must be a list of strings")


def _dataset(e: Event) -> None:
    _str(e, "version_id", 32)
    _str(e, "name", 500)
    _str(e, "uri", 2000)
    _str(e, "digest", 200)
    _str(e, "algorithm", 32)
    _int(e, "size")
    _int(e, "file_count")
    _str(e, "mode", 20)
    _str(e, "created_by_run_id", 32, optional=True)
    _int(e, "created_time")
    if e.get("direction") is not None and e["direction"] not in DIRECTIONS:
        raise Bad("direction must be input or output")


def _run_dataset(e: Event) -> None:
    _str(e, "uri", 2000)
    _str(e, "digest", 200)
    if e.get("direction") not in DIRECTIONS:
        raise Bad("direction must be input or output")


_CHECKS: dict[str, Callable[[Event], None]] = {
    "create_run": _create_run,
    "metric": _metric,
    "metrics": _metrics,
    "param": _param,
    "tag": _tag,
    "delete_tag": _delete_tag,
    "update_run": _update_run,
    "artifacts": _artifacts,
    "dataset": _dataset,
    "run_dataset": _run_dataset,
}
assert set(_CHECKS) == OPS, "every op of store/events.py needs a check here"


def check_batch(raw: Any, journal_id: Any) -> tuple[list[Event], list[tuple[int, str]]]:
    """The well-formed events of a batch (the same dict objects, metric values decoded) and
    (index, reason) for the others. A batch that is not a list, or a journal batch whose
    sequence numbers are missing or not increasing, raises `InvalidInputError` (400)."""
    if not isinstance(raw, list):
        raise InvalidInputError("events", type(raw).__name__, "must be a list of events")
    if journal_id is not None:
        if type(journal_id) is not str or not 0 < len(journal_id) <= 64:
            raise InvalidInputError(
                "journal_id", journal_id, "must be a string of 1 to 64 characters"
            )
        _check_sequence(raw)
    good: list[Event] = []
    bad: list[tuple[int, str]] = []
    known_runs: set[str] = set()
    for index, e in enumerate(raw):
        try:
            if not isinstance(e, dict):
                raise Bad("an event must be an object")
            op = e.get("op")
            check = _CHECKS.get(op) if type(op) is str else None
            if check is None:
                raise Bad(f"op must be one of {', '.join(sorted(OPS))}, not {op!r:.40}")
            run_id = e.get("run_id")
            if type(run_id) is not str:
                raise Bad("run_id must be a string")
            if run_id not in known_runs:
                _run_id(run_id)
                known_runs.add(run_id)
            check(e)
        except (Bad, InvalidInputError) as exc:
            bad.append((index, f"malformed event: {exc}"))
            continue
        good.append(e)
    return good, bad


def _check_sequence(raw: list[Any]) -> None:
    last = -1
    for e in raw:
        seq = e.get("seq") if isinstance(e, dict) else None
        if type(seq) is not int or not last < seq < _I64:
            raise InvalidInputError(
                "seq", seq, "events sent with a journal_id need increasing integer seq numbers"
            )
        last = seq
