"""``comment`` and ``comments`` under ``flowtrack runs``, ``models`` and ``data``: the
discussions of flowtrack/comments.py from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from flowtrack.cli.output import as_json, click_echo, when
from flowtrack.comments import Comment, comment_to_dict

# How each group names its targets: the arguments, and the target key made of them.
Key = Callable[..., str]


def _client() -> Any:
    from flowtrack.client import Client

    return Client()


def _all(client: Any, kind: str, key: str) -> list[Comment]:
    out: list[Comment] = []
    token = None
    while True:
        page = client.list_comments(kind, key, max_results=1000, page_token=token)
        out.extend(page.items)
        token = page.token
        if not token:
            return out


def _print(comments: list[Comment], what: str) -> None:
    if not comments:
        click_echo(f"No comments yet on {what}.")
        return
    replies: dict[int, list[Comment]] = {}
    for c in comments:
        if c.reply_to is not None:
            replies.setdefault(c.reply_to, []).append(c)
    for c in comments:
        if c.reply_to is None:
            _show(c, "")
            for r in replies.get(c.comment_id, []):
                _show(r, "    ")


def _show(c: Comment, indent: str) -> None:
    edited = " (edited)" if c.edited and not c.deleted else ""
    click_echo(
        f"{indent}#{c.comment_id} {c.author or 'anonymous'} · {when(c.created_time)}{edited}"
    )
    text = "(deleted)" if c.deleted else c.body
    for line in text.splitlines() or [""]:
        click_echo(f"{indent}  {line}")
    click_echo("")


def _text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def add_commands(
    group: click.Group, kind: str, params: list[click.Argument], key: Key, what: str
) -> None:
    """Add ``comment`` and ``comments`` to ``group`` for targets of ``kind``."""

    def comment(
        text: str | None, reply_to: int | None, edit: int | None, delete: int | None, **ids: Any
    ) -> None:
        client = _client()
        target = key(**ids)
        if delete is not None:
            if edit is not None or text is not None:
                raise click.UsageError("--delete takes no TEXT and no --edit")
            client.delete_comment(delete)
            click_echo(f"Deleted comment #{delete}.")
            return
        if text is None:
            raise click.UsageError("TEXT is required (or - to read it from stdin)")
        if edit is not None:
            done = client.update_comment(edit, _text(text))
            click_echo(f"Edited comment #{done.comment_id}.")
            return
        made = client.add_comment(kind, target, _text(text), reply_to=reply_to)
        click_echo(
            f"Comment #{made.comment_id} added to {what} {target} by {made.author or 'anonymous'}."
        )

    def comments(as_json_: bool, **ids: Any) -> None:
        target = key(**ids)
        found = _all(_client(), kind, target)
        if as_json_:
            as_json([comment_to_dict(c) for c in found])
        else:
            _print(found, f"{what} {target}")

    group.add_command(
        click.Command(
            "comment",
            callback=comment,
            params=[
                *params,
                click.Argument(["text"], required=False),
                click.Option(["--reply-to"], type=int, help="Answer this comment (its id)."),
                click.Option(
                    ["--edit"],
                    type=int,
                    metavar="COMMENT_ID",
                    help="Replace this comment's text with TEXT.",
                ),
                click.Option(
                    ["--delete"], type=int, metavar="COMMENT_ID", help="Delete this comment."
                ),
            ],
            help=f"Comment on a {what} (markdown; TEXT '-' reads stdin). With --auth only the "
            "author (or an admin) may --edit or --delete a comment.",
            short_help=f"Comment on a {what}; edit or delete a comment.",
        )
    )
    group.add_command(
        click.Command(
            "comments",
            callback=comments,
            params=[
                *params,
                click.Option(["--json", "as_json_"], is_flag=True, help="Print JSON."),
            ],
            help=f"The discussion of a {what}: every comment, oldest first, replies under "
            "their thread.",
            short_help=f"Show the discussion of a {what}.",
        )
    )
