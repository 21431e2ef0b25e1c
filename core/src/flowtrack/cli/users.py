"""``flowtrack users``: users, API tokens and permissions of a server started with ``--auth``.

These commands work on the server's database directly (run them where the server runs, with
its ``--backend-store-uri``); a remote client uses the ``/api/v1/auth`` endpoints instead.
Passwords are prompted for or read from stdin, never taken as arguments (they would show in
``ps`` and in shell history).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from flowtrack.cli.output import as_json, table, when

if TYPE_CHECKING:
    from flowtrack.server.auth.permissions import ResourceKind
    from flowtrack.server.auth.repository import AuthRepository


@click.group()
@click.option(
    "--backend-store-uri",
    help="The server's database (default: the tracking URI, FLOWTRACK_TRACKING_URI).",
)
@click.pass_context
def users(ctx: click.Context, backend_store_uri: str | None) -> None:
    """Manage users, API tokens and permissions of a server run with --auth."""
    ctx.obj = backend_store_uri


def _repo() -> AuthRepository:
    from flowtrack.config import get_tracking_uri, normalize_uri
    from flowtrack.server.auth.repository import AuthRepository
    from flowtrack.store.sql.engine import make_engine
    from flowtrack.store.sql.migrate import ensure_schema

    given = click.get_current_context().find_object(str)
    uri = normalize_uri(given) if given else get_tracking_uri()
    if uri.split(":", 1)[0] in ("http", "https"):
        raise click.UsageError(
            f"{uri} is a server: these commands work on its database. Run them on the server "
            "with --backend-store-uri (the server's), or call its /api/v1/auth endpoints."
        )
    engine = make_engine(uri)
    ensure_schema(engine)
    return AuthRepository(engine)


def _new_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, whether it was generated and must be shown)."""
    from flowtrack.server.auth.credentials import check_password_text, generate_password

    if password_stdin and generate:
        raise click.UsageError("give only one of --password-stdin and --generate-password")
    if generate:
        return generate_password(), True
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_text(password)
    return password, False


_password_options = [
    click.option("--password-stdin", is_flag=True, help="Read the password from stdin."),
    click.option(
        "--generate-password", "generate", is_flag=True, help="Generate one and print it once."
    ),
]


def _with_password_options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_password_options):
        f = option(f)
    return f


@users.command()
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an admin (every permission).")
@_with_password_options
def create(name: str, admin: bool, password_stdin: bool, generate: bool) -> None:
    """Create the user NAME (the password is prompted for)."""
    from flowtrack.server.auth import accounts
    from flowtrack.server.auth.repository import check_user_name

    check_user_name(name)
    password, show = _new_password(password_stdin, generate)
    accounts.create_user(_repo(), name, password, is_admin=admin)
    click.echo(f"Created {'admin' if admin else 'user'} {name!r}")
    if show:
        click.echo(f"Password (shown only now): {password}")


@users.command("list")
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def list_(as_json_: bool) -> None:
    """List users."""
    found = _repo().list_users()
    if as_json_:
        as_json(
            [
                {"name": u.name, "is_admin": u.is_admin, "creation_time": u.creation_time}
                for u in found
            ]
        )
        return
    table(
        ["name", "admin", "created"],
        [(u.name, "yes" if u.is_admin else "", when(u.creation_time)) for u in found],
    )


