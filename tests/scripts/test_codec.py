"""Item encodings: DynamoDB JSON and plain JSON in, exact DynamoDB JSON out."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from scripts.codec import (
    ItemFormatError,
    decode_item,
    dumps_item,
    encode_item,
    loads_json,
    looks_like_dynamodb_json,
    plain_item,
    render_value,
    to_python,
    to_wire,
)

EVERY_TYPE = {
    "pk": {"S": "a"},
    "n": {"N": "1.50"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "b": {"B": "AAEC/w=="},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": ["AQ==", "Ag=="]},
    "m": {"M": {"inner": {"L": [{"S": "deep"}, {"NULL": True}, {"BOOL": False}]}}},
    "empty": {"S": ""},
}


def test_dynamodb_json_round_trips_every_type_exactly() -> None:
    wire = decode_item(EVERY_TYPE)
    assert wire["b"] == {"B": b"\x00\x01\x02\xff"}
    assert wire["bs"] == {"BS": [b"\x01", b"\x02"]}
    assert encode_item(wire) == EVERY_TYPE
    assert json.loads(dumps_item(wire)) == EVERY_TYPE


def test_numbers_keep_their_digits() -> None:
    wire = decode_item({"n": {"N": "1.50"}})
    assert wire["n"] == {"N": "1.50"}
    assert to_python(wire)["n"] == Decimal("1.50")


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"n": {"N": "abc"}}, "is not a number"),
        ({"n": {"N": 5}}, "must be given as a string"),
        ({"n": {"N": "1" * 39}}, "more than 38 significant digits"),
        ({"n": {"N": "1E+200"}}, "outside DynamoDB's number range"),
        ({"n": {"N": "NaN"}}, "not a finite number"),
        ({"b": {"B": "***"}}, "not valid base64"),
        ({"s": {"SS": []}}, "non-empty list"),
        ({"s": {"SS": ["a", "a"]}}, "duplicate"),
        ({"s": {"NS": ["1", "1.0"]}}, "duplicate"),
        ({"x": {"Q": "1"}}, "unknown type descriptor"),
        ({"x": {"S": "a", "N": "1"}}, "one type descriptor"),
        ({"x": {"NULL": False}}, "NULL must be true"),
        ({"m": {"M": {"k": {"N": "x"}}}}, "m.k"),
        ({}, "non-empty JSON object"),
    ],
)
def test_bad_dynamodb_json_names_the_attribute_and_reason(obj: object, reason: str) -> None:
    with pytest.raises(ItemFormatError, match=reason):
        decode_item(obj)


def test_plain_json_maps_to_dynamodb_types() -> None:
    obj = loads_json('{"id": "1", "n": 1.50, "i": 7, "ok": true, "no": null, "l": [1, "a"]}')
    assert plain_item(obj) == {
        "id": {"S": "1"},
        "n": {"N": "1.50"},
        "i": {"N": "7"},
        "ok": {"BOOL": True},
        "no": {"NULL": True},
        "l": {"L": [{"N": "1"}, {"S": "a"}]},
    }


def test_plain_floats_are_refused_because_they_lose_digits() -> None:
    with pytest.raises(ItemFormatError, match="floats lose digits"):
        plain_item({"x": 0.1})


def test_format_detection() -> None:
    assert looks_like_dynamodb_json(EVERY_TYPE)
    assert not looks_like_dynamodb_json({"id": "1"})
    assert not looks_like_dynamodb_json({"m": {"nested": "x"}})


def test_python_values_become_wire_values() -> None:
    wire = to_wire({"s": "x", "n": 3, "set": {"a"}, "blob": b"\x01"})
    assert wire == {"s": {"S": "x"}, "n": {"N": "3"}, "set": {"SS": ["a"]}, "blob": {"B": b"\x01"}}


def test_render_value_is_compact() -> None:
    assert render_value({"B": b"abc"}) == "<3 bytes>"
    assert render_value({"S": "x" * 100}, width=10) == "x" * 9 + "…"
    assert render_value({"NS": ["1", "2"]}) == "{1, 2}"
