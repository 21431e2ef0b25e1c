"""add, status and checkout: keeping the workspace, the cache and the pointer files in step."""

from __future__ import annotations

import contextlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flowtrack.data import pointer as pointers
from flowtrack.data.links import materialize, usable_link_types
from flowtrack.data.manifest import Entry, Manifest
from flowtrack.data.objects import CorruptObjectError
from flowtrack.data.pointer import Pointer
from flowtrack.data.progress import Bar
from flowtrack.data.repo import DataRepo, ignore_in_git
from flowtrack.data.tree import FileItem, hash_items, stamp, walk
from flowtrack.errors import FlowtrackError, InvalidInputError


class UnsavedChangesError(FlowtrackError):
    pass


class MissingObjectsError(FlowtrackError):
    pass


def add(repo: DataRepo, target: Path, progress: bool | None = None) -> Pointer:
    """Version a file or folder: store its objects, write ``<target>.ft``, git-ignore it."""
    path = repo.inside(target)
    if path.name.endswith(pointers.SUFFIX):
        raise InvalidInputError("path", str(target), "is a pointer file; add the data it points to")
    if not path.exists():
        raise InvalidInputError("path", str(target), "does not exist")
    items = walk(path) if path.is_dir() else [FileItem(path.name, str(path), path.stat())]
    total = sum(i.st.st_size for i in items)
    try:
        with Bar(f"Adding {path.name}", len(items), total, progress) as bar:
            hash_items(
                items,
                repo.state,
                repo.algorithm,
                repo.cache,
                on_done=lambda item: bar.advance(nbytes=item.st.st_size),
            )
    except OSError as exc:
        # Nothing of the user's was touched: the workspace files are only read.
        raise FlowtrackError(
            f"adding {target} failed writing the cache at {repo.cache.root}: {exc.strerror}. "
            "Your files are untouched and no pointer was written; free space there, or set "
            "`cache_dir` in .flowtrack/config.local.yaml, then add again"
        ) from exc
    repo.state.save()
    if path.is_dir():
        manifest = Manifest.build([Entry(i.rel, i.hash or "", i.st.st_size) for i in items])
        digest = repo.cache.put_manifest(manifest)
        repo.state.put_tree(str(path), stamp(items), digest)
    else:
        digest = items[0].hash or ""
    ptr = Pointer(
        file=pointers.pointer_file_for(path),
        path=path.name,
        algorithm=repo.algorithm,
        hash=digest,
        size=total,
        files=len(items),
    )
    ptr.write()
    ignore_in_git(path)
    return ptr


def find_pointers(repo: DataRepo, targets: list[Path] | None = None) -> list[Pointer]:
    """The pointer files named (a data path or its .ft file), or all in the repo."""
    if targets:
        files = []
        for target in targets:
            path = repo.inside(target)
            files.append(
                path if path.name.endswith(pointers.SUFFIX) else pointers.pointer_file_for(path)
            )
        for f in files:
            if not f.exists():
                raise InvalidInputError(
                    "path", str(f), "is not tracked: no pointer file; add it first"
                )
    else:
        files = []
        for folder, dirs, names in os.walk(repo.root):
            dirs[:] = [
                d for d in dirs if d not in (".git", ".flowtrack") and not d.startswith(".venv")
            ]
            files += [Path(folder) / n for n in names if n.endswith(pointers.SUFFIX)]
            # Don't descend into tracked data folders: their files are the data.
            tracked = {n[: -len(pointers.SUFFIX)] for n in names if n.endswith(pointers.SUFFIX)}
            dirs[:] = [d for d in dirs if d not in tracked]
    return [pointers.load(f) for f in sorted(files)]


@dataclass
class Changes:
    pointer: Pointer
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    missing_cache: bool = False
    # Temp files of an interrupted checkout; the next checkout removes them.
    strays: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.added or self.modified or self.deleted)


def _expected(repo: DataRepo, ptr: Pointer) -> dict[str, Entry] | None:
    if not ptr.is_dir:
        return {ptr.path: Entry(ptr.path, ptr.hash, ptr.size)}
    if not repo.cache.has(ptr.hash):
        return None
    return repo.cache.read_manifest(ptr.hash).by_path()


def _current(ptr: Pointer, strays: list[str] | None = None) -> list[FileItem]:
    data = ptr.data_path
    if ptr.is_dir:
        return walk(data, strays) if data.is_dir() else []
    return [FileItem(ptr.path, str(data), data.stat())] if data.is_file() else []


