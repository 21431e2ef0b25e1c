"""Where MLflow 3's LoggedModels are kept: one JSON file per model beside the artifacts.

MLflow 3's ``log_model`` first creates a LoggedModel, uploads the model's files to the
artifact location the server gives it, then marks it READY; registering it sends
``source="models:/<model_id>"``. flowtrack's store has no such entity, so the server keeps
the model's record (name, experiment, source run, status, tags, params) as
``<artifacts destination>/.flowtrack-mlflow/logged-models/<model_id>.json``, a place the
artifact proxy refuses to serve or write. Its files go inside the source run's artifacts, at
``<run artifact root>/<name>`` (MLflow 2's layout), so flowtrack's own client sees them as the
run's artifacts, ``runs:/<run_id>/<name>`` means the same files in both clients, and a version
registered from it passes flowtrack's rule that a version's files are its run's artifacts.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from flowtrack.errors import InvalidInputError, NotFoundError

META_DIR = ".flowtrack-mlflow"
_ID_RE = re.compile(r"m-[0-9a-f]{32}")

PENDING, READY, FAILED = "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"
STATUSES = (PENDING, READY, FAILED)


@dataclass
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    # Where the files are, as the store's run artifact URIs are (a path or an fsspec URL).
    artifact_location: str
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    status: str = PENDING
    model_type: str = ""
    source_run_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def new_model_id() -> str:
    return f"m-{uuid.uuid4().hex}"


def check_model_id(model_id: str) -> str:
    if not _ID_RE.fullmatch(model_id):
        raise InvalidInputError(
            "model_id", model_id, "is not a logged model id (m- and 32 hex characters)"
        )
    return model_id


class LoggedModels:
    """The records of one server's LoggedModels, under its artifacts destination."""

    def __init__(self, destination: str) -> None:
        import fsspec

        self.fs: Any
        self.fs, root = fsspec.core.url_to_fs(destination)
        self.dir = f"{root.rstrip('/')}/{META_DIR}/logged-models"
        protocol = self.fs.protocol
        self.local = "file" in (protocol if isinstance(protocol, tuple) else (protocol,))
        # Read-modify-write of one record (tags, status) is serialized within this process.
        self.lock = threading.Lock()

    def _path(self, model_id: str) -> str:
        return f"{self.dir}/{check_model_id(model_id)}.json"

    def save(self, model: LoggedModel) -> None:
        path = self._path(model.model_id)
        data = json.dumps(asdict(model), sort_keys=True).encode()
        self.fs.makedirs(self.dir, exist_ok=True)
        if self.local:
            # Readers never see half a record: write beside it, then rename over it.
            tmp = f"{path}.tmp-{uuid.uuid4().hex}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)

    def get(self, model_id: str) -> LoggedModel:
        path = self._path(model_id)
        try:
            raw = self.fs.cat_file(path)
        except FileNotFoundError:
            raise NotFoundError(
                "logged model", model_id, "it was never created on this server"
            ) from None
        return LoggedModel(**json.loads(raw))

    def all(self) -> list[LoggedModel]:
        try:
            names = self.fs.ls(self.dir, detail=False)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            model_id = str(name).rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
            if _ID_RE.fullmatch(model_id):
                try:
                    out.append(self.get(model_id))
                except NotFoundError:  # deleted meanwhile
                    continue
        return out

    def delete(self, model_id: str) -> None:
        path = self._path(model_id)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            raise NotFoundError("logged model", model_id) from None


_instances: dict[str, LoggedModels] = {}
_instances_lock = threading.Lock()


def logged_models(destination: str) -> LoggedModels:
    """One `LoggedModels` per destination, so its lock is shared by the server's threads."""
    with _instances_lock:
        found = _instances.get(destination)
        if found is None:
            found = _instances[destination] = LoggedModels(destination)
        return found
