"""Built-in plugin: the git commit of the working directory and whether it has changes.

Asked once per process and working directory: a Prefect flow with 500 tasks must not run
`git status` 500 times.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from flowtrack.hookspecs import hookimpl


def _git(cwd: str, *args: str) -> str | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed git arguments, no user input
            [exe, *args], cwd=cwd, capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def _context(cwd: str) -> dict[str, str]:
    commit = _git(cwd, "rev-parse", "HEAD")
    if not commit:
        return {}
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    tags = {"flowtrack.git.commit": commit}
    if status is not None:
        tags["flowtrack.git.dirty"] = "true" if status else "false"
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags["flowtrack.git.branch"] = branch
    return tags


@hookimpl
def flowtrack_run_context() -> dict[str, str]:
    return dict(_context(os.getcwd()))
