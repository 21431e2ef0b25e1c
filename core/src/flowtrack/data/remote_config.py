"""Remote configuration: the ``remotes`` table of ``.flowtrack/config.yaml`` (and its local,
uncommitted twin), kept apart from the transfers in :mod:`flowtrack.data.remote`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from flowtrack.data.repo import CONFIG, LOCAL_CONFIG, DataRepo
from flowtrack.errors import FlowtrackError, InvalidInputError, NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_OPTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_WORDS = ("key", "secret", "password", "token")
ADD_HINT = "add one with `flowtrack data remote add NAME URL`"


class NoRemoteError(FlowtrackError):
    """No remote was named and none is the default."""


def default_jobs() -> int:
    # Transfers wait on the network, not the CPU: several per core, but not a flood.
    return min(16, 4 * (os.cpu_count() or 1))


def is_secret(option: str) -> bool:
    return any(word in option.lower() for word in SECRET_WORDS)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInputError(
            "remote name", name, "may contain only letters, digits, '-' and '_'"
        )
    return name


# --- configuration -------------------------------------------------------------------------


def remotes(repo: DataRepo) -> dict[str, dict[str, Any]]:
    """The configured remotes (config.yaml merged with config.local.yaml)."""
    value = repo.config.get("remotes") or {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InvalidInputError(
            "remotes in .flowtrack/config.yaml", value, "must map each name to {url: URL}"
        )
    return value


def known(repo: DataRepo, name: str) -> dict[str, Any]:
    found = remotes(repo).get(name)
    if found is None:
        names = ", ".join(sorted(remotes(repo))) or "none"
        raise NotFoundError("remote", name, f"the remotes are: {names}; {ADD_HINT}")
    return found


def add_remote(
    repo: DataRepo, name: str, url: str, default: bool = False, local: bool = False
) -> bool:
    """Add a remote; returns True if it became the default (asked for, or the first one)."""
    check_name(name)
    if not url.strip():
        raise InvalidInputError(
            "remote URL", url, "is empty; give a folder path or a URL such as s3://bucket/path"
        )
    if name in remotes(repo):
        raise InvalidInputError(
            "remote name",
            name,
            "is taken; change its URL with `flowtrack data remote modify NAME url URL` "
            "or remove it first",
        )
    changes: dict[str, Any] = {"remotes": {name: {"url": url}}}
    make_default = default or not repo.config.get("default_remote")
    if make_default:
        changes["default_remote"] = name
    repo.save_config(changes, local=local)
    return make_default


def set_default(repo: DataRepo, name: str, local: bool = False) -> None:
    known(repo, check_name(name))
    repo.save_config({"default_remote": name}, local=local)


def modify_remote(
    repo: DataRepo, name: str, option: str, value: str, local: bool = False
) -> str | None:
    """Set an fsspec storage option (or ``url``); returns a warning for a committed secret."""
    known(repo, check_name(name))
    if not _OPTION.match(option):
        raise InvalidInputError(
            "remote option", option, "must be an fsspec storage option name, e.g. endpoint_url"
        )
    # Only booleans are converted: a secret such as "0123" must stay the string it is.
    parsed: Any = {"true": True, "false": False}.get(value.lower(), value)
    repo.save_config({"remotes": {name: {option: parsed}}}, local=local)
    if not local and is_secret(option):
        return (
            f"{option} of remote {name} was written to .flowtrack/{CONFIG}, which is "
            f"committed to git; store credentials with --local (in {LOCAL_CONFIG}) instead"
        )
    return None


def _edit_yaml(path: Path, edit: Callable[[dict[str, Any]], bool]) -> None:
    """Apply ``edit`` to a config file, keeping its leading comments and its mode."""
    if not path.exists():
        return
    text = path.read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not edit(data):
        return
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(header + (yaml.safe_dump(data, sort_keys=False) if data else ""))
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def remove_remote(repo: DataRepo, name: str) -> bool:
    """Remove a remote from both config files; returns True if it was the default."""
    known(repo, check_name(name))
    was_default = repo.config.get("default_remote") == name

    def drop(data: dict[str, Any]) -> bool:
        changed = False
        table = data.get("remotes")
        if isinstance(table, dict) and name in table:
            del table[name]
            if not table:
                del data["remotes"]
            changed = True
        if data.get("default_remote") == name:
            del data["default_remote"]
            changed = True
        return changed

    for filename in (CONFIG, LOCAL_CONFIG):
        _edit_yaml(repo.dir / filename, drop)
    repo.config = DataRepo(repo.root).config
    return was_default
