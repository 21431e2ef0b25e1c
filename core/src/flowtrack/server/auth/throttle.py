"""Failed-login throttling: password guessing against one user name is refused for a while.

After `MAX_FAILURES` wrong passwords for one name within `WINDOW_SECONDS`, further password
checks for that name are refused with 429 (and ``Retry-After``) for `LOCKOUT_SECONDS`, without
checking the password, right or wrong. A client whose correct password was checked in the last
minute keeps working meanwhile (the service remembers recent good logins), so someone guessing
cannot lock out a running job, only delay a fresh log-in. Counts are per server process, kept
in memory: with ``--workers N`` a guesser gets at most N times the allowance.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from flowtrack.server.auth.errors import LoginThrottled

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
LOCKOUT_SECONDS = 30.0
_MAX_NAMES = 10_000  # names tracked at once; memory stays bounded under a flood of names


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        lockout_seconds: float = LOCKOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.lockout = lockout_seconds
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        """Raise `LoginThrottled` while ``name`` is locked out."""
        key = name[:256]
        now = self._clock()
        with self._lock:
            until = self._locked.get(key)
            if until is None:
                return
            if until <= now:
                del self._locked[key]
                return
        raise LoginThrottled(
            f"too many failed log-ins for user {key!r}; try again in {math.ceil(until - now)} s",
            retry_after=math.ceil(until - now),
        )

    def failed(self, name: str) -> None:
        key = name[:256]
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_NAMES and key not in self._failures:
                self._prune(now)
            recent = [t for t in self._failures.get(key, []) if t > now - self.window]
            recent.append(now)
            if len(recent) >= self.max_failures:
                self._locked[key] = now + self.lockout
                self._failures.pop(key, None)
            else:
                self._failures[key] = recent

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name[:256], None)

    def _prune(self, now: float) -> None:
        self._failures = {
            k: v for k, v in self._failures.items() if v and v[-1] > now - self.window
        }
        self._locked = {k: t for k, t in self._locked.items() if t > now}
        if len(self._failures) >= _MAX_NAMES:
            self._failures.clear()
