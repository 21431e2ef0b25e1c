"""import-dvc on a project in DVC 3's on-disk format, with a remote in DVC's layout.

DVC itself is not installed in the test environment (it is heavy and pins its own stack), so
the fixture writes the files DVC 3 writes: `<out>.dvc` (md5, size, nfiles, hash: md5, path),
`.dvc/config`, the cache under `files/md5/`, and `.dir` listings of {"md5", "relpath"}.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack.data import pointer as pointers
from flowtrack.data.dvc_import import DvcImportError, import_dvc
from flowtrack.data.repo import DataRepo

from tests.core.datarepo import git, read_tree, write_tree


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _store(base: Path, md5: str, data: bytes) -> None:
    path = base / "files" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def dvc_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, dict[str, bytes]]:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    remote = tmp_path / "dvc-remote"
    files = write_tree(root / "data", 9)
    (root / "model.pkl").write_bytes(b"model bytes")
    cache = root / ".dvc" / "cache"
    listing = []
    for rel, data in sorted(files.items()):
        md5 = _md5(data)
        _store(cache, md5, data)
        _store(remote, md5, data)  # as `dvc push` left it
        listing.append({"md5": md5, "relpath": rel})
    dir_bytes = json.dumps(listing).encode()
    dir_md5 = _md5(dir_bytes)
    _store(cache, dir_md5 + ".dir", dir_bytes)
    _store(remote, dir_md5 + ".dir", dir_bytes)
    _store(cache, _md5(b"model bytes"), b"model bytes")
    _store(remote, _md5(b"model bytes"), b"model bytes")
    (root / ".dvc" / "config").write_text(
        f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = {remote}\n"
    )
    (root / "data.dvc").write_text(
        f"outs:\n- md5: {dir_md5}.dir\n  size: {sum(map(len, files.values()))}\n  nfiles: 9\n"
        "  hash: md5\n  path: data\n"
    )
    (root / "model.pkl.dvc").write_text(
        f"outs:\n- md5: {_md5(b'model bytes')}\n  size: 11\n  hash: md5\n  path: model.pkl\n"
    )
    monkeypatch.chdir(root)
    return root, remote, files


def test_import_then_use_the_dvc_remote_without_reuploading(
    dvc_project: tuple[Path, Path, dict[str, bytes]],
) -> None:
    root, remote, files = dvc_project
    runner = CliRunner()
    out = runner.invoke(cli, ["data", "import-dvc"])
    assert out.exit_code == 0, out.output
    assert "Imported 2 DVC outputs; linked 10 objects" in out.output
    data_ptr = pointers.load(root / "data.ft")
    assert (data_ptr.algorithm, data_ptr.files) == ("md5", 9)
    assert pointers.load(root / "model.pkl.ft").hash == _md5(b"model bytes")
    assert runner.invoke(cli, ["data", "status"]).output.strip() == (
        "Data and pointer files are up to date."
    )
    before = {p for p in remote.rglob("*") if p.is_file()}

    out = runner.invoke(cli, ["data", "push"])
    assert out.exit_code == 0, out.output
    added = {p for p in remote.rglob("*") if p.is_file()} - before
    assert [p.name[-4:] for p in added] == [".dir"]  # only flowtrack's manifest went up

    shutil.rmtree(root / ".flowtrack" / "cache")
    shutil.rmtree(root / "data")
    (root / "model.pkl").unlink()
    out = runner.invoke(cli, ["data", "pull"])
    assert out.exit_code == 0, out.output
    assert read_tree(root / "data") == files
    assert (root / "model.pkl").read_bytes() == b"model bytes"
    assert DataRepo(root).config["remotes"]["storage"]["layout"] == "dvc"


def test_dvc2_files_are_refused_with_what_to_do(
    dvc_project: tuple[Path, Path, dict[str, bytes]],
) -> None:
    root, _, _ = dvc_project
    text = (root / "model.pkl.dvc").read_text().replace("  hash: md5\n", "")
    (root / "model.pkl.dvc").write_text(text)
    with pytest.raises(DvcImportError, match="dvc cache migrate"):
        import_dvc(root)
    assert not (root / ".flowtrack").exists() and not (root / "data.ft").exists()  # unchanged


def test_blake3_repo_is_refused(dvc_project: tuple[Path, Path, dict[str, bytes]]) -> None:
    root, _, _ = dvc_project
    DataRepo.init(root, "blake3")
    out = CliRunner().invoke(cli, ["data", "import-dvc"])
    assert out.exit_code == 1 and "flowtrack data init --hash md5" in out.output
