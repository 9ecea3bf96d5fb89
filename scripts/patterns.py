"""The access patterns of the single-table design, each a named function.

Messages table rows (the tutorial's design):
- `pk = GRP#<user_uuid>`, `sk = <last message time>`: one row per member of a message group
  (`message_group_uuid`), describing the *other* member (`user_uuid`, display name, handle).
- `pk = MSG#<message_group_uuid>`, `sk = <created_at>`: the group's messages.

Each function returns a `PatternResult`: the items, a cursor where the pattern pages, the
capacity computed from item sizes (`scripts.capacity`) and what the endpoint reported.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from scripts.capacity import CapacityCost, batch_get_read_units, item_size, put_cost, query_cost
from scripts.codec import ItemFormatError, WireItem, decode_item, encode_item, to_wire
from scripts.errors import InvalidInput, InvalidRequest, NotFound, UsageError
from scripts.sample_data import iso
from scripts.target import Target, error_code, translated_errors
from stacks.config import EMAIL_INDEX, MESSAGE_GROUP_INDEX, TableSpec

MAX_PAGE = 100


@dataclass
class PatternResult:
    """Items of one access pattern with its computed and reported capacity."""

    items: list[WireItem]
    computed: CapacityCost
    reported: float | None = None
    reported_detail: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None

    def record(self, response: Mapping[str, Any]) -> None:
        """Add the `ConsumedCapacity` of one response to the reported total."""
        consumed = response.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        for entry in entries:
            units = entry.get("CapacityUnits")
            if units is not None:
                self.reported = (self.reported or 0.0) + float(units)
            self.reported_detail.append(dict(entry))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (items in DynamoDB JSON)."""
        return {
            "items": [encode_item(item) for item in self.items],
            "cursor": self.cursor,
            "computed": self.computed.as_dict(),
            "reported_capacity_units": self.reported,
            "reported": self.reported_detail,
        }


