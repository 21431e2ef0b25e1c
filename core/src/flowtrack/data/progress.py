"""Progress bars for long data commands: files and bytes, on stderr, only on a terminal."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Bar:
    """``with Bar("Adding", total_files, total_bytes) as bar: bar.advance(n_bytes)``."""

    def __init__(self, label: str, files: int, size: int, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            disable=not self.enabled,
            transient=True,
        )
        self._files = self._progress.add_task(label, total=files)
        self._size = size

    def advance(self, files: int = 1) -> None:
        if self.enabled:
            with self._lock:
                self._progress.advance(self._files, files)

    def __enter__(self) -> Bar:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)
