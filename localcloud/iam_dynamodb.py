"""The IAM authorization requests AWS evaluates for one DynamoDB or DynamoDB Streams call.

`authorization_requests` turns an operation (the `X-Amz-Target` suffix) and its JSON body
into (action, resource, condition context) triples, as AWS's Service Authorization
Reference maps them: item operations on the table ARN (Query and Scan on the index ARN when
`IndexName` is given), the Streams operations on the stream ARN, `ListTables`,
`ListStreams` and `DescribeLimits` on `*`; `DescribeEndpoints` needs no permission. Each
part of a transaction is authorized as its own item action (`ConditionCheck` as
`dynamodb:ConditionCheckItem`) with `dynamodb:EnclosingOperation`; a batch is authorized as
`dynamodb:BatchGetItem`/`dynamodb:BatchWriteItem` once per table, over all of that table's
items; PartiQL by the statement's verb. The context holds the fine-grained access control
keys: `dynamodb:LeadingKeys` (partition-key values, as strings), `dynamodb:Attributes`
(top-level attribute names the request reads, writes or evaluates in a condition or
filter), `dynamodb:Select`, `dynamodb:ReturnValues` (with DynamoDB's defaults, which AWS
evaluates too), `dynamodb:ReturnConsumedCapacity` when given, and tag keys for tagging.

Pure: the caller supplies key schemas and the stream of a shard iterator. A body DynamoDB
would refuse for its shape raises `MalformedRequest`; a request that is well formed but
wrong (an unknown `#name`, a key without its partition key) is left to the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from localcloud.arns import table_arn

LEADING_KEYS = "dynamodb:LeadingKeys"
ATTRIBUTES = "dynamodb:Attributes"
SELECT = "dynamodb:Select"
RETURN_VALUES = "dynamodb:ReturnValues"
RETURN_CONSUMED_CAPACITY = "dynamodb:ReturnConsumedCapacity"
ENCLOSING_OPERATION = "dynamodb:EnclosingOperation"
TAG_KEYS = "aws:TagKeys"
REQUEST_TAG = "aws:RequestTag/"

# Operations whose only resource is the table named by `TableName`.
TABLE_OPERATIONS = frozenset(
    {
        "DeleteTable",
        "DescribeTable",
        "UpdateTable",
        "DescribeTimeToLive",
        "UpdateTimeToLive",
        "DescribeContinuousBackups",
        "UpdateContinuousBackups",
    }
)
# Actions without resource-level permissions: the Service Authorization Reference lists no
# resource type for them, so they are authorized on "*".
ACCOUNT_OPERATIONS = frozenset({"ListTables", "ListStreams", "DescribeLimits"})
# Endpoint discovery: AWS checks no permission for it, though the reference lists an action.
PERMISSIONLESS_OPERATIONS = frozenset({"DescribeEndpoints"})

_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
_ARN_PREFIX = r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/"
_TABLE_ARN = re.compile(_ARN_PREFIX + r"(?P<name>[a-zA-Z0-9_.-]+)")
_STREAM_ARN = re.compile(_ARN_PREFIX + r"[a-zA-Z0-9_.-]+/stream/\S+")
# Expression tokens: a name (`#placeholder` or bare), a `:value`, or one piece of syntax.
_TOKEN = re.compile(
    r"\s*(?:(?P<name>#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<value>:[A-Za-z0-9_]+)|(?P<syntax><>|<=|>=|\[\s*\d+\s*\]|\S))"
)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"})
_KEY_TYPES = ("S", "N", "B")
# PartiQL tokens: a quoted identifier, a string literal, a word, or one other character.
_PARTIQL_TOKEN = re.compile(
    r'\s*(?:("(?:[^"]|"")*")|(\'(?:[^\']|\'\')*\')|([A-Za-z_][A-Za-z0-9_]*)|(\S))'
)
# A statement's verb: its action and the word before its table ("" when the table follows).
_VERBS = {
    "SELECT": ("dynamodb:PartiQLSelect", "FROM"),
    "INSERT": ("dynamodb:PartiQLInsert", "INTO"),
    "UPDATE": ("dynamodb:PartiQLUpdate", ""),
    "DELETE": ("dynamodb:PartiQLDelete", "FROM"),
}


@dataclass(frozen=True)
class KeySchema:
    """A table's key attribute names."""

    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    """One action on one resource, with the condition context AWS evaluates it in."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class UnsupportedOperation(Exception):
    """An operation (or PartiQL statement) this module does not map to IAM actions."""


class MalformedRequest(ValueError):
    """A request body DynamoDB would refuse for its shape (answered as `ValidationException`)."""


def authorization_requests(
    operation: str,
    body: Mapping[str, Any],
    *,
    region: str,
    account: str,
    key_schema: Callable[[str], KeySchema | None],
    stream_arn_of_iterator: Callable[[str], str | None],
) -> list[AuthorizationRequest]:
    """Every authorization AWS evaluates for `operation` with request `body`, in order.

    `key_schema` names a table's keys (None for a table it does not know: no
    `dynamodb:LeadingKeys` then); `stream_arn_of_iterator` gives the stream a shard iterator
    reads. Raises `UnsupportedOperation` for what is not mapped and `MalformedRequest` for a
    body of the wrong shape.
    """
    if not isinstance(body, Mapping):
        raise MalformedRequest("the request body must be a JSON object")
    return _Translator(region, account, key_schema, stream_arn_of_iterator).requests(
        operation, body
    )


@dataclass(frozen=True)
class _Table:
    name: str
    arn: str


@dataclass
class _Access:
    """What one authorization covers, gathered before it becomes a condition context."""

    values: dict[str, str] = field(default_factory=dict)
    leading_keys: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)

    def request(self, action: str, resource: str) -> AuthorizationRequest:
        context: dict[str, tuple[str, ...]] = {key: (value,) for key, value in self.values.items()}
        if self.leading_keys:
            context[LEADING_KEYS] = tuple(sorted(self.leading_keys))
        if self.attributes:
            context[ATTRIBUTES] = tuple(sorted(self.attributes))
        return AuthorizationRequest(action, resource, context)


# Builds one item action's authorization from its spec, path and single-valued context.
_Builder = Callable[["_Translator", Mapping[str, Any], str, dict[str, str]], AuthorizationRequest]


class _Translator:
    """One call's translation, with what the caller knows about tables and streams."""

    def __init__(
        self,
        region: str,
        account: str,
        key_schema: Callable[[str], KeySchema | None],
        stream_arn_of_iterator: Callable[[str], str | None],
    ) -> None:
        self.region = region
        self.account = account
        self.key_schema = key_schema
        self.stream_arn_of_iterator = stream_arn_of_iterator
        self._schemas: dict[str, KeySchema | None] = {}

    def requests(self, operation: str, body: Mapping[str, Any]) -> list[AuthorizationRequest]:
        if operation in PERMISSIONLESS_OPERATIONS:
            return []
        if operation in ACCOUNT_OPERATIONS:
            return [AuthorizationRequest(f"dynamodb:{operation}", "*", {})]
        if operation in TABLE_OPERATIONS:
            return [AuthorizationRequest(f"dynamodb:{operation}", self._table(body, "").arn, {})]
        match operation:
            case "GetItem":
                return [self._get(body, "", self._capacity(body))]
            case "PutItem" | "UpdateItem" | "DeleteItem":
                returned = _optional(body, "ReturnValues", str, "") or "NONE"
                extra = {RETURN_VALUES: returned, **self._capacity(body)}
                return [self._WRITES[operation](self, body, "", extra)]
            case "Query" | "Scan":
                return [self._read(operation, body)]
            case "BatchGetItem":
                return self._batch_get(body)
            case "BatchWriteItem":
                return self._batch_write(body)
            case "TransactGetItems" | "TransactWriteItems":
                return self._transaction(operation, body)
            case "ExecuteStatement":
                return [self._statement(body, "", {})]
            case "BatchExecuteStatement" | "ExecuteTransaction":
                return self._statements(operation, body)
            case "CreateTable":
                tags = _tag_context(body)
                return [
                    AuthorizationRequest("dynamodb:CreateTable", self._table(body, "").arn, tags)
                ]
            case "TagResource" | "UntagResource" | "ListTagsOfResource":
                return [self._tagging(operation, body)]
            case "DescribeStream" | "GetShardIterator":
                arn = _required(body, "StreamArn", str, "")
                if not _STREAM_ARN.fullmatch(arn):
                    raise MalformedRequest(f"StreamArn {arn!r} is not a DynamoDB stream ARN")
                return [AuthorizationRequest(f"dynamodb:{operation}", arn, {})]
            case "GetRecords":
                return [self._get_records(body)]
        raise UnsupportedOperation(f"no IAM mapping for DynamoDB operation {operation!r}")

    # -- item operations, alone or as part of a transaction ----------------------------
    def _get(self, spec: Mapping[str, Any], at: str, extra: dict[str, str]) -> AuthorizationRequest:
        table = self._table(spec, at)
        access = _Access(dict(extra))
        self._add_item(access, table, _required(spec, "Key", Mapping, at), f"{at}Key")
        projected = self._add_projection(access, _Expressions(spec, at), spec)
        access.values[SELECT] = _item_select(projected)
        return access.request("dynamodb:GetItem", table.arn)

    def _put(self, spec: Mapping[str, Any], at: str, extra: dict[str, str]) -> AuthorizationRequest:
        table = self._table(spec, at)
        access = _Access(dict(extra))
        self._add_item(access, table, _required(spec, "Item", Mapping, at), f"{at}Item")
        self._add_condition(access, _Expressions(spec, at), spec)
        return access.request("dynamodb:PutItem", table.arn)

    def _update(
        self, spec: Mapping[str, Any], at: str, extra: dict[str, str]
    ) -> AuthorizationRequest:
        table = self._table(spec, at)
        expressions = _Expressions(spec, at)
        access = _Access(dict(extra))
        self._add_item(access, table, _required(spec, "Key", Mapping, at), f"{at}Key")
        access.attributes |= expressions.names_in(spec, "UpdateExpression")
        access.attributes |= _legacy_names(spec, "AttributeUpdates", at)
        self._add_condition(access, expressions, spec)
        return access.request("dynamodb:UpdateItem", table.arn)

    def _keyed(
        self, action: str, spec: Mapping[str, Any], at: str, extra: dict[str, str]
    ) -> AuthorizationRequest:
        """A request on one item by its `Key`, with a condition: a delete or a check."""
        table = self._table(spec, at)
        access = _Access(dict(extra))
        self._add_item(access, table, _required(spec, "Key", Mapping, at), f"{at}Key")
        self._add_condition(access, _Expressions(spec, at), spec)
        return access.request(action, table.arn)

    def _delete(
        self, spec: Mapping[str, Any], at: str, extra: dict[str, str]
    ) -> AuthorizationRequest:
        return self._keyed("dynamodb:DeleteItem", spec, at, extra)

    def _condition_check(
        self, spec: Mapping[str, Any], at: str, extra: dict[str, str]
    ) -> AuthorizationRequest:
        return self._keyed("dynamodb:ConditionCheckItem", spec, at, extra)

    _WRITES: ClassVar[dict[str, _Builder]] = {
        "PutItem": _put,
        "UpdateItem": _update,
        "DeleteItem": _delete,
    }
    _TRANSACT_PARTS: ClassVar[dict[str, dict[str, _Builder]]] = {
        "TransactWriteItems": {
            "Put": _put,
            "Update": _update,
            "Delete": _delete,
            "ConditionCheck": _condition_check,
        },
        "TransactGetItems": {"Get": _get},
    }

    def _transaction(self, operation: str, body: Mapping[str, Any]) -> list[AuthorizationRequest]:
        """One authorization per part, as the part's own item action."""
        parts = self._TRANSACT_PARTS[operation]
        extra = {ENCLOSING_OPERATION: operation, **self._capacity(body)}
        if operation == "TransactWriteItems":
            extra[RETURN_VALUES] = "NONE"  # a transaction's writes return no item
        requests = []
        for index, entry in enumerate(_required(body, "TransactItems", list, "")):
            at = f"TransactItems[{index}]"
            given = entry.items() if isinstance(entry, Mapping) else ()
            present = [(kind, spec) for kind, spec in given if spec is not None]
            if len(present) != 1 or present[0][0] not in parts:
                raise MalformedRequest(f"{at} must hold exactly one of {', '.join(parts)}")
            kind, spec = present[0]
            if not isinstance(spec, Mapping):
                raise MalformedRequest(f"{at}.{kind} must be an object")
            requests.append(parts[kind](self, spec, f"{at}.{kind}.", extra))
        return requests

    # -- reads over many items ----------------------------------------------------------
    def _read(self, operation: str, body: Mapping[str, Any]) -> AuthorizationRequest:
        table = self._table(body, "")
        index = _optional(body, "IndexName", str, "")
        if index is not None and not _NAME.fullmatch(index):
            raise MalformedRequest(f"IndexName {index!r} is not a valid index name")
        expressions = _Expressions(body, "")
        access = _Access(self._capacity(body))
        if operation == "Query":
            equalities = expressions.equalities(body)
            access.attributes |= expressions.names_in(body, "KeyConditionExpression")
            access.attributes |= _legacy_names(body, "KeyConditions", "")
            access.attributes |= _legacy_names(body, "QueryFilter", "")
            schema = self._schema(table.name)
            if schema is not None and index is None:
                if schema.partition_key in equalities:
                    access.leading_keys.add(equalities[schema.partition_key])
            elif schema is not None:
                # An index's partition key is the attribute compared with `=`; when its sort
                # key is compared with `=` too, both values are kept (the stricter reading).
                access.leading_keys |= set(equalities.values())
        else:
            access.attributes |= _legacy_names(body, "ScanFilter", "")
        access.attributes |= expressions.names_in(body, "FilterExpression")
        projected = self._add_projection(access, expressions, body)
        chosen = _optional(body, "Select", str, "")
        if chosen is None:  # DynamoDB's default, which AWS evaluates as if given
            chosen = _item_select(projected)
            if index is not None and not projected:
                chosen = "ALL_PROJECTED_ATTRIBUTES"
        access.values[SELECT] = chosen
        resource = table.arn if index is None else f"{table.arn}/index/{index}"
        return access.request(f"dynamodb:{operation}", resource)

    def _batch_get(self, body: Mapping[str, Any]) -> list[AuthorizationRequest]:
        requests = []
        for name, spec in _required(body, "RequestItems", Mapping, "").items():
            at = f"RequestItems.{name}."
            if not isinstance(spec, Mapping):
                raise MalformedRequest(f"RequestItems.{name} must be an object")
            table = self._named_table(name, "RequestItems")
            access = _Access(self._capacity(body))
            for position, key in enumerate(_required(spec, "Keys", list, at)):
                self._add_item(access, table, key, f"{at}Keys[{position}]")
            projected = self._add_projection(access, _Expressions(spec, at), spec)
            access.values[SELECT] = _item_select(projected)
            requests.append(access.request("dynamodb:BatchGetItem", table.arn))
        return requests

    def _batch_write(self, body: Mapping[str, Any]) -> list[AuthorizationRequest]:
        """One `dynamodb:BatchWriteItem` per table: AWS evaluates no PutItem or DeleteItem."""
        requests = []
        for name, writes in _required(body, "RequestItems", Mapping, "").items():
            if not isinstance(writes, list):
                raise MalformedRequest(f"RequestItems.{name} must be a list")
            table = self._named_table(name, "RequestItems")
            access = _Access(self._capacity(body))
            for position, write in enumerate(writes):
                at = f"RequestItems.{name}[{position}]"
                if not isinstance(write, Mapping):
                    raise MalformedRequest(f"{at} must be an object")
                put = _optional(write, "PutRequest", Mapping, f"{at}.")
                delete = _optional(write, "DeleteRequest", Mapping, f"{at}.")
                if (put is None) == (delete is None):
                    raise MalformedRequest(f"{at} must hold one of PutRequest, DeleteRequest")
                if put is not None:
                    item = _required(put, "Item", Mapping, f"{at}.PutRequest.")
                    self._add_item(access, table, item, f"{at}.PutRequest.Item")
                else:
                    key = _required(delete, "Key", Mapping, f"{at}.DeleteRequest.")
                    self._add_item(access, table, key, f"{at}.DeleteRequest.Key")
            requests.append(access.request("dynamodb:BatchWriteItem", table.arn))
        return requests

    # -- PartiQL --------------------------------------------------------------------------
    def _statements(self, operation: str, body: Mapping[str, Any]) -> list[AuthorizationRequest]:
        field_name = "TransactStatements" if operation == "ExecuteTransaction" else "Statements"
        extra = {ENCLOSING_OPERATION: operation} if operation == "ExecuteTransaction" else {}
        requests = []
        for index, spec in enumerate(_required(body, field_name, list, "")):
            at = f"{field_name}[{index}]"
            if not isinstance(spec, Mapping):
                raise MalformedRequest(f"{at} must be an object")
            requests.append(self._statement(spec, f"{at}.", extra))
        return requests

    def _statement(
        self, spec: Mapping[str, Any], at: str, extra: dict[str, str]
    ) -> AuthorizationRequest:
        statement = _required(spec, "Statement", str, at)
        target = _partiql_target(statement)
        if target is None:
            raise UnsupportedOperation(f"no IAM mapping for PartiQL statement {statement!r}")
        action, table_name, index = target
        table = self._named_table(table_name, f"{at}Statement")
        resource = table.arn if index is None else f"{table.arn}/index/{index}"
        return _Access(dict(extra)).request(action, resource)

    # -- control plane and streams ----------------------------------------------------------
    def _tagging(self, operation: str, body: Mapping[str, Any]) -> AuthorizationRequest:
        arn = _required(body, "ResourceArn", str, "")
        if not (_TABLE_ARN.fullmatch(arn) or _STREAM_ARN.fullmatch(arn)):
            raise MalformedRequest(f"ResourceArn {arn!r} is not a DynamoDB table or stream ARN")
        context: dict[str, tuple[str, ...]] = {}
        if operation == "TagResource":
            context = _tag_context(body)
        elif operation == "UntagResource":
            keys = _required(body, "TagKeys", list, "")
            if not all(isinstance(key, str) for key in keys):
                raise MalformedRequest("TagKeys must be a list of strings")
            context = {TAG_KEYS: tuple(keys)}
        return AuthorizationRequest(f"dynamodb:{operation}", arn, context)

    def _get_records(self, body: Mapping[str, Any]) -> AuthorizationRequest:
        iterator = _required(body, "ShardIterator", str, "")
        arn = self.stream_arn_of_iterator(iterator)
        if arn is None:
            raise MalformedRequest("ShardIterator is not a shard iterator of any stream")
        return AuthorizationRequest("dynamodb:GetRecords", arn, {})

    # -- shared parts -------------------------------------------------------------------------
    def _table(self, spec: Mapping[str, Any], at: str) -> _Table:
        return self._named_table(_required(spec, "TableName", str, at), f"{at}TableName")

    def _named_table(self, given: str, at: str) -> _Table:
        """A table named by name or ARN (newer SDKs send either), with its ARN."""
        if given.startswith("arn:"):
            match = _TABLE_ARN.fullmatch(given)
            if match is None:
                raise MalformedRequest(f"{at} {given!r} is not a DynamoDB table ARN")
            return _Table(match["name"], given)
        if not _NAME.fullmatch(given):
            raise MalformedRequest(f"{at} {given!r} is not a valid table name")
        return _Table(given, table_arn(self.region, self.account, given))

    def _schema(self, table: str) -> KeySchema | None:
        if table not in self._schemas:
            self._schemas[table] = self.key_schema(table)
        return self._schemas[table]

    def _add_item(self, access: _Access, table: _Table, item: Any, at: str) -> None:
        """An item's (or key's) attribute names, and its partition-key value if known."""
        if not isinstance(item, Mapping):
            raise MalformedRequest(f"{at} must be an object")
        access.attributes |= _names_of(item, at)
        schema = self._schema(table.name)
        if schema is not None and schema.partition_key in item:
            value = _key_string(item[schema.partition_key], f"{at}.{schema.partition_key}")
            if value is not None:
                access.leading_keys.add(value)

    @staticmethod
    def _add_condition(access: _Access, expressions: _Expressions, spec: Mapping[str, Any]) -> None:
        access.attributes |= expressions.names_in(spec, "ConditionExpression")
        access.attributes |= _legacy_names(spec, "Expected", expressions.at)

    @staticmethod
    def _add_projection(
        access: _Access, expressions: _Expressions, spec: Mapping[str, Any]
    ) -> bool:
        """Add the projected names; whether the request projects at all."""
        projected = expressions.projection(spec)
        if projected is not None:
            access.attributes |= projected
        return projected is not None

    @staticmethod
    def _capacity(body: Mapping[str, Any]) -> dict[str, str]:
        given = _optional(body, "ReturnConsumedCapacity", str, "")
        return {} if given is None else {RETURN_CONSUMED_CAPACITY: given}


