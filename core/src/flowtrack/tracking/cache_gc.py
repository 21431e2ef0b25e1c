"""Garbage collection of the user-level data cache (``~/.flowtrack/cache``).

``log_input`` and ``log_output`` (and the adapters that call them: Airflow assets, Spark
writes, Kubernetes annotations) keep a copy of local data outside a data repo in this cache,
so each version can be read back. Nothing else removes those copies, so the cache grows with
every new version; ``flowtrack data cache-gc`` removes the objects no version uses.

The cache is shared by every tracking store this FLOWTRACK_HOME logs to, and by events still
on their way to one. So an object is kept if
- a dataset version in one of the stores refers to it (a file version's digest; a folder
  version's manifest and every file it lists). By default the stores are every one this home
  has a spool folder for (each remembers its URI) and the current one, and all must answer;
- an event in a journal not delivered yet refers to it (a store that was down);
- it entered the cache less than ``min_age_s`` ago: a run may be versioning that data right
  now, its event not written yet.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from flowtrack import config
from flowtrack.errors import FlowtrackError
from flowtrack.tracking import journal as jr

DAY_S = 24 * 3600.0
CHUNK = 500  # digests asked of a store at a time


@dataclass
class CachePlan:
    """What a collection removed (or would remove) and why the rest stayed."""

    stores: list[str]
    gone: list[str] = field(default_factory=list)  # SQLite stores whose file is no more
    remove: list[str] = field(default_factory=list)
    size: int = 0
    kept: int = 0  # used by a version or a pending event
    young: int = 0  # unused, but newer than the minimum age


def known_stores() -> list[str]:
    """The current tracking URI and every store this home has spooled events for."""
    uris = {config.get_tracking_uri()}
    uris.update(uri for _, uri in jr.store_dirs(config.spool_dir()))
    return sorted(uris)


def collect(
    stores: Sequence[str] | None = None, min_age_s: float = DAY_S, dry_run: bool = False
) -> CachePlan:
    """Remove (unless ``dry_run``) the cache objects nothing keeps; raises, removing nothing,
    if a store does not answer."""
    from flowtrack.tracking.datasets import user_caches

    _, cache = user_caches()
    plan = CachePlan(list(stores) if stores else known_stores())
    # A SQLite store whose file was deleted has no versions left (and asking it would create
    # an empty one).
    plan.gone = [u for u in plan.stores if _missing_file(u)]
    oids = list(cache.oids())
    keep = _in_stores([u for u in plan.stores if u not in plan.gone], oids) | _in_journals()
    for digest in [d for d in keep if d.endswith(".dir") and cache.has(d)]:
        keep.update(e.hash for e in cache.read_manifest(digest).entries)
    now = time.time()
    for oid in oids:
        if oid in keep:
            plan.kept += 1
            continue
        try:
            st = cache.path(oid).stat()
        except FileNotFoundError:
            continue  # removed meanwhile
        if now - st.st_mtime < min_age_s:  # objects are new files: mtime = when they came
            plan.young += 1
            continue
        plan.remove.append(oid)
        plan.size += st.st_size
    if not dry_run:
        for oid in plan.remove:
            cache.remove(oid)
        for temp in cache.stale_temps():  # left by a versioning that was killed
            temp.unlink(missing_ok=True)
    return plan


def _missing_file(uri: str) -> bool:
    path = config.sqlite_path(uri)
    return path is not None and not path.exists()


def _in_stores(uris: Sequence[str], oids: list[str]) -> set[str]:
    from flowtrack.tracking.delivery import safe_uri
    from flowtrack.tracking.stores import get_store

    keep: set[str] = set()
    for uri in uris:
        try:
            store = get_store(uri)
            for start in range(0, len(oids), CHUNK):
                found = store.get_dataset_versions_by_digest(oids[start : start + CHUNK])
                keep.update(v.digest for v in found)
        except FlowtrackError as exc:
            raise FlowtrackError(
                f"the store {safe_uri(uri)} did not answer ({exc}), so what its versions use "
                "is unknown; nothing was removed. Run again when it is up, or name the stores "
                "whose versions to keep with --store"
            ) from exc
    return keep


def _in_journals() -> set[str]:
    found: set[str] = set()
    for folder, _ in jr.store_dirs(config.spool_dir()):
        for path in folder.glob(f"*{jr.SUFFIX}"):
            try:
                for event in jr.read_events(path):
                    if event.get("op") == "dataset" and event.get("digest"):
                        found.add(str(event["digest"]))
            except OSError:
                continue  # delivered and deleted meanwhile
    return found
