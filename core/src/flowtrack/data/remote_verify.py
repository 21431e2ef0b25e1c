"""``flowtrack data verify -r``: rehash what a remote holds, without keeping it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flowtrack.data.hashing import StreamHasher
from flowtrack.data.manifest import DIR_SUFFIX
from flowtrack.data.progress import Bar
from flowtrack.data.remote import Remote
from flowtrack.data.remote_config import default_jobs
from flowtrack.data.repo import DataRepo

_CHUNK = 2**20


def remote_oids(remote: Remote) -> list[str]:
    """Every object name on the remote (temp files of interrupted pushes are not objects)."""
    try:
        paths = remote.fs.find(remote.base)
    except FileNotFoundError:
        return []
    base = remote.base.split("://", 1)[-1].rstrip("/")
    oids = []
    for path in paths:
        rel = str(path).split("://", 1)[-1][len(base) + 1 :]
        prefix, _, rest = rel.partition("/")
        if len(prefix) == 2 and rest and "/" not in rest and ".tmp-" not in rest:
            oids.append(prefix + rest)
    return sorted(oids)


def verify_remote(
    repo: DataRepo, name: str | None = None, jobs: int | None = None, progress: bool | None = None
) -> tuple[int, list[str]]:
    """(objects checked, oids whose content does not match their name)."""
    remote = Remote(repo, name)
    oids = remote_oids(remote)
    with Bar(f"Verifying {remote.name}", len(oids), 0, progress) as bar:

        def check(oid: str) -> str | None:
            hasher = StreamHasher(repo.algorithm)
            with remote.fs.open(remote.path(oid), "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    hasher.update(chunk)
            bar.advance()
            return None if hasher.hexdigest() == oid.removesuffix(DIR_SUFFIX) else oid

        with ThreadPoolExecutor(jobs or default_jobs()) as pool:
            bad = [oid for oid in pool.map(check, oids) if oid is not None]
    return len(oids), bad
