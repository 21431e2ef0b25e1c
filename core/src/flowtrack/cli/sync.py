"""``flowtrack sync``: deliver journals that processes left behind."""

from __future__ import annotations

import click


@click.command()
@click.option("--dry-run", is_flag=True, help="Only say what is waiting.")
def sync(dry_run: bool) -> None:
    """Deliver events that were spooled while a store was down.

    flowtrack keeps every event in a journal on local disk until the store has it. Journals
    left by processes that ended while the store was unreachable are delivered by the next
    flowtrack process automatically; this command does it now, for every store.
    """
    from flowtrack import config
    from flowtrack.plugins import facade
    from flowtrack.tracking import journal as jr
    from flowtrack.tracking.delivery import Delivery, safe_uri

    # Plugins' own spools first (the Spark listener's): what they hand on goes into journals.
    for line in facade.sync(dry_run):
        click.echo(line)
    pending = 0
    failed = 0
    for folder, uri in jr.store_dirs(config.spool_dir()):
        waiting = jr.orphans(folder)
        if not waiting:
            continue
        pending += len(waiting)
        click.echo(f"{safe_uri(uri)}: {len(waiting)} journal(s) waiting in {folder}")
        if dry_run:
            continue
        done = Delivery(uri, folder).replay_orphans()
        click.echo(f"  delivered {done}")
        failed += len(waiting) - done
    if not pending:
        click.echo("Nothing to deliver.")
    elif failed:
        raise click.ClickException(
            f"{failed} journal(s) were not delivered (store still unreachable, or in use by a "
            "running process); run `flowtrack sync` again later"
        )