class _Expressions:
    """The expression attribute names and values of one request (or transaction part)."""

    def __init__(self, spec: Mapping[str, Any], at: str) -> None:
        self.at = at
        names = _optional(spec, "ExpressionAttributeNames", Mapping, at) or {}
        if not all(isinstance(value, str) for value in names.values()):
            raise MalformedRequest(f"{at}ExpressionAttributeNames must map to strings")
        self.names: Mapping[str, str] = names
        self.values: Mapping[str, Any] = (
            _optional(spec, "ExpressionAttributeValues", Mapping, at) or {}
        )

    def names_in(self, spec: Mapping[str, Any], expression_field: str) -> set[str]:
        """The top-level attribute names an expression mentions (not its functions)."""
        expression = _optional(spec, expression_field, str, self.at)
        if expression is None:
            return set()
        tokens = _tokens(expression)
        found: set[str] = set()
        for position, (kind, text) in enumerate(tokens):
            if kind != "name" or (position > 0 and tokens[position - 1][1] == "."):
                continue  # not a name, or a nested part of a path
            followed_by = tokens[position + 1][1] if position + 1 < len(tokens) else ""
            if not text.startswith("#") and (text.upper() in _KEYWORDS or followed_by == "("):
                continue
            name = self._resolve(text)
            if name is not None:
                found.add(name)
        return found

    def projection(self, spec: Mapping[str, Any]) -> set[str] | None:
        """The projected top-level names, or None when the request projects nothing."""
        if _optional(spec, "ProjectionExpression", str, self.at) is not None:
            return self.names_in(spec, "ProjectionExpression")
        listed = _optional(spec, "AttributesToGet", list, self.at)
        if listed is None:
            return None
        if not all(isinstance(name, str) for name in listed):
            raise MalformedRequest(f"{self.at}AttributesToGet must be a list of strings")
        return set(listed)

    def equalities(self, spec: Mapping[str, Any]) -> dict[str, str]:
        """Top-level attributes a Query's key condition compares with `=`, and the values."""
        found: dict[str, str] = {}
        expression = _optional(spec, "KeyConditionExpression", str, self.at)
        tokens = _tokens(expression) if expression is not None else []
        for position in range(1, len(tokens) - 1):
            if tokens[position] != ("syntax", "="):
                continue
            for name_at, value_at in ((position - 1, position + 1), (position + 1, position - 1)):
                if not _is_whole_name(tokens, name_at) or tokens[value_at][0] != "value":
                    continue
                name = self._resolve(tokens[name_at][1])
                placeholder = tokens[value_at][1]
                if name is not None and placeholder in self.values:
                    where = f"{self.at}ExpressionAttributeValues.{placeholder}"
                    key = _key_string(self.values[placeholder], where)
                    if key is not None:
                        found[name] = key
        legacy = _optional(spec, "KeyConditions", Mapping, self.at) or {}
        for name, condition in legacy.items():
            where = f"{self.at}KeyConditions.{name}"
            if not isinstance(condition, Mapping):
                raise MalformedRequest(f"{where} must be an object")
            values = _optional(condition, "AttributeValueList", list, f"{where}.") or []
            if condition.get("ComparisonOperator") == "EQ" and len(values) == 1:
                key = _key_string(values[0], f"{where}.AttributeValueList[0]")
                if key is not None:
                    found[name] = key
        return found

    def _resolve(self, token: str) -> str | None:
        """A name token as the attribute it names (None for an unknown `#placeholder`)."""
        return self.names.get(token) if token.startswith("#") else token


