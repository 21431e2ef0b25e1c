"""Printing for the CLI: rich tables on a terminal, full plain text when piped."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def console() -> Console:
    # Piped output is read by scripts and people grepping logs: never cut it short.
    if sys.stdout.isatty():
        return Console()
    return Console(width=100_000, no_color=True, soft_wrap=True)


def when(ms: int | None) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int | None, end: int | None) -> str:
    if not start or not end:
        return "-"
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def number(value: float) -> str:
    return f"{value:.6g}"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    out = console()
    t = Table(title=title, show_lines=False, header_style="bold")
    for name in columns:
        t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*[str(c) for c in row])
    out.print(t)


def as_json(data: Any) -> None:
    click_echo(json.dumps(data, indent=2, default=str))


def click_echo(text: str) -> None:
    import click

    click.echo(text)
