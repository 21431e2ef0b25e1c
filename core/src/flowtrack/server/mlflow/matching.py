"""Filters evaluated in Python, for the few searches the store has no query for (experiments by
tag, logged models). They use the registry's filter parser, so the syntax and its error
messages are those of every other flowtrack search: ``name LIKE 'a%' AND tags.team = 'x'``."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from flowtrack.registry.filters import ATTR, Clause


@lru_cache(maxsize=256)
def _like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if insensitive else 0))


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if actual is None:
        # As in SQL: a missing tag matches no comparison (not even !=).
        return False
    if op == "=":
        return bool(actual == wanted)
    if op == "!=":
        return bool(actual != wanted)
    if op in ("LIKE", "ILIKE"):
        return _like_regex(str(wanted), op == "ILIKE").fullmatch(str(actual)) is not None
    if op == "IN":
        return actual in wanted
    if op == "NOT IN":
        return actual not in wanted
    ordered = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
    return bool(ordered[op](actual, wanted))


def matches(
    clauses: Sequence[Clause], attributes: Mapping[str, Any], tags: Mapping[str, str]
) -> bool:
    return all(
        _compare(
            attributes.get(c.key) if c.kind == ATTR else tags.get(c.key),
            c.op,
            c.value,
        )
        for c in clauses
    )


def sort_items(items: list[Any], keys: Sequence[tuple[Callable[[Any], Any], bool]]) -> None:
    """Sort in place by ``(getter, ascending)`` keys, first key first; None sorts last."""
    for getter, ascending in reversed(keys):
        if ascending:
            items.sort(key=lambda x, g=getter: (g(x) is None, g(x)))  # type: ignore[misc]
        else:
            items.sort(key=lambda x, g=getter: (g(x) is not None, g(x)), reverse=True)  # type: ignore[misc]
