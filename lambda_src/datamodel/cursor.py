"""Opaque paging cursors: a `LastEvaluatedKey` as compact JSON in unpadded URL-safe base64.

user-manager's LIST and the CLI's patterns both hand them out; each checks what it decodes.
"""

from __future__ import annotations

import base64
import json
from typing import Any


class CursorError(ValueError):
    """Text that is not a cursor `encode_cursor` wrote."""


def encode_cursor(key: Any) -> str:
    """`key` (JSON-ready) as an opaque cursor."""
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The JSON value behind a cursor from `encode_cursor`; `CursorError` otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except ValueError:  # binascii.Error, UnicodeError and JSON errors are ValueErrors
        raise CursorError(f"{cursor[:20]!r} is not a cursor") from None