@users.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete the user NAME with their tokens and permissions."""
    from flowtrack.server.auth import accounts

    if not yes:
        click.confirm(f"Delete user {name!r}, their tokens and their permissions?", abort=True)
    accounts.delete_user(_repo(), name)
    click.echo(f"Deleted user {name!r}")


@users.command("set-password")
@click.argument("name")
@_with_password_options
def set_password(name: str, password_stdin: bool, generate: bool) -> None:
    """Set a new password for NAME (the old one stops working at once)."""
    from flowtrack.server.auth import accounts

    repo = _repo()
    accounts.user(repo, name)  # a clear error before asking for a password
    password, show = _new_password(password_stdin, generate)
    accounts.set_password(repo, name, password)
    click.echo(f"Password of {name!r} changed")
    if show:
        click.echo(f"Password (shown only now): {password}")


@users.command("set-admin")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Take admin rights away instead.")
def set_admin(name: str, revoke: bool) -> None:
    """Make NAME an admin (or, with --revoke, no longer one)."""
    from flowtrack.server.auth import accounts

    accounts.set_admin(_repo(), name, not revoke)
    click.echo(f"{name!r} is {'no longer' if revoke else 'now'} an admin")


@users.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.argument("user")
@click.option("--name", "token_name", required=True, help="What the token is for, e.g. ci.")
@click.option("--expires", default=None, help="Lifetime like 90d, 12h, 1w (default: never).")
def token_create(user: str, token_name: str, expires: str | None) -> None:
    """Create an API token for USER and print it (the only time it is shown)."""
    from flowtrack.server.auth import accounts

    secret, record = accounts.create_token(
        _repo(), user, token_name, accounts.parse_duration(expires)
    )
    expiry = f", expires {when(record.expiry_time)}" if record.expiry_time else ""
    click.echo(f"Token {token_name!r} for {user!r}{expiry}. It is shown only now:", err=True)
    click.echo(secret)


@token.command("list")
@click.argument("user", required=False)
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def token_list(user: str | None, as_json_: bool) -> None:
    """List the tokens of USER (default: everyone's); the tokens themselves are not kept."""
    from flowtrack.server.auth import accounts

    repo = _repo()
    found = repo.list_tokens(accounts.user(repo, user) if user else None)
    if as_json_:
        as_json(
            [
                {
                    "user": t.user_name,
                    "name": t.name,
                    "creation_time": t.creation_time,
                    "expiry_time": t.expiry_time,
                }
                for t in found
            ]
        )
        return
    table(
        ["user", "name", "created", "expires"],
        [(t.user_name, t.name, when(t.creation_time), when(t.expiry_time)) for t in found],
    )


@token.command("revoke")
@click.argument("user")
@click.argument("token_name")
def token_revoke(user: str, token_name: str) -> None:
    """Revoke USER's token TOKEN_NAME: it stops working at once."""
    from flowtrack.server.auth import accounts

    accounts.revoke_token(_repo(), user, token_name)
    click.echo(f"Revoked token {token_name!r} of {user!r}")


def _resource(experiment: str | None, model: str | None) -> tuple[ResourceKind, str]:
    if (experiment is None) == (model is None):
        raise click.UsageError("give exactly one of --experiment and --model")
    return (
        ("experiment", experiment) if experiment is not None else ("registered_model", model or "")
    )


_resource_options = [
    click.option("--experiment", help="An experiment, by name or id."),
    click.option("--model", help="A registered model, by name."),
]


def _with_resource_options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_resource_options):
        f = option(f)
    return f


@users.command()
@click.argument("user")
@click.argument(
    "permission", type=click.Choice(["READ", "EDIT", "MANAGE", "NONE"], case_sensitive=False)
)
@_with_resource_options
def grant(user: str, permission: str, experiment: str | None, model: str | None) -> None:
    """Give USER PERMISSION on an experiment or a registered model.

    READ sees it, EDIT also changes it (runs, versions), MANAGE also deletes it and grants
    permissions on it; NONE takes the user below the server's default.
    """
    from flowtrack.server.auth import accounts

    kind, ref = _resource(experiment, model)
    done = accounts.grant(_repo(), kind, ref, user, permission)
    label = "experiment" if kind == "experiment" else "model"
    click.echo(f"{user!r} has {done.permission.name} on {label} {ref!r}")


@users.command()
@click.argument("user")
@_with_resource_options
def revoke(user: str, experiment: str | None, model: str | None) -> None:
    """Remove USER's grant on an experiment or model (back to the server's default)."""
    from flowtrack.server.auth import accounts

    kind, ref = _resource(experiment, model)
    accounts.revoke(_repo(), kind, ref, user)
    click.echo(f"Removed the permission of {user!r} on {ref!r}")


@users.command()
@click.argument("user", required=False)
@click.option("--json", "as_json_", is_flag=True, help="Print JSON.")
def permissions(user: str | None, as_json_: bool) -> None:
    """List explicit grants (of USER, or everyone's)."""
    from flowtrack.server.auth import accounts
    from flowtrack.server.auth.permissions import RESOURCE_KINDS

    repo = _repo()
    owner = accounts.user(repo, user) if user else None
    grants = [g for kind in RESOURCE_KINDS for g in repo.list_grants(kind, user=owner)]
    if as_json_:
        as_json(
            [
                {
                    "user": g.user_name,
                    "resource_type": g.kind,
                    "resource_id": str(g.resource_id),
                    "resource_name": g.resource_name,
                    "permission": g.permission.name,
                }
                for g in grants
            ]
        )
        return
    table(
        ["user", "type", "id", "name", "permission"],
        [(g.user_name, g.kind, g.resource_id, g.resource_name, g.permission.name) for g in grants],
    )