def _item_select(projected: bool) -> str:
    """The `dynamodb:Select` of a read without `Select`: what DynamoDB returns."""
    return "SPECIFIC_ATTRIBUTES" if projected else "ALL_ATTRIBUTES"


def _tokens(expression: str) -> list[tuple[str, str]]:
    """An expression as (kind, text) tokens: kind `name`, `value` or `syntax`."""
    return [
        (match.lastgroup, match[match.lastgroup])
        for match in _TOKEN.finditer(expression)
        if match.lastgroup is not None
    ]


def _is_whole_name(tokens: list[tuple[str, str]], position: int) -> bool:
    """Whether the token at `position` is a name that is a whole top-level path."""
    if tokens[position][0] != "name" or (position > 0 and tokens[position - 1][1] == "."):
        return False
    after = tokens[position + 1][1] if position + 1 < len(tokens) else ""
    return after != "." and not after.startswith("[")


_KIND_NAMES: dict[type[Any], str] = {str: "a string", list: "a list", Mapping: "an object"}


def _optional(parent: Mapping[str, Any], name: str, kind: type[Any], at: str) -> Any:
    """`parent[name]` when it is a `kind`, None when absent; `MalformedRequest` otherwise."""
    value = parent.get(name)
    if value is not None and not isinstance(value, kind):
        raise MalformedRequest(f"{at}{name} must be {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


def _required(parent: Mapping[str, Any], name: str, kind: type[Any], at: str) -> Any:
    value = _optional(parent, name, kind, at)
    if value is None:
        raise MalformedRequest(f"{at}{name} is required")
    return value


def _names_of(attributes: Mapping[Any, Any], at: str) -> set[str]:
    if not all(isinstance(name, str) for name in attributes):
        raise MalformedRequest(f"{at} must have string attribute names")
    return set(attributes)


def _legacy_names(spec: Mapping[str, Any], legacy_field: str, at: str) -> set[str]:
    """The attribute names of a legacy map (`Expected`, `AttributeUpdates`, `ScanFilter`...)."""
    return _names_of(_optional(spec, legacy_field, Mapping, at) or {}, f"{at}{legacy_field}")


def _key_string(value: Any, at: str) -> str | None:
    """A key attribute value as AWS compares it in a policy (None for a non-key type)."""
    if not isinstance(value, Mapping):
        raise MalformedRequest(f"{at} must be an attribute value object")
    if len(value) != 1:
        return None
    ((kind, given),) = value.items()
    if kind not in _KEY_TYPES:
        return None
    if not isinstance(given, str):
        raise MalformedRequest(f"{at}.{kind} must be a string")
    return given


def _tag_context(body: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """`aws:TagKeys` and `aws:RequestTag/<key>` of the `Tags` a request sets."""
    context: dict[str, tuple[str, ...]] = {}
    keys = []
    for index, tag in enumerate(_optional(body, "Tags", list, "") or []):
        where = f"Tags[{index}]"
        if not isinstance(tag, Mapping):
            raise MalformedRequest(f"{where} must be an object")
        key = _required(tag, "Key", str, f"{where}.")
        context[f"{REQUEST_TAG}{key}"] = (_required(tag, "Value", str, f"{where}."),)
        keys.append(key)
    if keys:
        context[TAG_KEYS] = tuple(keys)
    return context


def _partiql_target(statement: str) -> tuple[str, str, str | None] | None:
    """A statement's action, table and index (None when it is not a plain verb on a table)."""
    # (quoted identifier, word, other) per token; a string literal is neither a word nor a name.
    tokens = [
        (quoted, word, other) for quoted, _literal, word, other in _PARTIQL_TOKEN.findall(statement)
    ]
    words = [word.upper() for _quoted, word, _other in tokens]
    if not words or words[0] not in _VERBS:
        return None
    action, before_table = _VERBS[words[0]]
    if before_table and before_table not in words:
        return None
    start = words.index(before_table) + 1 if before_table else 1
    if start >= len(tokens):
        return None
    names = [_identifier(token) for token in tokens[start : start + 3]]
    if names[0] is None:
        return None
    dotted = len(names) == 3 and tokens[start + 1][2] == "." and names[2] is not None
    return action, names[0], names[2] if dotted else None


def _identifier(token: tuple[str, str, str]) -> str | None:
    """A PartiQL token as the identifier it is (a quoted one without its quotes), else None."""
    quoted, word, _other = token
    if quoted:
        return quoted[1:-1].replace('""', '"')
    return word or None
