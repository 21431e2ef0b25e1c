"""Pointer files as they were at a git revision, read through git itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flowtrack.data import pointer as pointers
from flowtrack.data.pointer import Pointer
from flowtrack.errors import FlowtrackError, InvalidInputError


class GitError(FlowtrackError):
    pass


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(  # noqa: S603 - fixed git subcommands; revisions are data, not flags
        ["git", *args],  # noqa: S607 - the user's git, from PATH
        cwd=root,
        input=stdin,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {message[-1] if message else ''}")
    return done.stdout


def resolve(root: Path, rev: str) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except GitError:
        raise InvalidInputError("git revision", rev, "is not a commit in this repository") from None


def pointers_at(root: Path, rev: str) -> list[Pointer]:
    """Every pointer file committed at ``rev`` (read with one `git cat-file --batch`)."""
    commit = resolve(root, rev)
    names = [
        n
        for n in _git(root, "ls-tree", "-r", "-z", "--name-only", commit).decode().split("\0")
        if n.endswith(pointers.SUFFIX)
    ]
    if not names:
        return []
    request = "".join(f"{commit}:{n}\n" for n in names).encode()
    out = _git(root, "cat-file", "--batch", stdin=request)
    found: list[Pointer] = []
    pos = 0
    for name in names:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        body = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        found.append(pointers.parse(body.decode(), root / name))
    return found


def revisions(root: Path, branches: bool, tags: bool, commits: bool) -> list[str]:
    """Commits named by the gc scope flags."""
    if commits:
        return _git(root, "rev-list", "--all").decode().split()
    refs: list[str] = []
    if branches:
        refs += _git(root, "for-each-ref", "--format=%(objectname)", "refs/heads").decode().split()
    if tags:
        refs += (
            _git(root, "for-each-ref", "--format=%(objectname)^{commit}", "refs/tags")
            .decode()
            .split()
        )
    return list(dict.fromkeys(refs))
