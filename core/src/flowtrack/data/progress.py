"""Progress bars for long data commands: files and bytes, on stderr, only on a terminal."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any


class Bar:
    """``with Bar("Adding", files, total_bytes) as bar: bar.advance(nbytes=n)`` per file.

    Shows files done of all, and, when the byte total is known, bytes, speed and time left.
    """

    def __init__(self, label: str, files: int, size: int, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._by_bytes = size > 0
        self._files_done = 0
        self._progress: Any = None
        if self.enabled:
            # rich costs ~35 ms to import: a status in a script or CI shows no bar, pays nothing.
            self._progress, self._task = _make(label, files, size, self._by_bytes)

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        if self._progress is not None:
            with self._lock:
                self._files_done += files
                self._progress.update(
                    self._task,
                    advance=nbytes if self._by_bytes else files,
                    files_done=self._files_done,
                )

    def __enter__(self) -> Bar:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)


def _make(label: str, files: int, size: int, by_bytes: bool) -> tuple[Any, Any]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns: list[ProgressColumn] = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files_done]}/{task.fields[files]} files"),
    ]
    if by_bytes:
        columns += [DownloadColumn(), TransferSpeedColumn()]
    progress = Progress(*columns, TimeRemainingColumn(), transient=True)
    task = progress.add_task(label, total=size if by_bytes else files, files=files, files_done=0)
    return progress, task
