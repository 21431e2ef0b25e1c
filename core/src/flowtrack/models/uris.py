"""Where a model URI points: a local folder to load from, downloaded first if it is remote.

* a local path or ``file://`` URI: used in place;
* ``runs:/<run_id>/<artifact path>``: the run's artifacts, downloaded with the client;
* ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/<stage>``:
  resolved by the registry to the version's source, which is then fetched like any URI;
* any other URL (``s3://``, ``gs://``, ...): downloaded through fsspec.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flowtrack.errors import FlowtrackError, InvalidInputError
from flowtrack.models.errors import ModelIntegrityError
from flowtrack.models.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, ModelManifest
from flowtrack.validation import validate_artifact_path, validate_run_id


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A local model folder; ``temporary`` is the download folder to delete when done."""

    path: Path
    temporary: Path | None = None

    def discard(self) -> None:
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)


def fetch(model_uri: str | os.PathLike[str], _depth: int = 0) -> LocalModel:
    if not isinstance(model_uri, str):
        return LocalModel(Path(model_uri))
    parts = urlsplit(model_uri)
    scheme = parts.scheme.lower()
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter
        return LocalModel(Path(model_uri).expanduser())
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInputError("model URI", model_uri, "must be file:///<absolute path>")
        return LocalModel(Path(unquote(parts.path)))
    if scheme == "runs":
        return _fetch_run(model_uri)
    if scheme == "models":
        if _depth > 0:
            raise InvalidInputError(
                "model URI", model_uri, "a registered version's source cannot be models:/"
            )
        return fetch(_resolve_registered(model_uri), _depth + 1)
    return _fetch_url(model_uri)


def parse_runs_uri(model_uri: str) -> tuple[str, str]:
    """(run_id, artifact path) of ``runs:/<run_id>/<path>``."""
    rest = model_uri.split(":", 1)[1].lstrip("/")
    run_id, _, path = rest.partition("/")
    try:
        return validate_run_id(run_id), validate_artifact_path(path.rstrip("/"))
    except InvalidInputError as exc:
        raise InvalidInputError(
            "model URI", model_uri, f"must be runs:/<run_id>/<artifact path>: {exc}"
        ) from None


def _fetch_run(model_uri: str) -> LocalModel:
    from flowtrack.client import Client

    run_id, path = parse_runs_uri(model_uri)
    tmp = Path(tempfile.mkdtemp(prefix="flowtrack-model-"))
    try:
        local = Client().download_artifacts(run_id, path, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return LocalModel(Path(local), tmp)


def _resolve_registered(model_uri: str) -> str:
    try:
        from flowtrack.registry.uris import resolve_model_uri
    except ImportError as exc:
        raise FlowtrackError(
            f"cannot load {model_uri!r}: this flowtrack has no model registry "
            "(flowtrack.registry.uris is missing)"
        ) from exc
    _, source = resolve_model_uri(model_uri)
    return str(source)


def _fetch_url(model_uri: str) -> LocalModel:
    """Download the manifest, then exactly the files it lists (each path already checked to
    stay inside the folder): a remote listing is never trusted to name local paths."""
    import fsspec
    import yaml

    fs, root = fsspec.core.url_to_fs(model_uri)
    root = root.rstrip("/")
    remote_manifest = f"{root}/{MANIFEST_NAME}"
    if not fs.isfile(remote_manifest):
        raise InvalidInputError(
            "model URI", model_uri, f"has no {MANIFEST_NAME}: it is not a flowtrack model"
        )
    if fs.size(remote_manifest) > MAX_MANIFEST_BYTES:
        raise ModelIntegrityError(MANIFEST_NAME, "is too large to be a manifest")
    text = fs.cat_file(remote_manifest)
    manifest = ModelManifest.from_dict(yaml.safe_load(text))
    tmp = Path(tempfile.mkdtemp(prefix="flowtrack-model-"))
    try:
        target = tmp / "model"
        target.mkdir()
        (target / MANIFEST_NAME).write_bytes(text)
        for entry in manifest.files:
            local = target / entry.path
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root}/{entry.path}", str(local))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return LocalModel(target, tmp)
