"""verify, gc and diff: looking after the cache and comparing versions."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flowtrack.data import gitrev
from flowtrack.data.manifest import Entry
from flowtrack.data.pointer import Pointer
from flowtrack.data.progress import Bar
from flowtrack.data.repo import DataRepo
from flowtrack.data.workspace import find_pointers
from flowtrack.errors import FlowtrackError


def verify_cache(repo: DataRepo, progress: bool | None = None) -> list[str]:
    """Rehash every cache object; return the oids whose content does not match their name."""
    oids = list(repo.cache.oids())
    bad: list[str] = []
    with Bar("Verifying", len(oids), 0, progress) as bar:

        def check(oid: str) -> str | None:
            ok = repo.cache.verify(oid)
            bar.advance()
            return None if ok else oid

        with ThreadPoolExecutor(min(16, (os.cpu_count() or 1) * 4)) as pool:
            bad = [oid for oid in pool.map(check, oids) if oid is not None]
    return bad


class MissingManifestError(FlowtrackError):
    pass


def _referenced(repo: DataRepo, pointers: Iterable[Pointer], missing: set[str]) -> set[str]:
    keep: set[str] = set()
    for ptr in pointers:
        keep.add(ptr.hash)
        if ptr.is_dir:
            if not repo.cache.has(ptr.hash):
                missing.add(ptr.hash)
                continue
            keep.update(e.hash for e in repo.cache.read_manifest(ptr.hash).entries)
    return keep


@dataclass
class GcPlan:
    remove: list[str] = field(default_factory=list)
    kept: int = 0
    size: int = 0


def gc(
    repo: DataRepo,
    workspace: bool = True,
    branches: bool = False,
    tags: bool = False,
    commits: bool = False,
    dry_run: bool = False,
    force: bool = False,
) -> GcPlan:
    """Remove cache objects no pointer in the chosen scope refers to.

    A directory manifest that any pointer in scope refers to is kept with all its entries. If
    a manifest in scope is not in the cache, its entries cannot be known, so gc stops unless
    ``force``.
    """
    if not (workspace or branches or tags or commits):
        raise FlowtrackError(
            "say what to keep: --workspace, --all-branches, --all-tags or --all-commits"
        )
    missing: set[str] = set()
    keep = _referenced(repo, find_pointers(repo) if workspace else [], missing)
    for rev in gitrev.revisions(repo.root, branches, tags, commits):
        keep |= _referenced(repo, gitrev.pointers_at(repo.root, rev), missing)
    if missing and not force:
        raise MissingManifestError(
            f"{len(missing)} folder versions in scope have no manifest in the cache "
            f"({', '.join(sorted(missing)[:3])}), so their files cannot be told apart; run "
            "`flowtrack data fetch` for them first, or pass --force to keep only what is known"
        )
    plan = GcPlan()
    for oid in repo.cache.oids():
        if oid in keep:
            plan.kept += 1
            continue
        plan.remove.append(oid)
        plan.size += repo.cache.path(oid).stat().st_size
    if not dry_run:
        for oid in plan.remove:
            repo.cache.remove(oid)
        for temp in repo.cache.stale_temps():  # left by an add that was killed
            temp.unlink(missing_ok=True)
    return plan


@dataclass
class FileDiff:
    path: str  # relative to the repo root
    change: str  # added | modified | deleted


def _entries(repo: DataRepo, ptr: Pointer | None) -> dict[str, Entry] | None:
    if ptr is None:
        return {}
    if not ptr.is_dir:
        return {"": Entry("", ptr.hash, ptr.size)}
    if not repo.cache.has(ptr.hash):
        return None
    return repo.cache.read_manifest(ptr.hash).by_path()


def diff(repo: DataRepo, old_rev: str, new_rev: str | None = None) -> list[FileDiff]:
    """File-by-file changes of tracked data from ``old_rev`` to ``new_rev`` (default: the
    pointer files in the working tree)."""
    old = {_key(repo, p): p for p in gitrev.pointers_at(repo.root, old_rev)}
    new_list = gitrev.pointers_at(repo.root, new_rev) if new_rev else find_pointers(repo)
    new = {_key(repo, p): p for p in new_list}
    out: list[FileDiff] = []
    for data_path in sorted(set(old) | set(new)):
        before, after = old.get(data_path), new.get(data_path)
        if before is not None and after is not None and before.hash == after.hash:
            continue
        a, b = _entries(repo, before), _entries(repo, after)
        if a is None or b is None:
            raise MissingManifestError(
                f"the manifest of {data_path} at one side is not in the cache; run "
                "`flowtrack data fetch` for that revision first"
            )
        for rel in sorted(set(a) | set(b)):
            path = f"{data_path}/{rel}" if rel else data_path
            if rel not in a:
                out.append(FileDiff(path, "added"))
            elif rel not in b:
                out.append(FileDiff(path, "deleted"))
            elif a[rel].hash != b[rel].hash:
                out.append(FileDiff(path, "modified"))
    return out


def _key(repo: DataRepo, ptr: Pointer) -> str:
    return Path(os.path.relpath(ptr.data_path, repo.root)).as_posix()
