"""The artifact store interface: the files of one run, below the run's artifact root."""

from __future__ import annotations

import abc
from pathlib import Path

from flowtrack.entities import FileInfo


class ArtifactStore(abc.ABC):
    """Paths given to these methods are relative to the root and were validated by the caller."""

    root_uri: str

    @abc.abstractmethod
    def log_file(self, local_file: Path, artifact_path: str = "") -> str:
        """Store one file under ``artifact_path/<its name>``; return its relative path."""

    @abc.abstractmethod
    def log_dir(self, local_dir: Path, artifact_path: str = "") -> list[str]:
        """Store a folder's files under ``artifact_path``; return their relative paths."""

    @abc.abstractmethod
    def list(self, path: str = "") -> list[FileInfo]:
        """The direct children of ``path`` (files and folders), sorted by name."""

    @abc.abstractmethod
    def download(self, path: str, dst_dir: Path) -> Path:
        """Copy a file or folder into ``dst_dir``; return the local path of the copy."""
