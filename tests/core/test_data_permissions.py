"""Unreadable files and folders get a clear error, and nothing is written.

The tests run as root, which reads everything, so the command runs in a child process that
imports what it needs and then drops to the unprivileged user ``nobody`` before it touches the
data: the permission checks are the kernel's, not simulated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.datarepo import make_repo

NOBODY = 65534

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to drop to the user nobody (CI runs as root)"
)

_AS_NOBODY = textwrap.dedent(
    """
    import os, sys
    # Everything `flowtrack data add` imports, loaded while the interpreter's files are readable.
    import concurrent.futures.thread, sqlite3, blake3, yaml
    import flowtrack.cli.main, flowtrack.cli.data, flowtrack.data.workspace
    os.setgroups([])
    os.setgid({uid})
    os.setuid({uid})
    os.chdir(sys.argv[1])
    flowtrack.cli.main.main(sys.argv[2:])
    """
).format(uid=NOBODY)


@pytest.fixture
def shared_repo() -> Iterator[Path]:
    # Under /tmp itself: pytest's tmp_path sits in a folder only root may enter.
    top = Path(tempfile.mkdtemp(prefix="ft-perm-"))
    try:
        os.chmod(top, 0o755)
        repo = make_repo(top / "proj")
        data = repo.root / "data"
        (data / "sub").mkdir(parents=True)
        (data / "a.txt").write_text("readable\n")
        (data / "sub" / "b.txt").write_text("also readable\n")
        for path in [top / "proj", *(top / "proj").rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        yield repo.root
    finally:
        shutil.rmtree(top)


def _add_as_nobody(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, str(root), "data", "add", "data"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(root), "FLOWTRACK_HOME": str(root / ".fthome")},
    )


def test_an_unreadable_file_is_named_and_nothing_is_written(shared_repo: Path) -> None:
    secret = shared_repo / "data" / "secret.txt"
    secret.write_text("no\n")
    os.chown(secret, NOBODY, NOBODY)
    os.chmod(secret, 0o000)
    done = _add_as_nobody(shared_repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{secret}" in done.stderr
    assert "cannot be read (permission denied)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (shared_repo / "data.ft").exists()
    assert not (shared_repo / ".gitignore").exists()

    os.chmod(secret, 0o644)  # fixed: the same command now succeeds
    done = _add_as_nobody(shared_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (shared_repo / "data.ft").is_file()


def test_an_unreadable_folder_is_named_and_nothing_is_written(shared_repo: Path) -> None:
    sub = shared_repo / "data" / "sub"
    os.chmod(sub, 0o000)
    try:
        done = _add_as_nobody(shared_repo)
    finally:
        os.chmod(sub, 0o755)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{sub}" in done.stderr
    assert "cannot be read (permission denied)" in done.stderr
    assert not (shared_repo / "data.ft").exists()
