"""Lineage: dataset versions as inputs and outputs of runs (`log_input`, `log_output`).

A version is a digest at a place (``uri``: an absolute local path or a URL). How the digest is
made depends on where the data is and on ``mode``:

* ``snapshot`` (the default for local paths): the content is hashed and a copy is kept, so the
  version can be read back later. Inside a flowtrack data repo this is ``flowtrack data add``
  (the repo's cache, a ``.ft`` pointer file beside the data); elsewhere the objects go to a
  user-level cache, ``~/.flowtrack/cache`` (``FLOWTRACK_HOME``), hashed with blake3 and the
  state cache ``~/.flowtrack/state.db``, so unchanged files are not hashed again.
  A folder's digest is the hash of its manifest and ends in ".dir", as in the data layer.
* ``reference`` (the default for URLs such as ``s3://``): nothing is read or copied. The
  fingerprint comes from the files' metadata through fsspec: one line per file,
  ``"<relative path>\\t<size>\\t<stamp>"``, sorted, hashed with blake3 and prefixed with
  ``ref:``. The stamp is the first of the etag, md5, version id or generation the filesystem
  reports, else the modification time. It changes when the data does on every store that
  keeps etags or mtimes, without reading a byte.

The version id is derived from (uri, digest) (a UUID5), so the same content at the same place
is the same version in every process, whether or not the store is reachable when it is logged.
Both calls journal their events like every other logging call: they never fail the task
because the store is down.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from flowtrack import config
from flowtrack.entities import DatasetVersion
from flowtrack.errors import FlowtrackError, InvalidInputError
from flowtrack.store.events import Event
from flowtrack.tracking.policy import guarded, submit
from flowtrack.tracking.runs import require_run

MODES = ("snapshot", "reference")
USER_ALGORITHM = "blake3"
REFERENCE_PREFIX = "ref:"
_NO_VERSION = cast(DatasetVersion | None, None)
_NAMESPACE = uuid.UUID("5d0c2a61-3f0e-4b8e-9a57-6c1f0f7b9e21")
# fsspec info keys that identify a file's content, best first; else a modification time.
_CONTENT_KEYS = ("ETag", "etag", "md5Hash", "md5", "content_md5", "VersionId", "version_id")
_TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "generation", "created")


@dataclass(frozen=True, slots=True)
class Content:
    """What a path or URL holds right now: its uri and digest, and how they were made."""

    name: str
    uri: str
    digest: str
    algorithm: str
    size: int
    file_count: int
    mode: str


def version_id_for(uri: str, digest: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{uri}\n{digest}").hex


# -- where the data is -----------------------------------------------------------------------


def _local_path(target: str | os.PathLike[str]) -> Path | None:
    """The local path ``target`` names (a path or a file:// URL), or None for other URLs."""
    if not isinstance(target, str):
        return Path(target)
    parts = urlsplit(target)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if len(parts.scheme) > 1:  # "C:" is a Windows drive, not a scheme
        return None
    return Path(target)


def uri_of(target: str | os.PathLike[str]) -> str:
    """The uri a version of ``target`` is recorded under: an absolute path, or the URL."""
    local = _local_path(target)
    if local is not None:
        return str(local.expanduser().resolve())
    return str(target).rstrip("/")


def _default_name(target: str | os.PathLike[str]) -> str:
    local = _local_path(target)
    if local is not None:
        return local.expanduser().resolve().name or str(local)
    return posixpath.basename(urlsplit(str(target)).path.rstrip("/")) or str(target)


# -- digests ---------------------------------------------------------------------------------


def user_caches() -> tuple[Any, Any]:
    """The hash state and the object cache of data versioned outside a data repo."""
    from flowtrack.data.objects import ObjectStore
    from flowtrack.data.state import StateCache

    home = config.home()
    return (
        StateCache(home / "state.db", USER_ALGORITHM),
        ObjectStore(home / "cache", USER_ALGORITHM),
    )


def _hash_tree(path: Path, state: Any, algorithm: str, store: Any | None) -> tuple[str, int, int]:
    """(digest, size, files) of a file or folder; with ``store``, its objects are kept there."""
    from flowtrack.data.manifest import Entry, Manifest
    from flowtrack.data.tree import FileItem, hash_items, walk

    items = walk(path) if path.is_dir() else [FileItem(path.name, str(path), path.stat())]
    hash_items(items, state, algorithm, store)
    state.save()
    size = sum(i.st.st_size for i in items)
    if not path.is_dir():
        return items[0].hash or "", size, 1
    manifest = Manifest.build([Entry(i.rel, i.hash or "", i.st.st_size) for i in items])
    digest = store.put_manifest(manifest) if store is not None else manifest.digest(algorithm)
    return digest, size, len(items)


def _repo_for(path: Path) -> Any | None:
    from flowtrack.data.repo import DataRepo, NotARepoError

    try:
        return DataRepo.find(path.parent)
    except NotARepoError:
        return None


def _snapshot(path: Path) -> tuple[str, str, int, int]:
    """(digest, algorithm, size, files), keeping a copy: in the data repo if ``path`` is in
    one (as ``flowtrack data add``, pointer file included), else in the user-level cache."""
    repo = _repo_for(path)
    if repo is not None:
        from flowtrack.data.workspace import add

        ptr = add(repo, path, progress=False)
        return ptr.hash, ptr.algorithm, ptr.size, ptr.files
    state, store = user_caches()
    digest, size, files = _hash_tree(path, state, USER_ALGORITHM, store)
    return digest, USER_ALGORITHM, size, files


def _stamp(info: dict[str, Any]) -> str:
    for key in _CONTENT_KEYS:
        if info.get(key):
            return f"{key.lower()}={str(info[key]).strip(chr(34))}"
    for key in _TIME_KEYS:
        if info.get(key):
            return f"mtime={info[key]}"
    return ""


def fingerprint(target: str | os.PathLike[str]) -> tuple[str, int, int]:
    """(digest, size, files) of a file or folder from its metadata only (``mode="reference"``)."""
    import fsspec

    from flowtrack.data.hashing import hash_bytes

    local = _local_path(target)
    url = str(local.expanduser().resolve()) if local is not None else str(target)
    try:
        fs, root = fsspec.core.url_to_fs(url)
        info = fs.info(root)
        if info.get("type") == "directory":
            found: dict[str, dict[str, Any]] = fs.find(root, detail=True)
            base = root.rstrip("/") + "/"
            files = {p[len(base) :] if p.startswith(base) else p: i for p, i in found.items()}
        else:
            files = {posixpath.basename(root.rstrip("/")): info}
    except FileNotFoundError:
        raise InvalidInputError("path_or_uri", str(target), "does not exist") from None
    except Exception as exc:  # fsspec backends raise anything: credentials, network, ...
        raise FlowtrackError(f"could not read {str(target)!r}: {exc}") from exc
    lines = sorted(f"{rel}\t{int(i.get('size') or 0)}\t{_stamp(i)}" for rel, i in files.items())
    digest = REFERENCE_PREFIX + hash_bytes("\n".join(lines).encode(), "blake3")
    return digest, sum(int(i.get("size") or 0) for i in files.values()), len(files)


def describe(
    target: str | os.PathLike[str], name: str | None = None, mode: str | None = None
) -> Content:
    """The version ``target`` is now; a snapshot also stores its content (see the module doc)."""
    local = _local_path(target)
    if mode is None:
        mode = "snapshot" if local is not None else "reference"
    if mode not in MODES:
        raise InvalidInputError("mode", mode, "must be 'snapshot' or 'reference'")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidInputError("name", name, "must be a non-empty string")
    uri = uri_of(target)
    if mode == "reference":
        digest, size, files = fingerprint(target)
        algorithm = "blake3"
    elif local is None:
        raise InvalidInputError(
            "mode",
            mode,
            f"{str(target)!r} is not a local path; remote data is logged with "
            "mode='reference' (the default for URLs)",
        )
    else:
        path = Path(uri)
        if not path.exists():
            raise InvalidInputError("path_or_uri", str(target), "does not exist")
        try:
            digest, algorithm, size, files = _snapshot(path)
        except OSError as exc:
            raise FlowtrackError(f"could not version {str(target)!r}: {exc}") from exc
    return Content(name or _default_name(target), uri, digest, algorithm, size, files, mode)


def digests_of(target: str | os.PathLike[str]) -> tuple[str, list[str]]:
    """(uri, digests ``target`` may have been logged with), without storing anything: the
    snapshot digest (the data repo's algorithm, and blake3) and the reference fingerprint."""
    local = _local_path(target)
    uri = uri_of(target)
    digests: list[str] = []
    if local is not None:
        path = Path(uri)
        if not path.exists():
            raise InvalidInputError("path_or_uri", str(target), "does not exist")
        repo = _repo_for(path)
        if repo is not None:
            digests.append(_hash_tree(path, repo.state, repo.algorithm, None)[0])
        if repo is None or repo.algorithm != USER_ALGORITHM:
            state, _ = user_caches()
            digests.append(_hash_tree(path, state, USER_ALGORITHM, None)[0])
    digests.append(fingerprint(target)[0])
    return uri, digests


# -- the API ---------------------------------------------------------------------------------


def _log(content: Content, direction: str) -> DatasetVersion:
    state = require_run()
    version = DatasetVersion(
        version_id=version_id_for(content.uri, content.digest),
        name=content.name,
        uri=content.uri,
        digest=content.digest,
        algorithm=content.algorithm,
        size=content.size,
        file_count=content.file_count,
        mode=content.mode,
        created_by_run_id=state.run_id if direction == "output" else None,
        created_time=int(time.time() * 1000),
    )
    dataset: Event = {
        "op": "dataset",
        "run_id": state.run_id,
        "direction": direction,
        "version_id": version.version_id,
        "name": version.name,
        "uri": version.uri,
        "digest": version.digest,
        "algorithm": version.algorithm,
        "size": version.size,
        "file_count": version.file_count,
        "mode": version.mode,
        # The output link below makes the run the creator, if the run is accepted.
        "created_by_run_id": None,
        "created_time": version.created_time,
    }
    link: Event = {
        "op": "run_dataset",
        "run_id": state.run_id,
        "uri": version.uri,
        "digest": version.digest,
        "direction": direction,
    }
    submit(state, [dataset, link])
    return version


@guarded(_NO_VERSION)
def log_input(
    path_or_uri: str | os.PathLike[str], name: str | None = None, mode: str | None = None
) -> DatasetVersion | None:
    """Record that the active run reads this file, folder or URL; return its version.

    ``mode`` is "snapshot" (the default for local paths: hash and keep a copy) or "reference"
    (the default for URLs: fingerprint the metadata, copy nothing). ``name`` defaults to the
    file or folder name. The returned version is the one this call logged; if the same content
    at the same place was logged before, the store keeps the first one's id, time and creator.
    """
    return _log(describe(path_or_uri, name, mode), "input")


@guarded(_NO_VERSION)
def log_output(
    path_or_uri: str | os.PathLike[str], name: str | None = None, mode: str | None = None
) -> DatasetVersion | None:
    """Record that the active run wrote this file, folder or URL; return its version.

    As `log_input`; the first run that logs a version as an output is its creator, which
    ``Client().get_producer(path)`` answers.
    """
    return _log(describe(path_or_uri, name, mode), "output")


@guarded(_NO_VERSION)
def log_object_output(obj: object, name: str) -> DatasetVersion | None:
    """Write ``obj`` with the first serializer that handles it and log the file as an output.

    The file is kept in the user-level cache (``~/.flowtrack/cache``) and that cache path is the
    version's uri, so the same object gives the same version wherever it is logged from. The
    name gets the serializer's suffix ("metrics" -> "metrics.json") unless it has it already.
    """
    from flowtrack.plugins import facade

    if not isinstance(name, str) or not name.strip() or "/" in name or "\\" in name:
        raise InvalidInputError("name", name, "must be a file name (no folders)")
    for spec in facade.serializers():
        try:
            if not spec.handles(obj):
                continue
        except Exception as exc:
            raise FlowtrackError(f"serializer {spec.name!r} failed on {type(obj)}: {exc}") from exc
        file_name = name if name.endswith(spec.suffix) else name + spec.suffix
        with tempfile.TemporaryDirectory(prefix="flowtrack-object-") as tmp:
            path = Path(tmp) / file_name
            try:
                spec.write(obj, path)
                state, store = user_caches()
                digest, size, files = _hash_tree(path, state, USER_ALGORITHM, store)
            except FlowtrackError:
                raise
            except Exception as exc:  # a serializer is plugin code: never break the task
                raise FlowtrackError(
                    f"serializer {spec.name!r} could not write {name!r}: {exc}"
                ) from exc
        content = Content(
            file_name, str(store.path(digest)), digest, USER_ALGORITHM, size, files, "snapshot"
        )
        return _log(content, "output")
    raise InvalidInputError(
        "obj",
        type(obj).__name__,
        "no serializer handles it; write it to a file and use log_output, or register one "
        "with the flowtrack_register_serializers hook",
    )
