"""A model directory's files, checked against the manifest before anything is deserialized.

`ModelFiles.open` reads the manifest and verifies every listed file: it exists, is a regular
file inside the directory (no symlink out of it), and has the recorded size and blake3 hash.
Only then does a flavor get the files, and ``read_bytes`` checks the bytes it hands over once
more, so a file swapped after the check is refused too. A file the manifest does not list is
ignored (and logged): it is never read.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from flowtrack.data.hashing import hash_bytes, hash_file
from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.models.errors import ModelIntegrityError
from flowtrack.models.manifest import (
    HASH_ALGORITHM,
    MANIFEST_NAME,
    FileEntry,
    ModelManifest,
    check_relative,
)

log = logging.getLogger("flowtrack.models")


def hash_tree(directory: Path) -> tuple[FileEntry, ...]:
    """Entries for every file below ``directory`` but the manifest, sorted by path."""
    entries = []
    for path in sorted(directory.rglob("*")):
        mode = path.lstat().st_mode
        relative = path.relative_to(directory).as_posix()
        if stat.S_ISLNK(mode):
            raise InvalidInputError(
                "model file", relative, "is a symbolic link; a model holds regular files only"
            )
        if stat.S_ISDIR(mode) or relative == MANIFEST_NAME:
            continue
        size = path.stat().st_size
        entries.append(FileEntry(relative, hash_file(path, HASH_ALGORITHM, size), size))
    return tuple(entries)


class ModelFiles:
    """The verified files of a model directory; flavors read through this and nothing else."""

    def __init__(self, root: Path, manifest: ModelManifest) -> None:
        self.root = root
        self.manifest = manifest

    @classmethod
    def open(cls, root: Path) -> ModelFiles:
        """Read the manifest and verify every file; `ModelIntegrityError` on any mismatch."""
        root = Path(root)
        if not root.exists():
            raise NotFoundError("model", str(root), "no file or folder is there")
        if not root.is_dir():
            raise InvalidInputError(
                "model path", str(root), f"is a file; a model is a folder with {MANIFEST_NAME}"
            )
        files = cls(root, ModelManifest.read(root))
        files.verify()
        return files

    @property
    def names(self) -> list[str]:
        return [f.path for f in self.manifest.files]

    def verify(self) -> None:
        real_root = self.root.resolve()
        for entry in self.manifest.files:
            path = self._inside(entry.path, real_root)
            if path.stat().st_size != entry.size:
                raise ModelIntegrityError(
                    entry.path,
                    f"has {path.stat().st_size} bytes, not the {entry.size} of the manifest: "
                    "it was changed or truncated; refusing to load the model",
                )
            if hash_file(path, self.manifest.hash_algorithm, entry.size) != entry.hash:
                raise ModelIntegrityError(
                    entry.path,
                    "does not match its hash in the manifest: it was changed after the "
                    "model was saved; refusing to load the model",
                )
        self._report_extras()

    def _inside(self, name: str, real_root: Path) -> Path:
        try:
            check_relative(name)
        except InvalidInputError as exc:
            raise ModelIntegrityError(name, f"is not a path inside the model: {exc}") from None
        path = self.root / name
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            raise ModelIntegrityError(
                name, "is listed in the manifest but missing; refusing to load the model"
            ) from None
        if not stat.S_ISREG(mode):
            raise ModelIntegrityError(name, "is not a regular file (a link or a folder)")
        # A parent folder could still be a symlink that leads out of the model.
        if not path.resolve().is_relative_to(real_root):
            raise ModelIntegrityError(name, "lies outside the model folder")
        return path

    def _report_extras(self) -> None:
        listed = {*self.names, MANIFEST_NAME}
        for dirpath, _, filenames in os.walk(self.root):
            for filename in filenames:
                relative = (Path(dirpath) / filename).relative_to(self.root).as_posix()
                if relative not in listed:
                    log.warning(
                        "model %s: file %r is not in the manifest; ignored", self.root, relative
                    )

    def _entry(self, name: str) -> FileEntry:
        entry = self.manifest.file(name)
        if entry is None:
            raise ModelIntegrityError(
                name, f"is not listed in the manifest (it lists {', '.join(self.names)})"
            )
        return entry

    def path(self, name: str) -> Path:
        """The local path of a listed, verified file."""
        return self.root / self._entry(name).path

    def read_bytes(self, name: str) -> bytes:
        """A listed file's bytes, checked against the manifest's hash as they are handed over."""
        entry = self._entry(name)
        data = self.path(name).read_bytes()
        if hash_bytes(data, self.manifest.hash_algorithm) != entry.hash:
            raise ModelIntegrityError(
                name, "changed since it was verified; refusing to deserialize it"
            )
        return data
