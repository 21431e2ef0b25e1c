"""Parser of the registry's search filters and orderings, in MLflow's syntax.

``search_registered_models``: ``name = 'churn'``, ``name LIKE 'churn%'``, ``tags.team = 'x'``.
``search_model_versions``: also ``run_id``, ``source`` (or ``source_path``), ``current_stage``,
``user_id`` and ``version_number`` (numeric). Comparisons are joined by AND. Stores compile
the result to their own queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flowtrack.errors import InvalidInputError
from flowtrack.search.grammar import _Token, _tokenize

ATTR, TAG = "attribute", "tag"
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")

MODEL_ATTRIBUTES = {"name": "name"}
VERSION_ATTRIBUTES = {
    "name": "name",
    "run_id": "run_id",
    "source": "source",
    "source_path": "source",
    "current_stage": "current_stage",
    "user_id": "user_id",
    "version_number": "version",
    "version": "version",
}
NUMERIC = frozenset({"version"})

MODEL_ORDER = {
    "name": "name",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
    "timestamp": "last_updated_time",
}
VERSION_ORDER = {**MODEL_ORDER, "version_number": "version", "version": "version"}


@dataclass(frozen=True, slots=True)
class Clause:
    kind: str  # ATTR | TAG
    key: str  # canonical attribute name, or the tag key
    op: str
    value: str | int | tuple[str, ...]


def parse_filter(text: str | None, attributes: dict[str, str]) -> list[Clause]:
    if text is None or not text.strip():
        return []
    tokens = _tokenize(text, "filter_string")
    clauses, i = [], 0
    while True:
        clause, i = _clause(tokens, i, attributes)
        clauses.append(clause)
        token = tokens[i]
        if token.kind == "end":
            return clauses
        if token.kind == "word" and token.text.upper() == "AND":
            i += 1
            continue
        hint = "; OR is not supported, run one search per alternative" if token.text else ""
        raise InvalidInputError(
            "filter_string", token.text, f"expected AND or the end of the filter{hint}"
        )


def _clause(tokens: list[_Token], i: int, attributes: dict[str, str]) -> tuple[Clause, int]:
    ident = tokens[i]
    known = ", ".join(sorted(attributes))
    if ident.kind == "ident" and ident.prefix.lower() in ("tag", "tags"):
        kind, key = TAG, ident.key
    elif ident.kind == "word" and ident.text.lower() in attributes:
        kind, key = ATTR, attributes[ident.text.lower()]
    elif ident.kind == "ident" and ident.prefix.lower() in ("attribute", "attributes", "attr"):
        if ident.key.lower() not in attributes:
            raise InvalidInputError(
                "filter_string", ident.text, f"is not searchable here; use one of {known}"
            )
        kind, key = ATTR, attributes[ident.key.lower()]
    else:
        raise InvalidInputError(
            "filter_string",
            ident.text or "end of text",
            f"expected one of {known} or tags.<key>, e.g. name = 'churn'",
        )
    op, i = _operator(tokens, i + 1)
    numeric = kind == ATTR and key in NUMERIC
    allowed = NUMERIC_OPS if numeric else STRING_OPS
    if op not in allowed:
        raise InvalidInputError(
            "filter_string", op, f"does not apply to {ident.text}; use one of {', '.join(allowed)}"
        )
    value, i = _value(tokens, i)
    if numeric and not isinstance(value, int):
        raise InvalidInputError(
            "filter_string", str(value), f"{ident.text} is compared with an unquoted integer"
        )
    if not numeric and isinstance(value, int):
        raise InvalidInputError(
            "filter_string", str(value), f"{ident.text} is compared with a quoted string"
        )
    if (op in ("IN", "NOT IN")) != isinstance(value, tuple):
        raise InvalidInputError(
            "filter_string",
            op,
            "IN and NOT IN take a list such as ('a', 'b'); other operators a single value",
        )
    return Clause(kind, key, op, value), i


def _operator(tokens: list[_Token], i: int) -> tuple[str, int]:
    token = tokens[i]
    if token.kind == "op" and token.text in NUMERIC_OPS:
        return token.text, i + 1
    word = token.text.upper() if token.kind == "word" else ""
    if word in ("LIKE", "ILIKE", "IN"):
        return word, i + 1
    if word == "NOT" and tokens[i + 1].kind == "word" and tokens[i + 1].text.upper() == "IN":
        return "NOT IN", i + 2
    raise InvalidInputError(
        "filter_string",
        token.text or "end of text",
        "expected an operator (= != > >= < <= LIKE ILIKE IN NOT IN)",
    )


def _value(tokens: list[_Token], i: int) -> tuple[str | int | tuple[str, ...], int]:
    token = tokens[i]
    if token.kind == "string":
        return str(token.literal), i + 1
    if token.kind == "number" and isinstance(token.literal, int):
        return token.literal, i + 1
    if token.kind == "(":
        items: list[str] = []
        i += 1
        while True:
            item, closer = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else tokens[i]
            if item.kind != "string":
                raise InvalidInputError(
                    "filter_string", item.text or "end of text", "expected a quoted string"
                )
            items.append(str(item.literal))
            i += 2
            if closer.kind == ")":
                return tuple(items), i
            if closer.kind != ",":
                raise InvalidInputError(
                    "filter_string", closer.text or "end of text", "expected ',' or ')'"
                )
    raise InvalidInputError(
        "filter_string", token.text or "end of text", "expected a quoted string or an integer"
    )


def parse_order_by(
    order_by: Sequence[str] | None, columns: dict[str, str]
) -> list[tuple[str, bool]]:
    """["name ASC", "version_number DESC"] -> [(column, ascending), ...]."""
    out: list[tuple[str, bool]] = []
    for item in order_by or ():
        words = item.split() if isinstance(item, str) else []
        ascending = True
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            ascending = words[1].upper() == "ASC"
            words = words[:1]
        column = columns.get(words[0].lower()) if len(words) == 1 else None
        if column is None:
            raise InvalidInputError(
                "order_by",
                item,
                f"must be '<column> [ASC|DESC]' with a column among {', '.join(sorted(columns))}",
            )
        out.append((column, ascending))
    return out
