"""``flowtrack-spark`` (also ``flowtrack spark``): the listener jar, its conf, and ingesting."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flowtrack_spark import jar


def _jar_or_fail() -> Path:
    try:
        return jar.build()
    except jar.JarError as exc:
        raise click.ClickException(str(exc)) from exc


def _conf(experiment: str | None, tracking_uri: str | None) -> dict[str, str]:
    from flowtrack.errors import InvalidInputError

    from flowtrack_spark import settings

    try:
        return settings.conf(_jar_or_fail(), experiment, tracking_uri)
    except InvalidInputError as exc:
        raise click.ClickException(str(exc)) from exc


_experiment = click.option("--experiment", "-e", help="spark.flowtrack.experiment")
_uri = click.option("--tracking-uri", help="spark.flowtrack.trackingUri (default: flowtrack's)")


@click.group(name="spark")
def spark() -> None:
    """Spark adapter: the JVM listener that tracks every Spark application."""


@spark.command(name="jar")
@click.option("--rebuild", is_flag=True, help="Compile it again even if it is cached.")
def jar_cmd(rebuild: bool) -> None:
    """Print the listener jar's path, compiling it with javac first if needed."""
    try:
        click.echo(jar.build(force=rebuild))
    except jar.JarError as exc:
        raise click.ClickException(str(exc)) from exc


@spark.command()
@_experiment
@_uri
def conf(experiment: str | None, tracking_uri: str | None) -> None:
    """Print the spark-defaults.conf lines that enable tracking."""
    from flowtrack_spark import settings

    click.echo(settings.defaults_lines(_conf(experiment, tracking_uri)), nl=False)


@spark.command(name="install-conf")
@_experiment
@_uri
@click.option("--conf-dir", type=click.Path(file_okay=False), help="Default: $SPARK_CONF_DIR.")
def install_conf(experiment: str | None, tracking_uri: str | None, conf_dir: str | None) -> None:
    """Write the lines into spark-defaults.conf under SPARK_CONF_DIR (other lines are kept)."""
    from flowtrack.errors import InvalidInputError

    from flowtrack_spark import settings

    values = _conf(experiment, tracking_uri)
    try:
        path = settings.install(values, conf_dir)
    except InvalidInputError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {len(values)} flowtrack keys to {path}")


@spark.command()
@click.option("--follow", "pid", type=int, help="Follow the file while JVM PID runs.")
@click.argument("spool", required=False, type=click.Path(dir_okay=False, path_type=Path))
def ingest(pid: int | None, spool: Path | None) -> None:
    """Record a listener's spool file (default: every one left behind) as runs."""
    from flowtrack.errors import FlowtrackError

    from flowtrack_spark import ingest as ing

    try:
        if pid is not None and spool is not None:
            ing.yield_cpu()
            ing.follow(spool, pid)
            return
        for line in ing.sync(folder=None) if spool is None else _one(spool):
            click.echo(line)
    except FlowtrackError as exc:
        raise click.ClickException(str(exc)) from exc


def _one(spool: Path) -> list[str]:
    from flowtrack_spark import ingest as ing
    from flowtrack_spark import recorder

    progress = ing.ingest_once(spool, close_dead=True)
    recorder.flush()
    return [f"{spool}: run {progress.run_id if progress else '(locked)'}"]


def main() -> None:
    """The ``flowtrack-spark`` console script."""
    spark.main(prog_name="flowtrack-spark", args=sys.argv[1:])
