"""Where flowtrack keeps things, and the environment variables that change it.

The embedded default is one SQLite file and one artifact folder under ``FLOWTRACK_HOME``
(``~/.flowtrack`` unless set), so that Airflow workers, Prefect flows and Spark drivers on one
machine land in the same store whatever their working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

ENV_HOME = "FLOWTRACK_HOME"
ENV_TRACKING_URI = "FLOWTRACK_TRACKING_URI"
ENV_ARTIFACT_ROOT = "FLOWTRACK_ARTIFACT_ROOT"
ENV_RUN_ID = "FLOWTRACK_RUN_ID"
ENV_PARENT_RUN_ID = "FLOWTRACK_PARENT_RUN_ID"
ENV_EXPERIMENT = "FLOWTRACK_EXPERIMENT"
ENV_STRICT = "FLOWTRACK_STRICT"
ENV_PLUGINS = "FLOWTRACK_PLUGINS"
ENV_SPOOL_DIR = "FLOWTRACK_SPOOL_DIR"

_tracking_uri_override: str | None = None


def home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".flowtrack").expanduser()


def default_tracking_uri() -> str:
    return f"sqlite:///{home() / 'flowtrack.db'}"


def set_tracking_uri(uri: str | None) -> None:
    """Use this store for the rest of the process (None goes back to the environment)."""
    global _tracking_uri_override
    _tracking_uri_override = normalize_uri(uri) if uri else None


def get_tracking_uri() -> str:
    if _tracking_uri_override:
        return _tracking_uri_override
    return normalize_uri(os.environ.get(ENV_TRACKING_URI) or default_tracking_uri())


def normalize_uri(uri: str) -> str:
    """A bare path or file: URI means an SQLite file there, as MLflow users would expect."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = Path(parsed.path if parsed.scheme == "file" else uri).expanduser().resolve()
        if path.suffix not in (".db", ".sqlite", ".sqlite3"):
            path = path / "flowtrack.db"
        return f"sqlite:///{path}"
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of an sqlite:/// URI (None for in-memory or other databases)."""
    if not uri.startswith("sqlite"):
        return None
    rest = uri.split(":///", 1)[1] if ":///" in uri else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def default_artifact_root(tracking_uri: str) -> str:
    """Artifacts sit beside an SQLite file; other stores use FLOWTRACK_ARTIFACT_ROOT or home."""
    explicit = os.environ.get(ENV_ARTIFACT_ROOT)
    if explicit:
        return explicit
    db = sqlite_path(tracking_uri)
    if db is not None:
        return str(db.parent / "artifacts")
    return str(home() / "artifacts")


def strict_mode() -> bool:
    """FLOWTRACK_STRICT=1: tracking failures raise instead of being spooled and warned about."""
    return os.environ.get(ENV_STRICT, "").strip().lower() in ("1", "true", "yes", "on")


def spool_dir() -> Path:
    return Path(os.environ.get(ENV_SPOOL_DIR) or home() / "spool").expanduser()
