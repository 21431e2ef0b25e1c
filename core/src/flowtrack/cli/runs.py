"""``flowtrack runs``."""

from __future__ import annotations

from typing import Any

import click

from flowtrack.cli.comments import add_commands
from flowtrack.cli.output import as_json, click_echo, console, duration, number, table, when
from flowtrack.entities import DatasetVersion, FileInfo, Run
from flowtrack.registry.entities import ModelVersion


@click.group()
def runs() -> None:
    """List, show and delete runs."""


def _source(run: Run) -> str:
    ref = run.info.source_ref
    if not ref:
        return run.info.source_type
    return f"{run.info.source_type} " + " ".join(f"{k}={v}" for k, v in ref.items())


@runs.command("list")
@click.option(
    "-e",
    "--experiment",
    "experiments",
    multiple=True,
    help="Name or id (repeatable). Default: all.",
)
@click.option(
    "-f",
    "--filter",
    "filter_",
    help="MLflow filter, e.g. \"metrics.auc > 0.9 and params.alpha = '0.5'\".",
)
@click.option("-o", "--order-by", multiple=True, help='e.g. "metrics.auc DESC" (repeatable).')
@click.option("-n", "--max-results", default=50, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def list_(
    experiments: tuple[str, ...],
    filter_: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    as_json_: bool,
) -> None:
    """List runs, newest first."""
    from flowtrack.client import Client

    client = Client()
    if experiments:
        chosen: list[str] = list(experiments)
    else:
        chosen = [e.experiment_id for e in client.search_experiments(max_results=50000).items]
    if not chosen:
        click_echo("No runs yet. Try `flowtrack demo`.")
        return
    page = client.search_runs(
        chosen, filter=filter_, order_by=list(order_by) or None, max_results=max_results
    )
    items: list[Run] = page.items
    if as_json_:
        as_json([_run_dict(r) for r in items])
        return
    names = {e.experiment_id: e.name for e in client.search_experiments(max_results=50000).items}
    rows = [
        (
            r.info.run_id,
            r.info.run_name,
            names.get(r.info.experiment_id, r.info.experiment_id),
            r.info.status,
            r.info.source_type,
            when(r.info.start_time),
            duration(r.info.start_time, r.info.end_time),
            (r.info.parent_run_id or "")[:8],
        )
        for r in items
    ]
    table(
        ["run id", "name", "experiment", "status", "source", "started", "duration", "parent"], rows
    )
    if page.token:
        click_echo(f"(more runs: raise --max-results above {max_results})")


def _run_dict(run: Run) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "lifecycle_stage": info.lifecycle_stage,
        "parent_run_id": info.parent_run_id,
        "user_id": info.user_id,
        "source_type": info.source_type,
        "source_ref": info.source_ref,
        "artifact_uri": info.artifact_uri,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": run.data.tags,
    }


