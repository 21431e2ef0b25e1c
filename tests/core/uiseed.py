"""A store for the web UI's browser tests: ``python tests/core/uiseed.py FOLDER`` fills
``FOLDER/ui.db`` (artifacts beside it) and prints the ids the tests look for, as JSON.

Run in its own process, so the flowtrack globals it sets never reach the test process.
Contents: a sweep with nested runs and metric histories (one of 5,000 points), system metrics,
a failed run, an Airflow-sourced run with a link, an artifact of every preview type; a lineage
chain (experiment churn-data: prepare-data reads churn-raw and writes churn-train, which
train-best reads; churn-classifier v1 is registered from train-best, v2 from a sweep child;
v1 is in Production with the alias champion), an older churn-train version; a registered model
without versions; an experiment whose run name, values and input's name are HTML (XSS); an
empty experiment.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any

XSS_NAME = "<img src=x onerror=\"document.body.dataset.pwned='1'\">"
XSS_PARAM = "<script>document.body.dataset.pwned='2'</script>"
HTML_ARTIFACT = (
    "<!doctype html><html><body><h1 id='report-title'>Evaluation report</h1>"
    "<p>AUC 0.93</p><script>parent.document.body.dataset.pwned='3';"
    "document.body.append('SCRIPT-RAN')</script></body></html>"
)


def png(width: int = 96, height: int = 48) -> bytes:
    """A small gradient PNG, written by hand (no imaging library needed)."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 180))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


MANY = 230  # more than two pages of the runs table


def many_runs(store: Any, n: int) -> str:
    """An experiment of n small runs, written as one event batch (fast)."""
    experiment_id: str = store.create_experiment("many-runs")
    stamp = int(time.time() * 1000) - n
    events: list[dict[str, Any]] = []
    for i in range(n):
        run_id = f"{i:032x}"
        events.append(
            {
                "op": "create_run",
                "run_id": run_id,
                "experiment_id": experiment_id,
                "run_name": f"run-{i:03d}",
                "start_time": stamp + i,
                "tags": {},
            }
        )
        events.append({"op": "param", "run_id": run_id, "key": "i", "value": str(i)})
        events.append(
            {
                "op": "metrics",
                "run_id": run_id,
                "values": {"score": i / n},
                "timestamp": stamp,
                "step": 0,
            }
        )
    assert not store.apply_events(events)
    return experiment_id


def lineage_chain(files: Path, train_csv: Path, ids: dict[str, object]) -> None:
    """Two runs of a data-preparation step: each reads the raw folder and writes churn-train
    (the second one a new version, which train-best then reads)."""
    import flowtrack

    flowtrack.set_experiment("churn-data")
    raw = files / "raw"
    raw.mkdir(exist_ok=True)
    (raw / "customers.csv").write_text("id,tenure\n1,12\n2,3\n3,40\n")
    (raw / "events.csv").write_text("id,event\n1,login\n2,cancel\n")
    for name, rows in (("prepare-v0", 2), ("prepare-data", 3)):
        with flowtrack.start_run(run_name=name) as run:
            ids[name] = run.info.run_id
            flowtrack.log_input(raw, name="churn-raw")
            lines = ["id,tenure,churned", "1,12,0", "2,3,1", "3,40,0"][: rows + 1]
            train_csv.write_text("\n".join(lines) + "\n")
            written = flowtrack.log_output(train_csv, name="churn-train")
            assert written is not None
            ids[f"{name}-output"] = written.version_id


def registry(ids: dict[str, object]) -> None:
    """churn-classifier v1 (train-best: Production, @champion) and v2 (a sweep child), and a
    model without versions."""
    import flowtrack

    client = flowtrack.Client()
    v1 = flowtrack.register_model(f"runs:/{ids['train']}/model", "churn-classifier")
    v2 = flowtrack.register_model(f"runs:/{ids['best']}/model", "churn-classifier")
    ids["model_version"] = v1.version
    ids["model_version_2"] = v2.version
    client.update_registered_model("churn-classifier", "Predicts which customers leave.")
    client.update_model_version("churn-classifier", v2.version, "alpha 0.5 from the sweep")
    client.set_alias("churn-classifier", "champion", v1.version)
    client.transition_stage("churn-classifier", v1.version, "Production")
    client.create_registered_model("fraud-detector", description="Not trained yet.")


