"""Discussions: markdown comments on runs, dataset versions and model versions (as DagsHub has).

A comment names its target by kind and key: ``("run", run_id)``,
``("dataset_version", version_id)`` or ``("model_version", "name/3")`` (a model name never holds
a '/', so ``name/version`` is unambiguous, as in ``models:/name/3``). A reply names the comment
it answers; replies to a reply join the thread of the first comment, so threads are one level
deep, as on GitHub and DagsHub. Deleting a comment that has replies keeps its place in the
thread (``deleted``, body emptied), so the replies still read in context.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_positive_int

RUN, DATASET_VERSION, MODEL_VERSION = "run", "dataset_version", "model_version"
TARGET_KINDS = (RUN, DATASET_VERSION, MODEL_VERSION)
# Generous for prose, small enough that a page of comments stays a small answer.
MAX_BODY_LENGTH = 20_000
MAX_KEY_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Comment:
    comment_id: int
    target_kind: str
    # run id, dataset version id, or "name/version" (the model's current name).
    target_id: str
    author: str
    # Markdown, shown rendered (and sanitised) by the web UI; "" once deleted.
    body: str
    created_time: int
    updated_time: int
    # The first comment of the thread this one answers; None for a thread's first comment.
    reply_to: int | None = None
    deleted: bool = False

    @property
    def edited(self) -> bool:
        return self.updated_time > self.created_time


def validate_kind(kind: Any) -> str:
    if kind not in TARGET_KINDS:
        raise InvalidInputError(
            "target_kind", kind, "must be one of run, dataset_version, model_version"
        )
    return str(kind)


def validate_target(kind: Any, key: Any) -> tuple[str, str]:
    """(kind, key) checked for shape; whether the target exists is the store's question."""
    kind = validate_kind(kind)
    if isinstance(key, tuple | list) and kind == MODEL_VERSION and len(key) == 2:
        key = f"{key[0]}/{key[1]}"
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            "target_id", key, f"must be a non-empty string of at most {MAX_KEY_LENGTH} characters"
        )
    if "\x00" in key:
        raise InvalidInputError("target_id", key, "must not contain NUL characters")
    if kind == MODEL_VERSION:
        model_version_key(key)
    return kind, key


def model_version_key(key: str) -> tuple[str, int]:
    """``"name/3"`` -> ("name", 3)."""
    from flowtrack.registry.validation import validate_version

    name, sep, version = key.rpartition("/")
    if not sep or not name:
        raise InvalidInputError(
            "target_id", key, "a model version is named 'model-name/version', e.g. 'churn/3'"
        )
    return name, validate_version(version, "target_id")


def validate_body(body: Any) -> str:
    if not isinstance(body, str):
        raise InvalidInputError("body", body, f"must be a string, not {type(body).__name__}")
    if not body.strip():
        raise InvalidInputError("body", body, "must not be empty")
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInputError(
            "body",
            body,
            f"is {len(body)} characters long; the limit is {MAX_BODY_LENGTH} (attach long text "
            "as an artifact and link to it)",
        )
    if "\x00" in body:
        raise InvalidInputError("body", body, "must not contain NUL characters")
    return body


def validate_comment_id(comment_id: Any) -> int:
    return validate_positive_int(comment_id, "comment_id", 2**53)


def comment_to_dict(c: Comment) -> dict[str, Any]:
    """Every field, in the dataclass's order (the REST and UI answers' shape)."""
    return dataclasses.asdict(c)


def comment_from_dict(d: dict[str, Any]) -> Comment:
    return Comment(
        comment_id=int(d["comment_id"]),
        target_kind=str(d["target_kind"]),
        target_id=str(d["target_id"]),
        author=str(d.get("author") or ""),
        body=str(d.get("body") or ""),
        created_time=int(d["created_time"]),
        updated_time=int(d["updated_time"]),
        reply_to=int(d["reply_to"]) if d.get("reply_to") is not None else None,
        deleted=bool(d.get("deleted")),
    )
