"""``flowtrack demo``: train a small classifier end to end and show where everything went.

The data (scikit-learn's breast cancer set, which ships with the library: no download) is
versioned as the run's input, the training curve and cross-validation folds are logged, the
model is packaged, registered and given an alias, and its predictions are versioned as the
run's output. It grows as flowtrack does (the UI joins it when it lands).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import click

MODEL_NAME = "flowtrack-demo-classifier"


@click.command()
@click.option(
    "--experiment", default="flowtrack-demo", show_default=True, help="Experiment to log to."
)
@click.option("--folds", default=3, show_default=True, help="Cross-validation folds (child runs).")
@click.option("--steps", default=200, show_default=True, help="Training epochs logged as steps.")
@click.option(
    "--model-name", default=MODEL_NAME, show_default=True, help="Registered model to create."
)
def demo(experiment: str, folds: int, steps: int, model_name: str) -> None:
    """Train, track, version and register a small model on the current store."""
    try:
        import pandas as pd
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import StratifiedKFold, train_test_split
    except ImportError as exc:
        raise click.ClickException(
            f"the demo trains a scikit-learn model and {exc.name} is not installed: "
            "pip install 'flowtrack[sklearn]'"
        ) from None
    import flowtrack
    from flowtrack.cli.output import number
    from flowtrack.config import home

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    train, test = train_test_split(frame, test_size=0.2, random_state=7, stratify=frame.target)
    # The demo's data lives beside the store, so the versions it records stay readable.
    workdir = home() / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    train_csv, test_csv = workdir / "train.csv", workdir / "test.csv"
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    x_train, y_train = train.drop(columns="target"), train.target
    x_test, y_test = test.drop(columns="target"), test.target
    params = {"alpha": 0.5, "l1_ratio": 0.1, "model": "sgd-logistic", "epochs": steps}

    flowtrack.set_experiment(experiment)
    with flowtrack.start_run(run_name="baseline", description="flowtrack demo") as run:
        flowtrack.log_input(train_csv, name="train")
        flowtrack.log_input(test_csv, name="test")
        flowtrack.log_params(params)
        flowtrack.set_tags({"team": "risk", "stage": "demo"})
        model = _train(x_train, y_train, x_test, y_test, steps)
        scores = model.predict_proba(x_test)[:, 1]
        auc = _auc(y_test, scores)
        flowtrack.log_metric("test_auc", auc)
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.html"
            report.write_text(
                f"<html><body><h1>flowtrack demo</h1><p>test AUC {number(auc)}</p></body></html>"
            )
            flowtrack.log_artifact(report)
            flowtrack.log_dict(params, "config/params.yaml")
        predictions = workdir / "scores.csv"
        pd.DataFrame({"target": y_test.to_numpy(), "score": scores}).to_csv(
            predictions, index=False
        )
        flowtrack.log_output(predictions, name="scores")
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
        for fold, (fit_rows, eval_rows) in enumerate(cv.split(x_train, y_train), 1):
            with flowtrack.start_run(run_name=f"fold-{fold}", nested=True):
                flowtrack.log_param("fold", fold)
                fold_model = _train(
                    x_train.iloc[fit_rows], y_train.iloc[fit_rows], None, None, steps
                )
                held_out = fold_model.predict_proba(x_train.iloc[eval_rows])[:, 1]
                flowtrack.log_metric("auc", _auc(y_train.iloc[eval_rows], held_out))
        info = flowtrack.models.log_model(model, "model", input_example=x_test.head(5))
    version = flowtrack.register_model(info.uri, model_name, description="flowtrack demo")
    client = flowtrack.Client()
    client.set_alias(model_name, "champion", version.version)
    _report(run.info.run_id, experiment, steps, folds, auc, model_name, version.version)


def _train(x: Any, y: Any, x_test: Any, y_test: Any, epochs: int) -> Any:
    """A scaled SGD logistic regression, one epoch per step, its curve logged when x_test."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import flowtrack

    model = make_pipeline(
        StandardScaler(),
        SGDClassifier(
            loss="log_loss", alpha=1e-3, max_iter=1, tol=None, warm_start=True, random_state=0
        ),
    )
    with warnings.catch_warnings():
        # One epoch per fit is the point: the curve is the logged metric, not a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for step in range(epochs):
            model.fit(x, y)
            if x_test is not None:
                flowtrack.log_metrics(
                    {
                        "loss": log_loss(y, model.predict_proba(x)),
                        "accuracy": float(model.score(x_test, y_test)),
                    },
                    step=step,
                )
    return model


def _auc(y: Any, scores: Any) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores))


def _report(
    run_id: str, experiment: str, steps: int, folds: int, auc: float, name: str, version: int
) -> None:
    import flowtrack
    from flowtrack.cli.output import number

    best = (
        flowtrack.Client()
        .search_runs(
            experiment, filter="metrics.auc > 0", order_by=["metrics.auc DESC"], max_results=1
        )
        .items
    )
    click.echo(
        f"Logged run {run_id} ({steps} epochs x 2 metrics, {folds} cross-validation child runs, "
        "2 artifacts and a model, 2 input and 1 output dataset versions)"
    )
    click.echo(f"  store:      {flowtrack.get_tracking_uri()}")
    click.echo(f"  test AUC:   {number(auc)}")
    if best:
        click.echo(
            f"  best fold:  {best[0].info.run_name} auc={number(best[0].data.metrics['auc'])}"
        )
    click.echo(f"  registered: {name} version {version}, alias 'champion'")
    click.echo("Look at it with:")
    click.echo(f"  flowtrack runs show {run_id}")
    click.echo(f"  flowtrack runs list -e {experiment}")
    click.echo(f"  flowtrack models show {name}")
    click.echo(f"  flowtrack models serve models:/{name}@champion --port 5001")
