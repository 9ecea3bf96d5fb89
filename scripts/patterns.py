"""Run the access patterns declared in `datamodel.patterns` against a target.

`Patterns.run(pattern, **arguments)` checks the arguments against the pattern's declared
params, builds its requests from the declared steps (`_run_query` reads any `KeyQuery` the
way its `paging` says) and returns a `PatternResult`: the items, a cursor where the pattern
pages, the capacity computed from item sizes (`scripts.capacity`) and what the endpoint
reported. A read of one `KeyQuery` needs nothing here; a pattern with rules beyond its
steps (`create_message`, `create_conversation`) is a method, listed in `HAND_WRITTEN`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from datamodel.cursor import CursorError
from datamodel.cursor import decode_cursor as decode_key
from datamodel.cursor import encode_cursor as encode_key
from datamodel.entities import GROUP_ROW, MESSAGE, USER_KEY, PatternError, iso, template_parts
from datamodel.entities import render as render_template
from datamodel.patterns import (
    CREATE_CONVERSATION,
    CREATE_CONVERSATION_WRITE,
    CREATE_MESSAGE,
    GET_MEMBERS,
    GROUP_MEMBERS_QUERY,
    PUT_MESSAGE,
    AccessPattern,
    KeyQuery,
    Paging,
    validate_patterns,
)
from datamodel.tables import TableSpec
from scripts.capacity import CapacityCost, batch_get_read_units, item_size, put_cost, query_cost
from scripts.codec import ItemFormatError, WireItem, decode_item, encode_item, to_wire
from scripts.errors import InvalidInput, InvalidRequest, NotFound, UsageError
from scripts.target import Target, error_code, translated_errors

MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass
class PatternResult:
    """Items of one access pattern with its computed and reported capacity."""

    items: list[WireItem]
    computed: CapacityCost
    reported: float | None = None
    reported_detail: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None
    # The checked arguments it ran with, by param name (defaults filled in).
    arguments: dict[str, str] = field(default_factory=dict)

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
    """The access patterns against one target's messages and users tables.

    Every request is built from the declarations in `datamodel.patterns`; they are checked
    against the target's stage first, so a declaration that does not fit sends nothing.
    """

    def __init__(self, target: Target, client: Any | None = None) -> None:
        validate_patterns(target.stage)
        self.target = target
        self.stage = target.stage
        self.client = client or target.client()
        self.messages: TableSpec = target.stage.table("messages")
        self.users: TableSpec = target.stage.table("users")

    def _where(self, query: KeyQuery) -> str:
        table = self.stage.table(query.table).table_name
        return f"{table}/{query.index}" if query.index else table

    def _run_query(
        self,
        query: KeyQuery,
        parts: Mapping[str, str],
        result: PatternResult,
        *,
        limit: int | None = None,
        start: WireItem | None = None,
    ) -> list[WireItem]:
        """Send `query` for `parts`, reading pages as its `paging` says; count into `result`.

        `ALL_PAGES` follows `LastEvaluatedKey` to the end, `CURSOR` reads one page and sets
        `result.cursor`, `SINGLE` reads one page.
        """
        params = query.request(self.stage, parts, limit=limit, start=start)
        items: list[WireItem] = []
        with translated_errors(self.target, params["TableName"]):
            while True:
                response = self.client.query(**params)
                page = response.get("Items", [])
                items.extend(page)
                result.computed.merge(query_cost(page, self._where(query)))
                result.record(response)
                last = response.get("LastEvaluatedKey")
                if query.paging is not Paging.ALL_PAGES or not last:
                    break
                params["ExclusiveStartKey"] = last
        if query.paging is Paging.CURSOR and last:
            result.cursor = encode_cursor(last)
        return items

    def run(
        self,
        pattern: AccessPattern,
        /,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **arguments: str | None,
    ) -> PatternResult:
        """Run `pattern` with `arguments` (by param name), checked as its params declare.

        A pattern in `HAND_WRITTEN` is its method, called with the checked arguments; any
        other is one `KeyQuery`, read here. One that pages by cursor takes `limit` (1 to
        `MAX_PAGE`, default `DEFAULT_PAGE`) and a `cursor` from a page of the same partition.
        """
        pattern.validate(self.stage)
        values = checked_arguments(pattern, arguments)
        if not pattern.pages_by_cursor and (limit is not None or cursor is not None):
            raise TypeError(f"pattern {pattern.name} does not page: no limit or cursor")
        method = HAND_WRITTEN.get(pattern.name)
        if method is not None:
            result = method(self, **values)
        else:
            result = self._run_declared(pattern, values, limit, cursor)
        result.arguments = values
        return result

    def _run_declared(
        self,
        pattern: AccessPattern,
        values: Mapping[str, str],
        limit: int | None,
        cursor: str | None,
    ) -> PatternResult:
        """The generic executor: `pattern`'s one `KeyQuery`, read as its `paging` says."""
        query = pattern.query
        if query is None:
            raise PatternError(
                f"pattern {pattern.name}: {len(pattern.steps)} steps and no method in "
                "scripts.patterns.HAND_WRITTEN"
            )
        result = PatternResult([], CapacityCost())
        if not pattern.pages_by_cursor:
            result.items = self._run_query(query, values, result)
            return result
        limit = DEFAULT_PAGE if limit is None else limit
        if not 1 <= limit <= MAX_PAGE:
            raise UsageError(f"--limit must be between 1 and {MAX_PAGE}")
        start = self._start(pattern, query, values, cursor) if cursor else None
        result.items = self._run_query(query, values, result, limit=limit, start=start)
        return result

    def _start(
        self, pattern: AccessPattern, query: KeyQuery, values: Mapping[str, str], cursor: str
    ) -> WireItem:
        """The `ExclusiveStartKey` of `cursor`, refused unless it is of the same partition."""
        start = decode_cursor(cursor)
        attribute, template = query.partition(self.stage.table(query.table))
        expected = render_template(template, values, f"{attribute} = {template}")
        if start.get(attribute) != {"S": expected}:
            parts = template_parts(template)
            what = " and ".join(p.what for p in pattern.params if p.name in parts)
            raise InvalidInput([f"--cursor belongs to another {what or 'partition'}"])
        return start

    def create_message(
        self, message_group_uuid: str, user_uuid: str, text: str, now: datetime | None = None
    ) -> PatternResult:
        """Add a message from `user_uuid` to an existing group they belong to."""
        text = _message_text(text)
        result = PatternResult([], CapacityCost())
        rows = self._run_query(
            GROUP_MEMBERS_QUERY, {"message_group_uuid": message_group_uuid}, result
        )
        if not rows:
            raise NotFound(f"conversation {message_group_uuid} does not exist")
        mine = GROUP_ROW.key_value("pk", {"user_uuid": user_uuid})
        if not any(row["pk"]["S"] == mine for row in rows):
            raise NotFound(f"user {user_uuid} is not a member of conversation {message_group_uuid}")
        # The other member's row describes this user (uuid, display name, handle).
        about_me = next((row for row in rows if row["pk"]["S"] != mine), rows[0])
        created = iso(now or datetime.now(UTC))
        message = to_wire(
            MESSAGE.item(
                {"message_group_uuid": message_group_uuid, "created_at": created},
                {
                    "created_at": created,
                    "message_uuid": str(uuid.uuid4()),
                    "message": text,
                    "user_uuid": user_uuid,
                    "user_display_name": _text(about_me, "user_display_name"),
                    "user_handle": _text(about_me, "user_handle"),
                },
            )
        )
        params = PUT_MESSAGE.request(self.stage, message)
        with translated_errors(self.target, params["TableName"]):
            try:
                response = self.client.put_item(**params)
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise InvalidRequest(
                        f"a message at {created} already exists in {message_group_uuid}; retry"
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
                GROUP_ROW.item(
                    {"user_uuid": owner[USER_KEY]["S"], "last_message_at": created},
                    {
                        "created_at": created,
                        "message_group_uuid": group,
                        "message": text,
                        "user_uuid": partner[USER_KEY]["S"],
                        "user_display_name": _text(partner, "name"),
                        "user_handle": _text(partner, "handle"),
                    },
                )
            )

        message = to_wire(
            MESSAGE.item(
                {"message_group_uuid": group, "created_at": created},
                {
                    "created_at": created,
                    "message_uuid": str(uuid.uuid4()),
                    "message": text,
                    "user_uuid": user_uuid,
                    "user_display_name": _text(me, "name"),
                    "user_handle": _text(me, "handle"),
                },
            )
        )
        items = [group_row(me, other), group_row(other, me), message]
        params = CREATE_CONVERSATION_WRITE.request(self.stage, items)
        with translated_errors(self.target, self.messages.table_name):
            try:
                response = self.client.transact_write_items(**params)
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
        request = GET_MEMBERS.request(self.stage, [{"user_uuid": first}, {"user_uuid": second}])
        found: dict[str, WireItem] = {}
        with translated_errors(self.target, table):
            while request["RequestItems"]:
                response = self.client.batch_get_item(**request)
                for item in response.get("Responses", {}).get(table, []):
                    found[item[USER_KEY]["S"]] = item
                result.record(response)
                request["RequestItems"] = response.get("UnprocessedKeys") or {}
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


