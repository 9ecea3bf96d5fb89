"""Item encodings: DynamoDB's wire format, DynamoDB JSON lines, plain JSON, Python values.

*Wire* items are what the low-level client sends and returns (`{"n": {"N": "1.50"}}`, binary
as `bytes`). *DynamoDB JSON* is the same with binary in base64: what `scan --out` writes and
`seed --from` reads, so every type round-trips exactly (numbers keep their digits, sets stay
sets, binary stays bytes, maps and lists nest). *Plain JSON* (`{"n": 1.5}`) is accepted as
input too: numbers become `N` with their exact digits, objects maps, arrays lists.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

WireValue = dict[str, Any]
WireItem = dict[str, WireValue]

TYPE_DESCRIPTORS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
MAX_NUMBER_DIGITS = 38


class ItemFormatError(ValueError):
    """A value cannot be an item attribute; the message says where and why."""


def _check_number(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise ItemFormatError(f"{where}: a number must be given as a string, got {text!r}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ItemFormatError(f"{where}: {text!r} is not a number") from None
    if not number.is_finite():
        raise ItemFormatError(f"{where}: {text!r} is not a finite number")
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        raise ItemFormatError(f"{where}: {text!r} has more than 38 significant digits")
    if number and not _SMALLEST <= abs(number) < _TOO_LARGE:
        raise ItemFormatError(f"{where}: {text!r} is outside DynamoDB's number range")
    return text


_SMALLEST = Decimal("1E-130")
_TOO_LARGE = Decimal("1E126")


def _b64decode(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise ItemFormatError(f"{where}: binary must be a base64 string, got {text!r}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ItemFormatError(f"{where}: {text[:40]!r} is not valid base64") from None


def _check_set(values: Any, where: str, kind: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise ItemFormatError(f"{where}: {kind} must be a non-empty list")
    return values


def decode_value(value: Any, where: str) -> WireValue:
    """One DynamoDB JSON value (`{"S": "x"}`) as a wire value; raise `ItemFormatError`."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ItemFormatError(f'{where}: expected one type descriptor like {{"S": ...}}')
    ((kind, inner),) = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise ItemFormatError(f"{where}: S must be a string, got {inner!r}")
        return {"S": inner}
    if kind == "N":
        return {"N": _check_number(inner, where)}
    if kind == "B":
        return {"B": _b64decode(inner, where)}
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise ItemFormatError(f"{where}: BOOL must be true or false, got {inner!r}")
        return {"BOOL": inner}
    if kind == "NULL":
        if inner is not True:
            raise ItemFormatError(f"{where}: NULL must be true")
        return {"NULL": True}
    if kind == "SS":
        strings = _check_set(inner, where, "SS")
        if not all(isinstance(s, str) for s in strings):
            raise ItemFormatError(f"{where}: SS must hold strings")
        if len(set(strings)) != len(strings):
            raise ItemFormatError(f"{where}: SS holds a duplicate")
        return {"SS": list(strings)}
    if kind == "NS":
        numbers = [_check_number(n, where) for n in _check_set(inner, where, "NS")]
        if len({Decimal(n) for n in numbers}) != len(numbers):
            raise ItemFormatError(f"{where}: NS holds a duplicate")
        return {"NS": numbers}
    if kind == "BS":
        blobs = [_b64decode(b, where) for b in _check_set(inner, where, "BS")]
        if len(set(blobs)) != len(blobs):
            raise ItemFormatError(f"{where}: BS holds a duplicate")
        return {"BS": blobs}
    if kind == "M":
        if not isinstance(inner, dict):
            raise ItemFormatError(f"{where}: M must be an object")
        return {"M": {k: decode_value(v, f"{where}.{k}") for k, v in inner.items()}}
    if kind == "L":
        if not isinstance(inner, list):
            raise ItemFormatError(f"{where}: L must be an array")
        return {"L": [decode_value(v, f"{where}[{i}]") for i, v in enumerate(inner)]}
    raise ItemFormatError(f"{where}: unknown type descriptor {kind!r}")


def decode_item(obj: Any) -> WireItem:
    """A DynamoDB JSON object as a wire item."""
    if not isinstance(obj, dict) or not obj:
        raise ItemFormatError("an item must be a non-empty JSON object")
    return {name: decode_value(value, name) for name, value in obj.items()}


def encode_value(value: WireValue) -> dict[str, Any]:
    """A wire value as JSON-safe DynamoDB JSON (binary in base64)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "M":
        return {"M": {k: encode_value(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [encode_value(v) for v in inner]}
    if kind in ("SS", "NS"):
        return {kind: list(inner)}
    return {kind: inner}


def encode_item(item: Mapping[str, WireValue]) -> dict[str, Any]:
    """A wire item as JSON-safe DynamoDB JSON."""
    return {name: encode_value(value) for name, value in item.items()}


def dumps_item(item: Mapping[str, WireValue]) -> str:
    """One DynamoDB JSON line (no trailing newline)."""
    return json.dumps(encode_item(item), ensure_ascii=False, separators=(",", ":"))


def plain_value(value: Any, where: str) -> WireValue:
    """A plain JSON value (parsed with `Decimal` numbers) as a wire value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": _check_number(str(value), where)}
    if isinstance(value, float):
        raise ItemFormatError(f"{where}: floats lose digits; parse numbers as Decimal")
    if isinstance(value, list):
        return {"L": [plain_value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {"M": {k: plain_value(v, f"{where}.{k}") for k, v in value.items()}}
    raise ItemFormatError(f"{where}: {type(value).__name__} is not a JSON value")


def plain_item(obj: Any) -> WireItem:
    """A plain JSON object as a wire item."""
    if not isinstance(obj, dict) or not obj:
        raise ItemFormatError("an item must be a non-empty JSON object")
    return {name: plain_value(value, name) for name, value in obj.items()}


def loads_json(text: str) -> Any:
    """Parse JSON keeping every number's exact digits (as `Decimal`)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def looks_like_dynamodb_json(obj: Any) -> bool:
    """True when every attribute of `obj` is a single type descriptor (`{"S": ...}`)."""
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(
            isinstance(v, dict) and len(v) == 1 and next(iter(v)) in TYPE_DESCRIPTORS
            for v in obj.values()
        )
    )


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_wire(item: Mapping[str, Any]) -> WireItem:
    """Python values (str, int, Decimal, bytes, set, dict, list, bool, None) as a wire item."""
    return {name: _serializer.serialize(value) for name, value in item.items()}


def to_python(item: Mapping[str, WireValue]) -> dict[str, Any]:
    """A wire item as Python values (numbers `Decimal`, sets `set`, binary `Binary`)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def render_value(value: WireValue, width: int = 60) -> str:
    """A compact, human-readable rendering of one value for tables."""
    ((kind, inner),) = value.items()
    if kind == "S" or kind == "N":
        text = str(inner)
    elif kind == "B":
        text = f"<{len(inner)} bytes>"
    elif kind == "BOOL":
        text = "true" if inner else "false"
    elif kind == "NULL":
        text = "null"
    elif kind in ("SS", "NS"):
        text = "{" + ", ".join(str(v) for v in inner) + "}"
    elif kind == "BS":
        text = "{" + ", ".join(f"<{len(b)} bytes>" for b in inner) + "}"
    else:
        text = json.dumps(encode_value(value), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
