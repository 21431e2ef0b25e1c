"""``flowtrack data remote|push|pull|fetch``: moving objects to and from remotes."""

from __future__ import annotations

import click

# The commands of this module, added to the ``flowtrack data`` group by cli/data.py.
COMMANDS: list[click.Command] = []
