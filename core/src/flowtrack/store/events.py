"""The ingest format: what the fluent API queues, the spool keeps, and a store applies.

Events are plain JSON-able dicts so a spool written by one flowtrack version can be replayed by
another process later. Ops:

- ``create_run``: run_id, experiment_id or experiment_name, run_name, parent_run_id,
  start_time, user_id, source_type, source_ref, tags. A no-op for a run that exists, except
  that it completes a provisional run (source_type ``pending``, sent by a process logging to a
  run id it was handed before the run's owner recorded it).
- ``metric``: run_id, key, value, timestamp, step
- ``metrics``: run_id, values (key -> value), timestamp, step: several metrics at one step
- ``param`` / ``tag``: run_id, key, value
- ``delete_tag``: run_id, key
- ``update_run``: run_id, and any of status, end_time, run_name
- ``artifacts``: run_id, paths (files already stored; journaled so plugins hear of them in
  order with the rest, the store writes nothing for it)
- ``dataset``: run_id (the run that logged it), direction, and a version's fields: version_id,
  name, uri, digest, algorithm, size, file_count, mode, created_by_run_id, created_time.
  Upserted by (uri, digest): the same content at the same place is one version, and the first
  version_id, created_time and created_by_run_id that reached the store are kept (a missing
  created_by_run_id is filled in later by an ``output`` link).
- ``run_dataset``: run_id, uri, digest, direction ("input" or "output"): links a run to the
  version at (uri, digest), normally sent right after its ``dataset`` event. An ``output`` link
  makes the run the version's creator when it has none.

``dataset`` and ``run_dataset`` are refused, like the other ops, for an unknown, deleted or
ended run; a ``run_dataset`` naming no known version is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]

OPS = frozenset(
    {
        "create_run",
        "metric",
        "metrics",
        "param",
        "tag",
        "delete_tag",
        "update_run",
        "artifacts",
        "dataset",
        "run_dataset",
    }
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event the store refused for good (not a fault): it is reported and set aside."""

    event: Event
    reason: str

    def __str__(self) -> str:
        op = self.event.get("op")
        run_id = self.event.get("run_id")
        key = self.event.get("key")
        what = f"{op} {key!r}" if key is not None else str(op)
        return f"{what} for run {run_id}: {self.reason}"


DIRECTIONS = ("input", "output")


class Applied(list[Rejection]):
    """What `TrackingStore.apply_events` returns: the rejections (it is a list of them) and
    ``new_versions``, the ids of the dataset versions the call created (plugins hear of those)."""

    def __init__(
        self, rejections: Iterable[Rejection] = (), new_versions: Iterable[str] = ()
    ) -> None:
        super().__init__(rejections)
        self.new_versions: frozenset[str] = frozenset(new_versions)
