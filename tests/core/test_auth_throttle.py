"""Failed-login throttling: after a few wrong passwords for one user name, password log-ins for
it are refused with 429 (and Retry-After) for a short time; a client whose password was checked
recently keeps working; tokens are not affected."""

from __future__ import annotations

from pathlib import Path

import flowtrack
import pytest
from flowtrack.server.auth import accounts, credentials
from flowtrack.server.auth.errors import LoginThrottled
from flowtrack.server.auth.throttle import LoginThrottle

from tests.core.authapp import build_app, serve

ADMIN = ("root", "root password 1")
ENV = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
USER = ("ann", "ann password 1")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_counts_failures_per_name_within_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, lockout_seconds=30, clock=clock)
    for _ in range(2):
        throttle.failed("ann")
    throttle.check("ann")  # two failures: still allowed
    throttle.failed("bob")  # other names count apart
    throttle.failed("ann")
    with pytest.raises(LoginThrottled) as refused:
        throttle.check("ann")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "30"}
    assert "ann" in str(refused.value)
    throttle.check("bob")
    clock.now += 29
    with pytest.raises(LoginThrottled, match="1 s"):
        throttle.check("ann")
    clock.now += 1
    throttle.check("ann")  # the lockout is over, and the count starts again
    throttle.failed("ann")
    throttle.failed("ann")
    throttle.check("ann")
    # Failures older than the window are forgotten; a success clears the count.
    clock.now += 61
    throttle.failed("ann")
    throttle.check("ann")
    throttle.succeeded("ann")
    throttle.failed("ann")
    throttle.failed("ann")
    throttle.check("ann")


def test_repeated_failed_logins_get_429_then_work_again(ft_home: Path) -> None:
    flowtrack.set_tracking_uri(f"sqlite:///{ft_home / 'flowtrack.db'}")
    store = flowtrack.Client().store
    store.get_or_create_experiment("Default")
    app = build_app(store, ft_home / "artifacts", with_auth=True, environ=ENV)  # type: ignore[arg-type]
    auth = app.state.flowtrack.auth
    accounts.create_user(auth.repo, *USER)
    clock = Clock()
    auth.throttle = LoginThrottle(
        max_failures=5, window_seconds=60, lockout_seconds=30, clock=clock
    )
    path = "/api/v1/experiments/0"
    with serve(app) as client:
        # The admin logged in a moment ago: that client keeps working throughout.
        assert client.request("GET", path, user=ADMIN).status == 200
        for _ in range(5):
            assert client.request("GET", path, user=(ADMIN[0], "guess")).status == 401
        locked = client.request("GET", path, user=(ADMIN[0], "another guess"))
        assert locked.status == 429, locked.body
        assert locked.headers["retry-after"] == "30"
        assert locked.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert "too many failed log-ins" in locked.json()["message"]
        assert client.request("GET", path, user=ADMIN).status == 200  # checked recently

        # A fresh log-in (not checked recently) waits out the lockout too, right password or not.
        for _ in range(5):
            assert client.request("GET", path, user=(USER[0], "guess")).status == 401
        assert client.request("GET", path, user=USER).status == 429
        # Unknown names are throttled alike (no hint whether a user exists).
        for _ in range(5):
            assert client.request("GET", path, user=("nobody", "guess")).status == 401
        assert client.request("GET", path, user=("nobody", "guess")).status == 429
        # API tokens are not password log-ins: unaffected.
        token, _record = accounts.create_token(auth.repo, USER[0], "ci")
        assert client.request("GET", path, token=token).status == 200

        clock.now += 30
        assert client.request("GET", path, user=USER).status == 200
