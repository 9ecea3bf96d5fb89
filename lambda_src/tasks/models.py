"""Validated tasks requests: the tutorial's data model (`id` and `name`, both strings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.errors import ValidationError
from common.validation import decode_cursor, expect_object, integer, reject_unknown, string

MAX_ID = 256
MAX_NAME = 1024
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 25


@dataclass(frozen=True)
class NewTask:
    """A task to add."""

    id: str
    name: str


def task_id(value: object, field: str = "id") -> str:
    """A task id: a non-blank string of at most 256 characters."""
    return string(value, field, max_length=MAX_ID)


def new_task(data: object) -> NewTask:
    """Validate `add_task`'s `data`: exactly `id` and `name`, both non-blank strings."""
    obj = expect_object(data, "data")
    reject_unknown(obj, ("id", "name"), "data.")
    for required in ("id", "name"):
        if required not in obj:
            raise ValidationError(f"data.{required} is required", field=f"data.{required}")
    return NewTask(
        id=task_id(obj["id"], "data.id"),
        name=string(obj["name"], "data.name", max_length=MAX_NAME),
    )


@dataclass(frozen=True)
class ListRequest:
    """One page of `list_tasks`."""

    limit: int = DEFAULT_LIST_LIMIT
    start_id: str | None = None


def list_request(event: dict[str, Any]) -> ListRequest:
    """`list_tasks`'s optional `limit` (1-100) and `cursor` (from a previous page)."""
    limit = (
        integer(event["limit"], "limit", minimum=1, maximum=MAX_LIST_LIMIT)
        if event.get("limit") is not None
        else DEFAULT_LIST_LIMIT
    )
    start_id = (
        decode_cursor(event["cursor"], "cursor", key_names=("id",))["id"]
        if event.get("cursor") is not None
        else None
    )
    return ListRequest(limit=limit, start_id=start_id)
