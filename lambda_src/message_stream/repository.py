"""The messages table as the stream processor sees it: group rows, found and moved.

A group row's sort key is the time of the group's last message, and a key cannot be
updated in place, so moving one is a delete of the old row and a put of the new one. The
rows of one group (one per participant) move in a single `TransactWriteItems`: readers
never see a group twice or not at all, nor its participants disagreeing.

A batch's groups are looked up concurrently and moved together, as many groups per
transaction as fit: a batch costs about two round trips, not two per group. A group that
cancels the shared transaction is moved on its own, so it never holds the others back.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeAlias, get_args

from botocore.exceptions import BotoCoreError, ClientError
from common import dynamo
from common.dynamo import Item, Sleep, deserialize, serialize
from common.errors import ConflictError, ServiceError

from datamodel.entities import GROUP_PREFIX
from datamodel.patterns import CURRENT_GROUP_ROW, GROUP_ROWS
from datamodel.retry import backoff_delay
from message_stream.models import NewMessage

GROUP_ATTRIBUTE = "message_group_uuid"
CONDITION_FAILED = "ConditionalCheckFailed"
_EXPECTED_REASONS = frozenset({CONDITION_FAILED, "TransactionConflict"})
# A transaction holds at most 100 actions: a Delete and a Put per row.
ROWS_PER_TRANSACTION = 50
# What one group's lookup or move may fail with, without failing the other groups.
GroupError: TypeAlias = ServiceError | ClientError | BotoCoreError
GROUP_ERRORS: tuple[type[Exception], ...] = get_args(GroupError)


class GroupMoveFailed(ConflictError):
    """A group row could not be moved after `max_attempts` tries (races or a key collision)."""


@dataclass(frozen=True)
class GroupMove:
    """The rows of one group, as last read, to bring up to `message`."""

    rows: list[Item]
    message: NewMessage

    @functools.cached_property
    def due(self) -> list[Item]:
        """The rows still behind the message (the others are at or past it)."""
        return [row for row in self.rows if str(row["sk"]) < self.message.sort_key]

    def item_keys(self) -> set[tuple[str, str]]:
        """Every item the move touches: each due row's old key and its new one."""
        keys = set()
        for row in self.due:
            keys.add((str(row["pk"]), str(row["sk"])))
            keys.add((str(row["pk"]), self.message.sort_key))
        return keys


def shared_transactions(moves: Sequence[GroupMove]) -> tuple[list[list[int]], list[int]]:
    """Pack moves (by index) into transactions; and the moves too large to share one.

    A transaction takes whole groups up to `ROWS_PER_TRANSACTION` rows, and never two
    actions on one item (two groups' new rows may share a key). Moves with nothing due are
    in neither list.
    """
    packs: list[list[int]] = []
    alone: list[int] = []
    rows = 0
    keys: set[tuple[str, str]] = set()
    for index, move in enumerate(moves):
        due = len(move.due)
        if not due:
            continue
        if due > ROWS_PER_TRANSACTION:
            alone.append(index)
            continue
        touched = move.item_keys()
        if not packs or rows + due > ROWS_PER_TRANSACTION or touched & keys:
            packs.append([])
            rows, keys = 0, set()
        packs[-1].append(index)
        rows += due
        keys |= touched
    return packs, alone


