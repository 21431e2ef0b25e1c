"""Real fault sources for the spool tests: a PostgreSQL database that appears later, a tiny or
read-only filesystem, a child process to kill."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URI


@contextlib.contextmanager
def missing_pg_database() -> Iterator[tuple[str, object]]:
    """A URI whose database does not exist yet (the store is 'down'), and a function that
    creates it (the store is 'back'). Dropped afterwards."""
    name = f"flowtrack_later_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")

    def bring_up() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

    try:
        yield PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}", bring_up
    finally:
        from flowtrack.tracking.stores import forget_stores

        forget_stores()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real small filesystem (needs root, as on CI); unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"needs permission to mount a tmpfs (root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def run_python(
    code: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
