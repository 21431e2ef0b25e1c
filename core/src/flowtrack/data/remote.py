"""Remotes: copies of the cache on any fsspec filesystem (a folder, ``s3://``, ``gs://``, ...).

A remote has the cache's layout, ``<url>/<algo>/<2 hex>/<rest>``, so a folder remote can be
browsed and looks like DVC's. Push sends a folder's ``.dir`` manifest only after all of its
files are there, so a manifest on a remote means the whole folder is; fetch takes the manifest
first (to learn the entries) and hashes every download before it gets its name in the cache,
so a corrupted remote object is rejected, never stored or checked out. Both skip what the
other side already has, which makes an interrupted transfer resumable by running it again.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from flowtrack.data.atomic import write_then_rename
from flowtrack.data.hashing import SMALL_FILE
from flowtrack.data.objects import CorruptObjectError, ObjectStore
from flowtrack.data.pointer import Pointer
from flowtrack.data.progress import Bar
from flowtrack.data.remote_config import (
    ADD_HINT,
    NoRemoteError,
    add_remote,
    check_name,
    default_jobs,
    is_secret,
    known,
    modify_remote,
    remotes,
    remove_remote,
    set_default,
)
from flowtrack.data.repo import DataRepo
from flowtrack.errors import InvalidInputError

__all__ = [
    "NoRemoteError",
    "Remote",
    "TransferResult",
    "add_remote",
    "check_name",
    "default_jobs",
    "fetch",
    "is_secret",
    "modify_remote",
    "pull",
    "push",
    "remotes",
    "remove_remote",
    "set_default",
]

_OID = re.compile(r"^[0-9a-f]{32,64}$")
# Object stores write an object whole or not at all; elsewhere a temp name is renamed.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}


# --- the remote filesystem -----------------------------------------------------------------


class Remote:
    """A configured remote, opened with fsspec: ``Remote(repo)`` is the default one."""

    def __init__(self, repo: DataRepo, name: str | None = None) -> None:
        import fsspec

        chosen = name or repo.config.get("default_remote")
        if not chosen:
            raise NoRemoteError(
                f"no remote given (-r NAME) and no default remote is set; {ADD_HINT}"
            )
        options = dict(known(repo, str(chosen)))
        url = options.pop("url", None)
        # "dvc": objects under files/<algo>/ as DVC 3 keeps them, so a DVC remote is used as is.
        layout = options.pop("layout", "flowtrack")
        if not isinstance(url, str) or not url:
            raise InvalidInputError(
                f"url of remote {chosen}",
                url,
                f"is missing; set it with `flowtrack data remote modify {chosen} url URL`",
            )
        if "://" not in url:
            # A relative folder is relative to the repo, not to wherever the command runs.
            url = str(repo.root / os.path.expanduser(url))
        self.name = str(chosen)
        self.url = url
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"remote {self.name}",
                url,
                f"cannot be opened ({exc}); for s3:// install s3fs (`pip install flowtrack[s3]`) "
                "and check the options with `flowtrack data remote list`",
            ) from exc
        protocols = {self.fs.protocol} if isinstance(self.fs.protocol, str) else self.fs.protocol
        self._atomic_put = bool(set(protocols) & _ATOMIC_PUT)
        self._local = bool(set(protocols) & {"file", "local"})
        folder = f"files/{repo.algorithm}" if layout == "dvc" else repo.algorithm
        self.base = f"{str(root).rstrip('/')}/{folder}"
        self._made: set[str] = set()

    def path(self, oid: str) -> str:
        return f"{self.base}/{oid[:2]}/{oid[2:]}"

    def existing(self, oids: Iterable[str], jobs: int | None = None) -> set[str]:
        """Which of ``oids`` the remote has: one listing per prefix folder that is needed
        (at most 256, in parallel), rather than one request per object."""
        wanted: dict[str, set[str]] = {}
        for oid in oids:
            wanted.setdefault(oid[:2], set()).add(oid[2:])

        def listing(prefix: str) -> set[str]:
            try:
                # refresh: fsspec caches listings, which an earlier transfer made stale.
                names = self.fs.ls(f"{self.base}/{prefix}", detail=False, refresh=True)
            except (FileNotFoundError, NotADirectoryError):
                return set()
            found = {str(n).rstrip("/").rsplit("/", 1)[-1] for n in names}
            return {prefix + rest for rest in wanted[prefix] & found}

        if not wanted:
            return set()
        with ThreadPoolExecutor(min(len(wanted), jobs or default_jobs())) as pool:
            return set().union(*pool.map(listing, sorted(wanted)))

    def upload(self, src: Path, oid: str) -> None:
        dest = self.path(oid)
        if self._atomic_put:
            self.fs.put_file(str(src), dest)
            return
        folder = dest.rsplit("/", 1)[0]
        if folder not in self._made:  # marked only once made: other threads wait on nothing
            self.fs.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        # A killed push must not leave a partial object under the final name.
        tmp = f"{folder}/.{oid[2:]}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            self.fs.put_file(str(src), tmp)
            self.fs.mv(tmp, dest)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(tmp)
            raise

    def upload_bytes(self, data: bytes, oid: str) -> None:
        """Store a small object whose bytes the caller already read and verified."""
        dest = self.path(oid)
        folder = dest.rsplit("/", 1)[0]
        if self._atomic_put:
            self.fs.pipe_file(dest, data)
            return
        if folder not in self._made:
            self.fs.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        if self._local:
            # Plain os calls: fsspec's per-file overhead is a third of a small push.
            tmp = f"{folder}/.{oid[2:]}.tmp-{uuid.uuid4().hex[:12]}"
            write_then_rename(tmp, dest, data, 0o644)
            return
        with tempfile.NamedTemporaryFile() as tmpfile:
            tmpfile.write(data)
            tmpfile.flush()
            self.upload(Path(tmpfile.name), oid)

    def download(self, oid: str, dest: Path) -> None:
        self.fs.get_file(self.path(oid), str(dest))


# --- transfers -----------------------------------------------------------------------------


@dataclass
class TransferResult:
    action: str  # "push" or "fetch"
    remote: str
    transferred: int = 0
    size: int = 0  # bytes transferred
    present: int = 0  # objects the destination had already
    missing: list[str] = field(default_factory=list)  # not in the source
    corrupted: list[str] = field(default_factory=list)  # content does not match the name
    failed: list[tuple[str, str]] = field(default_factory=list)  # (oid, error)
    incomplete: list[Pointer] = field(default_factory=list)  # fetch: data not all in cache

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupted or self.failed)

    def summary(self) -> str:
        verb = "pushed" if self.action == "push" else "fetched"
        return (
            f"{verb} {self.transferred} objects ({self.size / 2**20:.1f} MiB), "
            f"{self.present} already there"
        )

    def problems(self) -> list[str]:
        """One line per kind of problem, each saying what to do."""
        out = []
        for kind, oids in (("missing", self.missing), ("corrupted", self.corrupted)):
            if oids:
                more = f" and {len(oids) - 3} more" if len(oids) > 3 else ""
                template = _PROBLEMS[self.action, kind]
                out.append(
                    template.format(n=len(oids), oids=", ".join(oids[:3]) + more, r=self.remote)
                )
        if self.failed:
            oid, error = self.failed[0]
            out.append(
                f"{len(self.failed)} objects could not be transferred (first: {oid}: {error}); "
                "check the remote and its options, then run the command again to resume"
            )
        return out


_PROBLEMS = {
    ("push", "missing"): "{n} objects are not in the cache ({oids}); run `flowtrack data pull` "
    "on a machine that has them or re-add the data",
    ("fetch", "missing"): "{n} objects are not on remote {r} ({oids}); run `flowtrack data push` "
    "on a machine that has them",
    ("push", "corrupted"): "{n} cache objects are corrupted and were not pushed ({oids}); "
    "re-add the data or pull good copies",
    ("fetch", "corrupted"): "{n} objects on remote {r} are corrupted (content does not match "
    "the name) and were rejected ({oids}); delete them from the remote and push good copies "
    "from a machine that has them",
}


def _entries(store: ObjectStore, manifest: str) -> dict[str, int]:
    """A manifest's object ids and sizes, rejecting names that are not plain hashes."""
    entries = store.read_manifest(manifest).entries
    bad = [e.hash for e in entries if not _OID.match(e.hash)]
    if bad:
        raise CorruptObjectError(f"directory manifest {manifest} names an invalid object {bad[0]}")
    return {e.hash: e.size for e in entries}


