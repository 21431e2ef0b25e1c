"""The state cache: (inode, mtime_ns, size) -> hash, so an unchanged file is never hashed twice.

One SQLite file per data repo (``.flowtrack/state.db``, never committed). It is loaded into a
dict once per command: a no-op ``status`` of 20,000 files is a tree walk plus dict lookups.
Files that flowtrack writes itself (checkout, pull) are recorded as they are written, so a
fresh clone checked out from the cache is not rehashed either (DVC #9813).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

Entry = tuple[int, int, str]  # mtime_ns, size, hash


class StateCache:
    def __init__(self, path: Path, algorithm: str) -> None:
        self.path = path
        self.algorithm = algorithm
        self._entries: dict[int, Entry] | None = None
        self._dirty: dict[int, Entry] = {}

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS state (inode INTEGER NOT NULL, algorithm TEXT NOT NULL, "
            "mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL, "
            "PRIMARY KEY (inode, algorithm))"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS trees (path TEXT PRIMARY KEY, stamp TEXT NOT NULL, "
            "hash TEXT NOT NULL)"
        )
        return conn

    def load(self) -> dict[int, Entry]:
        if self._entries is None:
            self._entries = {}
            if self.path.exists():
                with contextlib.closing(self._connect()) as conn:
                    rows = conn.execute(
                        "SELECT inode, mtime_ns, size, hash FROM state WHERE algorithm = ?",
                        (self.algorithm,),
                    ).fetchall()
                    self._entries = {ino: (mtime, size, h) for ino, mtime, size, h in rows}
        return self._entries

    def get(self, st: os.stat_result) -> str | None:
        entry = self.load().get(st.st_ino)
        if entry is not None and entry[0] == st.st_mtime_ns and entry[1] == st.st_size:
            return entry[2]
        return None

    def put(self, st: os.stat_result, digest: str) -> None:
        entry = (st.st_mtime_ns, st.st_size, digest)
        self.load()[st.st_ino] = entry
        self._dirty[st.st_ino] = entry

    def put_many(self, items: Iterable[tuple[os.stat_result, str]]) -> None:
        for st, digest in items:
            self.put(st, digest)

    def save(self) -> None:
        if not self._dirty:
            return
        with contextlib.closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO state (inode, algorithm, mtime_ns, size, hash) "
                "VALUES (?, ?, ?, ?, ?)",
                [(ino, self.algorithm, *entry) for ino, entry in self._dirty.items()],
            )
        self._dirty.clear()

    # -- whole trees --------------------------------------------------------------------
    # A tree's stamp hashes every file's relative path, inode, mtime and size. When a walk
    # gives the stamp recorded with a version, the tree is that version: a no-op status
    # needs neither the per-file entries nor the manifest.

    def tree_hash(self, path: str, stamp: str) -> str | None:
        if not self.path.exists():
            return None
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute("SELECT stamp, hash FROM trees WHERE path = ?", (path,)).fetchone()
        return str(row[1]) if row is not None and row[0] == stamp else None

    def put_tree(self, path: str, stamp: str, digest: str) -> None:
        with contextlib.closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO trees (path, stamp, hash) VALUES (?, ?, ?)",
                (path, stamp, digest),
            )
