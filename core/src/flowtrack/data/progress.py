"""Progress bars for long data commands: files and bytes, on stderr, only on a terminal."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Bar:
    """``with Bar("Adding", files, total_bytes) as bar: bar.advance(nbytes=n)`` per file.

    Shows files done of all, and, when the byte total is known, bytes, speed and time left.
    """

    def __init__(self, label: str, files: int, size: int, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._by_bytes = size > 0
        self._files_done = 0
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files_done]}/{task.fields[files]} files"),
        ]
        if self._by_bytes:
            columns += [DownloadColumn(), TransferSpeedColumn()]
        self._progress = Progress(
            *columns, TimeRemainingColumn(), disable=not self.enabled, transient=True
        )
        self._task = self._progress.add_task(
            label, total=size if self._by_bytes else files, files=files, files_done=0
        )

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        if self.enabled:
            with self._lock:
                self._files_done += files
                self._progress.update(
                    self._task,
                    advance=nbytes if self._by_bytes else files,
                    files_done=self._files_done,
                )

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
