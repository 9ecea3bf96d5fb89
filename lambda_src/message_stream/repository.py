"""The messages table as the stream processor sees it: group rows, found and moved.

A group row's sort key is the time of the group's last message, and a key cannot be
updated in place, so moving one is a delete of the old row and a put of the new one in a
single `TransactWriteItems`: readers never see the group twice or not at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from common import dynamo
from common.dynamo import Item, Sleep, deserialize, serialize
from common.errors import ConflictError

from message_stream.models import GROUP_PREFIX, NewMessage

GROUP_ATTRIBUTE = "message_group_uuid"
# The key conditions of `group_rows` (on the group index, MESSAGE_GROUP_INDEX) and of
# `current_group_row` (on the table), kept as data so that docs/data-model.md shows exactly
# what is sent.
GROUP_KEY_CONDITION = "#g = :g"
GROUP_KEY_NAMES = {"#g": GROUP_ATTRIBUTE}
ROW_KEY_CONDITION = "#pk = :pk"
ROW_FILTER = "#g = :g"
ROW_KEY_NAMES = {"#pk": "pk", "#g": GROUP_ATTRIBUTE}
CONDITION_FAILED = "ConditionalCheckFailed"
_EXPECTED_REASONS = frozenset({CONDITION_FAILED, "TransactionConflict"})


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
            "KeyConditionExpression": GROUP_KEY_CONDITION,
            "ExpressionAttributeNames": dict(GROUP_KEY_NAMES),
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
            "KeyConditionExpression": ROW_KEY_CONDITION,
            "FilterExpression": ROW_FILTER,
            "ExpressionAttributeNames": dict(ROW_KEY_NAMES),
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

    def _try_move(self, row: Item, message: NewMessage) -> list[str] | None:
        moved = {**row, "sk": message.sort_key, "message": message.text}
        items = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": str(row["pk"])}, "sk": {"S": str(row["sk"])}},
                    "ConditionExpression": "#g = :g",
                    "ExpressionAttributeNames": {"#g": GROUP_ATTRIBUTE},
                    "ExpressionAttributeValues": {":g": {"S": message.group_uuid}},
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": serialize(moved),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": "pk"},
                }
            },
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if dynamo.error_code(error) != "TransactionCanceledException":
                raise
            return dynamo.cancellation_reasons(error)
        return None

    def move(self, row: Item, message: NewMessage) -> bool:
        """Move group row `row` to `message`'s sort key and text; `False` if nothing to do.

        Idempotent: when the row is already at or past the message (a redelivered record, or
        a newer message got there first) nothing changes. When our view of the row was stale
        the current row is read consistently and the move retried.
        """
        pk = str(row["pk"])
        current: Item | None = row
        for attempt in range(self.max_attempts):
            if current is None or str(current["sk"]) >= message.sort_key:
                return False
            reasons = self._try_move(current, message)
            if reasons is None:
                return True
            dynamo.check_reasons(reasons, _EXPECTED_REASONS)
            if CONDITION_FAILED in reasons:
                current = self.current_group_row(pk, message.group_uuid)
            else:
                self.sleep(dynamo.backoff_delay(attempt))
        raise GroupMoveFailed(
            f"could not move group {message.group_uuid} of {pk} to {message.sort_key} "
            f"after {self.max_attempts} attempts"
        )
