"""Lambda event filtering (`FilterCriteria`) for event source mappings, as AWS applies it.

A mapping's `FilterCriteria` holds up to five `{"Pattern": "<json>"}` filters; a record is
delivered when any pattern matches it, and dropped (and checkpointed past) otherwise. A
pattern mirrors the record's structure: an object key narrows into the record, and a list
of conditions is a leaf that matches when any condition does. Conditions: a literal
(string, number, boolean or null, matched exactly), `{"prefix": s}`, `{"suffix": s}`,
`{"equals-ignore-case": s}`, `{"anything-but": value, [values] or {"prefix"|"suffix": s}}`,
`{"numeric": [op, n, (op, n)]}` with `=`, `<`, `<=`, `>`, `>=`, and `{"exists": bool}`;
`{"$or": [pattern, ...]}` at any object level. A record value that is a list matches when
any element does.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()


class FilterError(ValueError):
    """A `FilterCriteria` that Lambda would refuse."""


Pattern = dict[str, Any]


def parse(criteria: Any) -> list[Pattern]:
    """The patterns of a `FilterCriteria` (`[]`: none, deliver everything); `FilterError` if bad."""
    if not criteria:
        return []
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if not isinstance(filters, list):
        raise FilterError("FilterCriteria must hold a Filters list")
    if len(filters) > MAX_FILTERS:
        raise FilterError(f"FilterCriteria holds {len(filters)} filters; at most {MAX_FILTERS}")
    patterns = []
    for entry in filters:
        text = entry.get("Pattern") if isinstance(entry, dict) else None
        if not isinstance(text, str) or len(text) > MAX_PATTERN_LENGTH:
            raise FilterError(f"a filter Pattern must be a string of at most {MAX_PATTERN_LENGTH}")
        try:
            pattern = json.loads(text)
        except ValueError as error:
            raise FilterError(f"Invalid filter pattern definition: {error}") from error
        _check(pattern, text)
        patterns.append(pattern)
    return patterns


def _check(pattern: Any, text: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise FilterError(f"Invalid filter pattern definition: {text}")
    for key, value in pattern.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise FilterError(
                    f"Invalid filter pattern definition: $or needs 2+ patterns: {text}"
                )
            for alternative in value:
                _check(alternative, text)
        elif isinstance(value, dict):
            _check(value, text)
        elif isinstance(value, list) and value:
            for condition in value:
                _check_condition(condition, text)
        else:
            raise FilterError(
                f"Invalid filter pattern definition: {key!r} must be an object or a "
                f"non-empty list: {text}"
            )


def _check_condition(condition: Any, text: str) -> None:
    if not isinstance(condition, dict):
        return  # a literal
    if len(condition) != 1:
        raise FilterError(f"Invalid filter pattern definition: one operator per condition: {text}")
    ((name, argument),) = condition.items()
    valid = {
        "prefix": isinstance(argument, str),
        "suffix": isinstance(argument, str),
        "equals-ignore-case": isinstance(argument, str),
        "exists": isinstance(argument, bool),
        "anything-but": True,
        "numeric": _valid_numeric(argument),
    }
    if not valid.get(name, False):
        raise FilterError(f"Invalid filter pattern definition: {name!r} {argument!r}: {text}")


def _valid_numeric(argument: Any) -> bool:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        return False
    pairs = zip(argument[::2], argument[1::2], strict=True)
    return all(
        op in _NUMERIC and isinstance(n, int | float) and not isinstance(n, bool) for op, n in pairs
    )


def matches_any(patterns: list[Pattern], record: dict[str, Any]) -> bool:
    """Whether `record` passes the filters (no filters: every record does)."""
    return not patterns or any(_matches(pattern, record) for pattern in patterns)


def _matches(pattern: Pattern, value: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_matches(alternative, value) for alternative in expected):
                return False
            continue
        actual = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not _matches(expected, actual):
                return False
        elif not any(_condition(condition, actual) for condition in expected):
            return False
    return True


def _condition(condition: Any, actual: Any) -> bool:
    if isinstance(condition, dict) and "exists" in condition:
        return (actual is not _MISSING) is condition["exists"]
    if actual is _MISSING:
        return False
    if isinstance(actual, list):
        return any(_condition(condition, element) for element in actual)
    if not isinstance(condition, dict):
        return _same(condition, actual)
    ((name, argument),) = condition.items()
    if name == "prefix":
        return isinstance(actual, str) and actual.startswith(argument)
    if name == "suffix":
        return isinstance(actual, str) and actual.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(actual, str) and actual.lower() == argument.lower()
    if name == "numeric":
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(_NUMERIC[op](actual, n) for op, n in pairs)
    return _anything_but(argument, actual)


def _anything_but(argument: Any, actual: Any) -> bool:
    if isinstance(argument, dict):
        ((name, text),) = argument.items()
        if name == "prefix":
            return isinstance(actual, str) and not actual.startswith(text)
        if name == "suffix":
            return isinstance(actual, str) and not actual.endswith(text)
        if name == "equals-ignore-case":
            return isinstance(actual, str) and actual.lower() != str(text).lower()
        return False
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_same(item, actual) for item in excluded)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return bool(expected == actual)