def _walk(client: Any, run_id: str, path: str = "") -> list[FileInfo]:
    out: list[FileInfo] = []
    for entry in client.list_artifacts(run_id, path or None):
        if entry.is_dir:
            out.extend(_walk(client, run_id, entry.path))
        else:
            out.append(entry)
    return out


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def show(run_id: str, as_json_: bool) -> None:
    """Everything about one run: status, source, params, metrics, tags, data, artifacts,
    registered model versions, children."""
    from flowtrack.client import Client

    client = Client()
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    artifacts = _walk(client, run_id)
    children = client.get_children(run_id)
    inputs = client.get_run_inputs(run_id)
    outputs = client.get_run_outputs(run_id)
    models = client.search_model_versions(f"run_id = '{run_id}'").items
    if as_json_:
        data = _run_dict(run)
        data["experiment_name"] = experiment.name
        data["artifacts"] = [{"path": a.path, "size": a.file_size} for a in artifacts]
        data["children"] = [
            {"run_id": c.info.run_id, "run_name": c.info.run_name, "status": c.info.status}
            for c in children
        ]
        data["inputs"] = [_version_dict(v) for v in inputs]
        data["outputs"] = [_version_dict(v) for v in outputs]
        data["model_versions"] = [
            {
                "name": m.name,
                "version": m.version,
                "stage": m.current_stage,
                "aliases": list(m.aliases),
                "source": m.source,
            }
            for m in models
        ]
        as_json(data)
        return
    info = run.info
    out = console()
    out.print(f"[bold]Run {info.run_name}[/bold]  {info.run_id}")
    fields = [
        ("experiment", f"{experiment.name} ({experiment.experiment_id})"),
        ("status", info.status),
        ("started", when(info.start_time)),
        ("ended", when(info.end_time)),
        ("duration", duration(info.start_time, info.end_time)),
        ("source", _source(run)),
        ("user", info.user_id or "-"),
        ("parent", info.parent_run_id or "-"),
        ("artifact uri", info.artifact_uri),
    ]
    if info.lifecycle_stage != "active":
        fields.insert(1, ("lifecycle", info.lifecycle_stage))
    for name, value in fields:
        out.print(f"  {name + ':':<14}{value}", highlight=False)
    _section(out, "Params", sorted(run.data.params.items()))
    _section(out, "Metrics (latest)", [(k, number(v)) for k, v in sorted(run.data.metrics.items())])
    _section(out, "Tags", sorted(run.data.tags.items()))
    _section(out, "Inputs", [_version_row(v) for v in inputs])
    _section(out, "Outputs", [_version_row(v) for v in outputs])
    _section(out, "Artifacts", [(a.path, f"{a.file_size} bytes") for a in artifacts])
    _section(
        out,
        "Registered model versions",
        [(f"{m.name} v{m.version}", _model_row(m)) for m in models],
    )
    _section(
        out,
        "Children",
        [(c.info.run_id, f"{c.info.run_name}  {c.info.status}") for c in children],
    )


def _model_row(m: ModelVersion) -> str:
    aliases = ", ".join(f"@{a}" for a in sorted(m.aliases))
    return f"{m.current_stage}  {aliases or '-'}  {m.source}"


def _version_dict(v: DatasetVersion) -> dict[str, Any]:
    return {
        "version_id": v.version_id,
        "name": v.name,
        "uri": v.uri,
        "digest": v.digest,
        "algorithm": v.algorithm,
        "size": v.size,
        "file_count": v.file_count,
        "mode": v.mode,
        "created_by_run_id": v.created_by_run_id,
        "created_time": v.created_time,
    }


def _short(digest: str) -> str:
    prefix = "ref:" if digest.startswith("ref:") else ""
    return prefix + digest.removeprefix(prefix)[:12]


def _version_row(v: DatasetVersion) -> tuple[str, str]:
    files = "1 file" if v.file_count == 1 else f"{v.file_count} files"
    return v.name, f"{v.uri}  {_short(v.digest)}  {v.size} bytes  {files}  {v.mode}"


def _section(out: Any, title: str, items: list[tuple[str, Any]]) -> None:
    out.print(f"\n[bold]{title}[/bold]" + ("" if items else "  (none)"))
    for key, value in items:
        out.print(f"  {key}: {value}", highlight=False, markup=False)


@runs.command()
@click.argument("run_ids", nargs=-1, required=True)
def delete(run_ids: tuple[str, ...]) -> None:
    """Mark runs as deleted (their data stays until garbage collection); `restore` undoes it."""
    from flowtrack.client import Client

    client = Client()
    for run_id in run_ids:
        client.delete_run(run_id)
        click_echo(f"Deleted run {run_id}")


@runs.command()
@click.argument("run_ids", nargs=-1, required=True)
def restore(run_ids: tuple[str, ...]) -> None:
    """Restore deleted runs."""
    from flowtrack.client import Client

    client = Client()
    for run_id in run_ids:
        client.restore_run(run_id)
        click_echo(f"Restored run {run_id}")


add_commands(runs, "run", [click.Argument(["run_id"])], lambda run_id: run_id, "run")