# The patterns with rules beyond their declared steps (a membership check; two users and a
# transaction): `Patterns.run` calls these with the checked arguments.
HAND_WRITTEN: dict[str, Callable[..., PatternResult]] = {
    CREATE_MESSAGE.name: Patterns.create_message,
    CREATE_CONVERSATION.name: Patterns.create_conversation,
}


def checked_arguments(
    pattern: AccessPattern, arguments: Mapping[str, str | None]
) -> dict[str, str]:
    """`arguments` by param name, each defaulted and checked as declared (`UsageError`)."""
    unknown = sorted(set(arguments) - {param.name for param in pattern.params})
    if unknown:
        raise TypeError(f"pattern {pattern.name} takes no argument {', '.join(unknown)}")
    values: dict[str, str] = {}
    for param in pattern.params:
        value = arguments.get(param.name)
        if not value and param.default is not None:
            value = param.default_value()
        if value is None:
            raise TypeError(f"pattern {pattern.name} needs argument {param.name!r}")
        problem = param.problem(value)
        if problem is not None:
            raise UsageError(problem)
        values[param.name] = value
    return values


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
    """An opaque cursor for a `LastEvaluatedKey` (DynamoDB JSON inside)."""
    return encode_key(encode_item(key))


def decode_cursor(cursor: str) -> WireItem:
    """The `ExclusiveStartKey` behind a cursor from `encode_cursor`."""
    try:
        return decode_item(decode_key(cursor))
    except (CursorError, ItemFormatError):
        raise InvalidInput(
            [f"--cursor {cursor[:20]!r}... is not a cursor this tool printed"]
        ) from None
