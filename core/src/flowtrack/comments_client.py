"""The discussion half of `flowtrack.Client` (Client inherits it): comments on runs, dataset
versions and model versions.

A target is named by its kind and key: ``add_comment("run", run_id, "text")``,
``add_comment("dataset_version", version_id, ...)``, ``add_comment("model_version", "churn/3",
...)`` (or ``("churn", 3)``). Comments are written at once (not through the journal); the
author is the authenticated user on a server with ``--auth``, else ``FLOWTRACK_USER`` or the
login name.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowtrack.comments import Comment, validate_target
from flowtrack.entities import PagedList
from flowtrack.registry.audit import current_user
from flowtrack.store.base import TrackingStore
from flowtrack.tracking.stores import get_store
from flowtrack.tracking.writer import get_writer

Target = str | tuple[str, int] | tuple[str, str]


class CommentsClient:
    tracking_uri: str

    def _comments(self) -> TrackingStore:
        # A run logged by this process a moment ago must exist before it is commented on.
        get_writer(self.tracking_uri).flush()
        return get_store(self.tracking_uri)

    def add_comment(
        self, target_kind: str, target_id: Target, body: str, reply_to: int | None = None
    ) -> Comment:
        """Post a markdown comment; ``reply_to`` answers another comment on the same target."""
        kind, key = validate_target(target_kind, target_id)
        return self._comments().add_comment(kind, key, body, user=current_user(), reply_to=reply_to)

    def list_comments(
        self,
        target_kind: str,
        target_id: Target,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        """A page of the target's comments, oldest first (``.items``, ``.token``)."""
        kind, key = validate_target(target_kind, target_id)
        return self._comments().list_comments(kind, key, max_results, page_token)

    def get_comment(self, comment_id: int) -> Comment:
        return self._comments().get_comment(comment_id)

    def update_comment(self, comment_id: int, body: str) -> Comment:
        """Replace a comment's text (with ``--auth``: its author or an admin only)."""
        return self._comments().update_comment(comment_id, body)

    def delete_comment(self, comment_id: int) -> None:
        """Delete a comment (with ``--auth``: its author or an admin only)."""
        self._comments().delete_comment(comment_id)

    def count_comments(self, target_kind: str, target_ids: Sequence[Target]) -> dict[str, int]:
        keys = [validate_target(target_kind, t)[1] for t in target_ids]
        return self._comments().count_comments(target_kind, keys)