class Patterns:
    """The access patterns against one target's messages and users tables."""

    def __init__(self, target: Target, client: Any | None = None) -> None:
        self.target = target
        self.client = client or target.client()
        self.messages: TableSpec = target.stage.table("messages")
        self.users: TableSpec = target.stage.table("users")

    def list_conversations(self, user_uuid: str, year: str | None = None) -> PatternResult:
        """Message groups of `user_uuid` in `year` (default: this year), newest first."""
        year = year or str(datetime.now(UTC).year)
        if not (year.isdigit() and len(year) == 4):
            raise UsageError(f"year must be four digits, got {year!r}")
        params: dict[str, Any] = {
            "TableName": self.messages.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :year)",
            "ExpressionAttributeValues": {":pk": {"S": f"GRP#{user_uuid}"}, ":year": {"S": year}},
            "ScanIndexForward": False,
            "ReturnConsumedCapacity": "INDEXES",
        }
        result = PatternResult([], CapacityCost())
        with translated_errors(self.target, self.messages.table_name):
            while True:
                response = self.client.query(**params)
                page = response.get("Items", [])
                result.items.extend(page)
                result.computed.merge(query_cost(page, self.messages.table_name))
                result.record(response)
                if not response.get("LastEvaluatedKey"):
                    break
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return result

    def get_conversation(
        self, group_uuid: str, limit: int = 20, cursor: str | None = None
    ) -> PatternResult:
        """One page of a group's messages, newest first; `cursor` continues a listing."""
        if not 1 <= limit <= MAX_PAGE:
            raise UsageError(f"--limit must be between 1 and {MAX_PAGE}")
        params: dict[str, Any] = {
            "TableName": self.messages.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"MSG#{group_uuid}"}},
            "ScanIndexForward": False,
            "Limit": limit,
            "ReturnConsumedCapacity": "INDEXES",
        }
        if cursor:
            start = decode_cursor(cursor)
            if start.get("pk") != {"S": f"MSG#{group_uuid}"}:
                raise InvalidInput(["--cursor belongs to another conversation"])
            params["ExclusiveStartKey"] = start
        with translated_errors(self.target, self.messages.table_name):
            response = self.client.query(**params)
        items = response.get("Items", [])
        result = PatternResult(items, query_cost(items, self.messages.table_name))
        result.record(response)
        last = response.get("LastEvaluatedKey")
        result.cursor = encode_cursor(last) if last else None
        return result

    def _group_rows(self, group_uuid: str, result: PatternResult) -> list[WireItem]:
        params: dict[str, Any] = {
            "TableName": self.messages.table_name,
            "IndexName": MESSAGE_GROUP_INDEX,
            "KeyConditionExpression": "message_group_uuid = :group",
            "ExpressionAttributeValues": {":group": {"S": group_uuid}},
            "ReturnConsumedCapacity": "INDEXES",
        }
        with translated_errors(self.target, self.messages.table_name):
            response = self.client.query(**params)
        rows: list[WireItem] = response.get("Items", [])
        result.computed.merge(query_cost(rows, f"{self.messages.table_name}/{MESSAGE_GROUP_INDEX}"))
        result.record(response)
        return rows

    def create_message(
        self, group_uuid: str, user_uuid: str, text: str, now: datetime | None = None
    ) -> PatternResult:
        """Add a message from `user_uuid` to an existing group they belong to."""
        text = _message_text(text)
        result = PatternResult([], CapacityCost())
        rows = self._group_rows(group_uuid, result)
        if not rows:
            raise NotFound(f"conversation {group_uuid} does not exist")
        mine = f"GRP#{user_uuid}"
        if not any(row["pk"]["S"] == mine for row in rows):
            raise NotFound(f"user {user_uuid} is not a member of conversation {group_uuid}")
        # The other member's row describes this user (uuid, display name, handle).
        about_me = next((row for row in rows if row["pk"]["S"] != mine), rows[0])
        created = iso(now or datetime.now(UTC))
        message = to_wire(
            {
                "pk": f"MSG#{group_uuid}",
                "sk": created,
                "created_at": created,
                "message_uuid": str(uuid.uuid4()),
                "message": text,
                "user_uuid": user_uuid,
                "user_display_name": about_me.get("user_display_name", {"S": ""})["S"],
                "user_handle": about_me.get("user_handle", {"S": ""})["S"],
            }
        )
        with translated_errors(self.target, self.messages.table_name):
            try:
                response = self.client.put_item(
                    TableName=self.messages.table_name,
                    Item=message,
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnConsumedCapacity="INDEXES",
                )
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise InvalidRequest(
                        f"a message at {created} already exists in {group_uuid}; retry"
                    ) from None
                raise
        result.items.append(message)
        result.computed.merge(put_cost(message, self.messages))
        result.record(response)
        return result

    def create_conversation(
        self, user_uuid: str, other_uuid: str, text: str, now: datetime | None = None
    ) -> PatternResult:
        """Start a new group: both members' group rows and the first message, atomically."""
        text = _message_text(text)
        if user_uuid == other_uuid:
            raise UsageError("a conversation needs two different users")
        result = PatternResult([], CapacityCost())
        me, other = self._users(user_uuid, other_uuid, result)
        group = str(uuid.uuid4())
        created = iso(now or datetime.now(UTC))

        def group_row(owner: WireItem, partner: WireItem) -> WireItem:
            return to_wire(
                {
                    "pk": f"GRP#{owner['userId']['S']}",
                    "sk": created,
                    "created_at": created,
                    "message_group_uuid": group,
                    "message": text,
                    "user_uuid": partner["userId"]["S"],
                    "user_display_name": _text(partner, "name"),
                    "user_handle": _text(partner, "handle"),
                }
            )

        message = to_wire(
            {
                "pk": f"MSG#{group}",
                "sk": created,
                "created_at": created,
                "message_uuid": str(uuid.uuid4()),
                "message": text,
                "user_uuid": user_uuid,
                "user_display_name": _text(me, "name"),
                "user_handle": _text(me, "handle"),
            }
        )
        items = [group_row(me, other), group_row(other, me), message]
        table = self.messages.table_name
        with translated_errors(self.target, table):
            try:
                response = self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table,
                                "Item": item,
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        }
                        for item in items
                    ],
                    ReturnConsumedCapacity="INDEXES",
                )
            except ClientError as error:
                if error_code(error) == "TransactionCanceledException":
                    raise InvalidRequest(
                        f"conversation not created, the transaction was cancelled: "
                        f"{error.response.get('Error', {}).get('Message', '')}"
                    ) from None
                raise
        for item in items:
            result.computed.merge(put_cost(item, self.messages, transactional=True))
        result.items.extend(items)
        result.record(response)
        return result

    def _users(self, first: str, second: str, result: PatternResult) -> tuple[WireItem, WireItem]:
        table = self.users.table_name
        keys = [{self.users.partition_key: {"S": first}}, {self.users.partition_key: {"S": second}}]
        found: dict[str, WireItem] = {}
        request: dict[str, Any] = {table: {"Keys": keys}}
        with translated_errors(self.target, table):
            while request:
                response = self.client.batch_get_item(
                    RequestItems=request, ReturnConsumedCapacity="INDEXES"
                )
                for item in response.get("Responses", {}).get(table, []):
                    found[item[self.users.partition_key]["S"]] = item
                result.record(response)
                request = response.get("UnprocessedKeys") or {}
        sizes = [item_size(item) for item in found.values()]
        # A key that is not found still costs the minimum read.
        sizes += [0] * (2 - len(found))
        result.computed.add_read(
            batch_get_read_units(sizes),
            f"BatchGetItem {table}: 2 keys, {len(found)} found, each rounded up to 4 KB",
        )
        missing = [user for user in (first, second) if user not in found]
        if missing:
            raise NotFound(f"no user {', '.join(missing)} in {table}")
        return found[first], found[second]

    def find_user_by_email(self, email: str) -> PatternResult:
        """Users whose `email` matches exactly, through the `EmailIndex` GSI."""
        if not email.strip():
            raise UsageError("email must not be empty")
        table = self.users.table_name
        params: dict[str, Any] = {
            "TableName": table,
            "IndexName": EMAIL_INDEX,
            "KeyConditionExpression": "email = :email",
            "ExpressionAttributeValues": {":email": {"S": email}},
            "ReturnConsumedCapacity": "INDEXES",
        }
        with translated_errors(self.target, table):
            response = self.client.query(**params)
        items = response.get("Items", [])
        result = PatternResult(items, query_cost(items, f"{table}/{EMAIL_INDEX}"))
        result.record(response)
        return result


def _message_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise UsageError("the message text must not be empty")
    if len(text.encode("utf-8")) > 1024:
        raise UsageError("the message text must be at most 1024 bytes")
    return text


def _text(item: WireItem, name: str) -> str:
    value = item.get(name, {})
    return str(value.get("S", ""))


def encode_cursor(key: Mapping[str, Any]) -> str:
    """An opaque cursor for a `LastEvaluatedKey`."""
    raw = json.dumps(encode_item(key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> WireItem:
    """The `ExclusiveStartKey` behind a cursor from `encode_cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return decode_item(json.loads(base64.urlsafe_b64decode(padded.encode("ascii"))))
    except (binascii.Error, ValueError, UnicodeError, ItemFormatError):
        raise InvalidInput(
            [f"--cursor {cursor[:20]!r}... is not a cursor this tool printed"]
        ) from None
