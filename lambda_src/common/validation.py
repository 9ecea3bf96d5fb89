"""Small, explicit validators for event payloads; each failure names the offending field."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from common.errors import ValidationError
from datamodel import cursor as cursors

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def expect_object(value: object, field: str) -> dict[str, Any]:
    """`value` as a JSON object, or a `ValidationError` naming `field`."""
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object", field=field)
    if not all(isinstance(key, str) for key in value):
        raise ValidationError(f"{field} must have string keys", field=field)
    return value


def reject_unknown(obj: Mapping[str, Any], allowed: Collection[str], where: str) -> None:
    """Refuse keys of `obj` outside `allowed`; `where` prefixes the field name (`data.`)."""
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        field = f"{where}{_shorten(unknown[0])}"
        raise ValidationError(
            f"unknown field {field!r}; allowed: {sorted(allowed)}",
            field=field,
        )


def _shorten(text: str, limit: int = 64) -> str:
    """`text` cut to `limit` characters, so an error never echoes a huge input back."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def string(
    value: object,
    field: str,
    *,
    max_length: int,
    pattern: re.Pattern[str] | None = None,
    allow_blank: bool = False,
    hint: str = "",
) -> str:
    """`value` as a string of at most `max_length` characters, optionally matching `pattern`.

    Control characters and text that is not valid Unicode (lone surrogates) are refused.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if not allow_blank and not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} is not valid Unicode text", field=field) from None
    if _CONTROL.search(value):
        raise ValidationError(f"{field} must not contain control characters", field=field)
    if pattern is not None and not pattern.fullmatch(value):
        raise ValidationError(f"{field} is malformed{': ' + hint if hint else ''}", field=field)
    return value


def integer(value: object, field: str, *, minimum: int, maximum: int) -> int:
    """`value` as an integer in `[minimum, maximum]` (booleans and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer", field=field)
    if not minimum <= value <= maximum:
        raise ValidationError(f"{field} must be between {minimum} and {maximum}", field=field)
    return value


def encode_cursor(key: Mapping[str, Any]) -> str:
    """An opaque pagination cursor for a plain `LastEvaluatedKey` of string attributes."""
    return cursors.encode_cursor(dict(key))


def decode_cursor(
    value: object, field: str, *, key_names: Collection[str], max_length: int = 4096
) -> dict[str, str]:
    """The key a cursor from `encode_cursor` stands for; anything else is a `ValidationError`."""
    text = string(value, field, max_length=max_length)
    try:
        key = cursors.decode_cursor(text)
    except cursors.CursorError:
        raise ValidationError(
            f"{field} is not a cursor this function returned", field=field
        ) from None
    if (
        not isinstance(key, dict)
        or set(key) != set(key_names)
        or not all(isinstance(part, str) and 0 < len(part) <= 2048 for part in key.values())
    ):
        raise ValidationError(f"{field} is not a cursor this function returned", field=field)
    return key