@dataclass
class MessageRepository:
    """Finds and moves the group rows of message groups in `table`."""

    client: Any
    table: str
    group_index: str
    max_attempts: int = 5
    # Group lookups in flight at once: a batch of 100 records from 60 conversations touches
    # about 25 groups, looked up in one round (within the client's connection pool).
    lookups_in_flight: int = dynamo.MAX_CALLS_IN_FLIGHT
    sleep: Sleep = field(default=time.sleep, repr=False)

    def group_rows_of(self, group_uuids: Sequence[str]) -> list[list[Item] | GroupError]:
        """`group_rows` of each group, looked up concurrently; a failed lookup gives its error."""
        if len(group_uuids) <= 1:
            return [self._lookup(group_uuid) for group_uuid in group_uuids]
        workers = min(self.lookups_in_flight, len(group_uuids))
        with ThreadPoolExecutor(workers, thread_name_prefix="group-lookup") as pool:
            return list(pool.map(self._lookup, group_uuids))

    def _lookup(self, group_uuid: str) -> list[Item] | GroupError:
        try:
            return self.group_rows(group_uuid)
        except GROUP_ERRORS as error:
            return error

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

    def _try_moves(self, moves: Sequence[GroupMove]) -> list[str] | None:
        """One transaction moving each move's due rows; `None`, or the cancellation reasons."""
        items: list[dict[str, Any]] = []
        for move in moves:
            items.extend(self._actions(move.due, move.message))
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if dynamo.error_code(error) != "TransactionCanceledException":
                raise
            return dynamo.cancellation_reasons(error)
        return None

    def _actions(self, rows: list[Item], message: NewMessage) -> list[dict[str, Any]]:
        """A Delete of each row at its old key and a Put of it at the message's, both guarded."""
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
        return items

    def move_groups(self, moves: Sequence[GroupMove]) -> list[int | GroupError]:
        """Move each group's rows to its message; per move, how many rows moved or its error.

        Groups share transactions (`shared_transactions`). When a shared one is cancelled,
        nothing of it was written: a group whose own actions failed for a reason other than
        a condition or a conflict fails at once, and every other group of it is moved on its
        own by `move_all`, with the rows that turned out stale read again first. A shared
        one refused as a whole (throttled, invalid) is retried a group at a time.
        """
        results: dict[int, int | GroupError] = {}
        packs, alone = shared_transactions(moves)
        retry = {index: moves[index] for index in alone}
        for pack in packs:
            try:
                reasons = self._try_moves([moves[index] for index in pack])
            except GROUP_ERRORS as error:
                # Refused as a whole (throttled, or invalid): alone, each group fails or
                # moves on its own merits.
                if len(pack) == 1:
                    results[pack[0]] = error
                else:
                    retry.update((index, moves[index]) for index in pack)
                continue
            if reasons is None:
                results.update((index, len(moves[index].due)) for index in pack)
                continue
            offset = 0
            for index in pack:
                actions = 2 * len(moves[index].due)
                own, offset = reasons[offset : offset + actions], offset + actions
                try:
                    dynamo.check_reasons(own, _EXPECTED_REASONS)
                    retry[index] = self._refreshed(moves[index], own)
                except GROUP_ERRORS as error:
                    results[index] = error
        for index, pending in retry.items():
            try:
                results[index] = self.move_all(pending.rows, pending.message)
            except GROUP_ERRORS as error:
                results[index] = error
        return [results.get(index, 0) for index in range(len(moves))]

    def _refreshed(self, move: GroupMove, reasons: list[str]) -> GroupMove:
        """`move` with each due row whose action failed its condition read again (or dropped).

        `reasons` are the cancellation codes of the move's own actions, a Delete and a Put
        per due row, in order.
        """
        stale = {
            str(row["pk"])
            for index, row in enumerate(move.due)
            if CONDITION_FAILED in reasons[2 * index : 2 * index + 2]
        }
        if not stale:
            return move
        rows = []
        for row in move.rows:
            pk = str(row["pk"])
            current = self.current_group_row(pk, move.message.group_uuid) if pk in stale else row
            if current is not None:
                rows.append(current)
        return GroupMove(rows, move.message)

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
        move = GroupMove(rows, message)
        for attempt in range(self.max_attempts):
            due = move.due
            if not due:
                return 0
            reasons = self._try_moves([move])
            if reasons is None:
                return len(due)
            dynamo.check_reasons(reasons, _EXPECTED_REASONS)
            refreshed = self._refreshed(move, reasons)
            if refreshed is move:
                self.sleep(backoff_delay(attempt))
            move = refreshed
        raise GroupMoveFailed(
            f"could not move group {message.group_uuid} to {message.sort_key} "
            f"after {self.max_attempts} attempts"
        )
