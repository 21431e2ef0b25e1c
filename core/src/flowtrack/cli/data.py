"""``flowtrack data``: version files and folders by content, with pointer files in git."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from flowtrack.cli.comments import add_commands
from flowtrack.cli.data_remote import COMMANDS as REMOTE_COMMANDS

if TYPE_CHECKING:
    from flowtrack.data.repo import DataRepo


@click.group()
def data() -> None:
    """Version data by content: init, add, status, checkout, and remotes."""


def _repo() -> DataRepo:
    from flowtrack.data.repo import DataRepo

    return DataRepo.find()


@data.command()
@click.option(
    "--hash",
    "algorithm",
    type=click.Choice(["blake3", "md5"]),
    default="blake3",
    show_default=True,
    help="md5 for DVC compatibility.",
)
def init(algorithm: str) -> None:
    """Make this git repository a flowtrack data repo (creates .flowtrack/)."""
    import subprocess

    from flowtrack.data.repo import DataRepo

    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],  # noqa: S607 - the user's git, from PATH
        capture_output=True,
        text=True,
        check=False,
    )
    if top.returncode != 0:
        raise click.ClickException(
            "not inside a git repository; run `git init` first (pointer files are committed to git)"
        )
    repo = DataRepo.init(Path(top.stdout.strip()), algorithm)
    click.echo(f"Initialized a flowtrack data repo in {repo.dir} (hash: {repo.algorithm})")
    click.echo("Commit .flowtrack/config.yaml and .flowtrack/.gitignore; version data with:")
    click.echo("  flowtrack data add PATH")


@data.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def add(paths: tuple[Path, ...]) -> None:
    """Version files or folders: store them in the cache and write PATH.ft pointer files."""
    from flowtrack.data.workspace import add as add_path

    repo = _repo()
    for path in paths:
        ptr = add_path(repo, path)
        what = f"{ptr.files} files" if ptr.is_dir else "1 file"
        click.echo(
            f"{repo.relpath(ptr.data_path)}: {what}, {_size(ptr.size)} -> {repo.relpath(ptr.file)}"
        )
    click.echo("Commit the .ft files and .gitignore changes to git to record this version.")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@data.command()
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="List every changed file.")
def status(targets: tuple[Path, ...], verbose: bool) -> None:
    """Show what changed in the workspace since the pointer files were written."""
    from flowtrack.data.workspace import find_pointers
    from flowtrack.data.workspace import status as status_of

    repo = _repo()
    pointers = find_pointers(repo, list(targets) or None)
    if not pointers:
        click.echo("Nothing is tracked yet; `flowtrack data add PATH` starts.")
        return
    dirty = 0
    for ptr in pointers:
        changes = status_of(repo, ptr)
        name = repo.relpath(ptr.data_path)
        if changes.missing_cache:
            click.echo(f"{name}: not in the cache (run `flowtrack data pull`)")
            dirty += 1
            continue
        if changes.clean:
            continue
        dirty += 1
        counts = ", ".join(
            f"{len(files)} {label}"
            for label, files in (
                ("added", changes.added),
                ("modified", changes.modified),
                ("deleted", changes.deleted),
            )
            if files
        )
        click.echo(f"{name}: {counts}")
        if verbose:
            for label, files in (
                ("added", changes.added),
                ("modified", changes.modified),
                ("deleted", changes.deleted),
            ):
                for f in files:
                    click.echo(f"    {label}: {f}")
    if not dirty:
        click.echo("Data and pointer files are up to date.")
    else:
        click.echo(
            "Record changes with `flowtrack data add PATH`; "
            "discard them with `flowtrack data checkout --force PATH`."
        )


@data.command()
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite or delete changes that are not saved.")
def checkout(targets: tuple[Path, ...], force: bool) -> None:
    """Make the workspace match the pointer files (all, or TARGETS)."""
    from flowtrack.data.workspace import checkout as checkout_one
    from flowtrack.data.workspace import find_pointers

    repo = _repo()
    written = 0
    for ptr in find_pointers(repo, list(targets) or None):
        written += checkout_one(repo, ptr, force=force)
    click.echo(f"Checked out {written} files." if written else "Workspace already matches.")


@data.command()
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
def commit(targets: tuple[Path, ...]) -> None:
    """Record the current content of tracked data (all, or TARGETS) in their pointer files."""
    from flowtrack.data.workspace import add as add_path
    from flowtrack.data.workspace import find_pointers
    from flowtrack.data.workspace import status as status_of

    repo = _repo()
    changed = 0
    for ptr in find_pointers(repo, list(targets) or None):
        if status_of(repo, ptr).clean:
            continue
        add_path(repo, ptr.data_path)
        changed += 1
        click.echo(f"{repo.relpath(ptr.data_path)}: recorded")
    if not changed:
        click.echo("Nothing to commit.")


@data.command()
@click.option("--remove", is_flag=True, help="Delete corrupted objects so `pull` can replace them.")
@click.option("-r", "--remote", "remote_name", help="Also rehash every object on this remote.")
@click.option("-j", "--jobs", type=int, help="Parallel remote reads.")
def verify(remove: bool, remote_name: str | None, jobs: int | None) -> None:
    """Rehash every object in the cache (and with -r, on a remote); report corrupted ones."""
    from flowtrack.data.maintenance import verify_cache

    repo = _repo()
    bad = verify_cache(repo)
    problems = []
    for oid in bad:
        click.echo(f"corrupted: {repo.cache.path(oid)}", err=True)
        if remove:
            repo.cache.remove(oid)
    if bad and remove:
        problems.append(
            f"{len(bad)} corrupted cache objects were removed; run `flowtrack data pull` to "
            "fetch good copies"
        )
    elif bad:
        problems.append(
            f"{len(bad)} cache objects are corrupted; run `flowtrack data verify --remove`, then "
            "`flowtrack data pull` to fetch good copies (they are never checked out meanwhile)"
        )
    else:
        click.echo("All cache objects match their hashes.")
    if remote_name:
        from flowtrack.data.remote_verify import verify_remote

        checked, remote_bad = verify_remote(repo, remote_name, jobs)
        for oid in remote_bad:
            click.echo(f"corrupted on {remote_name}: {oid}", err=True)
        if remote_bad:
            problems.append(
                f"{len(remote_bad)} of {checked} objects on remote {remote_name} are corrupted; "
                "push them again from a machine whose cache verifies (delete them on the "
                "remote first: push skips objects that exist)"
            )
        else:
            click.echo(f"All {checked} objects on remote {remote_name} match their hashes.")
    if problems:
        raise click.ClickException("; ".join(problems))


@data.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep what the working tree's pointers use.")
@click.option("-a", "--all-branches", is_flag=True, help="Keep what every branch tip uses.")
@click.option("-T", "--all-tags", is_flag=True, help="Keep what every tag uses.")
@click.option("-A", "--all-commits", is_flag=True, help="Keep what any commit uses.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--force", is_flag=True, help="Go on even if some folder manifests are missing.")
def gc(
    workspace: bool,
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    dry_run: bool,
    force: bool,
) -> None:
    """Remove cache objects that nothing in the chosen scope refers to."""
    from flowtrack.data.maintenance import gc as collect

    plan = collect(_repo(), workspace, all_branches, all_tags, all_commits, dry_run, force)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(plan.remove)} objects ({_size(plan.size)}); kept {plan.kept}.")


@data.command("cache-gc")
@click.option(
    "--store",
    "stores",
    multiple=True,
    help="A tracking store whose dataset versions to keep (repeatable). Default: every store "
    "this FLOWTRACK_HOME has logged to, and the current one.",
)
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="Keep objects that came into the cache less than this many hours ago.",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def cache_gc(stores: tuple[str, ...], min_age: float, dry_run: bool) -> None:
    """Remove what no dataset version uses from the user-level cache (~/.flowtrack/cache).

    log_input and log_output keep a copy of local data outside a data repo there (the
    adapters do too); this removes the copies that no version in the stores, and no event
    still waiting in the spool, refers to. The data repo's own cache is `flowtrack data gc`.
    """
    from flowtrack.tracking.cache_gc import collect
    from flowtrack.tracking.delivery import safe_uri

    plan = collect(stores or None, min_age * 3600, dry_run)
    asked = [safe_uri(u) for u in plan.stores if u not in plan.gone]
    click.echo(f"Stores asked: {', '.join(asked) or 'none'}")
    if plan.gone:
        click.echo(f"Stores gone (their SQLite file no longer exists): {', '.join(plan.gone)}")
    verb = "Would remove" if dry_run else "Removed"
    click.echo(
        f"{verb} {len(plan.remove)} objects ({_size(plan.size)}); kept {plan.kept} in use and "
        f"{plan.young} newer than {min_age:g} h."
    )


@data.command()
@click.argument("old_rev")
@click.argument("new_rev", required=False)
def diff(old_rev: str, new_rev: str | None) -> None:
    """What changed in tracked data from OLD_REV to NEW_REV (default: the working tree)."""
    from flowtrack.data.maintenance import diff as compare

    changes = compare(_repo(), old_rev, new_rev)
    for change in changes:
        click.echo(f"{change.change:9s}{change.path}")
    if not changes:
        click.echo("No changes.")


@data.command("import-dvc")
def import_dvc() -> None:
    """Bring the DVC 3 project here over: pointers, cache and remotes, without re-uploading."""
    from flowtrack.data.dvc_import import import_dvc as run_import

    result = run_import(Path.cwd())
    click.echo(
        f"Imported {len(result.pointers)} DVC outputs; linked {result.linked} objects from "
        "DVC's cache."
    )
    if result.remotes:
        click.echo(f"Remotes (read in DVC's layout): {', '.join(result.remotes)}")
        click.echo("Run `flowtrack data push` once to add flowtrack's folder manifests there.")
    if result.missing:
        click.echo(
            f"{len(result.missing)} objects were not in DVC's local cache; "
            "`flowtrack data pull` fetches them from the remote."
        )


for _command in REMOTE_COMMANDS:
    data.add_command(_command)


add_commands(
    data,
    "dataset_version",
    [click.Argument(["version_id"])],
    lambda version_id: version_id,
    "dataset version",
)
