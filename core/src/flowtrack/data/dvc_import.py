"""``flowtrack data import-dvc``: bring a DVC 3 project over without re-hashing or re-uploading.

DVC 3 names objects by md5 under ``files/md5/`` in its cache and remotes, and describes a
folder by a ``.dir`` JSON list of ``{"md5", "relpath"}``. flowtrack with ``hash: md5`` names
files the same way, so file objects are hard-linked from DVC's cache (copied across devices),
and DVC's remotes are registered with ``layout: dvc`` so flowtrack reads them in place. Only
flowtrack's own folder manifests are new; the next ``flowtrack data push`` uploads just those.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowtrack.data.manifest import DIR_SUFFIX, Entry, Manifest
from flowtrack.data.pointer import Pointer, pointer_file_for
from flowtrack.data.repo import DataRepo
from flowtrack.errors import FlowtrackError, InvalidInputError


class DvcImportError(FlowtrackError):
    pass


@dataclass
class ImportResult:
    pointers: list[Path] = field(default_factory=list)
    linked: int = 0
    missing: list[str] = field(default_factory=list)  # objects not in DVC's local cache
    remotes: list[str] = field(default_factory=list)


def _dvc_config(root: Path) -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    for name in ("config", "config.local"):
        path = root / ".dvc" / name
        if path.exists():
            config.read(path)
    return config


def _dvc_cache(root: Path, config: configparser.ConfigParser) -> Path:
    folder = config.get("cache", "dir", fallback=None)
    if folder:
        return (root / ".dvc" / folder).resolve() if not os.path.isabs(folder) else Path(folder)
    return root / ".dvc" / "cache"


def _object(cache: Path, md5: str) -> Path:
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def _outs(dvc_file: Path) -> list[dict[str, Any]]:
    try:
        body = yaml.safe_load(dvc_file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidInputError("DVC file", str(dvc_file), f"is not valid YAML ({exc})") from None
    outs = body.get("outs") if isinstance(body, dict) else None
    if not isinstance(outs, list):
        raise InvalidInputError("DVC file", str(dvc_file), "has no outs list")
    for out in outs:
        if not isinstance(out, dict) or "md5" not in out or "path" not in out:
            raise InvalidInputError("DVC file", str(dvc_file), "has an out without md5 or path")
        if out.get("hash") != "md5":
            raise DvcImportError(
                f"{dvc_file} was written by DVC 2 (legacy md5 with dos2unix); run `dvc cache "
                "migrate --dvc-files` with DVC 3 first, then import again"
            )
    return outs


# DVC's option names -> fsspec's (s3fs); credentials go to config.local.yaml only.
_OPTION_NAMES = {"endpointurl": "endpoint_url", "region": "region_name"}
_SECRET_NAMES = {"access_key_id": "key", "secret_access_key": "secret", "session_token": "token"}


def _remote_options(dvc: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    shared = {"url": dvc["url"]} if "url" in dvc else {}
    shared.update({_OPTION_NAMES[k]: v for k, v in dvc.items() if k in _OPTION_NAMES})
    secret = {_SECRET_NAMES[k]: v for k, v in dvc.items() if k in _SECRET_NAMES}
    return shared, secret


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except FileExistsError:
        return
    except OSError:  # another device: copy, then make it read-only as every object is
        tmp = dst.with_name(dst.name + f".tmp-{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dst)


def _folder(repo: DataRepo, cache: Path, md5: str, result: ImportResult) -> tuple[str, int, int]:
    """Our manifest for DVC's ``md5.dir``; returns (manifest oid, size, file count)."""
    listing = _object(cache, md5 + DIR_SUFFIX)
    if not listing.exists():
        raise DvcImportError(
            f"DVC's folder listing {md5} is not in its cache ({listing}); run `dvc pull` (or "
            "`dvc fetch`) first so its manifest is here"
        )
    rows = json.loads(listing.read_bytes())
    entries = []
    for row in rows:
        oid = row["md5"]
        obj = _object(cache, oid)
        size = int(row.get("size") or (obj.stat().st_size if obj.exists() else 0))
        entries.append(Entry(row["relpath"], oid, size))
        if obj.exists():
            _link(obj, repo.cache.path(oid))
            result.linked += 1
        else:
            result.missing.append(oid)
    manifest = Manifest.build(entries)
    Manifest.from_bytes(manifest.to_bytes(), str(listing))  # paths checked like any manifest
    return repo.cache.put_manifest(manifest), manifest.size, len(entries)


def import_dvc(root: Path) -> ImportResult:
    root = root.resolve()
    if not (root / ".dvc").is_dir():
        raise DvcImportError(f"{root} has no .dvc folder: run this at the root of a DVC project")
    flowtrack_config = root / ".flowtrack" / "config.yaml"
    if flowtrack_config.exists() and DataRepo(root).algorithm != "md5":
        raise DvcImportError(
            "this flowtrack data repo hashes with blake3; DVC's objects are md5. Import into a "
            "repo made with `flowtrack data init --hash md5`"
        )
    config = _dvc_config(root)
    cache = _dvc_cache(root, config)
    result = ImportResult()
    # Read and check every .dvc file first: a bad one stops the import before anything changes.
    planned: list[tuple[Path, str, Path, dict[str, Any]]] = []
    for dvc_file in sorted(root.rglob("*.dvc")):
        inner = dvc_file.relative_to(root).parts
        if not dvc_file.is_file() or ".dvc" in inner[:-1] or ".git" in inner:
            continue
        for out in _outs(dvc_file):
            md5, path = str(out["md5"]), str(out["path"])
            data = (dvc_file.parent / path).resolve()
            if data.parent != dvc_file.parent.resolve():
                raise InvalidInputError("DVC out path", path, f"in {dvc_file} is not beside it")
            planned.append((dvc_file, md5, data, out))
    repo = DataRepo(root) if flowtrack_config.exists() else DataRepo.init(root, "md5")
    for _dvc_file, md5, data, out in planned:
        if md5.endswith(DIR_SUFFIX):
            oid, size, files = _folder(repo, cache, md5.removesuffix(DIR_SUFFIX), result)
        else:
            obj = _object(cache, md5)
            if obj.exists():
                _link(obj, repo.cache.path(md5))
                result.linked += 1
            else:
                result.missing.append(md5)
            oid, size, files = md5, int(out.get("size") or 0), 1
        ptr = Pointer(pointer_file_for(data), data.name, "md5", oid, size, files)
        ptr.write()
        result.pointers.append(ptr.file)
    for section in config.sections():
        name = section.strip("'")
        if name.startswith('remote "') and name.endswith('"'):
            name = name[len('remote "') : -1]
            shared, secret = _remote_options(dict(config[section].items()))
            remotes = dict(repo.config.get("remotes") or {})
            remotes[name] = {**shared, "layout": "dvc"}
            repo.save_config({"remotes": remotes})
            if secret:
                repo.save_config({"remotes": {name: secret}}, local=True)
            result.remotes.append(name)
    default = config.get("core", "remote", fallback=None) or config.get(
        "'core'", "remote", fallback=None
    )
    if default and "default_remote" not in repo.config:
        repo.save_config({"default_remote": default})
    return result
