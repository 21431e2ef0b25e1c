"""A data repo: a git work tree with a ``.flowtrack/`` folder.

``.flowtrack/config.yaml`` is committed (hash algorithm, link types, remotes);
``.flowtrack/config.local.yaml`` is not (credentials, machine-specific settings) and wins over
it; ``.flowtrack/cache/`` holds the objects and ``.flowtrack/state.db`` the state cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from flowtrack.data.hashing import check_algorithm
from flowtrack.data.links import parse_link_types
from flowtrack.data.objects import ObjectStore
from flowtrack.data.state import StateCache
from flowtrack.errors import FlowtrackError, InvalidInputError

DIRNAME = ".flowtrack"
CONFIG = "config.yaml"
LOCAL_CONFIG = "config.local.yaml"
_IGNORED = "/cache/\n/tmp/\n/state.db*\n/config.local.yaml\n"
_HEADER = (
    "# flowtrack data settings (committed). Machine-specific settings and\n"
    "# credentials go in config.local.yaml, which git ignores.\n"
)


class NotARepoError(FlowtrackError):
    pass


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise InvalidInputError("config file", str(path), "must be a YAML mapping")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class DataRepo:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.dir = self.root / DIRNAME
        self.config = _merge(_read_yaml(self.dir / CONFIG), _read_yaml(self.dir / LOCAL_CONFIG))
        self.algorithm = check_algorithm(self.config.get("hash", "blake3"))
        self.link_types = parse_link_types(self.config.get("link_type"))
        cache_dir = self.config.get("cache_dir")
        self.cache = ObjectStore(
            Path(cache_dir) if cache_dir else self.dir / "cache", self.algorithm
        )
        self.state = StateCache(self.dir / "state.db", self.algorithm)

    @classmethod
    def find(cls, start: Path | None = None) -> DataRepo:
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / DIRNAME / CONFIG).is_file():
                return cls(folder)
        raise NotARepoError(
            f"{here} is not inside a flowtrack data repo; run `flowtrack data init` at the "
            "root of your git repository"
        )

    @classmethod
    def init(cls, root: Path, algorithm: str = "blake3") -> DataRepo:
        check_algorithm(algorithm)
        folder = root / DIRNAME
        folder.mkdir(exist_ok=True)
        config = folder / CONFIG
        if not config.exists():
            config.write_text(_HEADER + yaml.safe_dump({"hash": algorithm}, sort_keys=False))
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text(_IGNORED)
        return cls(root)

    def relpath(self, path: Path) -> str:
        return os.path.relpath(path.resolve(), self.root)

    def inside(self, path: Path) -> Path:
        """``path`` resolved, if it is inside the repo and not in .git or .flowtrack."""
        resolved = path.resolve()
        try:
            relative = resolved.relative_to(self.root)
        except ValueError:
            raise InvalidInputError(
                "path", str(path), f"is outside the data repo at {self.root}"
            ) from None
        if relative.parts and relative.parts[0] in (".git", DIRNAME):
            raise InvalidInputError("path", str(path), f"is inside {relative.parts[0]}/")
        if not relative.parts:
            raise InvalidInputError(
                "path", str(path), "is the repo itself; add a file or folder in it"
            )
        return resolved

    def save_config(self, changes: dict[str, Any], local: bool = False) -> None:
        path = self.dir / (LOCAL_CONFIG if local else CONFIG)
        data = _merge(_read_yaml(path), changes)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(("" if local else _HEADER) + yaml.safe_dump(data, sort_keys=False))
        if local:
            os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        self.config = _merge(_read_yaml(self.dir / CONFIG), _read_yaml(self.dir / LOCAL_CONFIG))


def ignore_in_git(data: Path) -> bool:
    """Add ``/<name>`` to the .gitignore beside ``data``; False if it was there already."""
    gitignore = data.parent / ".gitignore"
    line = f"/{data.name}"
    existing = gitignore.read_text().splitlines() if gitignore.exists() else []
    if line in existing:
        return False
    text = "\n".join([*existing, line]) + "\n"
    gitignore.write_text(text)
    return True
