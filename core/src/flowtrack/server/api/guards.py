"""Input the store would pass to the database unchecked, checked here first.

A value the database cannot hold (an id beyond 32 bits, an offset beyond 64, a NUL character,
which PostgreSQL refuses in text) would fail inside the store as a database error, which
means 503 "try again later": the client would retry for ever. Here it is a 400 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request

from flowtrack.errors import InvalidInputError
from flowtrack.store.paging import decode_token

MAX_ID = 2**31 - 1
MAX_OFFSET = 2**53

VersionNumber = Annotated[int, Path(ge=1, le=MAX_ID)]


def experiment_id(value: Any, field: str = "experiment_id") -> str:
    text = str(value)
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_ID):
        raise InvalidInputError(field, value, "must be an experiment id (a number)")
    return text


def experiment_ids(values: list[str]) -> list[str]:
    return [experiment_id(v, "experiment_ids") for v in values]


def page_token(token: str | None) -> str | None:
    if token and decode_token(token) > MAX_OFFSET:
        raise InvalidInputError("page_token", token, "is not a token returned by a search")
    return token


def no_nul(request: Request) -> None:
    """A router dependency: no NUL character in the path or the query."""
    if "\x00" in request.url.path or "%00" in request.url.query:
        raise InvalidInputError("request", request.url.path, "must not contain NUL characters")


def no_nul_in(value: Any, field: str = "body") -> None:
    """Refuse NUL characters anywhere in a parsed JSON value."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInputError(field, value, "must not contain NUL characters")
    elif isinstance(value, dict):
        for k, v in value.items():
            no_nul_in(k, field)
            no_nul_in(v, f"{field}.{k}")
    elif isinstance(value, list):
        for item in value:
            no_nul_in(item, field)
