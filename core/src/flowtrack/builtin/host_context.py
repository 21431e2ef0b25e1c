"""Built-in plugin: host, user and Python version tags on every run."""

from __future__ import annotations

import functools
import getpass
import platform
import socket

from flowtrack.hookspecs import hookimpl


@functools.cache
def _context() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = "unknown"
    return {
        "flowtrack.host": socket.gethostname(),
        "flowtrack.user": user,
        "flowtrack.python": platform.python_version(),
    }


@hookimpl
def flowtrack_run_context() -> dict[str, str]:
    return dict(_context())
