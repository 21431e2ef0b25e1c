"""``flowtrack data remote|push|pull|fetch``: moving objects to and from remotes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flowtrack.data.remote import TransferResult
    from flowtrack.data.repo import DataRepo


def _repo() -> DataRepo:
    from flowtrack.data.repo import DataRepo

    return DataRepo.find()


@click.group()
def remote() -> None:
    """Manage remotes: where push and pull copy the cache to and from."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "make_default", is_flag=True, help="Make it the default remote.")
@click.option("--local", is_flag=True, help="Write to config.local.yaml (not committed).")
def remote_add(name: str, url: str, make_default: bool, local: bool) -> None:
    """Add remote NAME at URL: a folder path or an fsspec URL such as s3://bucket/path."""
    from flowtrack.data.remote_config import add_remote

    became_default = add_remote(_repo(), name, url, default=make_default, local=local)
    click.echo(f"Added remote {name}: {url}" + (" (default)" if became_default else ""))


@remote.command("list")
def remote_list() -> None:
    """List the remotes and their options (secrets masked)."""
    from flowtrack.data.remote_config import is_secret, remotes

    repo = _repo()
    table = remotes(repo)
    if not table:
        click.echo("No remotes; add one with `flowtrack data remote add NAME URL`.")
        return
    default = repo.config.get("default_remote")
    for name, options in sorted(table.items()):
        mark = "  (default)" if name == default else ""
        click.echo(f"{name}\t{options.get('url', '<no url>')}{mark}")
        for key, value in sorted(options.items()):
            if key != "url":
                click.echo(f"    {key}: {'****' if is_secret(key) else value}")


@remote.command("remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Remove remote NAME from config.yaml and config.local.yaml (the data stays there)."""
    from flowtrack.data.remote_config import remove_remote

    was_default = remove_remote(_repo(), name)
    click.echo(f"Removed remote {name}.")
    if was_default:
        click.echo("It was the default; choose another with `flowtrack data remote default NAME`.")


@remote.command("default")
@click.argument("name")
@click.option("--local", is_flag=True, help="Write to config.local.yaml (not committed).")
def remote_default(name: str, local: bool) -> None:
    """Make NAME the remote that push, pull and fetch use without -r."""
    from flowtrack.data.remote_config import set_default

    set_default(_repo(), name, local=local)
    click.echo(f"Default remote: {name}")


@remote.command("modify")
@click.argument("name")
@click.argument("key")
@click.argument("value")
@click.option("--local", is_flag=True, help="Write to config.local.yaml (use for credentials).")
def remote_modify(name: str, key: str, value: str, local: bool) -> None:
    """Set option KEY of remote NAME: url, or an fsspec storage option (endpoint_url, key, ...)."""
    from flowtrack.data.remote_config import is_secret, modify_remote

    warning = modify_remote(_repo(), name, key, value, local=local)
    shown = "****" if is_secret(key) else value
    click.echo(f"Remote {name}: {key} = {shown}" + (" (local)" if local else ""))
    if warning:
        click.secho(f"Warning: {warning}", err=True, fg="yellow")


def _transfer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "-j", "--jobs", type=click.IntRange(1, 256), help="Parallel transfers [4 x CPUs, max 16]."
    )(command)
    command = click.option("-r", "--remote", "remote_name", help="Remote (default: the default).")(
        command
    )
    return click.argument("targets", nargs=-1, type=click.Path(path_type=Path))(command)


def _summary(result: TransferResult) -> None:
    text = result.summary()
    click.echo(text[0].upper() + text[1:] + ".")


def _fail_on_problems(result: TransferResult) -> None:
    problems = result.problems()
    if problems:
        raise click.ClickException("\n".join(problems))


@click.command()
@_transfer_options
def push(targets: tuple[Path, ...], remote_name: str | None, jobs: int | None) -> None:
    """Upload the data of the pointer files (all, or TARGETS) to a remote."""
    from flowtrack.data.remote import Remote
    from flowtrack.data.remote import push as push_objects
    from flowtrack.data.workspace import find_pointers

    repo = _repo()
    pointers = find_pointers(repo, list(targets) or None)
    result = push_objects(repo, pointers, Remote(repo, remote_name), jobs)
    _summary(result)
    _fail_on_problems(result)


@click.command()
@_transfer_options
def fetch(targets: tuple[Path, ...], remote_name: str | None, jobs: int | None) -> None:
    """Download the data of the pointer files (all, or TARGETS) into the cache."""
    from flowtrack.data.remote import Remote
    from flowtrack.data.remote import fetch as fetch_objects
    from flowtrack.data.workspace import find_pointers

    repo = _repo()
    pointers = find_pointers(repo, list(targets) or None)
    result = fetch_objects(repo, pointers, Remote(repo, remote_name), jobs)
    _summary(result)
    _fail_on_problems(result)


@click.command()
@_transfer_options
@click.option("--force", is_flag=True, help="Overwrite or delete changes that are not saved.")
def pull(targets: tuple[Path, ...], remote_name: str | None, jobs: int | None, force: bool) -> None:
    """Fetch the data of the pointer files (all, or TARGETS) and check it out."""
    from flowtrack.data.remote import Remote
    from flowtrack.data.remote import pull as pull_objects
    from flowtrack.data.workspace import find_pointers

    repo = _repo()
    pointers = find_pointers(repo, list(targets) or None)
    result, written = pull_objects(repo, pointers, Remote(repo, remote_name), jobs, force)
    _summary(result)
    click.echo(f"Checked out {written} files." if written else "Workspace already matches.")
    for ptr in result.incomplete:
        click.echo(f"{repo.relpath(ptr.data_path)}: not checked out, its data is incomplete")
    _fail_on_problems(result)


# The commands of this module, added to the ``flowtrack data`` group by cli/data.py.
COMMANDS: list[click.Command] = [remote, push, fetch, pull]
