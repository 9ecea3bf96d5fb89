"""Lambda event filtering, as the pollers apply a mapping's `FilterCriteria`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.event_filter import FilterError, matches_any, parse

RECORD: dict[str, Any] = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-03-01T10:00"}},
        "NewImage": {"message": {"S": "Hello"}, "tags": {"SS": ["a", "b"]}},
        "SizeBytes": 120,
    },
}


def criteria(*patterns: dict[str, Any]) -> dict[str, Any]:
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def passes(*patterns: dict[str, Any]) -> bool:
    return matches_any(parse(criteria(*patterns)), RECORD)


def test_no_criteria_delivers_everything() -> None:
    assert matches_any(parse(None), RECORD) and matches_any(parse({}), RECORD)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}}, True),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "GRP#"}]}}}}, False),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"suffix": "#g1"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"message": {"S": [{"equals-ignore-case": "HELLO"}]}}}}, True),
        ({"eventName": [{"anything-but": "INSERT"}]}, False),
        ({"eventName": [{"anything-but": ["MODIFY", "REMOVE"]}]}, True),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"anything-but": {"prefix": "GRP#"}}]}}}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 120]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": ["<", 100]}]}}, False),
        ({"dynamodb": {"SizeBytes": [120]}}, True),
        ({"dynamodb": {"NewImage": {"message": [{"exists": True}]}}}, True),
        ({"dynamodb": {"NewImage": {"missing": [{"exists": False}]}}}, True),
        ({"dynamodb": {"NewImage": {"missing": [{"exists": True}]}}}, False),
        ({"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}, True),  # any list element
        ({"dynamodb": {"Keys": {"pk": {"N": ["1"]}}}}, False),  # a type the record lacks
        ({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": ["MSG#g2"]}}}}, False),
        ({"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"SizeBytes": [120]}}]}, True),
        ({"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"SizeBytes": [1]}}]}, False),
    ],
)
def test_pattern(pattern: dict[str, Any], expected: bool) -> None:
    assert passes(pattern) is expected


def test_any_filter_of_several_passes_a_record() -> None:
    assert passes({"eventName": ["REMOVE"]}, {"eventName": ["INSERT"]})
    assert not passes({"eventName": ["REMOVE"]}, {"eventName": ["MODIFY"]})


def test_a_literal_true_does_not_match_the_number_one() -> None:
    record = {"dynamodb": {"flag": 1}}
    assert not matches_any(parse(criteria({"dynamodb": {"flag": [True]}})), record)
    assert matches_any(parse(criteria({"dynamodb": {"flag": [1.0]}})), record)


@pytest.mark.parametrize(
    "bad",
    [
        {"Filters": [{"Pattern": "{not json"}]},
        {"Filters": [{"Pattern": "[]"}]},
        {"Filters": [{"Pattern": json.dumps({"eventName": "INSERT"})}]},  # not a list
        {"Filters": [{"Pattern": json.dumps({"eventName": []})}]},
        {"Filters": [{"Pattern": json.dumps({"eventName": [{"startswith": "I"}]})}]},
        {"Filters": [{"Pattern": json.dumps({"n": [{"numeric": [">>", 1]}]})}]},
        {"Filters": [{"Pattern": json.dumps({"n": [{"prefix": "a", "suffix": "b"}]})}]},
        {"Filters": [{"Pattern": json.dumps({"$or": [{"a": ["x"]}]})}]},
        {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}] * 6},
        {"Filters": "everything"},
    ],
)
def test_criteria_lambda_would_refuse_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(FilterError):
        parse(bad)
