"""Pointer files (``<path>.ft``): small YAML, committed to git, naming a version of the data.

::

    # flowtrack data pointer: commit this file; `flowtrack data checkout` restores the data
    path: images
    algorithm: blake3
    hash: 4c1f...e2.dir
    size: 20480000
    files: 20000

Keys are written in this order so diffs stay small; unknown keys are an error, as is anything
a hand edit may have broken, reported with the file and the line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowtrack.data.hashing import ALGORITHMS
from flowtrack.data.manifest import DIR_SUFFIX
from flowtrack.errors import FlowtrackError

SUFFIX = ".ft"
HEADER = "# flowtrack data pointer: commit this file; `flowtrack data checkout` restores the data\n"
_HEX = {"blake3": re.compile(r"^[0-9a-f]{64}$"), "md5": re.compile(r"^[0-9a-f]{32}$")}
_KEYS = ("path", "algorithm", "hash", "size", "files")
# The exact text `dump` writes for a plain name: read without importing yaml (~15 ms of every
# command). Anything else, a quoted name or a hand edit, goes through the YAML parser.
_CANONICAL = re.compile(
    r"(?:#[^\n]*\n)*path: ([A-Za-z_][A-Za-z0-9_.\-]*)\nalgorithm: ([a-z0-9]+)\n"
    r"hash: ([0-9a-f]+(?:\.dir)?)\nsize: (0|[1-9][0-9]*)\nfiles: (0|[1-9][0-9]*)\n"
)
# Plain scalars starting with a letter that YAML would not read as a string (a leading digit
# or dot, which could be a number or a date, always goes through the YAML parser).
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null"})


class PointerError(FlowtrackError):
    """A pointer file cannot be read."""

    def __init__(self, file: Path, problem: str, line: int | None = None) -> None:
        where = f"{file}, line {line}" if line else str(file)
        super().__init__(
            f"pointer file {where}: {problem}. Fix the file, or restore it with "
            f"`git checkout -- {file}`"
        )


@dataclass(frozen=True, slots=True)
class Pointer:
    file: Path  # the .ft file
    path: str  # the data, relative to the pointer's folder
    algorithm: str
    hash: str
    size: int
    files: int

    @property
    def is_dir(self) -> bool:
        return self.hash.endswith(DIR_SUFFIX)

    @property
    def data_path(self) -> Path:
        return self.file.parent / self.path

    def dump(self) -> str:
        import yaml

        body: dict[str, Any] = {
            "path": self.path,
            "algorithm": self.algorithm,
            "hash": self.hash,
            "size": self.size,
            "files": self.files,
        }
        return HEADER + yaml.safe_dump(body, sort_keys=False)

    def write(self) -> None:
        tmp = self.file.with_name(f".{self.file.name}.tmp")
        tmp.write_text(self.dump())
        os.replace(tmp, self.file)


def pointer_file_for(data: Path) -> Path:
    return data.with_name(data.name + SUFFIX)


def load(file: Path) -> Pointer:
    try:
        text = file.read_text()
    except OSError as exc:
        raise PointerError(file, f"cannot be read ({exc.strerror})") from exc
    return parse(text, file)


def parse(text: str, file: Path) -> Pointer:
    """A pointer from its text; ``file`` is where it lives (for paths and messages)."""
    fast = _CANONICAL.fullmatch(text)
    if fast and fast[1].lower() not in _YAML_WORDS:
        return _checked(
            {
                "path": fast[1],
                "algorithm": fast[2],
                "hash": fast[3],
                "size": int(fast[4]),
                "files": int(fast[5]),
            },
            text,
            file,
        )
    import yaml

    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Where the broken construct started reads better than where the parser gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PointerError(
            file, f"is not valid YAML ({getattr(exc, 'problem', exc)})", line
        ) from None
    if not isinstance(body, dict):
        raise PointerError(file, "must be a mapping of path, algorithm, hash, size and files")
    return _checked(body, text, file)


def _checked(body: dict[Any, Any], text: str, file: Path) -> Pointer:
    def line_of(key: str) -> int | None:
        for number, row in enumerate(text.splitlines(), 1):
            if row.startswith(f"{key}:"):
                return number
        return None

    unknown = sorted(set(body) - set(_KEYS))
    if unknown:
        raise PointerError(file, f"unknown key {unknown[0]!r}", line_of(unknown[0]))
    missing = [k for k in _KEYS if k not in body]
    if missing:
        raise PointerError(file, f"missing key {missing[0]!r}")
    path, algorithm, digest = body["path"], body["algorithm"], body["hash"]
    if not isinstance(path, str) or not path or "/" in path or path in (".", ".."):
        raise PointerError(
            file, f"path {path!r} must be the name of a file or folder beside it", line_of("path")
        )
    if algorithm not in ALGORITHMS:
        raise PointerError(
            file,
            f"algorithm {algorithm!r} must be one of {', '.join(ALGORITHMS)}",
            line_of("algorithm"),
        )
    if not isinstance(digest, str) or not _HEX[algorithm].match(digest.removesuffix(DIR_SUFFIX)):
        raise PointerError(file, f"hash {digest!r} is not a {algorithm} hash", line_of("hash"))
    for key in ("size", "files"):
        if not isinstance(body[key], int) or isinstance(body[key], bool) or body[key] < 0:
            raise PointerError(file, f"{key} {body[key]!r} must be a whole number", line_of(key))
    return Pointer(file, path, algorithm, digest, body["size"], body["files"])
