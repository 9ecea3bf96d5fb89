"""The messages table as the stream processor sees it: group rows, found and moved.

A group row's sort key is the time of the group's last message, and a key cannot be
updated in place, so moving one is a delete of the old row and a put of the new one. The
rows of one group (one per participant) move in a single `TransactWriteItems`: readers
never see a group twice or not at all, nor its participants disagreeing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from common import dynamo
from common.dynamo import Item, Sleep, deserialize, serialize
from common.errors import ConflictError

from datamodel.entities import GROUP_PREFIX
from datamodel.patterns import CURRENT_GROUP_ROW, GROUP_ROWS
from datamodel.retry import backoff_delay
from message_stream.models import NewMessage

GROUP_ATTRIBUTE = "message_group_uuid"
CONDITION_FAILED = "ConditionalCheckFailed"
_EXPECTED_REASONS = frozenset({CONDITION_FAILED, "TransactionConflict"})
# A transaction holds at most 100 actions: a Delete and a Put per row.
ROWS_PER_TRANSACTION = 50


class GroupMoveFailed(ConflictError):
    """A group row could not be moved after `max_attempts` tries (races or a key collision)."""


@dataclass
class MessageRepository:
    """Finds and moves the group rows of a message group in `table`."""

    client: Any
    table: str
    group_index: str
    max_attempts: int = 5
    sleep: Sleep = field(default=time.sleep, repr=False)

    def group_rows(self, group_uuid: str) -> list[Item]:
        """The group rows of `group_uuid`, one per participant, through the group index.

        The index is eventually consistent: a row moved a moment ago may still show its old
        sort key. `move` copes with that.
        """
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": self.group_index,
            "KeyConditionExpression": GROUP_ROWS.query.key_condition,
            "ExpressionAttributeNames": dict(GROUP_ROWS.query.names),
            "ExpressionAttributeValues": {":g": {"S": group_uuid}},
        }
        rows: list[Item] = []
        while True:
            response = self.client.query(**request)
            rows.extend(deserialize(raw) for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        # Only group rows (GRP#...) are moved, even if other rows carry the group attribute.
        return [row for row in rows if str(row.get("pk", "")).startswith(GROUP_PREFIX)]

    def current_group_row(self, pk: str, group_uuid: str) -> Item | None:
        """The group row of `group_uuid` under `pk`, read consistently from the base table."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": CURRENT_GROUP_ROW.query.key_condition,
            "FilterExpression": CURRENT_GROUP_ROW.filter,
            "ExpressionAttributeNames": dict(CURRENT_GROUP_ROW.query.names),
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":g": {"S": group_uuid}},
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**request)
            items = response.get("Items", [])
            if items:
                return deserialize(items[0])
            last = response.get("LastEvaluatedKey")
            if not last:
                return None
            request["ExclusiveStartKey"] = last

    def _try_moves(self, rows: list[Item], message: NewMessage) -> list[str] | None:
        """One transaction moving every row of `rows`; `None`, or the cancellation reasons."""
        items: list[dict[str, Any]] = []
        for row in rows:
            moved = {**row, "sk": message.sort_key, "message": message.text}
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": str(row["pk"])}, "sk": {"S": str(row["sk"])}},
                        "ConditionExpression": "#g = :g",
                        "ExpressionAttributeNames": {"#g": GROUP_ATTRIBUTE},
                        "ExpressionAttributeValues": {":g": {"S": message.group_uuid}},
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": serialize(moved),
                        "ConditionExpression": "attribute_not_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": "pk"},
                    }
                }
            )
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if dynamo.error_code(error) != "TransactionCanceledException":
                raise
            return dynamo.cancellation_reasons(error)
        return None

    def move_all(self, rows: list[Item], message: NewMessage) -> int:
        """Move the group rows `rows` to `message`'s sort key and text; return how many moved.

        The rows of a group move together, in one transaction (up to `ROWS_PER_TRANSACTION`
        at a time). Idempotent: rows already at or past the message (a redelivered record,
        or a newer message got there first) are left alone. A row our view had stale is
        read again consistently and the transaction retried.
        """
        moved = 0
        for start in range(0, len(rows), ROWS_PER_TRANSACTION):
            moved += self._move_chunk(rows[start : start + ROWS_PER_TRANSACTION], message)
        return moved

    def _move_chunk(self, rows: list[Item], message: NewMessage) -> int:
        current: dict[str, Item | None] = {str(row["pk"]): row for row in rows}
        for attempt in range(self.max_attempts):
            due = [
                row
                for row in current.values()
                if row is not None and str(row["sk"]) < message.sort_key
            ]
            if not due:
                return 0
            reasons = self._try_moves(due, message)
            if reasons is None:
                return len(due)
            dynamo.check_reasons(reasons, _EXPECTED_REASONS)
            stale = [
                str(row["pk"])
                for index, row in enumerate(due)
                if CONDITION_FAILED in reasons[2 * index : 2 * index + 2]
            ]
            for pk in stale:
                current[pk] = self.current_group_row(pk, message.group_uuid)
            if not stale:
                self.sleep(backoff_delay(attempt))
        raise GroupMoveFailed(
            f"could not move group {message.group_uuid} to {message.sort_key} "
            f"after {self.max_attempts} attempts"
        )
