"""The data of the server benchmark's search case, set up before anything is timed: the same
n finished runs (params p0..p9, metrics m0..m9 from one seeded generator) in flowtrack, sent
as event batches, and in MLflow's database, filled before its server starts."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from server_common import KEYS, check, finished_run_events, now_ms, send_runs


def search_values(n: int) -> list[dict[str, float]]:
    rng = random.Random(7)
    return [{k: rng.random() for k in KEYS} for _ in range(n)]


def fill_flowtrack(n: int, url: str) -> str:
    """n finished runs with metrics m0..m9 and params p0..p9, sent to the server as event
    batches of 500 runs (set-up, not timed)."""
    from flowtrack.tracking.stores import get_store

    store = get_store(url)
    experiment_id = store.create_experiment("search")
    stamp = now_ms()
    values = search_values(n)
    params = {f"p{j}": str(j) for j in range(10)}
    send_runs(
        store.apply_events,
        n,
        lambda i: finished_run_events(experiment_id, i, stamp, values[i], params, {}),
    )
    return experiment_id


def fill_mlflow(n: int) -> Callable[[Path, str], None]:
    """MLflow's database before its server starts: run 0 through MLflow's own store API
    (create_run, log_batch, update_run_info), the others as bulk INSERTs of the same rows into
    MLflow's tables (its API manages about 20 runs/s here, 10,000 would take 8 minutes of
    set-up); then the first and the last run must read back alike through MLflow's store."""

    def fill(folder: Path, db: str) -> None:
        from mlflow.entities import Metric, Param, RunStatus
        from mlflow.store.tracking.dbmodels import models
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(db, str(folder / "artifacts"))
        experiment_id = store.create_experiment("search")
        stamp = now_ms()
        values = search_values(n)
        params = [Param(f"p{j}", str(j)) for j in range(10)]
        first = store.create_run(experiment_id, "bench", stamp, [], "r0")
        metrics = [Metric(k, v, stamp, 0) for k, v in values[0].items()]
        store.log_batch(first.info.run_id, metrics=metrics, params=params, tags=[])
        store.update_run_info(first.info.run_id, RunStatus.FINISHED, stamp, None)
        template = store.get_run(first.info.run_id)
        run_ids = [f"{i:032x}" for i in range(1, n)]
        location = template.info.artifact_uri.rsplit("/", 2)[0]
        runs, tags, param_rows, metric_rows = [], [], [], []
        for i, run_id in enumerate(run_ids, start=1):
            runs.append(
                {
                    "run_uuid": run_id,
                    "name": f"r{i}",
                    "artifact_uri": f"{location}/{run_id}/artifacts",
                    "experiment_id": int(experiment_id),
                    "source_type": "UNKNOWN",
                    "source_name": "",
                    "entry_point_name": "",
                    "user_id": "bench",
                    "status": "FINISHED",
                    "start_time": stamp + i,
                    "end_time": stamp + i,
                    "deleted_time": None,
                    "source_version": "",
                    "lifecycle_stage": "active",
                }
            )
            tags.append({"key": "mlflow.runName", "value": f"r{i}", "run_uuid": run_id})
            param_rows += [{"key": p.key, "value": p.value, "run_uuid": run_id} for p in params]
            metric_rows += [
                {"key": k, "value": v, "timestamp": stamp, "step": 0, "is_nan": False}
                | {"run_uuid": run_id}
                for k, v in values[i].items()
            ]
        with store.engine.begin() as conn:
            conn.execute(models.SqlRun.__table__.insert(), runs)
            conn.execute(models.SqlTag.__table__.insert(), tags)
            conn.execute(models.SqlParam.__table__.insert(), param_rows)
            conn.execute(models.SqlMetric.__table__.insert(), metric_rows)
            conn.execute(models.SqlLatestMetric.__table__.insert(), metric_rows)
        last = store.get_run(run_ids[-1])
        for a, b in ((template, last),):
            check(
                (a.info.status, a.info.lifecycle_stage, sorted(a.data.tags), a.data.params)
                == (b.info.status, b.info.lifecycle_stage, sorted(b.data.tags), b.data.params)
                and sorted(a.data.metrics) == sorted(b.data.metrics),
                f"MLflow's bulk-filled run differs from its API's: {a} / {b}",
            )
        check(last.data.metrics == values[-1], "MLflow's bulk-filled metrics differ")
        store.engine.dispose()

    return fill
