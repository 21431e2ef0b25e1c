"""Opaque page tokens (an offset today; opaque so it can become a keyset cursor later)."""

from __future__ import annotations

import base64
import json

from flowtrack.errors import InvalidInputError


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError("page_token", token, "is not a token returned by a search") from exc
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInputError("page_token", token, "is not a token returned by a search")
    return offset
