"""Who makes a registry change, for the audit trail."""

from __future__ import annotations

import getpass
import os

ENV_USER = "FLOWTRACK_USER"


def current_user() -> str:
    """FLOWTRACK_USER if set (a service account, a CI job), else the login name, else ""."""
    explicit = os.environ.get(ENV_USER, "").strip()
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no passwd entry, e.g. an arbitrary container uid
        return ""
