"""Publishing bytes under a name atomically: the one write path of the cache, the workspace
and local remotes. Readers see the old file or the whole new one, never a partial one."""

from __future__ import annotations

import contextlib
import os


def write_then_rename(tmp: str, final: str, data: bytes, mode: int) -> os.stat_result:
    """Create ``tmp`` (exclusively, with ``mode``), write ``data``, rename it to ``final``.

    ``tmp`` must be in ``final``'s folder, named so that its owner can recognize a leftover.
    Returns the file's stat: the inode and mtime survive the rename.
    """
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return st
