"""The model manifest, ``flowtrack-model.yaml``: what a model directory holds and how to load it.

It is read with ``yaml.safe_load`` (no Python objects) and every field is checked before any
of it is used; a file path that is absolute, climbs out with ``..`` or hides either behind
URL encoding is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from flowtrack.errors import InvalidInputError
from flowtrack.models.errors import ModelIntegrityError
from flowtrack.models.signature import ModelSignature
from flowtrack.validation import validate_artifact_path

MANIFEST_NAME = "flowtrack-model.yaml"
REQUIREMENTS_NAME = "requirements.txt"
FORMAT_VERSION = 1
HASH_ALGORITHM = "blake3"
# A manifest is a few kilobytes; anything this big is not one (and is not parsed).
MAX_MANIFEST_BYTES = 16 * 2**20


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    hash: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "hash": self.hash, "size": self.size}


@dataclass(frozen=True)
class ModelManifest:
    """The parsed manifest. ``flavor`` is the flavor the model was saved with; ``flavors``
    maps every flavor that can load it to that flavor's config."""

    model_uuid: str
    created_at: str
    flavor: str
    flavors: dict[str, dict[str, Any]]
    files: tuple[FileEntry, ...]
    requirements: tuple[str, ...] = ()
    signature: ModelSignature | None = None
    input_example: dict[str, str] | None = None
    python_version: str = ""
    flowtrack_version: str = ""
    run_id: str | None = None
    artifact_path: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    hash_algorithm: str = HASH_ALGORITHM

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "model_uuid": self.model_uuid,
            "created_at": self.created_at,
            "flowtrack_version": self.flowtrack_version,
            "python_version": self.python_version,
            "run_id": self.run_id,
            "artifact_path": self.artifact_path,
            "flavor": self.flavor,
            "flavors": self.flavors,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "requirements": list(self.requirements),
            "metadata": self.metadata,
            "hash_algorithm": self.hash_algorithm,
            "files": [f.to_dict() for f in self.files],
        }

    def to_yaml(self) -> str:
        return str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    def write(self, directory: Path) -> None:
        (directory / MANIFEST_NAME).write_text(self.to_yaml(), encoding="utf-8")

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == path), None)

    def with_location(self, run_id: str | None, artifact_path: str | None) -> ModelManifest:
        return replace(self, run_id=run_id, artifact_path=artifact_path)

    @classmethod
    def read(cls, directory: Path) -> ModelManifest:
        path = directory / MANIFEST_NAME
        try:
            size = path.stat().st_size
            if size > MAX_MANIFEST_BYTES:
                raise ModelIntegrityError(MANIFEST_NAME, f"is {size} bytes; not a manifest")
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelIntegrityError(
                MANIFEST_NAME,
                f"is missing from {directory}: it is not a flowtrack model directory",
            ) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ModelIntegrityError(MANIFEST_NAME, f"cannot be read: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ModelManifest:
        try:
            return _parse(data)
        except InvalidInputError as exc:
            raise ModelIntegrityError(MANIFEST_NAME, f"is not valid: {exc}") from None


def check_relative(path: Any, field: str = "file path") -> str:
    """A path inside the model directory: relative, '/'-separated, nothing to normalize."""
    if not isinstance(path, str) or not path:
        raise InvalidInputError(field, path, "must be a non-empty string")
    if validate_artifact_path(path, field) != path:
        raise InvalidInputError(field, path, "must be a plain relative path ('a/b.pkl')")
    if path == MANIFEST_NAME:
        raise InvalidInputError(field, path, "is the manifest itself")
    return path


def _mapping(data: Any, field: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise InvalidInputError(field, data, "must be a mapping with string keys")
    return dict(data)


def _text(data: Mapping[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidInputError(key, value, "must be a non-empty string")
    return value


def _files(raw: Any) -> tuple[FileEntry, ...]:
    if not isinstance(raw, list):
        raise InvalidInputError("files", raw, "must be a list")
    entries: dict[str, FileEntry] = {}
    for raw_item in raw:
        item = _mapping(raw_item, "files entry")
        path = check_relative(item.get("path"))
        digest, size = item.get("hash"), item.get("size")
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise InvalidInputError(f"hash of {path!r}", digest, "must be 64 hex characters")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInputError(f"size of {path!r}", size, "must be a non-negative int")
        if path in entries:
            raise InvalidInputError("files", path, "is listed twice")
        entries[path] = FileEntry(path, digest, size)
    return tuple(entries.values())


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _parse(raw: Any) -> ModelManifest:
    data = _mapping(raw, "manifest")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InvalidInputError("format_version", version, "must be a positive int")
    if version > FORMAT_VERSION:
        raise InvalidInputError(
            "format_version",
            version,
            f"is newer than this flowtrack reads ({FORMAT_VERSION}); upgrade flowtrack",
        )
    if data.get("hash_algorithm") != HASH_ALGORITHM:
        raise InvalidInputError("hash_algorithm", data.get("hash_algorithm"), "must be blake3")
    flavors = _mapping(data.get("flavors"), "flavors")
    if not flavors:
        raise InvalidInputError("flavors", flavors, "must name at least one flavor")
    configs = {name: _mapping(config, f"flavors.{name}") for name, config in flavors.items()}
    flavor = _text(data, "flavor")
    if flavor not in configs:
        raise InvalidInputError("flavor", flavor, f"is not one of the flavors {list(configs)}")
    example = data.get("input_example")
    if example is not None:
        example = {k: str(v) for k, v in _mapping(example, "input_example").items()}
        check_relative(example.get("path"), "input_example.path")
    requirements = data.get("requirements") or []
    if not isinstance(requirements, list) or not all(isinstance(r, str) for r in requirements):
        raise InvalidInputError("requirements", requirements, "must be a list of strings")
    signature = data.get("signature")
    artifact_path = data.get("artifact_path")
    return ModelManifest(
        format_version=version,
        model_uuid=_text(data, "model_uuid"),
        created_at=_text(data, "created_at"),
        flowtrack_version=_text(data, "flowtrack_version", required=False),
        python_version=_text(data, "python_version", required=False),
        run_id=_text(data, "run_id", required=False) or None,
        artifact_path=None if artifact_path is None else str(artifact_path),
        flavor=flavor,
        flavors=configs,
        signature=None if signature is None else ModelSignature.from_dict(signature),
        input_example=example,
        requirements=tuple(requirements),
        metadata=_mapping(data.get("metadata"), "metadata"),
        hash_algorithm=HASH_ALGORITHM,
        files=_files(data.get("files")),
    )


def check_jsonable(value: Any, field: str) -> Any:
    """``value`` if it is plain data (it goes into YAML and JSON as it is)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(field, value, f"must be plain JSON-able data: {exc}") from None
    return value
