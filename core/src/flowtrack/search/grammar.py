"""Parser of MLflow's `search_runs` filter and order_by strings.

A filter is comparisons joined by AND, e.g. ``metrics.auc > 0.9 and params.alpha = '0.5'``.
The parser only checks syntax and types; stores compile the result to their own queries.
Every rejection is an `InvalidInputError` whose value is the offending piece of text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from flowtrack.errors import InvalidInputError

METRIC, PARAM, TAG, ATTRIBUTE = "metric", "param", "tag", "attribute"

# The spellings MLflow accepts before the dot.
_PREFIXES = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
}

STRING_ATTRIBUTES = frozenset(
    {
        "run_id",
        "run_name",
        "status",
        "user_id",
        "artifact_uri",
        "lifecycle_stage",
        "parent_run_id",
        "source_type",
        "experiment_id",
    }
)
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
# MLflow's older or display names of the same attributes.
_ATTRIBUTE_ALIASES = {"run_uuid": "run_id", "created": "start_time", "run name": "run_name"}

NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_ALL_ATTRIBUTES = ", ".join(sorted(STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES))


@dataclass(frozen=True, slots=True)
class Comparison:
    entity: str  # METRIC | PARAM | TAG | ATTRIBUTE
    key: str  # metric/param/tag key as written, or the canonical attribute name
    op: str  # one of NUMERIC_OPS or STRING_OPS
    value: str | float | int | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderBy:
    entity: str
    key: str
    ascending: bool = True


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident | word | string | number | op | ( | ) | , | end
    text: str  # as written, for error messages
    pos: int
    prefix: str = ""  # ident: the part before the first dot
    key: str = ""  # ident: the part after it, unquoted
    literal: str | int | float = ""  # string or number: its value


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]\w*")
# The characters a logged key may hold (validation.py) except space, so that
# `tags.mlflow.runName` and `metrics.train/loss` need no quotes.
_BARE_KEY = re.compile(r"[\w./:-]+")
_OP_CHARS = re.compile(r"[=!<>]+")


def _tokenize(text: str, field: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, size = 0, len(text)
    while pos < size:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        start = pos
        if word := _WORD.match(text, pos):
            pos = word.end()
            if pos < size and text[pos] == ".":
                key, pos = _read_key(text, pos + 1, word.group(), field)
                tokens.append(_Token("ident", text[start:pos], start, word.group(), key))
            else:
                tokens.append(_Token("word", word.group(), start))
        elif char in "'\"":
            value, pos = _read_quoted(text, pos, field, "string value")
            tokens.append(_Token("string", text[start:pos], start, literal=value))
        elif number := _NUMBER.match(text, pos):
            pos = number.end()
            if pos < size and (text[pos].isalnum() or text[pos] in "_."):
                bad = re.match(r"[\w.+-]+", text[start:])
                raise InvalidInputError(
                    field, bad.group() if bad else text[start:], f"is not a number {_at(start)}"
                )
            raw = number.group()
            is_int = re.fullmatch(r"[+-]?\d+", raw) is not None
            tokens.append(_Token("number", raw, start, literal=int(raw) if is_int else float(raw)))
        elif op := _OP_CHARS.match(text, pos):
            pos = op.end()
            tokens.append(_Token("op", op.group(), start))
        elif char in "(),":
            pos += 1
            tokens.append(_Token(char, char, start))
        else:
            raise InvalidInputError(field, char, f"unexpected character {_at(start)}")
    tokens.append(_Token("end", "", size))
    return tokens


def _read_key(text: str, pos: int, prefix: str, field: str) -> tuple[str, int]:
    if pos < len(text) and text[pos] in '`"':
        key, end = _read_quoted(text, pos, field, "key")
    else:
        bare = _BARE_KEY.match(text, pos)
        key, end = (bare.group(), bare.end()) if bare else ("", pos)
    if not key:
        raise InvalidInputError(
            field, text[pos - len(prefix) - 1 : end], f"needs a key after '{prefix}.' {_at(pos)}"
        )
    return key, end


def _read_quoted(text: str, pos: int, field: str, what: str) -> tuple[str, int]:
    """Reads a quoted run starting at `pos`; a doubled quote stands for one, as in SQL."""
    quote, parts, i = text[pos], [], pos + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            raise InvalidInputError(
                field, text[pos:], f"has an unterminated {what}: add the closing {quote}"
            )
        parts.append(text[i:end])
        if text.startswith(quote * 2, end):
            parts.append(quote)
            i = end + 2
            continue
        return "".join(parts), end + 1


def _at(pos: int) -> str:
    return f"(at position {pos})"


def _identifier(token: _Token, field: str) -> tuple[str, str]:
    """(entity, key) of an identifier token; attribute names come back canonical."""
    if token.kind == "ident":
        entity = _PREFIXES.get(token.prefix.lower())
        if entity is None:
            raise InvalidInputError(
                field,
                token.text,
                f"has an unknown prefix '{token.prefix}' {_at(token.pos)}; expected "
                "metrics.<key>, params.<key>, tags.<key> or attributes.<name>",
            )
        if entity != ATTRIBUTE:
            return entity, token.key
        name = token.key
    elif token.kind == "word":
        name = token.text
        if name.lower() in _PREFIXES:
            raise InvalidInputError(
                field, name, f"needs a key {_at(token.pos)}: write {name}.<key>"
            )
    else:
        shown = token.text or "end of text"
        hint = "; grouping with parentheses is not supported" if token.kind == "(" else ""
        raise InvalidInputError(
            field,
            token.text,
            f"expected metrics.<key>, params.<key>, tags.<key> or an attribute name, "
            f"got {shown!r} {_at(token.pos)}{hint}",
        )
    canonical = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
    if canonical not in STRING_ATTRIBUTES and canonical not in NUMERIC_ATTRIBUTES:
        raise InvalidInputError(
            field,
            token.text,
            f"'{name}' is not a searchable attribute {_at(token.pos)}; "
            f"expected one of {_ALL_ATTRIBUTES}",
        )
    return ATTRIBUTE, canonical


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text, "filter")
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: _Token, expected: str) -> InvalidInputError:
        if token.kind == "end":
            before = self.tokens[self.index - 2] if self.index >= 2 else token
            return InvalidInputError(
                "filter", before.text, f"the filter ends after it; expected {expected}"
            )
        return InvalidInputError(
            "filter", token.text, f"expected {expected}, got {token.text!r} {_at(token.pos)}"
        )

    def parse(self) -> list[Comparison]:
        comparisons = [self.comparison()]
        while True:
            token = self.take()
            if token.kind == "end":
                return comparisons
            word = token.text.upper() if token.kind == "word" else ""
            if word == "AND":
                comparisons.append(self.comparison())
            elif word == "OR":
                raise InvalidInputError(
                    "filter",
                    token.text,
                    f"OR is not supported {_at(token.pos)}: comparisons can only be joined "
                    "with AND; run one search per alternative instead",
                )
            else:
                raise self.fail(token, "AND or the end of the filter")

    def comparison(self) -> Comparison:
        ident = self.take()
        if ident.kind == "end":
            raise self.fail(ident, "a comparison such as metrics.auc > 0.9")
        entity, key = _identifier(ident, "filter")
        op_token = self.take()
        op = self.operator(op_token)
        value_token = self.peek()
        value = self.value()
        numeric = entity == METRIC or (entity == ATTRIBUTE and key in NUMERIC_ATTRIBUTES)
        what = {METRIC: "metrics", PARAM: "params", TAG: "tags"}.get(entity, f"attribute {key}")
        allowed = NUMERIC_OPS if numeric else STRING_OPS
        if op not in allowed:
            raise InvalidInputError(
                "filter",
                op_token.text,
                f"operator {op} does not apply to {what} {_at(op_token.pos)}; "
                f"use one of {', '.join(allowed)}",
            )
        if numeric:
            if not isinstance(value, int | float):
                raise InvalidInputError(
                    "filter",
                    value_token.text,
                    f"{what} can only be compared with an unquoted number {_at(value_token.pos)}, "
                    f"e.g. {ident.text} {op} {'0.9' if entity == METRIC else '1700000000000'}",
                )
            return Comparison(entity, key, op, value)
        if op in ("IN", "NOT IN") and not isinstance(value, tuple):
            raise InvalidInputError(
                "filter",
                value_token.text,
                f"{op} takes a parenthesized list of quoted strings such as ('a', 'b') "
                f"{_at(value_token.pos)}",
            )
        if isinstance(value, tuple) and op not in ("IN", "NOT IN"):
            raise InvalidInputError(
                "filter",
                op_token.text,
                f"a parenthesized list needs IN or NOT IN, not {op} {_at(op_token.pos)}",
            )
        if isinstance(value, int | float):
            raise InvalidInputError(
                "filter",
                value_token.text,
                f"{what} can only be compared with quoted strings {_at(value_token.pos)}; "
                f"write '{value_token.text}'",
            )
        return Comparison(entity, key, op, value)

    def operator(self, token: _Token) -> str:
        expected = "a comparison operator (= != > >= < <= LIKE ILIKE IN NOT IN)"
        if token.kind == "op":
            if token.text not in NUMERIC_OPS:
                raise self.fail(token, expected)
            return token.text
        word = token.text.upper() if token.kind == "word" else ""
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            follower = self.take()
            if follower.kind == "word" and follower.text.upper() == "IN":
                return "NOT IN"
            raise self.fail(follower, "IN after NOT (NOT LIKE is not supported)")
        raise self.fail(token, expected)

    def value(self) -> str | float | int | tuple[str, ...]:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.literal
        if token.kind != "(":
            raise self.fail(token, "a quoted string, a number or a parenthesized list")
        items: list[str] = []
        while True:
            item = self.take()
            if item.kind != "string":
                raise self.fail(item, "a quoted string in the IN list")
            assert isinstance(item.literal, str)
            items.append(item.literal)
            closer = self.take()
            if closer.kind == ")":
                return tuple(items)
            if closer.kind != ",":
                raise self.fail(closer, "',' or ')' in the IN list")


def parse_filter(text: str | None) -> list[Comparison]:
    """The comparisons of an MLflow filter string, all of which must hold; [] for none."""
    if text is None or not text.strip():
        return []
    return _FilterParser(text).parse()


def parse_order_by(items: Sequence[str] | None) -> list[OrderBy]:
    """Sort keys such as ``"metrics.auc DESC"``; ascending unless DESC is given."""
    if not items:
        return []
    if isinstance(items, str):
        raise InvalidInputError("order_by", items, "must be a list of strings, not one string")
    result: list[OrderBy] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInputError(
                "order_by", item, "expected an identifier such as 'metrics.auc DESC'"
            )
        tokens = _tokenize(item, "order_by")
        entity, key = _identifier(tokens[0], "order_by")
        ascending = True
        rest = tokens[1:]
        if rest[0].kind == "word" and rest[0].text.upper() in ("ASC", "DESC"):
            ascending = rest[0].text.upper() == "ASC"
            rest = rest[1:]
        if rest[0].kind != "end":
            raise InvalidInputError(
                "order_by",
                rest[0].text,
                f"expected ASC, DESC or nothing after {tokens[0].text} in {item!r}",
            )
        if (entity, key) in seen:
            raise InvalidInputError("order_by", item, "orders by the same field as an earlier item")
        seen.add((entity, key))
        result.append(OrderBy(entity, key, ascending))
    return result
