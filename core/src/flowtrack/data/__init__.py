"""Data versioning: content-addressed objects, pointer files, remotes, lineage.

``flowtrack.data.open(path, rev=None)`` reads any recorded version of a tracked file.
"""

from __future__ import annotations

from typing import IO, Any


def open(path: Any, rev: str | None = None, mode: str = "rb", **text: Any) -> IO[Any]:
    """Open a tracked file as recorded now or at git revision ``rev`` (read-only, verified)."""
    from flowtrack.data.reader import open_version

    return open_version(path, rev, mode, **text)
