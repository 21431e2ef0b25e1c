"""``flowtrack models``: serve, predict and package models; browse and change the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flowtrack.cli.comments import add_commands
from flowtrack.cli.output import as_json, click_echo, console, table, when


@click.group()
def models() -> None:
    """Serve, predict with and package models; list and change registered models."""


# -- serving -------------------------------------------------------------------------------------


@models.command()
@click.argument("model_uri")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", default=5001, show_default=True, help="Port to listen on.")
@click.option(
    "-w", "--workers", default=1, show_default=True, help="Worker processes (each loads the model)."
)
@click.option(
    "--access-log/--no-access-log", default=False, help="Log every request (off: faster)."
)
def serve(model_uri: str, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve MODEL_URI over REST, as MLflow's scoring server does.

    POST /invocations with JSON (dataframe_split, dataframe_records, instances or inputs) or
    CSV; GET /ping, /health, /version and /metadata. MODEL_URI is a model folder,
    runs:/<run_id>/<path>, models:/<name>/<version|stage> or models:/<name>@<alias>; it is
    resolved and verified once, at start-up.

    \b
    flowtrack models serve models:/churn@champion --port 5001
    curl -H 'Content-Type: application/json' -d '{"inputs": [[1, 2, 3, 4]]}' \\
         http://127.0.0.1:5001/invocations
    """
    from flowtrack.serving.server import serve as run

    run(model_uri, host=host, port=port, workers=workers, access_log=access_log)


@models.command()
@click.argument("model_uri")
@click.option(
    "-i", "--input", "input_path", required=True, help="A .csv or .json file, or - for stdin."
)
@click.option(
    "-o",
    "--output",
    "output_path",
    default="-",
    show_default=True,
    help="A .csv or .json file, or - for stdout.",
)
@click.option(
    "-t", "--content-type", help="json or csv (default: from the input's suffix, else guessed)."
)
@click.option(
    "--output-format",
    type=click.Choice(["json", "csv"], case_sensitive=False),
    help="Default: from the output's suffix, else json.",
)
def predict(
    model_uri: str,
    input_path: str,
    output_path: str,
    content_type: str | None,
    output_format: str | None,
) -> None:
    """Predict on a whole file with MODEL_URI.

    The input is what the server takes: CSV with a header line, or JSON in MLflow's formats.
    The output is CSV (a `prediction` column, or one column per output) or JSON
    {"predictions": [...]}.

    \b
    flowtrack models predict models:/churn/1 -i input.csv -o out.csv
    cat rows.json | flowtrack models predict models:/churn@champion -i - -o -
    """
    from flowtrack.serving.batch import predict_file

    rows = predict_file(model_uri, input_path, output_path, content_type, output_format)
    if output_path != "-":
        click.echo(f"Wrote {rows} predictions to {output_path}", err=True)


@models.command()
@click.argument("model_uri")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write the build context to (new or empty).",
)
@click.option("--base-image", help="Default: python:<the model's Python>-slim.")
def dockerfile(model_uri: str, output: Path, base_image: str | None) -> None:
    """Write a Docker build context that serves MODEL_URI on port 8080.

    It holds the model (copied and verified), requirements.txt, a wheel of this flowtrack
    (or a pin when it was installed from an index) and a Dockerfile whose entrypoint is
    `flowtrack models serve`.

    \b
    flowtrack models dockerfile models:/churn@champion -o build/
    docker build -t churn build/ && docker run --rm -p 8080:8080 churn
    """
    from flowtrack.serving.dockerfile import write_context

    built = write_context(model_uri, output, base_image)
    click_echo(f"Wrote a build context for {model_uri} to {built.path}/")
    click_echo(f"  base image: {built.base_image}; flowtrack: {built.flowtrack}")
    click_echo(f"  docker build -t my-model {built.path} && docker run --rm -p 8080:8080 my-model")


# -- the registry --------------------------------------------------------------------------------


def _client() -> Any:
    from flowtrack.client import Client

    return Client()


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"{a}={v}" for a, v in sorted(aliases.items())) or "-"


def _versions(client: Any, name: str) -> list[Any]:
    client.get_registered_model(name)  # NotFoundError names what exists
    page = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
    return list(page.items)


def _version_dict(v: Any) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "current_stage": v.current_stage,
        "aliases": list(v.aliases),
        "run_id": v.run_id,
        "source": v.source,
        "storage_location": v.storage_location,
        "status": v.status,
        "description": v.description,
        "tags": v.tags,
        "user_id": v.user_id,
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
    }


@models.command("list")
@click.option(
    "-f", "--filter", "filter_", help="e.g. \"name LIKE 'churn%'\" or \"tags.team = 'risk'\"."
)
@click.option("-n", "--max-results", default=100, show_default=True, help="How many to show.")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def list_(filter_: str | None, max_results: int, as_json_: bool) -> None:
    """List registered models: latest version, aliases, last change."""
    page = _client().search_registered_models(filter_, max_results=max_results)
    items = page.items
    if as_json_:
        as_json(
            [
                {
                    "name": m.name,
                    "latest_version": max((v.version for v in m.latest_versions), default=None),
                    "aliases": m.aliases,
                    "description": m.description,
                    "tags": m.tags,
                    "creation_timestamp": m.creation_timestamp,
                    "last_updated_timestamp": m.last_updated_timestamp,
                }
                for m in items
            ]
        )
        return
    if not items:
        click_echo(
            "No registered models. Register one with `flowtrack models register "
            "runs:/<run_id>/model NAME`."
        )
        return
    rows = [
        (
            m.name,
            max((v.version for v in m.latest_versions), default="-"),
            _aliases(m.aliases),
            when(m.last_updated_timestamp),
            m.description or "",
        )
        for m in items
    ]
    table(["name", "latest version", "aliases", "last updated", "description"], rows)
    if page.token:
        click_echo(f"(more models: raise --max-results above {max_results})")