def _run(
    oids: list[str], work: Callable[[str], int], result: TransferResult, jobs: int, bar: Bar
) -> set[str]:
    """Run ``work`` (returns bytes moved) on every oid in parallel; returns those that worked."""
    done: set[str] = set()
    if not oids:
        return done
    pool = ThreadPoolExecutor(min(jobs, len(oids)))
    try:
        futures: dict[Future[int], str] = {pool.submit(work, oid): oid for oid in oids}
        for future in as_completed(futures):
            oid = futures[future]
            moved = 0
            try:
                moved = future.result()
                result.size += moved
            except FileNotFoundError:
                result.missing.append(oid)
            except CorruptObjectError:
                result.corrupted.append(oid)
            except Exception as exc:  # any backend's error: reported, the rest goes on
                result.failed.append((oid, str(exc) or type(exc).__name__))
            else:
                result.transferred += 1
                done.add(oid)
            finally:
                bar.advance(nbytes=moved)
    except BaseException:
        # Ctrl-C: don't wait for the queued transfers; the next run resumes.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return done


def push(
    repo: DataRepo,
    pointers: list[Pointer],
    remote: Remote,
    jobs: int | None = None,
    progress: bool | None = None,
) -> TransferResult:
    """Upload the objects of ``pointers`` that the remote lacks; manifests go last."""
    store = repo.cache
    result = TransferResult("push", remote.name)
    files: dict[str, None] = {}  # insertion-ordered set
    manifests: dict[str, list[str]] = {}
    for ptr in pointers:
        if not ptr.is_dir:
            files[ptr.hash] = None
        elif not store.has(ptr.hash):
            result.missing.append(ptr.hash)
        elif ptr.hash not in manifests:
            try:
                manifests[ptr.hash] = list(_entries(store, ptr.hash))
            except (CorruptObjectError, InvalidInputError):
                result.corrupted.append(ptr.hash)
                continue
            files.update(dict.fromkeys(manifests[ptr.hash]))
    available = [oid for oid in files if store.has(oid)]
    result.missing += [oid for oid in files if not store.has(oid)]
    there = remote.existing([*available, *manifests], jobs)
    result.present = len(there)
    todo = [oid for oid in available if oid not in there]
    todo_manifests = [m for m in manifests if m not in there]
    size = sum(os.stat(store.path(o)).st_size for o in [*todo, *todo_manifests])

    def send(oid: str) -> int:
        path = store.path(oid)
        size = path.stat().st_size  # FileNotFoundError: gone from the cache, reported so
        # A corrupted cache object must not spread to the remote (and from it to others).
        try:
            if size <= SMALL_FILE:
                remote.upload_bytes(store.read_verified(oid), oid)  # one read: verify and send
                return size
            if not store.verify(oid):
                raise CorruptObjectError(oid)
            remote.upload(path, oid)
        except FileNotFoundError as exc:  # e.g. no such bucket: a failure, not a lost object
            raise OSError(f"{exc!r} on remote {remote.name}; does its bucket exist?") from exc
        return size

    n = jobs or default_jobs()
    with Bar(f"Pushing to {remote.name}", len(todo) + len(todo_manifests), size, progress) as bar:
        sent = _run(todo, send, result, n, bar) | there
        complete = [m for m in todo_manifests if all(e in sent for e in manifests[m])]
        _run(complete, send, result, n, bar)
    return result


