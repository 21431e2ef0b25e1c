"""A real git repo with a flowtrack data repo in it, for the data tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flowtrack.data.repo import DataRepo


def make_repo(root: Path, algorithm: str = "blake3") -> DataRepo:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    return DataRepo.init(root, algorithm)


def write_tree(folder: Path, files: int, size: int = 64, seed: int = 0) -> dict[str, bytes]:
    """``files`` files with distinct, reproducible content; returns rel path -> bytes."""
    out = {}
    for i in range(files):
        rel = f"part-{i % 3}/f{i:04d}.bin"
        data = (f"{seed}:{i}:".encode() * size)[:size]
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out[rel] = data
    return out


def read_tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