@models.command()
@click.argument("name")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def show(name: str, as_json_: bool) -> None:
    """A registered model: description, tags, aliases and its versions with their stage."""
    client = _client()
    model = client.get_registered_model(name)
    versions = _versions(client, name)
    if as_json_:
        as_json(
            {
                "name": model.name,
                "description": model.description,
                "tags": model.tags,
                "aliases": model.aliases,
                "creation_timestamp": model.creation_timestamp,
                "last_updated_timestamp": model.last_updated_timestamp,
                "versions": [_version_dict(v) for v in versions],
            }
        )
        return
    out = console()
    out.print(f"[bold]Registered model {model.name}[/bold]", highlight=False)
    for key, value in (
        ("description", model.description or "-"),
        ("created", when(model.creation_timestamp)),
        ("last updated", when(model.last_updated_timestamp)),
    ):
        out.print(f"  {key + ':':<14}{value}", highlight=False, markup=False)
    for title, items in (
        ("Tags", sorted(model.tags.items())),
        ("Aliases", sorted(model.aliases.items())),
    ):
        out.print(f"\n[bold]{title}[/bold]" + ("" if items else "  (none)"))
        for key, value in items:
            out.print(f"  {key}: {value}", highlight=False, markup=False)
    out.print("")
    _versions_table(versions, title="Versions")


def _versions_table(versions: list[Any], title: str | None = None) -> None:
    rows = [
        (
            v.version,
            v.current_stage,
            ", ".join(sorted(v.aliases)) or "-",
            v.run_id or "-",
            v.source,
            when(v.creation_timestamp),
            v.description or "",
        )
        for v in versions
    ]
    table(
        ["version", "stage", "aliases", "run id", "source", "created", "description"],
        rows,
        title=title,
    )


@models.command()
@click.argument("name")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def versions(name: str, as_json_: bool) -> None:
    """The versions of a registered model, newest first."""
    found = _versions(_client(), name)
    if as_json_:
        as_json([_version_dict(v) for v in found])
        return
    if not found:
        click_echo(f"{name} has no versions yet. Add one with `flowtrack models register`.")
        return
    _versions_table(found)


def _detail(detail: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", [], {}))


@models.command()
@click.argument("name")
@click.option("-v", "--version", "version", type=int, help="Only this version's events.")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def history(name: str, version: int | None, as_json_: bool) -> None:
    """The audit trail of a registered model, oldest first: who changed what, when."""
    events = _client().get_registry_history(name, version)
    if as_json_:
        as_json(
            [
                {
                    "event_id": e.event_id,
                    "timestamp": e.timestamp,
                    "user": e.user,
                    "action": e.action,
                    "name": e.name,
                    "version": e.version,
                    "detail": e.detail,
                }
                for e in events
            ]
        )
        return
    if not events:
        click_echo(f"No registry history for {name!r}: it was never registered.")
        return
    rows = [
        (
            when(e.timestamp),
            e.user,
            e.action,
            e.name,
            "-" if e.version is None else e.version,
            _detail(e.detail),
        )
        for e in events
    ]
    table(["when", "user", "action", "model", "version", "detail"], rows)


@models.command("set-alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
def set_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it pointed elsewhere)."""
    _client().set_alias(name, alias, version)
    click_echo(
        f"Alias {alias!r} of {name} now points at version {version} (models:/{name}@{alias})"
    )


@models.command("delete-alias")
@click.argument("name")
@click.argument("alias")
def delete_alias(name: str, alias: str) -> None:
    """Remove ALIAS from model NAME (the version stays)."""
    _client().delete_alias(name, alias)
    click_echo(f"Deleted alias {alias!r} of {name}")


@models.command()
@click.argument("name")
@click.argument("version", type=int)
@click.argument("stage")
@click.option(
    "--archive-existing",
    is_flag=True,
    help="Move the versions already in STAGE to Archived (Staging or Production only).",
)
def transition(name: str, version: int, stage: str, archive_existing: bool) -> None:
    """Move VERSION of model NAME to STAGE: None, Staging, Production or Archived."""
    client = _client()
    before = {
        v.version for v in _versions(client, name) if v.current_stage.lower() == stage.lower()
    }
    moved = client.transition_stage(name, version, stage, archive_existing=archive_existing)
    click_echo(f"{name} version {moved.version} is now in {moved.current_stage}")
    archived = sorted(before - {version}) if archive_existing else []
    if archived:
        click_echo(f"Archived versions {', '.join(map(str, archived))}")


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for value in values:
        key, eq, text = value.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--tag")
        tags[key] = text
    return tags


@models.command()
@click.argument("model_uri")
@click.argument("name")
@click.option("-d", "--description", help="Describes the new version.")
@click.option("-t", "--tag", "tags", multiple=True, help="KEY=VALUE (repeatable).")
def register(model_uri: str, name: str, description: str | None, tags: tuple[str, ...]) -> None:
    """Register MODEL_URI (runs:/<run_id>/<path>) as the next version of NAME (created if
    needed)."""
    from flowtrack.registry import register_model

    version = register_model(model_uri, name, tags=_tags(tags) or None, description=description)
    click_echo(
        f"Registered {model_uri} as {name} version {version.version} "
        f"(models:/{name}/{version.version})"
    )


add_commands(
    models,
    "model_version",
    [click.Argument(["name"]), click.Argument(["version"], type=int)],
    lambda name, version: f"{name}/{version}",
    "model version",
)
