"""Discussions over REST, mixed into `RestStore`: each call is one request (comments are
synchronous, like registry changes). ``user`` travels in the ``Flowtrack-User`` header; a server
with authentication on records the authenticated user instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from flowtrack.comments import (
    DATASET_VERSION,
    RUN,
    Comment,
    comment_from_dict,
    model_version_key,
    validate_comment_id,
    validate_target,
)
from flowtrack.entities import PagedList
from flowtrack.store.base import TrackingStore
from flowtrack.store.rest import codec
from flowtrack.store.rest.http import USER_HEADER

if TYPE_CHECKING:
    from flowtrack.store.rest.http import HttpClient

V1 = codec.API_PREFIX


def _q(segment: str) -> str:
    return quote(segment, safe="")


def comments_path(kind: str, key: str) -> str:
    """Where a target's comments live in the API (the path of the target + /comments)."""
    if kind == RUN:
        return f"{V1}/runs/{_q(key)}/comments"
    if kind == DATASET_VERSION:
        return f"{V1}/dataset-versions/{_q(key)}/comments"
    name, version = model_version_key(key)
    return f"{V1}/registered-models/{_q(name)}/versions/{version}/comments"


class RestComments(TrackingStore):
    http: HttpClient

    def add_comment(
        self,
        target_kind: str,
        target_id: str,
        body: str,
        *,
        user: str = "",
        reply_to: int | None = None,
    ) -> Comment:
        kind, key = validate_target(target_kind, target_id)
        headers = {USER_HEADER: quote(user, safe="")} if user else None
        answer = self.http.call(
            "POST",
            comments_path(kind, key),
            body={"body": body, "reply_to": reply_to},
            headers=headers,
        )
        return comment_from_dict(answer)

    def get_comment(self, comment_id: int) -> Comment:
        number = validate_comment_id(comment_id)
        return comment_from_dict(self.http.call("GET", f"{V1}/comments/{number}"))

    def list_comments(
        self,
        target_kind: str,
        target_id: str,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        kind, key = validate_target(target_kind, target_id)
        params: dict[str, object] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        page = self.http.call("GET", comments_path(kind, key), params=params)
        return PagedList(
            [comment_from_dict(c) for c in page["comments"]], page.get("next_page_token")
        )

    def update_comment(self, comment_id: int, body: str) -> Comment:
        number = validate_comment_id(comment_id)
        answer = self.http.call(
            "PATCH", f"{V1}/comments/{number}", body={"body": body}, idempotent=True
        )
        return comment_from_dict(answer)

    def delete_comment(self, comment_id: int) -> None:
        self.http.call("DELETE", f"{V1}/comments/{validate_comment_id(comment_id)}")

    def count_comments(self, target_kind: str, target_ids: Sequence[str]) -> dict[str, int]:
        answer = self.http.call(
            "POST",
            f"{V1}/comments/counts",
            body={"target_kind": target_kind, "target_ids": list(target_ids)},
            idempotent=True,
        )
        return {str(k): int(v) for k, v in answer["counts"].items()}
