"""``flowtrack k8s``: the Kubernetes adapter's commands (registered through its plugin)."""

from __future__ import annotations

import click

from flowtrack_k8s.cli_webhook import add_webhook_commands


@click.group()
def k8s() -> None:
    """Kubernetes adapter: track labelled Jobs."""


add_webhook_commands(k8s)
