"""The single-table design: its rows and access patterns, declared once as data, and run.

The rows are `Entity` declarations (`GROUP_ROW`, `MESSAGE`, `USER`): the key templates
(`pk = GRP#{user_uuid}`, `sk = {last_message_at}`) and the attributes. The seeder
(`scripts.sample_data`) and the patterns build every item through them.

Each access pattern is an `AccessPattern`: its requests as frozen steps (`KeyQuery`,
`BatchGet`, `ConditionalPut`, `TransactWrite`) naming the table, index, key condition,
placeholder templates, order, paging and write conditions. The `Patterns` methods build the
parameters they send from those steps, and `docgen.data_model` renders the same objects into
`docs/data-model.md`, so the sheet cannot drift from what the functions send.
`validate_patterns` checks every declaration against a stage's tables (an index the table
lacks, a key condition on attributes that are not the index's keys) before anything is sent.

Each method returns a `PatternResult`: the items, a cursor where the pattern pages, the
capacity computed from item sizes (`scripts.capacity`) and what the endpoint reported.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from scripts.capacity import CapacityCost, batch_get_read_units, item_size, put_cost, query_cost
from scripts.codec import ItemFormatError, WireItem, decode_item, encode_item, to_wire
from scripts.errors import InvalidInput, InvalidRequest, NotFound, ToolError, UsageError
from scripts.target import Target, error_code, translated_errors
from stacks.config import EMAIL_INDEX, MESSAGE_GROUP_INDEX, StageConfig, TableSpec

MAX_PAGE = 100
# Every pattern asks for the capacity per table and index, to compare with the computed one.
RETURN_CAPACITY = "INDEXES"


class PatternError(ToolError):
    """A declared pattern or entity does not fit the stage's tables (a declaration bug)."""


def iso(moment: datetime) -> str:
    """The ISO 8601 form used for `sk` and `created_at` (sortable, microseconds, UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------- declarations: rows


@dataclass(frozen=True)
class KeyTemplate:
    """How one key attribute's value is built from named parts: `pk = GRP#{user_uuid}`."""

    attribute: str
    template: str

    @property
    def prefix(self) -> str:
        """The literal text before the first part (`GRP#`), shared by every value."""
        return self.template.split("{", 1)[0]

    def render(self, parts: Mapping[str, str]) -> str:
        """The value for `parts`; `PatternError` names a missing part."""
        return _render(self.template, parts, f"{self.attribute} = {self.template}")


@dataclass(frozen=True)
class EntityAttribute:
    """A non-key attribute an entity's rows carry."""

    name: str
    description: str
    type: str = "S"


