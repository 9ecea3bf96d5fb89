"""Every access pattern as data: the requests of the CLI's patterns and of the Lambdas.

Each `AccessPattern` lists its requests as frozen steps (`KeyQuery`, `BatchGet`,
`ConditionalPut`, `TransactWrite`) naming the table, index, key condition, placeholder
templates, order, paging and write conditions; `FUNCTION_QUERIES` are the queries the
Lambda functions send. The steps build the parameters that are sent, and
`docs/data-model.md` renders the same objects, so the sheet cannot drift from the requests.
`validate_patterns` checks every declaration against a stage's tables first.

Each pattern also declares its arguments as `Param`s (name, CLI name, help, default and
what a valid value is), so the CLI command and the executor are derived from it.

Adding a pattern: a read of one `KeyQuery` is its `AccessPattern` here (steps, params,
summary, title), added to `PATTERNS`, plus its test; `python -m scripts patterns
<name-with-dashes>` and `scripts.patterns.Patterns.run` then serve it. A pattern with rules
beyond its steps (a membership check, a transaction) also needs its `Patterns` method,
listed in `scripts.patterns.HAND_WRITTEN`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from datamodel.entities import (
    ENTITIES,
    GROUP_ROW,
    MESSAGE,
    USER,
    Entity,
    PatternError,
    render,
    template_parts,
)
from datamodel.functions import (
    MESSAGE_STREAM,
    USER_MANAGER,
    MessageStreamEnv,
    UserManagerEnv,
)
from datamodel.tables import EMAIL_INDEX, MESSAGE_GROUP_INDEX, TableSpec

# Every pattern asks for the capacity per table and index, to compare with the computed one.
RETURN_CAPACITY = "INDEXES"
# A key as DynamoDB's wire format has it: {"pk": {"S": "GRP#u1"}}.
WireKey = dict[str, Any]


class Tables(Protocol):
    """What the declarations need of a stage: its name and its tables by logical key."""

    @property
    def name(self) -> str: ...

    def table(self, key: str) -> TableSpec: ...


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
        stage: Tables,
        parts: Mapping[str, str],
        *,
        limit: int | None = None,
        start: WireKey | None = None,
    ) -> dict[str, Any]:
        """The `Query` parameters for `parts` (string values), on `stage`'s table."""
        params: dict[str, Any] = {"TableName": stage.table(self.table).table_name}
        if self.index is not None:
            params["IndexName"] = self.index
        params["KeyConditionExpression"] = self.key_condition
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        params["ExpressionAttributeValues"] = {
            placeholder: {"S": render(template, parts, f"{placeholder} = {template}")}
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

    def partition(self, table: TableSpec) -> tuple[str, str]:
        """The partition key this query reads on `table` and the template of its value."""
        partition, _ = self.key_schema(table)
        match = re.search(
            rf"(?<![\w.#-]){re.escape(partition)}\s*=\s*(:\w+)", self.resolved_condition
        )
        values = dict(self.values)
        if match is None or match.group(1) not in values:
            raise PatternError(f"{self.purpose}: no value declared for the partition key")
        return partition, values[match.group(1)]

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

    def request(self, stage: Tables, keys: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        """The `BatchGetItem` parameters for the rows with key `parts` in `keys`."""
        return {
            "RequestItems": {
                stage.table(self.table).table_name: {
                    "Keys": [
                        {k: {"S": v} for k, v in self.entity.key_values(parts).items()}
                        for parts in keys
                    ]
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

    def put(self, stage: Tables, item: WireKey) -> dict[str, Any]:
        """The `Put` of `item` (as `PutItem` takes it, or inside `TransactWriteItems`)."""
        if not self.entity.matches(item):
            raise PatternError(f"{self.purpose}: the item is not a {self.entity.name}")
        return {
            "TableName": stage.table(self.table).table_name,
            "Item": item,
            "ConditionExpression": self.condition,
        }

    def request(self, stage: Tables, item: WireKey) -> dict[str, Any]:
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

    def request(self, stage: Tables, items: Sequence[WireKey]) -> dict[str, Any]:
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


def this_year() -> str:
    """The current year (UTC), the default of `list_conversations`' `year`."""
    return str(datetime.now(UTC).year)


# Names the CLI and `Patterns.run` give every pattern (paging, output), so no param's.
RESERVED_NAMES = frozenset(("ctx", "as_json", "json", "limit", "cursor"))


@dataclass(frozen=True)
class Param:
    """One argument of a pattern: how it is passed, shown and checked.

    `name` is the keyword `Patterns.run` takes and the template part it fills
    (`user_uuid`); `cli` the CLI's name for it (`user`: argument USER, or `--user` when
    `option`). `default` (a value, or a function such as `this_year`) replaces a missing or
    empty value. A value must match `pattern` in full (`must` says what that means, for the
    error) and, when `non_empty`, hold more than blanks. Errors name it by `label`
    (default: `cli`).
    """

    name: str
    help: str
    _: KW_ONLY
    cli: str = ""
    option: bool = False
    default: str | Callable[[], str] | None = None
    pattern: str | None = None
    must: str = ""
    non_empty: bool = False
    label: str = ""

    @property
    def cli_name(self) -> str:
        """The name on the command line (the argument's metavar, lower case, or the option)."""
        return self.cli or self.name

    @property
    def what(self) -> str:
        """How an error message names the value."""
        return self.label or self.cli_name

    def default_value(self) -> str | None:
        """The value used when none (or an empty one) is given; `None`: it is required."""
        return self.default() if callable(self.default) else self.default

    def problem(self, value: str) -> str | None:
        """Why `value` is refused, in one line (`year must be four digits, got '20x5'`)."""
        if self.non_empty and not value.strip():
            return f"{self.what} must not be empty"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"{self.what} must be {self.must or f'/{self.pattern}/'}, got {value!r}"
        return None


@dataclass(frozen=True)
class AccessPattern:
    """A named access pattern: what it is for, its arguments and its requests, in order.

    `summary` is the CLI command's help line and `title` the heading of its result,
    formatted with the arguments by param name. A pattern of one `KeyQuery` (`query`) runs
    through `Patterns.run` alone; the CLI command is `python -m scripts patterns <name with
    dashes>`, with `--limit` and `--cursor` when the query pages by cursor.
    """

    name: str
    description: str
    steps: tuple[Step, ...]
    params: tuple[Param, ...] = ()
    summary: str = ""
    title: str = ""

    @property
    def command(self) -> str:
        """The `python -m scripts patterns` sub-command that runs this pattern."""
        return self.name.replace("_", "-")

    @property
    def query(self) -> KeyQuery | None:
        """The one `KeyQuery` of a pattern that is nothing else (the generic executor's)."""
        match self.steps:
            case (KeyQuery() as query,):
                return query
        return None

    @property
    def pages_by_cursor(self) -> bool:
        """True when the pattern reads one page at a time (`--limit`, `--cursor`)."""
        return self.query is not None and self.query.paging is Paging.CURSOR

    def heading(self, arguments: Mapping[str, object]) -> str:
        """`title` for `arguments` by param name: the heading of the result."""
        return (self.title or self.name).format_map(arguments)

    def validate(self, stage: Tables) -> None:
        """`PatternError` naming the first step or param that does not fit `stage`'s tables."""
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
        self._validate_params()

    def _validate_params(self) -> None:
        where = f"pattern {self.name}"
        for kind, names in (
            ("name", [param.name for param in self.params]),
            ("CLI name", [param.cli_name for param in self.params]),
        ):
            for name in names:
                if not name.isidentifier() or name in RESERVED_NAMES or names.count(name) > 1:
                    raise PatternError(
                        f"{where}: param {kind} {name!r} must be an identifier, unique, and "
                        f"none of {sorted(RESERVED_NAMES)}"
                    )
        declared = {param.name for param in self.params}
        if self.query is not None:
            for placeholder, template in self.query.values:
                missing = sorted(set(template_parts(template)) - declared)
                if missing:
                    raise PatternError(
                        f"{where}: {placeholder} = {template} needs params {missing}, "
                        "which are not declared"
                    )
        unknown = sorted(set(template_parts(self.title)) - declared)
        if unknown:
            raise PatternError(f"{where}: title {self.title!r} names undeclared params {unknown}")


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
    params=(
        Param("user_uuid", "User uuid.", cli="user"),
        Param(
            "year",
            "Year prefix of sk (default: this year).",
            option=True,
            default=this_year,
            pattern="[0-9]{4}",
            must="four digits",
        ),
    ),
    summary="Message groups of USER, newest first.",
    title="conversations of {user_uuid}",
)
GET_CONVERSATION = AccessPattern(
    name="get_conversation",
    description="A conversation's messages, newest first, a page at a time.",
    steps=(GET_CONVERSATION_QUERY,),
    params=(Param("message_group_uuid", "Message group uuid.", cli="group", label="conversation"),),
    summary="Messages of GROUP, newest first, one page at a time.",
    title="messages of {message_group_uuid}",
)
CREATE_MESSAGE = AccessPattern(
    name="create_message",
    description=(
        "Add a message to an existing conversation: its group rows prove the author is a "
        "member and name them; the message-stream function then moves both group rows."
    ),
    steps=(GROUP_MEMBERS_QUERY, PUT_MESSAGE),
    params=(
        Param("message_group_uuid", "Existing message group uuid.", cli="group"),
        Param("user_uuid", "Author's user uuid (a member).", cli="user"),
        Param("text", "Message text."),
    ),
    summary="Add a message to an existing conversation.",
    title="created message",
)
CREATE_CONVERSATION = AccessPattern(
    name="create_conversation",
    description=(
        "Start a conversation between two users: both group rows and the first message, atomically."
    ),
    steps=(GET_MEMBERS, CREATE_CONVERSATION_WRITE),
    params=(
        Param("user_uuid", "Author's user uuid.", cli="user"),
        Param("other_uuid", "The other member's user uuid.", cli="other"),
        Param("text", "First message."),
    ),
    summary="Start a conversation: both group rows and the first message in one transaction.",
    title="created conversation",
)
FIND_USER_BY_EMAIL = AccessPattern(
    name="find_user_by_email",
    description="Users whose email matches exactly.",
    steps=(FIND_USER_BY_EMAIL_QUERY,),
    params=(Param("email", "Exact email address.", non_empty=True),),
    summary="Users with EMAIL, through the EmailIndex GSI.",
    title="users with email {email}",
)

PATTERNS: tuple[AccessPattern, ...] = (
    LIST_CONVERSATIONS,
    GET_CONVERSATION,
    CREATE_MESSAGE,
    CREATE_CONVERSATION,
    FIND_USER_BY_EMAIL,
)


@dataclass(frozen=True)
class FunctionQuery:
    """A query a Lambda function sends: its `KeyQuery` and how the function reads the pages.

    The function builds its request from `query` (condition and names); the index is the one
    the functions stack passes in the environment variable `index_env` (`None`: the table).
    """

    function: str  # a `datamodel.functions.FUNCTIONS` key
    method: str
    query: KeyQuery
    index_env: str | None = None
    filter: str | None = None
    filter_values: tuple[tuple[str, str], ...] = ()
    consistent: bool = False
    paging: str = Paging.ALL_PAGES.description


FIND_BY_EMAIL = FunctionQuery(
    function=USER_MANAGER.key,
    method="UserRepository.find_by_email",
    query=KeyQuery(
        purpose="UserRepository.find_by_email (user_manager.repository)",
        table="users",
        key_condition="#email = :email",
        values=((":email", "{email}"),),
        index=EMAIL_INDEX,
        names=(("#email", "email"),),
    ),
    index_env=UserManagerEnv.EMAIL_INDEX,
)
GROUP_ROWS = FunctionQuery(
    function=MESSAGE_STREAM.key,
    method="MessageRepository.group_rows",
    query=KeyQuery(
        purpose="MessageRepository.group_rows (message_stream.repository)",
        table="messages",
        key_condition="#g = :g",
        values=((":g", "{message_group_uuid}"),),
        index=MESSAGE_GROUP_INDEX,
        names=(("#g", "message_group_uuid"),),
    ),
    index_env=MessageStreamEnv.GROUP_INDEX,
)
CURRENT_GROUP_ROW = FunctionQuery(
    function=MESSAGE_STREAM.key,
    method="MessageRepository.current_group_row",
    query=KeyQuery(
        purpose="MessageRepository.current_group_row (message_stream.repository)",
        table="messages",
        key_condition="#pk = :pk",
        values=((":pk", GROUP_ROW.template("pk")),),
        names=(("#g", "message_group_uuid"), ("#pk", "pk")),
    ),
    filter="#g = :g",
    filter_values=((":g", "{message_group_uuid}"),),
    consistent=True,
    paging="follows `LastEvaluatedKey` until a row passes the filter",
)

FUNCTION_QUERIES: tuple[FunctionQuery, ...] = (FIND_BY_EMAIL, GROUP_ROWS, CURRENT_GROUP_ROW)


def validate_patterns(
    stage: Tables,
    patterns: Sequence[AccessPattern] = PATTERNS,
    entities: Sequence[Entity] = ENTITIES,
    function_queries: Sequence[FunctionQuery] = FUNCTION_QUERIES,
) -> None:
    """`PatternError` naming the first entity, pattern or query that does not fit `stage`."""
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
    for function_query in function_queries:
        query = function_query.query
        try:
            table = stage.table(query.table)
        except KeyError:
            raise PatternError(f"{function_query.method}: no table {query.table!r}") from None
        query.validate(table)


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
