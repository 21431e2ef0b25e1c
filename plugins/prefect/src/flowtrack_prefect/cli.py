"""``flowtrack prefect``: the Prefect adapter's commands (registered through its plugin)."""

from __future__ import annotations

import click

from flowtrack_prefect.reconcile import DEFAULT_GRACE_S, ENV_GRACE


@click.group()
def prefect() -> None:
    """Prefect adapter: end runs left RUNNING."""


@prefect.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be ended.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    envvar=ENV_GRACE,
    default=DEFAULT_GRACE_S,
    show_default=True,
    help="Seconds a Prefect state must be old before a run is ended by it (a live flow "
    "process ends its own runs within about a minute).",
)
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    help="Experiment name or id to look in (repeatable; default: all).",
)
def reconcile(dry_run: bool, grace: float, experiments: tuple[str, ...]) -> None:
    """End RUNNING runs whose Prefect flow run (or task run) has ended.

    Finds the RUNNING runs tagged with a prefect.flow_run_id or prefect.task_run_id, reads
    those flow runs and task runs from the Prefect API (PREFECT_API_URL) and ends each run
    whose Prefect state is final: Completed -> FINISHED, Failed and Crashed -> FAILED,
    Cancelled and Cancelling -> KILLED, at the time of that state, with the tags
    prefect.state and prefect.state_message. A task run Prefect does not know as ended ends
    as its flow run did. Runs whose flow run is still running in Prefect are left alone.
    """
    import httpx
    from flowtrack.cli import output

    from flowtrack_prefect import reconcile as rc

    try:
        outcomes = rc.reconcile(experiments=experiments or None, grace_s=grace, dry_run=dry_run)
    except (httpx.HTTPError, OSError) as exc:
        raise click.ClickException(
            f"could not read the Prefect API (PREFECT_API_URL): {type(exc).__name__}: {exc}; "
            "nothing was changed"
        ) from exc
    if not outcomes:
        click.echo("No RUNNING Prefect runs.")
        return
    rows = [
        (
            o.run_id,
            o.run_name,
            o.flow_run_id or "-",
            o.status or "RUNNING",
            output.when(o.end_time),
            o.reason,
        )
        for o in outcomes
    ]
    verb = "would end" if dry_run else "ended"
    output.table(("run", "name", "flow run", verb, "end", "because"), rows)
    ended = sum(1 for o in outcomes if o.status)
    click.echo(f"{ended} run(s) {verb}, {len(outcomes) - ended} left RUNNING.")
