"""Walking a workspace folder and hashing what changed, in parallel."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flowtrack.data.hashing import SMALL_FILE, read_and_hash
from flowtrack.data.objects import ObjectStore
from flowtrack.data.state import StateCache
from flowtrack.errors import InvalidInputError

IGNORED_NAMES = frozenset({".git", ".flowtrack", "__pycache__", ".DS_Store"})


@dataclass(slots=True)
class FileItem:
    rel: str
    fspath: str  # absolute; a str because pathlib costs more than the syscalls here
    st: os.stat_result
    hash: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.fspath)


def walk(root: Path, strays: list[str] | None = None) -> list[FileItem]:
    """Files below ``root`` (following file symlinks, not folder symlinks), sorted by path.

    Temp files that an interrupted flowtrack left behind are skipped, and listed in ``strays``.
    """
    out: list[FileItem] = []
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except PermissionError:
            raise InvalidInputError(
                "folder", str(folder), "cannot be read (permission denied)"
            ) from None
        for entry in entries:
            if entry.name in IGNORED_NAMES:
                continue
            if ".ft-tmp-" in entry.name:
                if strays is not None:
                    strays.append(entry.path)
                continue
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, rel + "/"))
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                reason = (
                    "is a broken symlink or a symlink loop" if entry.is_symlink() else exc.strerror
                )
                raise InvalidInputError("file", entry.path, str(reason)) from None
            if stat.S_ISDIR(st.st_mode):
                raise InvalidInputError(
                    "file", entry.path, "is a symlink to a folder; flowtrack does not follow those"
                )
            if stat.S_ISREG(st.st_mode):
                out.append(FileItem(rel, entry.path, st))
    out.sort(key=lambda f: f.rel)
    return out


def stamp(items: list[FileItem]) -> str:
    """What identifies this exact tree on this machine: paths, inodes, mtimes and sizes."""
    from flowtrack.data.hashing import hash_bytes

    text = "\n".join(f"{i.rel}\t{i.st.st_ino}\t{i.st.st_mtime_ns}\t{i.st.st_size}" for i in items)
    return hash_bytes(text.encode(), "blake3")


def _workers() -> int:
    return min(32, (os.cpu_count() or 1) * 4)


def hash_items(
    items: list[FileItem],
    state: StateCache,
    algorithm: str,
    store: ObjectStore | None = None,
    on_done: Callable[[FileItem], None] | None = None,
) -> None:
    """Fill ``item.hash`` from the state cache or by hashing; with ``store``, also make sure each
    object is in the cache (small files are stored from the bytes that were hashed)."""

    def work(chunk: list[FileItem]) -> list[tuple[os.stat_result, str]]:
        learned = []
        for item in chunk:
            known = state.get(item.st)
            if known is not None and (store is None or store.has(known)):
                item.hash = known
            else:
                try:
                    if store is not None and item.st.st_size > SMALL_FILE:
                        digest = store.add_file(item.fspath, item.st)
                    else:
                        digest, data = read_and_hash(item.fspath, item.st.st_size, algorithm)
                        if store is not None and data is not None:
                            store.put_bytes(digest, data)
                except PermissionError:
                    raise InvalidInputError(
                        "file", str(item.path), "cannot be read (permission denied)"
                    ) from None
                item.hash = digest
                learned.append((item.st, digest))
            if on_done is not None:
                on_done(item)
        return learned

    if not items:
        return
    state.load()  # once, before the threads read it
    if store is None:
        # Known files need no thread: fill them here and send only the rest to the pool.
        unknown = []
        for item in items:
            item.hash = state.get(item.st)
            if item.hash is None:
                unknown.append(item)
            elif on_done is not None:
                on_done(item)
        items = unknown
        if not items:
            return
    workers = _workers()
    size = max(1, min(256, len(items) // (workers * 4) or 1))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if len(chunks) == 1:
        state.put_many(work(chunks[0]))
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="flowtrack-hash") as pool:
        for learned in pool.map(work, chunks):
            state.put_many(learned)
