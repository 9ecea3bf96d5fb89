"""Helpers shared by the function tests (importing this puts `lambda_src/` on the path).

The functions' packages (`common`, `user_manager`, `message_stream`, `tasks`) are top-level
in the Lambda asset, so `lambda_src/` goes on `sys.path` exactly as the runtime sees it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
if str(LAMBDA_SRC) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SRC))

REGION = "us-east-1"


class FakeClock:
    """A settable clock for services that take `clock=`; starts at a fixed instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def no_sleep(_seconds: float) -> None:
    """A `sleep` that returns at once, for retry loops under test."""


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    """Every raw item of `table`, sorted, to compare a table before and after."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    return sorted(items, key=repr)


def body(response: dict[str, Any]) -> Any:
    """The decoded JSON body of a handler response (which must be a string)."""
    assert isinstance(response["body"], str)
    return json.loads(response["body"])
