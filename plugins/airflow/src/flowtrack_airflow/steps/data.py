"""Version a local path or an fsspec URL as an output (or input) of the task's run, and push
a local path's objects to a remote of its data repo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow.sdk.exceptions import AirflowException

from flowtrack_airflow.steps import bad, failing_as, step_run

STEP = "version_data"  # how errors name the step; the operator gives its class name


def _target(step: str, path: Any) -> tuple[str, Path | None]:
    """(path as text, the local path it names or None for a remote URL)."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path.strip():
        raise bad(step, "path", path, "must be a local path or an fsspec URL such as s3://b/k")
    text = path.strip()
    parts = urlsplit(text)
    if parts.scheme == "file":
        return text, Path(unquote(parts.path))
    if len(parts.scheme) > 1:  # a URL; one letter is a Windows drive
        return text, None
    return text, Path(text).expanduser()


def _remote_for(step: str, local: Path, remote: str | None) -> tuple[Any, Any]:
    """(data repo, remote) for a push, checked before anything is versioned."""
    from flowtrack.data.remote import NoRemoteError, Remote
    from flowtrack.data.repo import DataRepo, NotARepoError

    try:
        repo = DataRepo.find(local.resolve().parent)
    except NotARepoError:
        raise bad(
            step,
            "path",
            str(local),
            "is not inside a flowtrack data repo, so it has no remote to push to; run "
            "`flowtrack data init` and `flowtrack data remote add NAME URL` in its repository",
        ) from None
    try:
        with failing_as(step):
            return repo, Remote(repo, remote)
    except NoRemoteError as exc:  # a FlowtrackError, but bad input here
        raise bad(step, "remote", remote, str(exc)) from None


def _check(step: str, remote: Any, push: Any, as_output: Any, name: Any, mode: Any) -> None:
    if not isinstance(push, bool):
        raise bad(step, "push", push, "must be True or False")
    if not isinstance(as_output, bool):
        raise bad(step, "as_output", as_output, "must be True or False")
    if remote is not None and not isinstance(remote, str):
        raise bad(step, "remote", remote, "must be the name of a remote of the data repo")
    if remote is not None and not push:
        raise bad(step, "remote", remote, "is given but push is False; set push=True")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise bad(step, "name", name, "must be a non-empty string")
    if mode is not None and mode not in ("snapshot", "reference"):
        raise bad(step, "mode", mode, "must be 'snapshot', 'reference' or None")
    if push and mode == "reference":
        raise bad(step, "mode", mode, "keeps no copy of the data, so there is nothing to push")


def version_data(
    path: Any,
    remote: str | None = None,
    push: bool = False,
    as_output: bool = True,
    name: str | None = None,
    mode: str | None = None,
    *,
    caller: str = STEP,
) -> dict[str, Any]:
    """Version ``path`` (content digest; a reference fingerprint for remote URLs, as
    ``flowtrack.log_output``) as an output of the task's run (an input with
    ``as_output=False``); with ``push`` send a local path's objects to ``remote`` (the data
    repo's default remote when None).

    Returns ``{"name", "uri", "digest", "version_id", "size", "files", "mode", "remote",
    "pushed"}`` (``pushed``: objects uploaded, None without ``push``)."""
    from flowtrack.data.remote import push as push_objects
    from flowtrack.data.workspace import find_pointers
    from flowtrack.tracking.datasets import _log, describe

    _check(caller, remote, push, as_output, name, mode)
    text, local = _target(caller, path)
    if local is not None and not local.exists():
        raise bad(caller, "path", text, "does not exist")
    target = None
    if push:
        if local is None:
            raise bad(caller, "path", text, "is remote data: push sends local data to a remote")
        target = _remote_for(caller, local, remote)
    with step_run(), failing_as(caller):
        content = describe(text, name, mode)
        version = _log(content, "output" if as_output else "input")
        pushed = None
        if target is not None:
            repo, chosen = target
            result = push_objects(repo, find_pointers(repo, [Path(content.uri)]), chosen)
            if not result.ok:  # the version is recorded; the remote lacks some of its objects
                problems = "; ".join(result.problems())
                raise AirflowException(f"{caller}: push to remote {chosen.name!r}: {problems}")
            pushed = result.transferred
    return {
        "name": version.name,
        "uri": version.uri,
        "digest": version.digest,
        "version_id": version.version_id,
        "size": version.size,
        "files": version.file_count,
        "mode": version.mode,
        "remote": target[1].name if target is not None else None,
        "pushed": pushed,
    }
