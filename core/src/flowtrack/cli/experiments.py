"""``flowtrack experiments``."""

from __future__ import annotations

import click

from flowtrack.cli.output import as_json, table, when
from flowtrack.entities import ViewType


@click.group()
def experiments() -> None:
    """List, create and delete experiments."""


@experiments.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def list_(show_all: bool, as_json_: bool) -> None:
    """List experiments with their run counts."""
    from flowtrack.client import Client

    client = Client()
    view = ViewType.ALL if show_all else ViewType.ACTIVE_ONLY
    items = client.search_experiments(view_type=view, max_results=50000).items
    counts = client.store.count_runs([e.experiment_id for e in items])
    if as_json_:
        as_json(
            [
                {
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "runs": counts.get(e.experiment_id, 0),
                    "lifecycle_stage": e.lifecycle_stage,
                    "artifact_location": e.artifact_location,
                    "last_update_time": e.last_update_time,
                }
                for e in items
            ]
        )
        return
    rows = [
        (
            e.experiment_id,
            e.name,
            counts.get(e.experiment_id, 0),
            e.lifecycle_stage,
            when(e.creation_time),
            e.artifact_location,
        )
        for e in items
    ]
    table(["id", "name", "runs", "stage", "created", "artifact location"], rows)


@experiments.command()
@click.argument("name")
@click.option("--artifact-location", help="Where this experiment's artifacts go (any fsspec URL).")
def create(name: str, artifact_location: str | None) -> None:
    """Create an experiment called NAME."""
    from flowtrack.client import Client

    experiment_id = Client().create_experiment(name, artifact_location)
    click.echo(f"Created experiment {name!r} with id {experiment_id}")


def _resolve(client: object, experiment: str) -> str:
    from flowtrack.client import Client

    assert isinstance(client, Client)
    return client._experiment_ids(experiment)[0]


@experiments.command()
@click.argument("experiment")
def delete(experiment: str) -> None:
    """Delete EXPERIMENT (a name or an id); `restore` brings it back."""
    from flowtrack.client import Client

    client = Client()
    experiment_id = _resolve(client, experiment)
    client.delete_experiment(experiment_id)
    click.echo(f"Deleted experiment {experiment_id}")


@experiments.command()
@click.argument("experiment_id")
def restore(experiment_id: str) -> None:
    """Restore a deleted experiment by id."""
    from flowtrack.client import Client

    Client().restore_experiment(experiment_id)
    click.echo(f"Restored experiment {experiment_id}")


@experiments.command()
@click.argument("experiment")
@click.argument("new_name")
def rename(experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT (a name or an id) to NEW_NAME."""
    from flowtrack.client import Client

    client = Client()
    client.rename_experiment(_resolve(client, experiment), new_name)
    click.echo(f"Renamed to {new_name!r}")
