"""Where a model version's files may come from: inside its run's artifacts, nowhere else.

MLflow's CVE-2023-1177 class of bug is a version whose source points at files the registry
should not serve (another run's artifacts, /etc, a path climbing out with '..'). The rule:

* ``runs:/<run_id>/<path>``: the path is relative to that run's artifact root; '..', absolute
  paths and percent-encoded escapes (``%2e%2e``, also double-encoded) are refused. With
  ``run_id`` given as well, the URI must name that same run.
* any other source (a local path, ``file://`` or an fsspec URL) needs ``run_id`` and must lie
  inside that run's artifact location: same scheme and host, and a path under the root after
  normalizing, with no '..' segment in any percent-decoding of it.
* without ``run_id`` only ``runs:/`` URIs are accepted: a model kept outside any run is logged
  to a run first.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_artifact_path

RUNS_PREFIX = "runs:/"
MAX_SOURCE_LENGTH = 2000
_RUN_ID_RE = re.compile(r"[0-9a-f]{32}")


class RunsUri(NamedTuple):
    run_id: str
    path: str  # relative to the run's artifact root, "" for the root itself


def is_runs_uri(source: str) -> bool:
    return source.startswith(RUNS_PREFIX)


def run_id_of(source: str) -> str | None:
    """The run id a ``runs:/<run_id>/...`` source names, None for any other source (or a
    malformed id, which `parse_runs_uri` refuses later)."""
    if not is_runs_uri(source):
        return None
    candidate = source[len(RUNS_PREFIX) :].lstrip("/").split("/", 1)[0]
    return candidate if _RUN_ID_RE.fullmatch(candidate) else None


def parse_runs_uri(uri: str, field: str = "source") -> RunsUri:
    """``runs:/<run_id>/<path>`` -> (run_id, clean relative path); escapes are refused."""
    rest = uri[len(RUNS_PREFIX) :] if is_runs_uri(uri) else None
    if rest is None:
        raise InvalidInputError(field, uri, "must be a runs:/<run_id>/<path> URI")
    run_id, _, path = rest.lstrip("/").partition("/")
    if not _RUN_ID_RE.fullmatch(run_id):
        raise InvalidInputError(
            field, uri, "must be runs:/<run_id>/<path> with a 32-hex-character run id"
        )
    return RunsUri(run_id, validate_artifact_path(path, field))


def check_source_text(source: object) -> str:
    if not isinstance(source, str) or not source:
        raise InvalidInputError("source", source, "must be a non-empty string (a runs:/ URI)")
    if len(source) > MAX_SOURCE_LENGTH:
        raise InvalidInputError(
            "source", source, f"is {len(source)} characters long; the limit is 2000"
        )
    if "\x00" in source or "\\" in source:
        raise InvalidInputError("source", source, "must not contain NUL or '\\' characters")
    return source


def storage_location(source: str, run_id: str | None, artifact_uri_of: Callable[[str], str]) -> str:
    """The artifact URI of a source, after checking it lies inside the run's artifacts.

    ``artifact_uri_of(run_id)`` returns a run's artifact root (raising if there is no such
    run); it is called for the run the source belongs to. Raises `InvalidInputError` when the
    source is refused (see the module doc).
    """
    check_source_text(source)
    if is_runs_uri(source):
        ref = parse_runs_uri(source)
        if run_id is not None and ref.run_id != run_id:
            raise InvalidInputError(
                "source",
                source,
                f"names run {ref.run_id} but run_id is {run_id}; a version's source must be "
                "an artifact of its own run",
            )
        return _join(artifact_uri_of(ref.run_id), ref.path)
    if run_id is None:
        raise InvalidInputError(
            "source",
            source,
            "without run_id only runs:/<run_id>/<path> URIs are accepted; log the model to a "
            "run and register runs:/<run_id>/<path>",
        )
    root = artifact_uri_of(run_id)
    if not _inside(source, root):
        raise InvalidInputError(
            "source",
            source,
            f"is not inside the artifact location of run {run_id} ({root}); "
            f"use runs:/{run_id}/<path>",
        )
    return source


def _join(root: str, path: str) -> str:
    return f"{root.rstrip('/')}/{path}" if path else root.rstrip("/")


def _split(uri: str) -> tuple[str, str]:
    """(scheme://host, path) with a local path or file: URI as ("file", absolute path)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file") or (len(parts.scheme) == 1 and uri[1:2] == ":"):
        path = parts.path if parts.scheme == "file" else uri
        return "file", path
    return f"{parts.scheme.lower()}://{parts.netloc}", parts.path


def _inside(source: str, root: str) -> bool:
    root_place, root_path = _split(root)
    root_path = posixpath.normpath(root_path or "/")
    # Every decoding of the source must stay inside, so that neither a reader that decodes
    # (a URL) nor one that does not (a file name) can be led out.
    candidates, text = [source], source
    for _ in range(3):
        text = unquote(text)
        candidates.append(text)
    for candidate in candidates:
        place, path = _split(candidate)
        if place != root_place or not path.startswith("/"):
            return False
        if ".." in path.split("/"):
            return False
        path = posixpath.normpath(path)
        if path != root_path and not path.startswith(root_path.rstrip("/") + "/"):
            return False
    return True