def status(repo: DataRepo, ptr: Pointer) -> Changes:
    changes = Changes(ptr)
    items = _current(ptr, changes.strays)
    tree_stamp = stamp(items) if ptr.is_dir else ""
    key = str(ptr.data_path)
    if ptr.is_dir and repo.state.tree_hash(key, tree_stamp) == ptr.hash:
        return changes  # the very tree last seen matching this version
    expected = _expected(repo, ptr)
    hash_items(items, repo.state, repo.algorithm)
    repo.state.save()
    if expected is None:
        # The manifest is not here (fresh clone before pull): compare what we can, the whole.
        changes.missing_cache = True
        return changes
    seen = set()
    for item in items:
        seen.add(item.rel)
        entry = expected.get(item.rel)
        if entry is None:
            changes.added.append(item.rel)
        elif entry.hash != item.hash:
            changes.modified.append(item.rel)
    changes.deleted = sorted(set(expected) - seen)
    if ptr.is_dir and changes.clean:
        repo.state.put_tree(key, tree_stamp, ptr.hash)
    return changes


def checkout(
    repo: DataRepo, ptr: Pointer, force: bool = False, progress: bool | None = None
) -> int:
    """Make the workspace match the pointer; returns how many files were written.

    Refuses to overwrite or delete files whose content is not in the pointer unless ``force``.
    Every object is verified before it is placed: a corrupted object is never checked out.
    """
    expected = _expected(repo, ptr)
    if expected is None:
        raise MissingObjectsError(
            f"{ptr.file}: the folder's manifest {ptr.hash} is not in the cache; "
            "run `flowtrack data pull` first"
        )
    changes = status(repo, ptr)
    unsaved = sorted(changes.added + changes.modified) if not changes.clean else []
    if unsaved and not force:
        shown = ", ".join(unsaved[:5]) + (
            f" and {len(unsaved) - 5} more" if len(unsaved) > 5 else ""
        )
        raise UnsavedChangesError(
            f"checkout of {ptr.path} would overwrite or delete changes that are not saved: "
            f"{shown}. Save them with `flowtrack data add {ptr.path}`, or rerun with --force "
            "to discard them"
        )
    base = ptr.data_path if ptr.is_dir else ptr.data_path.parent
    missing = [e for e in expected.values() if not repo.cache.has(e.hash)]
    if missing:
        raise MissingObjectsError(
            f"{ptr.file}: {len(missing)} of {len(expected)} objects are not in the cache; "
            "run `flowtrack data pull` first"
        )
    for stray in changes.strays:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stray)
    if ptr.is_dir and force:
        for rel in changes.added:
            with contextlib.suppress(FileNotFoundError):
                (base / rel).unlink()
    stale = {*changes.modified, *changes.deleted}  # a set: a list here made checkout O(n^2)
    todo = [e for e in expected.values() if e.path in stale]
    for folder in sorted({os.path.dirname(e.path) for e in todo}):
        target = base / folder
        if target.exists() and not target.is_dir():
            target.unlink()  # a file where the pointer has a folder (force was checked above)
        target.mkdir(parents=True, exist_ok=True)
    link_types = usable_link_types(repo.link_types, repo.cache.base, base)
    corrupted: list[str] = []
    with Bar(f"Checking out {ptr.path}", len(todo), sum(e.size for e in todo), progress) as bar:

        def one(entry: Entry) -> tuple[os.stat_result, str] | None:
            dest = base / entry.path
            try:
                try:
                    st = materialize(
                        repo.cache, entry.hash, entry.size, dest, link_types, repo.state
                    )
                except IsADirectoryError:
                    shutil.rmtree(dest)  # a folder where the version has a file (force checked)
                    st = materialize(
                        repo.cache, entry.hash, entry.size, dest, link_types, repo.state
                    )
            except CorruptObjectError:
                corrupted.append(entry.path)
                return None
            finally:
                bar.advance(nbytes=entry.size)
            return st, entry.hash

        with ThreadPoolExecutor(min(16, (os.cpu_count() or 1) * 4)) as pool:
            for result in pool.map(one, todo):
                if result is not None:
                    repo.state.put(*result)
    repo.state.save()
    if corrupted:
        raise CorruptObjectError(
            f"{len(corrupted)} cache objects of {ptr.path} are corrupted and were not checked "
            f"out ({', '.join(corrupted[:5])}); run `flowtrack data verify --remove` and "
            "`flowtrack data pull` to fetch good copies"
        )
    return len(todo)