@dataclass(frozen=True)
class Entity:
    """One kind of row of a table: its key templates and attributes.

    `item()` is the only way the tools build such a row, so this declaration is the row's
    definition: a missing or undeclared attribute is refused.
    """

    name: str
    table: str
    description: str
    key: tuple[KeyTemplate, ...]
    attributes: tuple[EntityAttribute, ...]

    def template(self, attribute: str) -> str:
        """The template of key attribute `attribute`."""
        for key in self.key:
            if key.attribute == attribute:
                return key.template
        raise PatternError(f"entity {self.name!r} has no key attribute {attribute!r}")

    def key_value(self, attribute: str, parts: Mapping[str, str]) -> str:
        """The value of key attribute `attribute` for `parts`."""
        return _render(self.template(attribute), parts, f"{self.name} {attribute}")

    def key_values(self, parts: Mapping[str, str]) -> dict[str, str]:
        """The key attributes for `parts`."""
        return {key.attribute: key.render(parts) for key in self.key}

    def item(self, parts: Mapping[str, str], attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A plain row: the key built from `parts`, then exactly the declared `attributes`."""
        declared = [attribute.name for attribute in self.attributes]
        missing = [name for name in declared if name not in attributes]
        unknown = sorted(set(attributes) - set(declared))
        if missing or unknown:
            raise PatternError(
                f"entity {self.name!r}: missing attributes {missing}, undeclared {unknown}"
            )
        return {**self.key_values(parts), **{name: attributes[name] for name in declared}}

    def matches(self, item: Mapping[str, Any]) -> bool:
        """True when `item`'s key values have this entity's literal prefixes."""
        for key in self.key:
            value = item.get(key.attribute)
            text = value.get("S") if isinstance(value, Mapping) else value
            if not isinstance(text, str) or not text.startswith(key.prefix):
                return False
        return True

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless the key attributes are exactly `table`'s key schema."""
        expected = [table.partition_key] + ([table.sort_key] if table.sort_key else [])
        actual = [key.attribute for key in self.key]
        if actual != expected:
            raise PatternError(
                f"entity {self.name!r}: key {actual} does not match table "
                f"{table.table_name}'s key schema {expected}"
            )


GROUP_ROW = Entity(
    name="message group row",
    table="messages",
    description=(
        "One row per member of a conversation: it lists the conversation in that member's "
        "inbox, and describes the *other* member. `sk` is the time of the conversation's last "
        "message, so a member's conversations sort by activity; message-stream moves the row "
        "when a message arrives."
    ),
    key=(KeyTemplate("pk", "GRP#{user_uuid}"), KeyTemplate("sk", "{last_message_at}")),
    attributes=(
        EntityAttribute("created_at", "when the conversation started (ISO 8601, UTC)"),
        EntityAttribute("message_group_uuid", "the conversation"),
        EntityAttribute("message", "text of the last message"),
        EntityAttribute("user_uuid", "the other member (not the member of `pk`)"),
        EntityAttribute("user_display_name", "the other member's display name"),
        EntityAttribute("user_handle", "the other member's handle"),
    ),
)

MESSAGE = Entity(
    name="message",
    table="messages",
    description=(
        "A message of a conversation; the conversation's messages share a partition and "
        "sort by time. Messages carry no `message_group_uuid`, so they stay out of the "
        "group index."
    ),
    key=(KeyTemplate("pk", "MSG#{message_group_uuid}"), KeyTemplate("sk", "{created_at}")),
    attributes=(
        EntityAttribute("created_at", "when it was sent (ISO 8601, UTC; the same as `sk`)"),
        EntityAttribute("message_uuid", "the message's own id"),
        EntityAttribute("message", "the text, at most 1024 bytes"),
        EntityAttribute("user_uuid", "the author"),
        EntityAttribute("user_display_name", "the author's display name"),
        EntityAttribute("user_handle", "the author's handle"),
    ),
)

USER = Entity(
    name="user",
    table="users",
    description=(
        "A user as the sample data set writes it and `create_conversation` reads it. "
        "user-manager writes users too, with its own attributes (see its section below)."
    ),
    key=(KeyTemplate("userId", "{user_uuid}"),),
    attributes=(
        EntityAttribute("email", "the user's email; key of EmailIndex"),
        EntityAttribute("handle", "the user's handle"),
        EntityAttribute("name", "the user's display name"),
        EntityAttribute("createdAt", "when the user was created (ISO 8601, UTC)"),
    ),
)

ENTITIES: tuple[Entity, ...] = (GROUP_ROW, MESSAGE, USER)
USER_KEY = USER.key[0].attribute


# ---------------------------------------------------------------- declarations: requests


class Paging(StrEnum):
    """How a query's pages are read."""

    ALL_PAGES = "all_pages"
    CURSOR = "cursor"
    SINGLE = "single"

    @property
    def description(self) -> str:
        """One line for people."""
        return _PAGING[self]


_PAGING = {
    Paging.ALL_PAGES: "every page: follows `LastEvaluatedKey` to the end",
    Paging.CURSOR: "one page of `Limit` items; `LastEvaluatedKey` is returned as a cursor",
    Paging.SINGLE: "one request; a `LastEvaluatedKey` is not followed (the result is small)",
}


@dataclass(frozen=True)
class KeyQuery:
    """A `Query` on a table or one of its indexes.

    `values` maps each placeholder of `key_condition` to the template of its value, built
    from the pattern's arguments: `(":pk", "GRP#{user_uuid}")`; `names` maps `#name`
    placeholders to attribute names, where the condition uses them.
    """

    purpose: str
    table: str
    key_condition: str
    values: tuple[tuple[str, str], ...]
    index: str | None = None
    names: tuple[tuple[str, str], ...] = ()
    scan_forward: bool = True
    paging: Paging = Paging.ALL_PAGES
    entity: Entity | None = None

    operation: ClassVar[str] = "Query"

    def request(
        self,
        stage: StageConfig,
        parts: Mapping[str, str],
        *,
        limit: int | None = None,
        start: WireItem | None = None,
    ) -> dict[str, Any]:
        """The `Query` parameters for `parts` (string values), on `stage`'s table."""
        params: dict[str, Any] = {"TableName": stage.table(self.table).table_name}
        if self.index is not None:
            params["IndexName"] = self.index
        params["KeyConditionExpression"] = self.key_condition
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        params["ExpressionAttributeValues"] = {
            placeholder: {"S": _render(template, parts, f"{placeholder} = {template}")}
            for placeholder, template in self.values
        }
        if not self.scan_forward:
            params["ScanIndexForward"] = False
        if limit is not None:
            params["Limit"] = limit
        if start is not None:
            params["ExclusiveStartKey"] = start
        params["ReturnConsumedCapacity"] = RETURN_CAPACITY
        return params

    @property
    def resolved_condition(self) -> str:
        """The key condition with every `#name` replaced by its attribute name."""
        names = dict(self.names)
        condition = re.sub(r"#\w+", lambda m: names.get(m.group(0), m.group(0)), self.key_condition)
        unresolved = re.findall(r"#\w+", condition)
        if unresolved:
            raise PatternError(f"{self.purpose}: no attribute name declared for {unresolved}")
        return condition

    def key_schema(self, table: TableSpec) -> tuple[str, str | None]:
        """The partition and sort key of the table or index this query reads."""
        if self.index is None:
            return table.partition_key, table.sort_key
        indexes = (*table.global_indexes, *table.local_indexes)
        for index in indexes:
            if index.name == self.index:
                return index.partition_key, index.sort_key
        names = ", ".join(index.name for index in indexes) or "none"
        raise PatternError(
            f"{self.purpose}: table {table.table_name} has no index {self.index!r} "
            f"(its indexes: {names})"
        )

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless the key condition fits the keys of the table or index."""
        partition, sort = self.key_schema(table)
        where = f"{self.purpose}: key condition {self.key_condition!r}"
        condition = self.resolved_condition
        attributes, placeholders = _condition_names(condition)
        if not re.search(rf"(?<![\w.#-]){re.escape(partition)}\s*=\s*:\w+", condition):
            raise PatternError(f"{where} needs `{partition} = :value` (the partition key)")
        extra = sorted(attributes - {partition, sort})
        if extra:
            keys = [name for name in (partition, sort) if name]
            raise PatternError(f"{where} uses {extra}, which are not keys {keys}")
        declared = {placeholder for placeholder, _ in self.values}
        if placeholders != declared:
            raise PatternError(
                f"{where} has placeholders {sorted(placeholders)} but values are declared "
                f"for {sorted(declared)}"
            )


@dataclass(frozen=True)
class BatchGet:
    """A `BatchGetItem` of `entity` rows by key."""

    purpose: str
    entity: Entity

    operation: ClassVar[str] = "BatchGetItem"

    @property
    def table(self) -> str:
        """The logical table read."""
        return self.entity.table

    def request(self, stage: StageConfig, keys: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        """The `BatchGetItem` parameters for the rows with key `parts` in `keys`."""
        return {
            "RequestItems": {
                stage.table(self.table).table_name: {
                    "Keys": [to_wire(self.entity.key_values(parts)) for parts in keys]
                }
            },
            "ReturnConsumedCapacity": RETURN_CAPACITY,
        }

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless the entity's key is the table's."""
        self.entity.validate(table)


@dataclass(frozen=True)
class ConditionalPut:
    """A put of a new `entity` row, refused by DynamoDB unless `condition` holds."""

    purpose: str
    entity: Entity
    condition: str = "attribute_not_exists(pk)"

    operation: ClassVar[str] = "PutItem"

    @property
    def table(self) -> str:
        """The logical table written."""
        return self.entity.table

    def put(self, stage: StageConfig, item: WireItem) -> dict[str, Any]:
        """The `Put` of `item` (as `PutItem` takes it, or inside `TransactWriteItems`)."""
        if not self.entity.matches(item):
            raise PatternError(f"{self.purpose}: the item is not a {self.entity.name}")
        return {
            "TableName": stage.table(self.table).table_name,
            "Item": item,
            "ConditionExpression": self.condition,
        }

    def request(self, stage: StageConfig, item: WireItem) -> dict[str, Any]:
        """The `PutItem` parameters for `item`."""
        return {**self.put(stage, item), "ReturnConsumedCapacity": RETURN_CAPACITY}

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless the entity fits the table and the condition names its keys."""
        self.entity.validate(table)
        attributes, _ = _condition_names(self.condition)
        keys = {key.attribute for key in self.entity.key}
        known = keys | {attribute.name for attribute in self.entity.attributes}
        unknown = sorted(attributes - known)
        if unknown:
            raise PatternError(
                f"{self.purpose}: condition {self.condition!r} names {unknown}, "
                f"not attributes of a {self.entity.name}"
            )


@dataclass(frozen=True)
class TransactWrite:
    """A `TransactWriteItems` of conditional puts: all of them are written, or none."""

    purpose: str
    puts: tuple[ConditionalPut, ...]

    operation: ClassVar[str] = "TransactWriteItems"

    @property
    def table(self) -> str:
        """The logical table written (every put must be on the same one)."""
        return self.puts[0].table

    def request(self, stage: StageConfig, items: Sequence[WireItem]) -> dict[str, Any]:
        """The parameters for `items`, one per declared put, in order."""
        if len(items) != len(self.puts):
            raise PatternError(
                f"{self.purpose}: {len(self.puts)} puts are declared, {len(items)} items given"
            )
        return {
            "TransactItems": [
                {"Put": put.put(stage, item)} for put, item in zip(self.puts, items, strict=True)
            ],
            "ReturnConsumedCapacity": RETURN_CAPACITY,
        }

    def validate(self, table: TableSpec) -> None:
        """`PatternError` unless every put fits `table`."""
        for put in self.puts:
            if put.table != self.table:
                raise PatternError(f"{self.purpose}: every put must write table {self.table!r}")
            put.validate(table)


Step = KeyQuery | BatchGet | ConditionalPut | TransactWrite


@dataclass(frozen=True)
class AccessPattern:
    """A named access pattern: what it is for and the requests it makes, in order.

    `name` is the `Patterns` method; the CLI command is `python -m scripts patterns
    <name with dashes>`.
    """

    name: str
    description: str
    steps: tuple[Step, ...]

    @property
    def command(self) -> str:
        """The `python -m scripts patterns` sub-command that runs this pattern."""
        return self.name.replace("_", "-")

    def validate(self, stage: StageConfig) -> None:
        """`PatternError` naming the first step that does not fit `stage`'s tables."""
        for step in self.steps:
            try:
                table = stage.table(step.table)
            except KeyError:
                raise PatternError(
                    f"pattern {self.name}: stage {stage.name} has no table {step.table!r}"
                ) from None
            try:
                step.validate(table)
            except PatternError as error:
                raise PatternError(f"pattern {self.name}: {error}") from None


LIST_CONVERSATIONS_QUERY = KeyQuery(
    purpose="the member's group rows of one year",
    table="messages",
    key_condition="pk = :pk AND begins_with(sk, :year)",
    values=((":pk", GROUP_ROW.template("pk")), (":year", "{year}")),
    scan_forward=False,
    paging=Paging.ALL_PAGES,
    entity=GROUP_ROW,
)
GET_CONVERSATION_QUERY = KeyQuery(
    purpose="one page of the conversation's messages",
    table="messages",
    key_condition="pk = :pk",
    values=((":pk", MESSAGE.template("pk")),),
    scan_forward=False,
    paging=Paging.CURSOR,
    entity=MESSAGE,
)
GROUP_MEMBERS_QUERY = KeyQuery(
    purpose="the conversation's group rows, one per member",
    table="messages",
    index=MESSAGE_GROUP_INDEX,
    key_condition="message_group_uuid = :group",
    values=((":group", "{message_group_uuid}"),),
    paging=Paging.SINGLE,
    entity=GROUP_ROW,
)
PUT_MESSAGE = ConditionalPut(purpose="the new message", entity=MESSAGE)
GET_MEMBERS = BatchGet(purpose="both members' user rows", entity=USER)
CREATE_CONVERSATION_WRITE = TransactWrite(
    purpose="both group rows and the first message",
    puts=(
        ConditionalPut(purpose="the author's group row", entity=GROUP_ROW),
        ConditionalPut(purpose="the other member's group row", entity=GROUP_ROW),
        ConditionalPut(purpose="the first message", entity=MESSAGE),
    ),
)
FIND_USER_BY_EMAIL_QUERY = KeyQuery(
    purpose="users with the email",
    table="users",
    index=EMAIL_INDEX,
    key_condition="email = :email",
    values=((":email", "{email}"),),
    paging=Paging.SINGLE,
    entity=USER,
)

LIST_CONVERSATIONS = AccessPattern(
    name="list_conversations",
    description="A member's conversations in one year (default: this one), most recent first.",
    steps=(LIST_CONVERSATIONS_QUERY,),
)
GET_CONVERSATION = AccessPattern(
    name="get_conversation",
    description="A conversation's messages, newest first, a page at a time.",
    steps=(GET_CONVERSATION_QUERY,),
)
CREATE_MESSAGE = AccessPattern(
    name="create_message",
    description=(
        "Add a message to an existing conversation: its group rows prove the author is a "
        "member and name them; the message-stream function then moves both group rows."
    ),
    steps=(GROUP_MEMBERS_QUERY, PUT_MESSAGE),
)
CREATE_CONVERSATION = AccessPattern(
    name="create_conversation",
    description=(
        "Start a conversation between two users: both group rows and the first message, atomically."
    ),
    steps=(GET_MEMBERS, CREATE_CONVERSATION_WRITE),
)
FIND_USER_BY_EMAIL = AccessPattern(
    name="find_user_by_email",
    description="Users whose email matches exactly.",
    steps=(FIND_USER_BY_EMAIL_QUERY,),
)

PATTERNS: tuple[AccessPattern, ...] = (
    LIST_CONVERSATIONS,
    GET_CONVERSATION,
    CREATE_MESSAGE,
    CREATE_CONVERSATION,
    FIND_USER_BY_EMAIL,
)


def validate_patterns(
    stage: StageConfig,
    patterns: Sequence[AccessPattern] = PATTERNS,
    entities: Sequence[Entity] = ENTITIES,
) -> None:
    """`PatternError` naming the first entity or pattern that does not fit `stage`."""
    for entity in entities:
        try:
            table = stage.table(entity.table)
        except KeyError:
            raise PatternError(
                f"entity {entity.name!r}: stage {stage.name} has no table {entity.table!r}"
            ) from None
        entity.validate(table)
    for pattern in patterns:
        pattern.validate(stage)


# ---------------------------------------------------------------- running the patterns


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
    """The access patterns against one target's messages and users tables.

    Every request is built from the declarations above; they are checked against the
    target's stage first, so a declaration that does not fit sends nothing.
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

    def list_conversations(self, user_uuid: str, year: str | None = None) -> PatternResult:
        """Message groups of `user_uuid` in `year` (default: this year), newest first."""
        year = year or str(datetime.now(UTC).year)
        if not (year.isdigit() and len(year) == 4):
            raise UsageError(f"year must be four digits, got {year!r}")
        query = LIST_CONVERSATIONS_QUERY
        params = query.request(self.stage, {"user_uuid": user_uuid, "year": year})
        result = PatternResult([], CapacityCost())
        with translated_errors(self.target, params["TableName"]):
            while True:
                response = self.client.query(**params)
                page = response.get("Items", [])
                result.items.extend(page)
                result.computed.merge(query_cost(page, self._where(query)))
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
        query = GET_CONVERSATION_QUERY
        parts = {"message_group_uuid": group_uuid}
        start = None
        if cursor:
            start = decode_cursor(cursor)
            if start.get("pk") != {"S": MESSAGE.key_value("pk", parts)}:
                raise InvalidInput(["--cursor belongs to another conversation"])
        params = query.request(self.stage, parts, limit=limit, start=start)
        with translated_errors(self.target, params["TableName"]):
            response = self.client.query(**params)
        items = response.get("Items", [])
        result = PatternResult(items, query_cost(items, self._where(query)))
        result.record(response)
        last = response.get("LastEvaluatedKey")
        result.cursor = encode_cursor(last) if last else None
        return result

    def _group_rows(self, group_uuid: str, result: PatternResult) -> list[WireItem]:
        query = GROUP_MEMBERS_QUERY
        params = query.request(self.stage, {"message_group_uuid": group_uuid})
        with translated_errors(self.target, params["TableName"]):
            response = self.client.query(**params)
        rows: list[WireItem] = response.get("Items", [])
        result.computed.merge(query_cost(rows, self._where(query)))
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
        mine = GROUP_ROW.key_value("pk", {"user_uuid": user_uuid})
        if not any(row["pk"]["S"] == mine for row in rows):
            raise NotFound(f"user {user_uuid} is not a member of conversation {group_uuid}")
        # The other member's row describes this user (uuid, display name, handle).
        about_me = next((row for row in rows if row["pk"]["S"] != mine), rows[0])
        created = iso(now or datetime.now(UTC))
        message = to_wire(
            MESSAGE.item(
                {"message_group_uuid": group_uuid, "created_at": created},
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

    def find_user_by_email(self, email: str) -> PatternResult:
        """Users whose `email` matches exactly, through the `EmailIndex` GSI."""
        if not email.strip():
            raise UsageError("email must not be empty")
        query = FIND_USER_BY_EMAIL_QUERY
        params = query.request(self.stage, {"email": email})
        with translated_errors(self.target, params["TableName"]):
            response = self.client.query(**params)
        items = response.get("Items", [])
        result = PatternResult(items, query_cost(items, self._where(query)))
        result.record(response)
        return result


def _template_parts(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _render(template: str, parts: Mapping[str, str], where: str) -> str:
    missing = [name for name in _template_parts(template) if name not in parts]
    if missing:
        raise PatternError(f"{where}: no value for {', '.join(missing)}")
    return template.format_map(parts)


# A condition's words that are not attribute names.
_CONDITION_WORDS = frozenset(
    ("AND", "OR", "NOT", "BETWEEN", "IN", "begins_with", "contains", "size")
    + ("attribute_exists", "attribute_not_exists", "attribute_type")
)


def _condition_names(expression: str) -> tuple[set[str], set[str]]:
    """The attribute names and the `:placeholders` an expression mentions."""
    tokens = re.findall(r":?[A-Za-z_][\w.-]*", expression)
    placeholders = {token for token in tokens if token.startswith(":")}
    attributes = {t for t in tokens if not t.startswith(":") and t not in _CONDITION_WORDS}
    return attributes, placeholders


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
