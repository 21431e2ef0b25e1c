"""The server's read paths in the SQL store: metric history as columns (order, ties, NaN, both
backends) and the plan of a metric-filtered search."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

from flowtrack.entities import Metric
from flowtrack.store.sql.blocks import columns, pack
from flowtrack.store.sql.search import build_run_search
from flowtrack.store.sql.store import SqlStore


def _block(points: list[tuple[int, int, float]]) -> tuple[bytes, int]:
    steps, stamps, values = zip(*points, strict=True)
    return pack(list(steps), list(stamps), list(values)), len(points)


def test_columns_sort_by_step_then_time_and_keep_arrival_order_of_ties() -> None:
    first = _block([(5, 100, 1.0), (2, 100, 2.0), (2, 50, 3.0)])
    second = _block([(0, 7, math.nan), (2, 50, 4.0), (9, 1, math.inf)])
    got = columns([first, second])
    assert got.steps == [0, 2, 2, 2, 5, 9]
    assert got.timestamps == [7, 50, 50, 100, 100, 1]
    # (2, 50) came first with 3.0, then with 4.0: the later block's point stays after.
    assert got.values[1:] == [3.0, 4.0, 2.0, 1.0, math.inf]
    assert math.isnan(got.values[0])


def test_columns_in_order_are_returned_as_logged() -> None:
    points = [(s, 1000 + s, s / 3) for s in range(2_000)]
    got = columns([_block(points[:700]), _block(points[700:])])
    assert list(zip(got.steps, got.timestamps, got.values, strict=True)) == points
    assert columns([]).steps == []


def test_store_history_and_columns_agree(store_uri: str) -> None:
    store = SqlStore(store_uri)
    experiment = store.create_experiment(f"columns-{uuid.uuid4().hex}")
    run_id = uuid.uuid4().hex
    store.apply_events([{"op": "create_run", "run_id": run_id, "experiment_id": experiment}])
    for batch in ([9, 3, 7], [1, 3], [8]):
        events = [
            {
                "op": "metric",
                "run_id": run_id,
                "key": "m",
                "value": s * 1.5,
                "timestamp": s,
                "step": s,
            }
            for s in batch
        ]
        assert not store.apply_events(events)
    history = store.get_metric_history(run_id, "m")
    assert [m.step for m in history] == [1, 3, 3, 7, 8, 9]
    assert history[0] == Metric("m", 1.5, 1, 1)
    got = store.get_metric_columns(run_id, "m")
    assert got.metrics("m") == history
    assert got.page(1, 3).steps == [3, 3]
    assert store.get_metric_columns(run_id, "other").steps == []
    store.close()


def test_a_metric_filter_starts_from_the_key_value_index_on_sqlite(tmp_path: Path) -> None:
    # A selective filter must not probe every run of the experiment (see search.py).
    store = SqlStore(f"sqlite:///{tmp_path / 'plan.db'}")
    query = build_run_search([1], "metrics.m3 > 0.99", ["metrics.m3 DESC"], "active_only", 10, 0)
    with store.engine.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        plan = " / ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "latest_metrics USING INDEX ix_latest_metrics_key_value (key=? AND value>?)" in plan
    store.close()
