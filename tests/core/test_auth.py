"""Auth without HTTP: password and token hashing, users, tokens and permission resolution on
SQLite and PostgreSQL, and the first admin."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import flowtrack
import pytest
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.server.auth import accounts, credentials, service_for_store
from flowtrack.server.auth.errors import AuthenticationRequired, PermissionDenied
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.auth.service import AuthService, Principal
from flowtrack.store.sql.store import SqlStore

READ, EDIT, MANAGE, NONE = Permission.READ, Permission.EDIT, Permission.MANAGE, Permission.NONE


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """New hashes use a small scrypt cost so the suite stays quick; checking still reads the
    cost from the stored hash, and test_real_cost_hash covers the real setting."""
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


def _name(prefix: str) -> str:
    # PostgreSQL tests share one database: fresh names everywhere.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def auth(store_uri: str) -> Iterator[AuthService]:
    flowtrack.set_tracking_uri(store_uri)
    store = flowtrack.Client().store
    yield service_for_store(store)


@pytest.fixture
def fresh_uri(request: pytest.FixtureRequest, ft_home: Path, store_uri: str) -> Iterator[str]:
    """An empty database of the backend of ``store_uri`` (the first admin needs one)."""
    if store_uri.startswith("sqlite"):
        yield f"sqlite:///{ft_home / 'fresh.db'}"
        return
    from tests.core.faults import missing_pg_database

    with missing_pg_database() as (uri, bring_up):
        bring_up()  # type: ignore[operator]
        yield uri


# -- credentials ----------------------------------------------------------------------------------


def test_real_cost_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    stored = credentials.hash_password("correct horse battery")
    algorithm, n, r, p, salt, key = stored.split("$")
    assert (algorithm, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 3)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
    assert credentials.verify_password("correct horse battery", stored)
    assert not credentials.verify_password("correct horse batterz", stored)


def test_hashes_are_salted_and_damaged_ones_never_match() -> None:
    one, two = (
        credentials.hash_password("same password"),
        credentials.hash_password("same password"),
    )
    assert one != two and "same password" not in one
    assert credentials.verify_password("same password", one)
    for damaged in ("", "scrypt$", "scrypt$x$8$1$a$b", "md5$abc", one[:-4], "scrypt$1$1$1$!!$!!"):
        assert not credentials.verify_password("same password", damaged)
    assert not credentials.verify_password("x" * 5000, one)


def test_pbkdf2_hashes_verify() -> None:
    salt = b"0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", b"old password", salt, 1000, 32)
    stored = (
        f"pbkdf2_sha256$1000${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    )
    assert credentials.verify_password("old password", stored)
    assert not credentials.verify_password("old passwort", stored)


@pytest.mark.parametrize("bad", ["s3cr3t!", "", 12345678, "x" * 1025])
def test_weak_or_bad_passwords_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        credentials.hash_password(bad)  # type: ignore[arg-type]
    assert "***" in str(err.value) and (not bad or str(bad) not in str(err.value))


def test_tokens_are_random_and_stored_as_digests() -> None:
    tokens = {credentials.new_token() for _ in range(50)}
    assert len(tokens) == 50
    token = tokens.pop()
    assert token.startswith("ftk_") and len(token) >= 40
    assert credentials.token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(credentials.generate_password()) >= 20


# -- users and tokens -----------------------------------------------------------------------------


def test_users_passwords_and_admins(auth: AuthService) -> None:
    repo = auth.repo
    name = _name("ann")
    accounts.create_user(repo, name, "first password")
    with pytest.raises(ConflictError, match="already exists"):
        accounts.create_user(repo, name, "other password")
    who = auth.authenticate(_basic(name, "first password"))
    assert (who.name, who.is_admin, who.token_name) == (name, False, None)
    with pytest.raises(AuthenticationRequired, match="invalid user name or password"):
        auth.authenticate(_basic(name, "wrong password"))
    with pytest.raises(AuthenticationRequired, match="invalid user name or password"):
        auth.authenticate(_basic(_name("nobody"), "first password"))

    accounts.set_password(repo, name, "second password")
    # The remembered success of the old password is worthless once the hash changed.
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(_basic(name, "first password"))
    assert auth.authenticate(_basic(name, "second password")).name == name

    accounts.create_user(repo, _name("keeper"), "keeper password", is_admin=True)
    accounts.set_admin(repo, name, True)
    assert auth.authenticate(_basic(name, "second password")).is_admin
    assert name in {u.name for u in repo.list_users()}
    accounts.delete_user(repo, name)
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(_basic(name, "second password"))
    with pytest.raises(NotFoundError):
        accounts.delete_user(repo, name)


@pytest.mark.parametrize("bad", ["", "a:b", "-lead", "has space", "x" * 257, "ü-ber"])
def test_bad_user_names(auth: AuthService, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="user name"):
        accounts.create_user(auth.repo, bad, "a fine password")


def test_the_last_admin_stays(fresh_uri: str) -> None:
    auth = service_for_store(SqlStore(fresh_uri))
    accounts.create_user(auth.repo, "root", "root password", is_admin=True)
    with pytest.raises(ConflictError, match="last admin"):
        accounts.delete_user(auth.repo, "root")
    with pytest.raises(ConflictError, match="last admin"):
        accounts.set_admin(auth.repo, "root", False)
    assert auth.repo.count_admins() == 1
    accounts.create_user(auth.repo, "second", "root password", is_admin=True)
    accounts.delete_user(auth.repo, "root")
    assert [u.name for u in auth.repo.list_users()] == ["second"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Digest abc",
        "Bearer ",
        "Bearer ftk_notatokenatallbutlongenough",
        "Bearer x",
    ],
)
def test_malformed_or_unknown_credentials(auth: AuthService, header: str | None) -> None:
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(header)


def test_tokens_work_expire_and_revoke(auth: AuthService) -> None:
    repo = auth.repo
    name = _name("bot")
    accounts.create_user(repo, name, "bot password")
    secret, record = accounts.create_token(repo, name, "ci")
    assert record.expiry_time is None
    assert credentials.token_digest(secret) not in {t.name for t in repo.list_tokens()}
    who = auth.authenticate(f"Bearer {secret}")
    assert (who.name, who.token_name) == (name, "ci")
    # A token also works as the password of HTTP Basic (for clients that only do Basic) ...
    assert auth.authenticate(_basic(name, secret)).token_name == "ci"
    # ... but only with its own user's name.
    with pytest.raises(AuthenticationRequired, match="another user"):
        auth.authenticate(_basic("someone-else", secret))
    with pytest.raises(ConflictError, match="already has a token"):
        accounts.create_token(repo, name, "ci")

    accounts.revoke_token(repo, name, "ci")
    with pytest.raises(AuthenticationRequired, match="unknown or was revoked"):
        auth.authenticate(f"Bearer {secret}")
    with pytest.raises(NotFoundError):
        accounts.revoke_token(repo, name, "ci")

    short, _ = accounts.create_token(repo, name, "short", expires_in_s=1)
    assert auth.authenticate(f"Bearer {short}").name == name
    time.sleep(1.1)
    with pytest.raises(AuthenticationRequired, match="expired"):
        auth.authenticate(f"Bearer {short}")
    # Deleting the user takes the tokens along.
    last, _ = accounts.create_token(repo, name, "last")
    accounts.delete_user(repo, name)
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(f"Bearer {last}")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("1w2d", 9 * 86400), ("never", None)],
)
def test_durations(text: str, seconds: int | None) -> None:
    assert accounts.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["3 years", "d", "-1d", "0s", "5x"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="expiry"):
        accounts.parse_duration(bad)


# -- permissions ----------------------------------------------------------------------------------


def _user(auth: AuthService, prefix: str, admin: bool = False) -> Principal:
    name = _name(prefix)
    accounts.create_user(auth.repo, name, "a good password", is_admin=admin)
    return auth.authenticate(_basic(name, "a good password"))


def _run_in(experiment: str) -> tuple[str, str]:
    flowtrack.set_experiment(experiment)
    with flowtrack.start_run() as run:
        flowtrack.log_param("p", 1)
    assert flowtrack.flush()
    return run.info.experiment_id, run.info.run_id


def test_permission_resolution(auth: AuthService) -> None:
    owner, other, admin = _user(auth, "owner"), _user(auth, "other"), _user(auth, "admin", True)
    experiment_id, run_id = _run_in(_name("exp"))
    model = _name("model")
    flowtrack.Client().store.create_registered_model(model)
    auth.grant_creator(owner, experiment_id=experiment_id, model_name=model)

    def allowed(who: Principal, needed: Permission, **ids: list[str]) -> bool:
        try:
            auth.check(who, needed, **ids)  # type: ignore[arg-type]
        except PermissionDenied:
            return False
        return True

    for needed in (READ, EDIT, MANAGE):
        for ids in (
            {"experiment_ids": [experiment_id]},
            {"run_ids": [run_id]},
            {"model_names": [model]},
        ):
            assert allowed(owner, needed, **ids)  # the creator has MANAGE
            assert allowed(admin, needed, **ids)  # admins bypass
            assert allowed(other, needed, **ids) == (needed == READ)  # the default: READ

    exp = {"experiment_ids": [experiment_id]}
    accounts.grant(auth.repo, "experiment", experiment_id, other.name, "EDIT")
    assert allowed(other, EDIT, **exp) and not allowed(other, MANAGE, **exp)
    assert allowed(other, EDIT, run_ids=[run_id])  # a run's permission is its experiment's
    accounts.grant(auth.repo, "experiment", experiment_id, other.name, "NONE")
    assert not allowed(other, READ, **exp) and not allowed(other, READ, run_ids=[run_id])
    assert auth.readable(other, "experiment", [int(experiment_id)]) == set()
    accounts.revoke(auth.repo, "experiment", experiment_id, other.name)
    assert allowed(other, READ, **exp) and not allowed(other, EDIT, **exp)
    assert auth.readable(other, "experiment", [int(experiment_id)]) == {int(experiment_id)}

    accounts.grant(auth.repo, "registered_model", model, other.name, "MANAGE")
    assert allowed(other, MANAGE, model_names=[model])
    grants = {
        (g.kind, g.resource_name, g.user_name, g.permission)
        for g in auth.repo.list_grants("registered_model", user=auth.repo.get_user(other.name))
    }
    assert grants == {("registered_model", model, other.name, MANAGE)}

    # One unreadable resource in a list refuses the whole request, naming it.
    second_id, _ = _run_in(_name("exp"))
    accounts.grant(auth.repo, "experiment", second_id, other.name, "NONE")
    with pytest.raises(PermissionDenied, match=f"NONE on experiment {second_id}"):
        auth.check(other, READ, experiment_ids=[experiment_id, second_id])


def test_missing_resources_and_bad_ids(auth: AuthService) -> None:
    who = _user(auth, "someone")
    with pytest.raises(NotFoundError, match="run"):
        auth.check(who, READ, run_ids=["0" * 32])
    with pytest.raises(NotFoundError, match="registered model"):
        auth.check(who, READ, model_names=[_name("ghost")])
    with pytest.raises(NotFoundError, match="experiment"):
        auth.check(who, READ, experiment_names=[_name("ghost")])
    with pytest.raises(InvalidInputError, match="experiment_id"):
        auth.check(who, READ, experiment_ids=["1 OR 1=1"])
    with pytest.raises(NotFoundError, match="experiment"):
        accounts.grant(auth.repo, "experiment", _name("ghost"), who.name, "READ")
    with pytest.raises(InvalidInputError, match="permission"):
        accounts.grant(auth.repo, "experiment", "0", who.name, "OWNER")


def test_default_permission_none(store_uri: str) -> None:
    flowtrack.set_tracking_uri(store_uri)
    auth = service_for_store(flowtrack.Client().store, default_permission="NONE")
    who = _user(auth, "stranger")
    experiment_id, _ = _run_in(_name("exp"))
    with pytest.raises(PermissionDenied):
        auth.check(who, READ, experiment_ids=[experiment_id])
    # An experiment that does not exist is a 404, not a 403.
    with pytest.raises(NotFoundError):
        auth.check(who, READ, experiment_ids=["987654321"])
    with pytest.raises(InvalidInputError, match="default permission"):
        service_for_store(flowtrack.Client().store, default_permission="ALL")


# -- the first admin ------------------------------------------------------------------------------


def test_first_admin_from_the_environment(fresh_uri: str) -> None:
    repo = service_for_store(SqlStore(fresh_uri)).repo
    out = io.StringIO()
    env = {"FLOWTRACK_ADMIN_USERNAME": "boss", "FLOWTRACK_ADMIN_PASSWORD": "boss password 1"}
    assert accounts.bootstrap_admin(repo, env, out) == "boss"
    assert out.getvalue() == ""  # the operator chose the password: nothing to print
    assert [(u.name, u.is_admin) for u in repo.list_users()] == [("boss", True)]
    # Once an admin exists the variables are ignored (changing them changes nothing).
    env["FLOWTRACK_ADMIN_PASSWORD"] = "another password"
    assert accounts.bootstrap_admin(repo, env, out) is None
    auth = service_for_store(SqlStore(fresh_uri))
    assert auth.authenticate(_basic("boss", "boss password 1")).is_admin


def test_first_admin_with_a_generated_password_printed_once(fresh_uri: str) -> None:
    repo = service_for_store(SqlStore(fresh_uri)).repo
    out = io.StringIO()
    assert accounts.bootstrap_admin(repo, {}, out) == "admin"
    printed = out.getvalue()
    password = printed.split("password:\n\n")[1].split()[0]
    assert len(password) >= 20 and "shown only this once" in printed
    again = io.StringIO()
    assert accounts.bootstrap_admin(repo, {}, again) is None and again.getvalue() == ""
    auth = service_for_store(SqlStore(fresh_uri))
    assert auth.authenticate(_basic("admin", password)).is_admin


def test_first_admin_refusals(fresh_uri: str) -> None:
    repo = service_for_store(SqlStore(fresh_uri)).repo
    with pytest.raises(InvalidInputError, match="FLOWTRACK_ADMIN_PASSWORD") as err:
        accounts.bootstrap_admin(repo, {"FLOWTRACK_ADMIN_PASSWORD": "s3cr3t!"}, io.StringIO())
    assert "s3cr3t!" not in str(err.value)
    accounts.create_user(repo, "admin", "plain user pw")
    with pytest.raises(ConflictError, match="set-admin admin"):
        accounts.bootstrap_admin(repo, {}, io.StringIO())


def test_no_fixed_default_password(ft_home: Path) -> None:
    """Two fresh servers get two different admin passwords, and no usual default works."""
    printed = []
    for i in range(2):
        auth = service_for_store(SqlStore(f"sqlite:///{ft_home / f'server{i}.db'}"))
        out = io.StringIO()
        accounts.bootstrap_admin(auth.repo, {}, out)
        printed.append(out.getvalue().split("password:\n\n")[1].split()[0])
        for guess in ("admin", "password", "changeme", "flowtrack", "admin123", "password1234"):
            with pytest.raises(AuthenticationRequired):
                auth.authenticate(_basic("admin", guess))
    assert printed[0] != printed[1]


def test_sql_backend_needed(tmp_path: Path) -> None:
    class NotSql:
        uri = "http://elsewhere:5000"

    with pytest.raises(InvalidInputError, match="SQL backend"):
        service_for_store(NotSql())


def test_enable_reads_the_default_permission_from_the_environment(fresh_uri: str) -> None:
    from flowtrack.server import auth as auth_pkg
    from flowtrack.server.state import ServerState

    state = ServerState(store=SqlStore(fresh_uri), artifacts_destination="/tmp/unused")
    env = {
        "FLOWTRACK_AUTH_DEFAULT_PERMISSION": "none",
        "FLOWTRACK_ADMIN_USERNAME": "boss",
        "FLOWTRACK_ADMIN_PASSWORD": "boss password 1",
    }
    service = auth_pkg.enable(state, environ=env, stderr=io.StringIO())
    assert state.auth is service and service.default_permission == NONE
    assert auth_pkg.enable(state, environ={}).default_permission == READ


def test_unknown_runs_can_be_skipped(auth: AuthService) -> None:
    who = _user(auth, "writer")
    _experiment, run_id = _run_in(_name("exp"))
    ghost = uuid.uuid4().hex
    auth.check(who, READ, run_ids=[run_id, ghost], skip_missing_runs=True)
    with pytest.raises(PermissionDenied):
        auth.check(who, EDIT, run_ids=[run_id, ghost], skip_missing_runs=True)
    with pytest.raises(NotFoundError):
        auth.check(who, READ, run_ids=[run_id, ghost])


def test_a_password_that_looks_like_a_token_is_still_a_password(auth: AuthService) -> None:
    name, password = _name("odd"), "ftk_" + "p" * 40
    accounts.create_user(auth.repo, name, password)
    assert auth.authenticate(_basic(name, password)).token_name is None
    with pytest.raises(AuthenticationRequired, match="invalid user name or password"):
        auth.authenticate(_basic(name, "ftk_" + "q" * 40))
