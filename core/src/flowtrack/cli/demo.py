"""``flowtrack demo``: a small training-shaped example that exercises the tracking API.

It grows as flowtrack does (data versioning, the registry and the UI join it as they land).
"""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

import click


@click.command()
@click.option(
    "--experiment", default="flowtrack-demo", show_default=True, help="Experiment to log to."
)
@click.option("--folds", default=3, show_default=True, help="Nested fold runs to create.")
@click.option("--steps", default=200, show_default=True, help="Metric steps per run.")
def demo(experiment: str, folds: int, steps: int) -> None:
    """Run a small end-to-end example on the current store and show where it went."""
    import flowtrack
    from flowtrack.cli.output import number
    from flowtrack.config import home

    rng = random.Random(7)  # noqa: S311 - reproducible demo data, not security
    flowtrack.set_experiment(experiment)
    params = {"alpha": 0.5, "l1_ratio": 0.1, "model": "elasticnet"}
    # The demo's data lives beside the store, so the versions it records stay readable.
    workdir = home() / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    train = workdir / "train.csv"
    train.write_text(
        "x1,x2,y\n"
        + "".join(f"{rng.random():.4f},{rng.random():.4f},{i % 2}\n" for i in range(500))
    )
    with flowtrack.start_run(run_name="baseline", description="flowtrack demo") as run:
        flowtrack.log_input(train, name="train")
        flowtrack.log_params(params)
        flowtrack.set_tags({"team": "risk", "stage": "demo"})
        for step in range(steps):
            loss = 1 / (step + 1) + rng.uniform(0, 0.01)
            flowtrack.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=step)
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.html"
            report.write_text(
                f"<html><body><h1>flowtrack demo</h1><p>final loss {number(loss)}</p></body></html>"
            )
            flowtrack.log_artifact(report)
            flowtrack.log_dict(params, "config/params.yaml")
        scores = workdir / "scores.csv"
        scores.write_text("step,loss\n" + f"{steps - 1},{loss:.6f}\n")
        flowtrack.log_output(scores, name="scores")
        for fold in range(folds):
            with flowtrack.start_run(run_name=f"fold-{fold + 1}", nested=True):
                flowtrack.log_param("fold", fold + 1)
                auc = 0.85 + 0.05 * math.sin(fold) + rng.uniform(0, 0.02)
                flowtrack.log_metric("auc", auc)
    run_id = run.info.run_id
    client = flowtrack.Client()
    best = client.search_runs(
        experiment, filter="metrics.auc > 0", order_by=["metrics.auc DESC"], max_results=1
    ).items
    click.echo(
        f"Logged run {run_id} ({steps} steps x 2 metrics, {folds} child runs, 2 artifacts, "
        "1 input and 1 output dataset version)"
    )
    click.echo(f"  store:      {flowtrack.get_tracking_uri()}")
    if best:
        click.echo(
            f"  best fold:  {best[0].info.run_name} auc={number(best[0].data.metrics['auc'])}"
        )
    click.echo("Look at it with:")
    click.echo(f"  flowtrack runs show {run_id}")
    click.echo(f"  flowtrack runs list -e {experiment}")
    click.echo("  flowtrack experiments list")
