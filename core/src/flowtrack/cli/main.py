"""The ``flowtrack`` command. Subcommands load lazily so ``flowtrack --help`` stays quick."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

# name -> (module, attribute, one-line help shown before the module is imported)
BUILTIN_COMMANDS: dict[str, tuple[str, str, str]] = {
    "experiments": (
        "flowtrack.cli.experiments",
        "experiments",
        "List, create and delete experiments.",
    ),
    "models": ("flowtrack.cli.models", "models", "Serve, predict, package and register models."),
    "runs": ("flowtrack.cli.runs", "runs", "List, show and delete runs."),
    "server": ("flowtrack.cli.server", "server", "Run the tracking server (REST API, artifacts)."),
    "ui": ("flowtrack.cli.server", "ui", "Open the server on the embedded store (127.0.0.1:5000)."),
    "users": ("flowtrack.cli.users", "users", "Users, API tokens and permissions (--auth)."),
    "sync": (
        "flowtrack.cli.sync",
        "sync",
        "Deliver events that were spooled while the store was down.",
    ),
    "demo": ("flowtrack.cli.demo", "demo", "Run a small end-to-end example on the current store."),
    "data": (
        "flowtrack.cli.data",
        "data",
        "Version data by content: add, status, checkout, push, pull.",
    ),
}


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from flowtrack.errors import FlowtrackError

        try:
            return super().invoke(ctx)
        except FlowtrackError as exc:
            # A user's mistake or a store fault: one clear line, no traceback.
            raise click.ClickException(str(exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *self._plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS:
            module, attr, _ = BUILTIN_COMMANDS[name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return self._plugin_commands().get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, BUILTIN_COMMANDS[name][2]) for name in sorted(BUILTIN_COMMANDS)]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self._plugin_commands().items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _plugin_commands(self) -> dict[str, click.Command]:
        from flowtrack.plugins import facade

        out: dict[str, click.Command] = {}
        for spec in facade.commands():
            if spec.command.name and spec.command.name not in BUILTIN_COMMANDS:
                out[spec.command.name] = spec.command
        return out


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowtrack")
@click.option(
    "--tracking-uri",
    envvar="FLOWTRACK_TRACKING_URI",
    help="Store to use (default: the SQLite file under FLOWTRACK_HOME, ~/.flowtrack).",
)
def cli(tracking_uri: str | None) -> None:
    """flowtrack: experiment tracking, data versioning and a model registry."""
    if tracking_uri:
        from flowtrack.config import set_tracking_uri

        set_tracking_uri(tracking_uri)


def main(argv: list[str] | None = None) -> Any:
    logging.basicConfig(format="%(message)s", level=logging.WARNING)
    return cli.main(args=argv, prog_name="flowtrack")
