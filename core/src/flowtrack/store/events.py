"""The ingest format: what the fluent API queues, the spool keeps, and a store applies.

Events are plain JSON-able dicts so a spool written by one flowtrack version can be replayed by
another process later. Ops:

- ``create_run``: run_id, experiment_id or experiment_name, run_name, parent_run_id,
  start_time, user_id, source_type, source_ref, tags
- ``metric``: run_id, key, value, timestamp, step
- ``metrics``: run_id, values (key -> value), timestamp, step: several metrics at one step
- ``param`` / ``tag``: run_id, key, value
- ``delete_tag``: run_id, key
- ``update_run``: run_id, and any of status, end_time, run_name
- ``artifacts``: run_id, paths (files already stored; journaled so plugins hear of them in
  order with the rest, the store writes nothing for it)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]

OPS = frozenset(
    {"create_run", "metric", "metrics", "param", "tag", "delete_tag", "update_run", "artifacts"}
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