def seed(folder: Path) -> dict[str, object]:
    import flowtrack

    db = folder / "ui.db"
    flowtrack.set_tracking_uri(f"sqlite:///{db}")
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    ids: dict[str, object] = {"db": str(db)}

    train_csv = files / "train.csv"
    lineage_chain(files, train_csv, ids)

    flowtrack.set_experiment("churn-model")
    with flowtrack.start_run(run_name="sweep") as sweep:
        ids["sweep"] = sweep.info.run_id
        flowtrack.log_param("search", "grid")
        children = []
        for i, alpha in enumerate((0.1, 0.5, 1.0)):
            with flowtrack.start_run(run_name=f"alpha-{alpha}", nested=True) as child:
                children.append(child.info.run_id)
                flowtrack.log_params({"alpha": alpha, "max_depth": 4 + i, "solver": "lbfgs"})
                for step in range(50):
                    flowtrack.log_metrics(
                        {
                            "auc": 0.7 + 0.2 * (1 - math.exp(-step / (10 + 5 * i))),
                            "loss": 1.0 / (1 + step * (0.2 + 0.1 * i)),
                        },
                        step=step,
                    )
                if alpha == 0.5:
                    flowtrack.log_text("flavors: {}\n", "model/MLmodel")
        ids["children"] = children
    ids["best"] = children[1]

    with flowtrack.start_run(run_name="train-best") as best:
        ids["train"] = best.info.run_id
        flowtrack.log_params({"alpha": 0.5, "max_depth": 5, "solver": "saga"})
        flowtrack.set_tags({"team": "growth", "flowtrack.source.url": "https://example.com/x"})
        for step in range(5000):  # a long history: the chart gets it downsampled
            flowtrack.log_metric("loss", 1.0 / (1 + step / 100) + 0.01 * math.sin(step), step=step)
        flowtrack.log_metric("auc", 0.93)
        for step in range(20):
            flowtrack.log_metrics({"system/cpu_percent": 40 + step % 7 * 5}, step=step)
        flowtrack.log_input(train_csv, name="churn-train")
        flowtrack.log_text("trained on 3 rows\nall good\n", "notes.txt")
        flowtrack.log_dict({"alpha": 0.5, "layers": [64, 32]}, "config.json")
        flowtrack.log_text("alpha: 0.5\nsolver: saga\n", "params.yaml")
        flowtrack.log_text("id,score,label\n1,0.91,1\n2,0.12,0\n3,0.55,1\n", "eval/predictions.csv")
        (files / "roc.png").write_bytes(png())
        flowtrack.log_artifact(files / "roc.png", "eval")
        flowtrack.log_text(HTML_ARTIFACT, "eval/report.html")
        flowtrack.log_text("binary-ish", "model/model.bin")
        flowtrack.log_text("flavors: {}\n", "model/MLmodel")
    flowtrack.flush()
    registry(ids)

    with flowtrack.start_run(run_name="baseline-failed") as failed:
        ids["failed"] = failed.info.run_id
        flowtrack.log_params({"alpha": 2.0, "max_depth": 2, "solver": "lbfgs"})
        flowtrack.log_metric("auc", 0.61)
        flowtrack.set_tag("note", "diverged")
    flowtrack.Client().update_run(failed.info.run_id, "FAILED")

    flowtrack.set_experiment("xss <b>bold</b>")
    with flowtrack.start_run(run_name=XSS_NAME) as xss:
        ids["xss"] = xss.info.run_id
        flowtrack.log_param("payload", XSS_PARAM)
        flowtrack.set_tag("html", "<b>not bold</b>")
        flowtrack.log_metric("auc", 0.5)
        (files / "xss.txt").write_text("x\n")
        flowtrack.log_input(files / "xss.txt", name=XSS_NAME)

    client = flowtrack.Client()
    ids["many_experiment"] = many_runs(client.store, MANY)
    ids["empty_experiment"] = client.create_experiment("empty-experiment")
    ids["churn_experiment"] = client.get_experiment_by_name("churn-model").experiment_id
    ids["xss_experiment"] = client.get_experiment_by_name("xss <b>bold</b>").experiment_id
    flowtrack.flush()
    return ids


if __name__ == "__main__":
    print(json.dumps(seed(Path(sys.argv[1]))))
