"""Large files (above SMALL_FILE): hashed in bounded chunks, hashed while copied into the cache,
and the copy checked before it gets its name."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import blake3
import pytest
from flowtrack.data import objects
from flowtrack.data import workspace as ws
from flowtrack.data.hashing import SMALL_FILE, hash_file
from flowtrack.data.objects import CorruptObjectError
from flowtrack.data.repo import DataRepo

from tests.core.datarepo import make_repo

SIZE = 3 * SMALL_FILE + 12345  # several chunks and a partial last one


def _big(path: Path, size: int = SIZE, seed: int = 1) -> bytes:
    data = hashlib.shake_256(str(seed).encode()).digest(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("algorithm", ["blake3", "md5"])
def test_large_add_hashes_like_the_libraries_and_stores_a_verified_copy(
    tmp_path: Path, algorithm: str
) -> None:
    repo = make_repo(tmp_path / "proj", algorithm)
    data = _big(repo.root / "big.bin")
    expected = (
        blake3.blake3(data).hexdigest()
        if algorithm == "blake3"
        else hashlib.md5(data, usedforsecurity=False).hexdigest()
    )
    assert hash_file(repo.root / "big.bin", algorithm) == expected

    ptr = ws.add(repo, repo.root / "big.bin", progress=False)
    assert ptr.hash == expected and ptr.size == SIZE
    assert repo.cache.path(expected).read_bytes() == data
    assert repo.cache.verify(expected)
    assert not any(repo.cache.tmp.iterdir())  # the temp copy was renamed, nothing left over


def test_a_file_that_changes_while_it_is_copied_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    path = repo.root / "big.bin"
    _big(path)
    before = path.stat()
    _big(path, SIZE + 1, seed=2)  # a writer appended while the copy ran
    with pytest.raises(CorruptObjectError, match="changed while it was being added"):
        repo.cache.add_file(str(path), before)
    assert list(repo.cache.oids()) == []
    assert not any(repo.cache.tmp.iterdir())


def test_a_bad_write_into_the_cache_is_caught_before_the_object_gets_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: the writer thread flips one byte of the second chunk on its way to disk.
    real_write = objects._write_all
    calls = []

    def flaky(fd: int, view: memoryview) -> None:
        calls.append(len(view))
        if len(calls) == 2:
            damaged = bytearray(view)
            damaged[100] ^= 0xFF
            view = memoryview(damaged)
        real_write(fd, view)

    monkeypatch.setattr(objects, "_write_all", flaky)
    repo = make_repo(tmp_path / "proj")
    path = repo.root / "big.bin"
    original = _big(path)
    with pytest.raises(CorruptObjectError, match="does not match what was read"):
        repo.cache.add_file(str(path), path.stat())
    assert len(calls) >= 2
    assert list(repo.cache.oids()) == []
    assert path.read_bytes() == original  # the user's file is only ever read


def test_hashing_a_large_file_keeps_memory_bounded(tmp_path: Path) -> None:
    # A memory map of the whole file (the earlier way) shows the file's size in peak RSS;
    # chunked reads keep the growth to a few chunks whatever the size.
    path = tmp_path / "big.bin"
    size = 256 * 2**20
    with open(path, "wb") as f:
        block = os.urandom(2**20)
        for _ in range(size // len(block)):
            f.write(block)
    script = textwrap.dedent(
        f"""
        import resource
        from flowtrack.data.hashing import hash_file
        hash_file({str(path)!r}, "md5")  # warm-up: imports, allocator
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        hash_file({str(path)!r}, "blake3")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    grown_mib = int(out.strip())
    assert grown_mib < 64, f"peak RSS grew by {grown_mib} MiB hashing a 256 MiB file"


def test_a_large_object_already_in_the_cache_is_kept(tmp_path: Path) -> None:
    repo: DataRepo = make_repo(tmp_path / "proj")
    first = repo.root / "a.bin"
    second = repo.root / "b.bin"
    _big(first)
    _big(second)  # same content, another file
    oid = repo.cache.add_file(str(first), first.stat())
    inode = repo.cache.path(oid).stat().st_ino
    assert repo.cache.add_file(str(second), second.stat()) == oid
    assert repo.cache.path(oid).stat().st_ino == inode
    assert not any(repo.cache.tmp.iterdir())