def fetch(
    repo: DataRepo,
    pointers: list[Pointer],
    remote: Remote,
    jobs: int | None = None,
    progress: bool | None = None,
) -> TransferResult:
    """Download the objects of ``pointers`` that the cache lacks, each verified."""
    store = repo.cache
    result = TransferResult("fetch", remote.name)
    n = jobs or default_jobs()

    def receive(oid: str) -> int:
        tmp = store.tmp / f"fetch-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            remote.download(oid, tmp)
            got = tmp.stat().st_size
            store.put_verified_file(oid, tmp)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return got

    store.tmp.mkdir(parents=True, exist_ok=True)
    manifests = list(dict.fromkeys(p.hash for p in pointers if p.is_dir))
    need = [m for m in manifests if not store.has(m)]
    with Bar(f"Fetching manifests from {remote.name}", len(need), 0, progress) as bar:
        _run(need, receive, result, n, bar)
    sizes = {p.hash: p.size for p in pointers if not p.is_dir}
    entries: dict[str, dict[str, int]] = {}
    for manifest in manifests:
        if store.has(manifest):
            try:
                entries[manifest] = _entries(store, manifest)
            except (CorruptObjectError, InvalidInputError):
                result.corrupted.append(manifest)
                continue
            sizes.update(entries[manifest])
    todo = [oid for oid in sizes if not store.has(oid)]
    result.present = len(manifests) - len(need) + len(sizes) - len(todo)
    total = sum(sizes[o] for o in todo)
    with Bar(f"Fetching from {remote.name}", len(todo), total, progress) as bar:
        _run(todo, receive, result, n, bar)
    for ptr in pointers:
        needed = [ptr.hash, *entries.get(ptr.hash, ())]
        if (ptr.is_dir and ptr.hash not in entries) or not all(store.has(o) for o in needed):
            result.incomplete.append(ptr)
    return result


def pull(
    repo: DataRepo,
    pointers: list[Pointer],
    remote: Remote,
    jobs: int | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> tuple[TransferResult, int]:
    """Fetch, then check out every pointer whose data is all in the cache; returns the
    transfer result and the number of files written. Incomplete data is not checked out."""
    from flowtrack.data.workspace import checkout

    result = fetch(repo, pointers, remote, jobs, progress)
    skip = {p.file for p in result.incomplete}
    written = 0
    for ptr in pointers:
        if ptr.file not in skip:
            written += checkout(repo, ptr, force=force, progress=progress)
    return result, written
