"""The local cloud's DynamoDB against DynamoDB Local itself: the same requests, the same answers.

Every scenario runs one request sequence twice with the same table names: against a
standalone DynamoDB Local (`Engine`, the reference) and against the local cloud, whose front
door forwards to its own DynamoDB Local. Each answer is recorded (a success's parsed response
without `ResponseMetadata`; an error's code, message, HTTP status and modelled fields such as
`CancellationReasons`), normalised, and the two records must be equal step by step.

Normalised, and nothing else: identity (each side's own ARN prefix, `arn:aws:dynamodb:
ddblocal:000000000000:` for the engine and the request's region and caller's account for the
cloud, becomes one placeholder, as does a stream record's `awsRegion` when it names the
side's region); time (any parsed datetime, stream labels and the label in a stream ARN, the
creation time inside a PartiQL `NextToken`); opaque stream tokens (shard iterators; shard
ids and eventIDs, numbered by first appearance; sequence numbers, replaced by their rank
among the scenario's, because DynamoDB Local draws them from one counter per process). A
difference anywhere else is a fidelity bug: the test fails and shows the first differing
steps. Item data (every attribute value) is compared as it is, ARNs and timestamps in it
included.

The clients make exactly one attempt per request (botocore's `max_attempts` counts retries,
so `total_max_attempts=1`) and skip client-side validation, so every request reaches the
server as written.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.engine import ENGINE_ACCOUNT, ENGINE_REGION, Engine

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARN_PLACEHOLDER = "arn:aws:dynamodb:<region>:<account>:"
CONFIG = Config(
    # botocore's `max_attempts` counts retries; `total_max_attempts` makes it one attempt, so
    # that a 500 is seen as it came and a non-idempotent request is never sent twice.
    retries={"max_attempts": 1, "total_max_attempts": 1},
    parameter_validation=False,  # every request reaches the server, whatever it holds
    read_timeout=120,
    max_pool_connections=4,
)
MAX_ITEM_BYTES = 400 * 1024

Item = dict[str, Any]


def aws_client(
    service: str,
    endpoint: str,
    *,
    region: str = REGION,
    access_key: str = "testing",
) -> Any:
    """A low-level client with fake credentials and a single attempt per request."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=CONFIG,
    )


# -- recording -------------------------------------------------------------------------------


class Aborted(Exception):
    """A call the scenario needs failed; the rest of the scenario cannot run."""


@dataclass
class Step:
    """One request and what it got."""

    label: str
    outcome: dict[str, Any]


def _label(operation: str, kwargs: dict[str, Any]) -> str:
    details = [
        str(kwargs[key])
        for key in (
            "IndexName",
            "KeyConditionExpression",
            "ConditionExpression",
            "UpdateExpression",
            "FilterExpression",
            "Statement",
            "ShardIteratorType",
            "ReturnValues",
            "Select",
            "ReturnConsumedCapacity",
        )
        if key in kwargs
    ]
    return " | ".join([operation, *details])[:300]


@dataclass
class Side:
    """One backend under test: its clients, its identity and what it answered."""

    name: str
    endpoint: str
    region: str  # the region its ARNs and stream records name
    account: str
    token: str = ""
    steps: list[Step] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    dynamodb: Any = None
    streams: Any = None

    @property
    def arn_prefix(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:"

    def __post_init__(self) -> None:
        self.dynamodb = aws_client("dynamodb", self.endpoint)
        self.streams = aws_client("dynamodbstreams", self.endpoint)

    def table(self, key: str) -> str:
        """The scenario's table `key`, named the same on both sides."""
        return f"fid-{self.token}-{key}"

    def call(self, client: Any, operation: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request and record its outcome; the response, or None on an error."""
        label = _label(operation, kwargs)
        try:
            response: dict[str, Any] = dict(getattr(client, operation)(**kwargs))
        except ClientError as error:
            answer = dict(error.response)
            meta = answer.pop("ResponseMetadata", {})
            details = answer.pop("Error", {})
            outcome = {
                "error": details.get("Code"),
                "message": details.get("Message"),
                "status": meta.get("HTTPStatusCode"),
                **answer,
            }
            self.steps.append(Step(label, outcome))
            return None
        response.pop("ResponseMetadata", None)
        if operation == "create_table":
            self.created.append(str(kwargs["TableName"]))
        self.steps.append(Step(label, {"ok": response}))
        return response

    def ddb(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """A DynamoDB request."""
        return self.call(self.dynamodb, operation, kwargs)

    def stream(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """A DynamoDB Streams request."""
        return self.call(self.streams, operation, kwargs)

    def need(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A DynamoDB request the scenario cannot go on without."""
        response = self.ddb(operation, **kwargs)
        if response is None:
            raise Aborted(operation)
        return response

    def need_stream(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A DynamoDB Streams request the scenario cannot go on without."""
        response = self.stream(operation, **kwargs)
        if response is None:
            raise Aborted(operation)
        return response

    def cleanup(self) -> None:
        """Delete the scenario's tables (not recorded)."""
        for name in self.created:
            with contextlib.suppress(ClientError):
                self.dynamodb.delete_table(TableName=name)


# -- normalisation ---------------------------------------------------------------------------

_STREAM_LABEL = re.compile(
    re.escape(ARN_PLACEHOLDER) + r"(table/[^/\s]+/stream/)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
)
_SHARD_ID = re.compile(r"shardId-\d{20}-[0-9a-f]{8}")
LABEL_KEYS = frozenset({"LatestStreamLabel", "StreamLabel"})
ITERATOR_KEYS = frozenset({"ShardIterator", "NextShardIterator"})
SEQUENCE_KEYS = frozenset({"SequenceNumber", "StartingSequenceNumber", "EndingSequenceNumber"})
ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


class Normaliser:
    """One side's record with identity, time and opaque stream tokens replaced."""

    def __init__(self, side: Side) -> None:
        self.arn_prefix = side.arn_prefix
        self.region = side.region
        self.shards: dict[str, str] = {}
        self.events: dict[str, str] = {}
        numbers: set[int] = set()
        self._collect(numbers, [step.outcome for step in side.steps])
        self.sequence_rank = {number: rank for rank, number in enumerate(sorted(numbers), 1)}

    def _collect(self, numbers: set[int], value: Any, key: str | None = None) -> None:
        if key in SEQUENCE_KEYS and isinstance(value, str) and value.isdigit():
            numbers.add(int(value))
        elif isinstance(value, dict):
            for inner_key, inner in value.items():
                self._collect(numbers, inner, inner_key)
        elif isinstance(value, list):
            for inner in value:
                self._collect(numbers, inner)

    @staticmethod
    def _numbered(table: dict[str, str], value: str, kind: str) -> str:
        return table.setdefault(value, f"<{kind}-{len(table) + 1}>")

    def text(self, value: str) -> str:
        value = value.replace(self.arn_prefix, ARN_PLACEHOLDER)
        value = _STREAM_LABEL.sub(ARN_PLACEHOLDER + r"\1<label>", value)
        return _SHARD_ID.sub(lambda m: self._numbered(self.shards, m.group(0), "shard"), value)

    @staticmethod
    def next_token(value: str) -> Any:
        """A PartiQL NextToken is base64 JSON holding its creation time and the next key."""
        try:
            token = json.loads(base64.b64decode(value, validate=True))
        except ValueError:
            return value
        if isinstance(token, dict) and "creationTime" in token:
            token["creationTime"] = "<timestamp>"
        return token

    def value(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, datetime):
            return "<timestamp>"
        if isinstance(value, str):
            if key in LABEL_KEYS:
                return "<label>"
            if key in ITERATOR_KEYS:
                return "<iterator>"
            if key == "eventID":
                return self._numbered(self.events, value, "event")
            if key == "awsRegion" and value == self.region:
                return "<region>"
            if key in SEQUENCE_KEYS and value.isdigit():
                return f"<seq-{self.sequence_rank[int(value)]}>"
            if key == "NextToken":
                return self.next_token(value)
            return self.text(value)
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in ATTRIBUTE_TYPES:
                return value  # an attribute value: item data, compared as it is
            return {inner_key: self.value(inner, inner_key) for inner_key, inner in value.items()}
        if isinstance(value, list):
            return [self.value(inner) for inner in value]
        return value

    def steps(self, steps: list[Step]) -> list[tuple[str, Any]]:
        return [(step.label, self.value(step.outcome)) for step in steps]


# -- scenarios -------------------------------------------------------------------------------

Scenario = Callable[[Side], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[name] = function
        return function

    return register


def S(value: str) -> dict[str, str]:  # noqa: N802 - DynamoDB's type letters
    return {"S": value}


def N(value: str | int) -> dict[str, str]:  # noqa: N802
    return {"N": str(value)}


def key_schema(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def create_table(
    s: Side,
    key: str,
    attributes: dict[str, str],
    hash_key: str,
    range_key: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """CreateTable (on demand unless told) and its response."""
    request: dict[str, Any] = {
        "TableName": s.table(key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in attributes.items()
        ],
        "KeySchema": key_schema(hash_key, range_key),
        **extra,
    }
    if "ProvisionedThroughput" not in extra:
        request.setdefault("BillingMode", "PAY_PER_REQUEST")
    return s.need("create_table", **request)


def used(
    expression: str, values: dict[str, Any], names: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ExpressionAttributeValues/Names an expression uses, as request arguments."""
    request: dict[str, Any] = {}
    placeholders = set(re.findall(r":\w+", expression))
    picked = {k: v for k, v in values.items() if k in placeholders}
    if picked:
        request["ExpressionAttributeValues"] = picked
    if names:
        picked_names = {k: v for k, v in names.items() if k in set(re.findall(r"#\w+", expression))}
        if picked_names:
            request["ExpressionAttributeNames"] = picked_names
    return request


def paginate(s: Side, operation: str, max_pages: int = 60, **kwargs: Any) -> int:
    """Query or Scan page by page with ExclusiveStartKey until exhausted; the page count."""
    start: dict[str, Any] | None = None
    for page in range(1, max_pages + 1):
        request = dict(kwargs)
        if start is not None:
            request["ExclusiveStartKey"] = start
        response = s.need(operation, **request)
        start = response.get("LastEvaluatedKey")
        if start is None:
            return page
    raise Aborted(f"{operation} did not finish in {max_pages} pages")


@scenario("put-get-delete-return-values")
def _put_get_delete(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S", "sk": "N"}, "pk", "sk")
    item = {"pk": S("a"), "sk": N(1), "v": S("one"), "nested": {"M": {"x": {"L": [N(1)]}}}}
    for returns in ("NONE", "ALL_OLD", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "BOGUS"):
        s.ddb("put_item", TableName=table, Item=item, ReturnValues=returns)
    s.ddb("put_item", TableName=table, Item={**item, "v": S("two")})
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": N(1)})
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": N(1)}, ConsistentRead=True)
    s.ddb(
        "get_item",
        TableName=table,
        Key={"pk": S("a"), "sk": N(1)},
        ProjectionExpression="#v, nested.x[0], absent",
        ExpressionAttributeNames={"#v": "v"},
    )
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": N(2)})
    s.ddb(
        "put_item",
        TableName=table,
        Item=item,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item=item,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="NONE",
    )
    for returns in ("ALL_NEW", "NONE", "ALL_OLD", "ALL_OLD"):
        s.ddb("delete_item", TableName=table, Key={"pk": S("a"), "sk": N(1)}, ReturnValues=returns)
    s.ddb("put_item", TableName=table, Item=item)
    s.ddb(
        "delete_item",
        TableName=table,
        Key={"pk": S("a"), "sk": N(1)},
        ConditionExpression="v = :v",
        ExpressionAttributeValues={":v": S("nope")},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("a")})
    s.ddb("put_item", TableName=table, Item={"pk": S("a"), "sk": S("1")})
    s.ddb("put_item", TableName=table, Item={"pk": S(""), "sk": N(1)})
    s.ddb("put_item", TableName=table, Item={"pk": S("a"), "sk": N(3), "empty": {"SS": []}})
    s.ddb("put_item", TableName=table, Item={"pk": S("a"), "sk": N(3), "e": S(""), "l": {"L": []}})
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": N(3)})


@scenario("update-return-values")
def _update_return_values(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    key = {"pk": S("u")}
    s.ddb("put_item", TableName=table, Item={**key, "a": N(1), "b": S("x"), "c": S("keep")})
    for number, returns in enumerate(("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")):
        s.ddb(
            "update_item",
            TableName=table,
            Key=key,
            UpdateExpression="SET a = a + :one, b = :b REMOVE gone",
            ExpressionAttributeValues={":one": N(1), ":b": S(f"x{number}")},
            ReturnValues=returns,
        )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": N(0)},
        ReturnValues="BOGUS",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("new")},
        UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": N(7)},
        ReturnValues="ALL_NEW",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("none")},
        UpdateExpression="REMOVE a",
        ReturnValues="ALL_OLD",
    )
    s.ddb("get_item", TableName=table, Key={"pk": S("none")})
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET pk = :v",
        ExpressionAttributeValues={":v": S("other")},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET a = :v",
        ConditionExpression="b = :b",
        ExpressionAttributeValues={":v": N(0), ":b": S("no")},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET b = a + :one",
        ExpressionAttributeValues={":one": N(1)},
        ReturnValues="UPDATED_NEW",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET c = c + :one",
        ExpressionAttributeValues={":one": N(1)},
    )
    s.ddb("get_item", TableName=table, Key=key)


@scenario("update-nested-paths")
def _update_nested(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    key = {"pk": S("doc")}
    s.need(
        "put_item",
        TableName=table,
        Item={
            **key,
            "a": {"M": {"b": {"L": [N(1), N(2), N(3)]}, "c": {"M": {"d": S("x")}}}},
            "l": {"L": [S("p"), S("q")]},
            "ss": {"SS": ["x", "y"]},
            "ns": {"NS": ["1", "2"]},
            "bs": {"BS": [b"\x01"]},
            "n": N(10),
        },
    )
    values = {
        ":v": N(20),
        ":s": S("deep"),
        ":set": {"SS": ["z", "x"]},
        ":nset": {"NS": ["3"]},
        ":bset": {"BS": [b"\x02"]},
        ":one": N(1),
        ":del": {"SS": ["y"]},
        ":all": {"SS": ["x", "z"]},
        ":more": {"L": [S("r")]},
        ":front": {"L": [S("o")]},
        ":d": S("default"),
        ":zero": N(0),
        ":map": {"M": {"k": S("v")}},
        ":l": {"L": [N(9)]},
        ":str": S("text"),
    }
    expressions = [
        "SET a.b[1] = :v",
        "SET a.c.d = :s",
        "SET a.c.e = :map",
        "SET a.b[10] = :v",
        "REMOVE a.b[0]",
        "REMOVE l[5]",
        "REMOVE a.c.d, a.absent",
        "ADD ss :set, ns :nset",
        "ADD bs :bset",
        "ADD hits :one",
        "ADD hits :one",
        "ADD newset :set",
        "DELETE ss :del",
        "DELETE ss :all",
        "DELETE ns :nset",
        "SET l = list_append(l, :more)",
        "SET l = list_append(:front, l)",
        "SET l[0] = :s, l[1] = :v",
        "SET x = if_not_exists(x, :d)",
        "SET x = if_not_exists(x, :s)",
        "SET y = if_not_exists(hits, :zero) + :one",
        "SET z = if_not_exists(nothing, :zero) - :one",
        "SET a.c.e.k = :s",
        "SET absent.deeper = :v",
        "SET a.b.c = :v",
        "SET l.x = :v",
        "SET n[0] = :v",
        "SET a = :v, a.b = :v",
        "SET n = :v REMOVE n",
        "ADD l :l",
        "ADD n :str",
        "ADD ss :nset",
        "DELETE n :one",
        "SET n = n + :str",
        "SET n = list_append(n, :more)",
        "SET l = list_append(l, :v)",
        "SET #weird.#name = :v",
        "SET a.b[-1] = :v",
        "REMOVE n SET n = :v",
        "SET n = :v, m = :v ADD hits :one REMOVE x DELETE ns :nset",
    ]
    names = {"#weird": "a", "#name": "c"}
    for expression in expressions:
        s.ddb(
            "update_item",
            TableName=table,
            Key=key,
            UpdateExpression=expression,
            ReturnValues="ALL_NEW",
            **used(expression, values, names),
        )
    s.ddb("get_item", TableName=table, Key=key)


CONDITION_ITEM: Item = {
    "pk": S("c"),
    "n": N(5),
    "n2": N(10),
    "s": S("abc"),
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [S("a"), N(1)]},
    "m": {"M": {"k": S("v"), "deepmap": {"M": {"z": N(0)}}}},
    "b": {"B": b"\x01\x02"},
    "flag": {"BOOL": True},
    "nul": {"NULL": True},
}
CONDITION_VALUES: dict[str, Any] = {
    ":five": N(5),
    ":four": N(4),
    ":six": N(6),
    ":ten": N(10),
    ":one": N(1),
    ":two": N(2),
    ":three": N(3),
    ":zero": N(0),
    ":str": S("5"),
    ":abc": S("abc"),
    ":ab": S("ab"),
    ":b": S("b"),
    ":x": S("x"),
    ":a": S("a"),
    ":v": S("v"),
    ":S": S("S"),
    ":N": S("N"),
    ":SS": S("SS"),
    ":NS": S("NS"),
    ":L": S("L"),
    ":M": S("M"),
    ":B": S("B"),
    ":BOOL": S("BOOL"),
    ":NULL": S("NULL"),
    ":bad": S("XYZ"),
    ":bin": {"B": b"\x01"},
    ":true": {"BOOL": True},
    ":list": {"L": [S("a")]},
    ":setx": {"SS": ["x"]},
    ":null": {"NULL": True},
}
CONDITIONS = [
    "n = :five",
    "n = :four",
    "n <> :five",
    "n <> :four",
    "n < :six",
    "n < :five",
    "n <= :five",
    "n <= :four",
    "n > :four",
    "n > :five",
    "n >= :five",
    "n >= :six",
    "n BETWEEN :four AND :six",
    "n BETWEEN :six AND :ten",
    "n BETWEEN :six AND :four",
    "n IN (:four, :five)",
    "n IN (:four, :six)",
    "s IN (:abc)",
    "attribute_exists(s)",
    "attribute_exists(nope)",
    "attribute_exists(m.deepmap.z)",
    "attribute_not_exists(nope)",
    "attribute_not_exists(s)",
    "attribute_not_exists(l[5])",
    "attribute_type(s, :S)",
    "attribute_type(s, :N)",
    "attribute_type(n, :N)",
    "attribute_type(ss, :SS)",
    "attribute_type(ns, :NS)",
    "attribute_type(l, :L)",
    "attribute_type(m, :M)",
    "attribute_type(b, :B)",
    "attribute_type(flag, :BOOL)",
    "attribute_type(nul, :NULL)",
    "attribute_type(nope, :S)",
    "attribute_type(s, :bad)",
    "attribute_type(s, :five)",
    "begins_with(s, :ab)",
    "begins_with(s, :b)",
    "begins_with(b, :bin)",
    "begins_with(nope, :ab)",
    "contains(s, :b)",
    "contains(s, :x)",
    "contains(ss, :x)",
    "contains(ss, :a)",
    "contains(ns, :one)",
    "contains(l, :a)",
    "contains(l, :one)",
    "contains(b, :bin)",
    "size(s) = :three",
    "size(s) > :three",
    "size(l) = :two",
    "size(ss) = :two",
    "size(m) = :two",
    "size(b) = :two",
    "size(n) = :one",
    "size(nope) = :zero",
    "size(s) = :str",
    "n = :str",
    "n <> :str",
    "n < :str",
    "n >= :str",
    "s > :five",
    "s <= :five",
    "flag < :true",
    "l < :list",
    "n BETWEEN :str AND :abc",
    "n BETWEEN :four AND :abc",
    "n IN (:str, :abc)",
    "begins_with(n, :ab)",
    "begins_with(s, :five)",
    "contains(n, :five)",
    "contains(s, :five)",
    "nul = :null",
    "flag = :true",
    "l = :list",
    "ss = :setx",
    "m.k = :v",
    "m.deepmap.z = :zero",
    "m.nope.z = :zero",
    "l[0] = :a",
    "l[1] = :one",
    "l[5] = :a",
    "n < n2",
    "n2 < n",
    "n = s",
    "NOT attribute_exists(s)",
    "NOT (n = :four)",
    "n = :five AND s = :abc",
    "n = :four OR s = :abc",
    "(n = :four OR s = :x) AND flag = :true",
    "#n = :five",
    "n = :missing",
    "#missing = :five",
    "#missing = :five AND #n = :five",
    "n = = :five",
    "n =",
    "size(s) BETWEEN :two AND :three",
    "size(s, n) = :one",
    "unknown_function(s)",
    "attribute_exists(:five)",
]


@scenario("conditions-every-comparator")
def _conditions(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    s.need("put_item", TableName=table, Item=CONDITION_ITEM)
    names = {"#n": "n"}
    for condition in CONDITIONS:
        request = used(condition, CONDITION_VALUES, names)
        if condition == "#missing = :five":
            request["ExpressionAttributeNames"] = {}
        s.ddb(
            "put_item",
            TableName=table,
            Item=CONDITION_ITEM,
            ConditionExpression=condition,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **request,
        )
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("fresh")},
        ConditionExpression="attribute_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("fresh")},
        ConditionExpression="attribute_not_exists(pk)",
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item=CONDITION_ITEM,
        ConditionExpression="n = :five",
        ExpressionAttributeValues={":five": N(5), ":unused": N(1)},
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item=CONDITION_ITEM,
        ConditionExpression="n = :five",
        ExpressionAttributeValues={":five": N(5)},
        ExpressionAttributeNames={"#unused": "n"},
    )
    # The same comparisons as filters: one item matches or not.
    for condition in ("n = :str", "n < :str", "s > :five", "size(s) = :three", "n IN (:four)"):
        s.ddb(
            "scan",
            TableName=table,
            FilterExpression=condition,
            **used(condition, CONDITION_VALUES),
        )


def _query_table(s: Side) -> str:
    table = s.table("q")
    create_table(
        s,
        "q",
        {"pk": "S", "sk": "S", "lsk": "N", "gpk": "S", "gsk": "N"},
        "pk",
        "sk",
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_lsk",
                "KeySchema": key_schema("pk", "lsk"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": key_schema("gpk", "gsk"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]},
            },
            {
                "IndexName": "keys_g",
                "KeySchema": key_schema("gpk"),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    for i in range(14):
        item: Item = {
            "pk": S("p1" if i < 10 else "p2"),
            "sk": S(f"s#{i:02d}"),
            "lsk": N(i * 10 % 7),
            "gpk": S(f"g{i % 3}"),
            "extra": S(f"e{i}"),
            "val": N(i),
            "payload": S("x" * (i * 300)),
        }
        if i % 4 != 3:
            item["gsk"] = N(i)
        s.need("put_item", TableName=table, Item=item)
    return table


QUERY_VALUES: dict[str, Any] = {
    ":p": S("p1"),
    ":p2": S("p2"),
    ":s": S("s#03"),
    ":s2": S("s#07"),
    ":pre": S("s#0"),
    ":n": N(3),
    ":g": S("g1"),
    ":lo": N(2),
    ":hi": N(9),
    ":num": N(1),
    ":v": N(4),
}


@scenario("query-table-gsi-lsi")
def _query(s: Side) -> None:
    table = _query_table(s)
    plain: list[tuple[dict[str, Any], str]] = [
        ({}, "pk = :p"),
        ({}, "pk = :p AND sk = :s"),
        ({}, "pk = :p AND sk < :s"),
        ({}, "pk = :p AND sk <= :s"),
        ({}, "pk = :p AND sk > :s"),
        ({}, "pk = :p AND sk >= :s"),
        ({}, "pk = :p AND sk BETWEEN :s AND :s2"),
        ({}, "pk = :p AND sk BETWEEN :s2 AND :s"),
        ({}, "pk = :p AND begins_with(sk, :pre)"),
        ({}, "pk = :p2"),
        ({}, "pk = :p AND sk > :num"),
        ({}, "pk = :num"),
        ({}, "pk = :p AND val = :v"),
        ({}, "sk = :s"),
        ({}, "pk = :p OR sk = :s"),
        ({}, "pk = :p AND sk <> :s"),
        ({}, "pk = :p AND sk IN (:s)"),
        ({}, "pk = :p AND contains(sk, :pre)"),
        ({"ScanIndexForward": False}, "pk = :p AND sk > :s"),
        ({"FilterExpression": "val > :v"}, "pk = :p"),
        ({"FilterExpression": "sk > :s"}, "pk = :p"),
        ({"ProjectionExpression": "sk, extra, nope"}, "pk = :p"),
        ({"Select": "COUNT"}, "pk = :p"),
        ({"Select": "COUNT", "FilterExpression": "val > :v"}, "pk = :p"),
        ({"Select": "SPECIFIC_ATTRIBUTES", "ProjectionExpression": "sk, val"}, "pk = :p"),
        ({"Select": "SPECIFIC_ATTRIBUTES"}, "pk = :p"),
        ({"Select": "ALL_ATTRIBUTES", "ProjectionExpression": "sk"}, "pk = :p"),
        ({"Select": "ALL_PROJECTED_ATTRIBUTES"}, "pk = :p"),
        ({"ConsistentRead": True}, "pk = :p AND sk < :s"),
        ({"IndexName": "by_lsk"}, "pk = :p AND lsk > :n"),
        ({"IndexName": "by_lsk", "Select": "ALL_PROJECTED_ATTRIBUTES"}, "pk = :p AND lsk > :n"),
        ({"IndexName": "by_lsk", "Select": "ALL_ATTRIBUTES"}, "pk = :p AND lsk > :n"),
        ({"IndexName": "by_lsk", "ProjectionExpression": "payload"}, "pk = :p AND lsk = :n"),
        ({"IndexName": "by_lsk", "ConsistentRead": True}, "pk = :p"),
        ({"IndexName": "by_lsk", "ScanIndexForward": False}, "pk = :p"),
        ({"IndexName": "by_lsk"}, "pk = :p AND begins_with(lsk, :n)"),
        ({"IndexName": "by_g"}, "gpk = :g"),
        ({"IndexName": "by_g", "Select": "ALL_PROJECTED_ATTRIBUTES"}, "gpk = :g"),
        ({"IndexName": "by_g"}, "gpk = :g AND gsk BETWEEN :lo AND :hi"),
        ({"IndexName": "by_g", "ScanIndexForward": False}, "gpk = :g AND gsk > :lo"),
        ({"IndexName": "by_g", "Select": "COUNT"}, "gpk = :g"),
        ({"IndexName": "by_g", "Select": "ALL_ATTRIBUTES"}, "gpk = :g"),
        ({"IndexName": "by_g", "ProjectionExpression": "payload"}, "gpk = :g"),
        ({"IndexName": "by_g", "ConsistentRead": True}, "gpk = :g"),
        ({"IndexName": "by_g", "FilterExpression": "extra = :g"}, "gpk = :g"),
        ({"IndexName": "by_g"}, "pk = :p"),
        ({"IndexName": "keys_g"}, "gpk = :g"),
        ({"IndexName": "keys_g", "Select": "ALL_PROJECTED_ATTRIBUTES"}, "gpk = :g"),
        ({"IndexName": "keys_g"}, "gpk = :g AND gsk > :lo"),
        ({"IndexName": "nope"}, "gpk = :g"),
    ]
    for options, condition in plain:
        expressions = condition + " " + " ".join(str(v) for v in options.values())
        s.ddb(
            "query",
            TableName=table,
            KeyConditionExpression=condition,
            **options,
            **used(expressions, QUERY_VALUES),
        )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="#p = :p AND #s > :s",
        ExpressionAttributeNames={"#p": "pk", "#s": "sk"},
        ExpressionAttributeValues={":p": S("p1"), ":s": S("s#05")},
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditions={"pk": {"AttributeValueList": [S("p2")], "ComparisonOperator": "EQ"}},
    )
    s.ddb("query", TableName=table)


@scenario("scan-segments-filters")
def _scan(s: Side) -> None:
    table = _query_table(s)
    for total in (1, 2, 3, 7):
        for segment in range(total):
            s.ddb("scan", TableName=table, Segment=segment, TotalSegments=total)
    s.ddb("scan", TableName=table, Segment=3, TotalSegments=3)
    s.ddb("scan", TableName=table, Segment=0)
    s.ddb("scan", TableName=table, TotalSegments=2)
    s.ddb("scan", TableName=table, Segment=0, TotalSegments=1000001)
    s.ddb("scan", TableName=table, Segment=1, TotalSegments=3, Limit=2)
    scans: list[dict[str, Any]] = [
        {"FilterExpression": "val > :v"},
        {"FilterExpression": "begins_with(extra, :e) AND val <> :v"},
        {"FilterExpression": "size(payload) > :big"},
        {"FilterExpression": "attribute_not_exists(gsk)"},
        {"FilterExpression": "val IN (:v, :n)", "Select": "COUNT"},
        {"ProjectionExpression": "pk, sk, val"},
        {"ProjectionExpression": "pk", "FilterExpression": "val > :v"},
        {"Select": "SPECIFIC_ATTRIBUTES", "ProjectionExpression": "extra"},
        {"IndexName": "by_g"},
        {
            "IndexName": "by_g",
            "Select": "ALL_PROJECTED_ATTRIBUTES",
            "Segment": 0,
            "TotalSegments": 2,
        },
        {"IndexName": "by_lsk", "FilterExpression": "lsk > :n"},
        {"IndexName": "keys_g", "Select": "ALL_ATTRIBUTES"},
        {"IndexName": "by_g", "ConsistentRead": True},
        {"ConsistentRead": True, "Select": "COUNT"},
        {"FilterExpression": "pk = :p"},
        {"FilterExpression": "val >"},
    ]
    values = {**QUERY_VALUES, ":e": S("e1"), ":big": N(2000)}
    for options in scans:
        expressions = " ".join(str(v) for v in options.values())
        s.ddb("scan", TableName=table, **options, **used(expressions, values))


@scenario("pagination-query-scan")
def _pagination(s: Side) -> None:
    table = _query_table(s)
    p1 = {":p": S("p1")}
    paginate(
        s,
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        Limit=3,
        ExpressionAttributeValues=p1,
    )
    paginate(
        s,
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        Limit=4,
        ScanIndexForward=False,
        ExpressionAttributeValues=p1,
    )
    paginate(
        s,
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        FilterExpression="val > :v",
        Limit=3,
        ExpressionAttributeValues={**p1, ":v": N(5)},
    )
    paginate(
        s,
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        Limit=10,
        ExpressionAttributeValues=p1,
    )
    paginate(
        s,
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        Limit=2,
        Select="COUNT",
        ExpressionAttributeValues=p1,
    )
    paginate(
        s,
        "query",
        TableName=table,
        IndexName="by_g",
        KeyConditionExpression="gpk = :g",
        Limit=2,
        ExpressionAttributeValues={":g": S("g1")},
    )
    paginate(
        s,
        "query",
        TableName=table,
        IndexName="by_lsk",
        KeyConditionExpression="pk = :p",
        Limit=3,
        ExpressionAttributeValues=p1,
    )
    paginate(
        s,
        "query",
        TableName=table,
        IndexName="keys_g",
        KeyConditionExpression="gpk = :g",
        Limit=1,
        ExpressionAttributeValues={":g": S("g0")},
    )
    paginate(s, "scan", TableName=table, Limit=4)
    paginate(
        s,
        "scan",
        TableName=table,
        Limit=5,
        FilterExpression="val < :v",
        ExpressionAttributeValues={":v": N(6)},
    )
    paginate(s, "scan", TableName=table, IndexName="by_g", Limit=3)
    for segment in range(2):
        paginate(s, "scan", TableName=table, Limit=2, Segment=segment, TotalSegments=2)
    # Pages by size: items of 0 to 3.9 KB stop a page at 1 MB only in bulk; use Limit 0 too.
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        Limit=0,
        ExpressionAttributeValues=p1,
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExclusiveStartKey={"pk": S("p2"), "sk": S("s#00")},
        ExpressionAttributeValues=p1,
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExclusiveStartKey={"pk": S("p1")},
        ExpressionAttributeValues=p1,
    )
    s.ddb("scan", TableName=table, ExclusiveStartKey={"pk": S("p1"), "sk": S("s#04")})


@scenario("batch-write-and-get")
def _batch(s: Side) -> None:
    one, two = s.table("one"), s.table("two")
    create_table(s, "one", {"pk": "S"}, "pk")
    create_table(s, "two", {"pk": "S", "sk": "N"}, "pk", "sk")

    def put(i: int) -> dict[str, Any]:
        return {"PutRequest": {"Item": {"pk": S(f"k{i:03d}"), "v": N(i)}}}

    s.ddb("batch_write_item", RequestItems={one: [put(i) for i in range(25)]})
    s.ddb("batch_write_item", RequestItems={one: [put(i) for i in range(26)]})
    s.ddb(
        "batch_write_item",
        RequestItems={
            one: [put(i) for i in range(100, 115)],
            two: [{"PutRequest": {"Item": {"pk": S("a"), "sk": N(i)}}} for i in range(11)],
        },
    )
    s.ddb("batch_write_item", RequestItems={one: [put(1), put(1)]})
    s.ddb(
        "batch_write_item",
        RequestItems={one: [put(2), {"DeleteRequest": {"Key": {"pk": S("k002")}}}]},
    )
    s.ddb(
        "batch_write_item",
        RequestItems={
            one: [{"DeleteRequest": {"Key": {"pk": S(f"k{i:03d}")}}} for i in range(20, 25)]
            + [put(300)],
        },
        ReturnConsumedCapacity="TOTAL",
        ReturnItemCollectionMetrics="SIZE",
    )
    s.ddb("batch_write_item", RequestItems={one: []})
    s.ddb("batch_write_item", RequestItems={})
    s.ddb("batch_write_item", RequestItems={s.table("missing"): [put(1)]})
    s.ddb("batch_write_item", RequestItems={one: [{"PutRequest": {"Item": {"v": N(1)}}}]})
    s.ddb("batch_write_item", RequestItems={one: [{"PutRequest": {"Item": {"pk": N(1)}}}]})
    s.ddb("scan", TableName=one, Select="COUNT")
    keys = [{"pk": S(f"k{i:03d}")} for i in (0, 5, 24, 999)]
    s.ddb("batch_get_item", RequestItems={one: {"Keys": keys}})
    s.ddb(
        "batch_get_item",
        RequestItems={
            one: {
                "Keys": keys[:2],
                "ProjectionExpression": "#v",
                "ExpressionAttributeNames": {"#v": "v"},
                "ConsistentRead": True,
            },
            two: {"Keys": [{"pk": S("a"), "sk": N(3)}, {"pk": S("a"), "sk": N(30)}]},
        },
        ReturnConsumedCapacity="TOTAL",
    )
    s.ddb("batch_get_item", RequestItems={one: {"Keys": [keys[0], keys[0]]}})
    s.ddb(
        "batch_get_item",
        RequestItems={one: {"Keys": [{"pk": S(f"k{i:03d}")} for i in range(101)]}},
    )
    s.ddb(
        "batch_get_item",
        RequestItems={one: {"Keys": [{"pk": S(f"k{i:03d}")} for i in range(100)]}},
        ReturnConsumedCapacity="INDEXES",
    )
    s.ddb("batch_get_item", RequestItems={s.table("missing"): {"Keys": keys[:1]}})
    s.ddb("batch_get_item", RequestItems={one: {"Keys": [{"pk": N(1)}]}})
    s.ddb("batch_get_item", RequestItems={one: {"Keys": []}})


def _transact_put(table: str, i: int, size: int = 0) -> dict[str, Any]:
    item: Item = {"pk": S(f"t{i:03d}"), "n": N(i)}
    if size:
        item["blob"] = S("x" * size)
    return {"Put": {"TableName": table, "Item": item}}


@scenario("transactions")
def _transactions(s: Side) -> None:
    table, other = s.table("main"), s.table("other")
    create_table(
        s,
        "main",
        {"pk": "S", "g": "S"},
        "pk",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": key_schema("g"),
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    create_table(s, "other", {"pk": "S"}, "pk")
    for name in ("b", "c", "d"):
        s.need("put_item", TableName=table, Item={"pk": S(name), "v": N(1), "g": S("x")})
    s.ddb(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": S("a"), "v": N(0), "g": S("y")}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": S("b")},
                    "UpdateExpression": "SET v = v + :one",
                    "ExpressionAttributeValues": {":one": N(1)},
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": S("c")}}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": S("d")},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {"Put": {"TableName": other, "Item": {"pk": S("z")}}},
        ],
        ReturnConsumedCapacity="INDEXES",
        ReturnItemCollectionMetrics="SIZE",
    )
    s.ddb(
        "transact_get_items",
        TransactItems=[{"Get": {"TableName": table, "Key": {"pk": S(name)}}} for name in "abcd"]
        + [{"Get": {"TableName": other, "Key": {"pk": S("z")}, "ProjectionExpression": "pk"}}],
        ReturnConsumedCapacity="TOTAL",
    )
    s.ddb(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": S("e")}}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": S("d")},
                    "ConditionExpression": "v = :two",
                    "ExpressionAttributeValues": {":two": N(2)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": S("b")},
                    "UpdateExpression": "SET v = :s",
                    "ConditionExpression": "v = :s",
                    "ExpressionAttributeValues": {":s": S("text")},
                }
            },
        ],
    )
    s.ddb("get_item", TableName=table, Key={"pk": S("e")})
    s.ddb(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": S("a")}}},
            {"Delete": {"TableName": table, "Key": {"pk": S("a")}}},
        ],
    )
    s.ddb(
        "transact_write_items",
        TransactItems=[{"Put": {"TableName": s.table("missing"), "Item": {"pk": S("a")}}}],
    )
    s.ddb("transact_write_items", TransactItems=[])
    s.ddb(
        "transact_write_items",
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": N(1)}}}],
    )
    s.ddb("transact_write_items", TransactItems=[_transact_put(table, i) for i in range(100)])
    s.ddb("transact_write_items", TransactItems=[_transact_put(table, i) for i in range(101)])
    s.ddb(
        "transact_get_items",
        TransactItems=[
            {"Get": {"TableName": table, "Key": {"pk": S(f"t{i:03d}")}}} for i in range(100)
        ],
    )
    s.ddb(
        "transact_get_items",
        TransactItems=[
            {"Get": {"TableName": table, "Key": {"pk": S(f"t{i:03d}")}}} for i in range(101)
        ],
    )
    s.ddb("scan", TableName=table, Select="COUNT")
    token = "fidelity-token-1"
    for value in ("1", "1", "2"):
        s.ddb(
            "transact_write_items",
            TransactItems=[{"Put": {"TableName": table, "Item": {"pk": S("idem"), "v": N(value)}}}],
            ClientRequestToken=token,
        )
    s.ddb("get_item", TableName=table, Key={"pk": S("idem")})


@scenario("transaction-over-4mb")
def _transaction_size(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    size = 390_000
    s.ddb("transact_write_items", TransactItems=[_transact_put(table, i, size) for i in range(10)])
    s.ddb("transact_write_items", TransactItems=[_transact_put(table, i, size) for i in range(11)])
    s.ddb("scan", TableName=table, Select="COUNT")


@scenario("number-normalisation")
def _numbers(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S", "sk": "N"}, "pk", "sk")
    numbers = [
        "007",
        "1.50",
        "-0",
        "0.0",
        "-0.000",
        "1e3",
        "1E-2",
        "+5",
        "5.",
        ".5",
        "00.0100",
        "12345678901234567890123456789012345678",
        "123456789012345678901234567890123456789",
        "1234567890123456789012345678901234567.8",
        "0.000000000000000000000000000000000000012345678901234567890123456789012345678",
        "9.9999999999999999999999999999999999999E+125",
        "1E+126",
        "1E-130",
        "-1E-130",
        "1E-131",
        "abc",
        "",
        " 5",
        "0x10",
        "NaN",
        "Infinity",
        "1e",
        "--1",
    ]
    for i, number in enumerate(numbers):
        s.ddb(
            "put_item",
            TableName=table,
            Item={"pk": S("n"), "sk": N(i), "value": N(number), "ns": {"NS": [number, "1"]}},
            ReturnValues="ALL_OLD",
        )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("n")},
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("k"), "sk": N("007")})
    s.ddb("get_item", TableName=table, Key={"pk": S("k"), "sk": N("7.0")})
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p AND sk = :seven",
        ExpressionAttributeValues={":p": S("k"), ":seven": N("7.00")},
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("k"), "sk": N(1), "ns": {"NS": ["1", "1.0"]}})
    s.ddb("put_item", TableName=table, Item={"pk": S("k"), "sk": N(2), "ns": {"NS": ["007", "7"]}})
    s.ddb("put_item", TableName=table, Item={"pk": S("k"), "sk": N(3), "ss": {"SS": ["a", "a"]}})
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("k"), "sk": N(4)},
        UpdateExpression="SET v = :a + :b, w = :a - :b",
        ExpressionAttributeValues={":a": N("0.1"), ":b": N("0.20")},
        ReturnValues="ALL_NEW",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("k"), "sk": N(5)},
        UpdateExpression="SET v = :a + :b",
        ExpressionAttributeValues={
            ":a": N("9.9999999999999999999999999999999999999E+125"),
            ":b": N("9.9999999999999999999999999999999999999E+125"),
        },
        ReturnValues="ALL_NEW",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("k"), "sk": N(6)},
        UpdateExpression="ADD v :a",
        ExpressionAttributeValues={":a": N("12345678901234567890123456789012345678")},
        ReturnValues="ALL_NEW",
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("k"), "sk": N(6)},
        UpdateExpression="ADD v :a",
        ExpressionAttributeValues={":a": N("0.5")},
        ReturnValues="ALL_NEW",
    )


@scenario("item-size-limit")
def _item_size(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    # Size = attribute name bytes + value bytes: "pk" + "big" + "d" + the value.
    fixed = len("pk") + len("big") + len("d")
    for extra in (-1, 0, 1):
        s.ddb(
            "put_item",
            TableName=table,
            Item={"pk": S("big"), "d": S("x" * (MAX_ITEM_BYTES - fixed + extra))},
        )
    s.ddb("get_item", TableName=table, Key={"pk": S("big")}, ProjectionExpression="pk")
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("bin"), "d": {"B": b"\x00" * (MAX_ITEM_BYTES - len("pkbind"))}},
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("bin"), "d": {"B": b"\x00" * (MAX_ITEM_BYTES - len("pkbind") + 1)}},
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("uni"), "d": S("ü" * ((MAX_ITEM_BYTES - len("pkunid")) // 2))},
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item={"pk": S("uni"), "d": S("ü" * ((MAX_ITEM_BYTES - len("pkunid")) // 2 + 1))},
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("grow"), "d": S("x" * 300_000)})
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("grow")},
        UpdateExpression="SET e = :e",
        ExpressionAttributeValues={":e": S("y" * 120_000)},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("grow")},
        UpdateExpression="SET e = :e",
        ExpressionAttributeValues={":e": S("y" * 90_000)},
        ReturnValues="UPDATED_OLD",
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("k" * 2048)})
    s.ddb("put_item", TableName=table, Item={"pk": S("k" * 2049)})
    s.ddb("scan", TableName=table, ProjectionExpression="pk", ReturnConsumedCapacity="TOTAL")


@scenario("consumed-capacity-total-indexes")
def _capacity(s: Side) -> None:
    table = s.table("main")
    create_table(
        s,
        "main",
        {"pk": "S", "sk": "S", "lsk": "S", "g": "S"},
        "pk",
        "sk",
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_lsk",
                "KeySchema": key_schema("pk", "lsk"),
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": key_schema("g"),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    for mode in ("TOTAL", "INDEXES", "NONE"):
        for i, size in enumerate((10, 1500, 5000)):
            s.ddb(
                "put_item",
                TableName=table,
                Item={
                    "pk": S("p"),
                    "sk": S(f"{mode}{i}"),
                    "lsk": S(f"l{i}"),
                    "g": S("g"),
                    "d": S("x" * size),
                },
                ReturnConsumedCapacity=mode,
                ReturnItemCollectionMetrics="SIZE",
            )
        s.ddb(
            "get_item",
            TableName=table,
            Key={"pk": S("p"), "sk": S(f"{mode}2")},
            ReturnConsumedCapacity=mode,
        )
        s.ddb(
            "get_item",
            TableName=table,
            Key={"pk": S("p"), "sk": S(f"{mode}2")},
            ConsistentRead=True,
            ReturnConsumedCapacity=mode,
        )
        s.ddb(
            "update_item",
            TableName=table,
            Key={"pk": S("p"), "sk": S(f"{mode}1")},
            UpdateExpression="SET g = :g",
            ExpressionAttributeValues={":g": S("h")},
            ReturnConsumedCapacity=mode,
            ReturnItemCollectionMetrics="SIZE",
        )
        s.ddb(
            "query",
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": S("p")},
            ReturnConsumedCapacity=mode,
        )
        s.ddb(
            "query",
            TableName=table,
            IndexName="by_lsk",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": S("p")},
            ReturnConsumedCapacity=mode,
        )
        s.ddb(
            "query",
            TableName=table,
            IndexName="by_g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": S("g")},
            ReturnConsumedCapacity=mode,
        )
        s.ddb(
            "query",
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": S("nobody")},
            ReturnConsumedCapacity=mode,
        )
        s.ddb("scan", TableName=table, ReturnConsumedCapacity=mode)
        s.ddb("scan", TableName=table, IndexName="by_g", ReturnConsumedCapacity=mode)
        s.ddb(
            "delete_item",
            TableName=table,
            Key={"pk": S("p"), "sk": S(f"{mode}0")},
            ReturnConsumedCapacity=mode,
            ReturnItemCollectionMetrics="SIZE",
        )
    s.ddb(
        "get_item",
        TableName=table,
        Key={"pk": S("p"), "sk": S("x")},
        ReturnConsumedCapacity="BOGUS",
    )


@scenario("errors-and-messages")
def _errors(s: Side) -> None:
    table = s.table("main")
    missing = s.table("missing")
    create_table(s, "main", {"pk": "S", "sk": "N"}, "pk", "sk")
    s.need("put_item", TableName=table, Item={"pk": S("a"), "sk": N(1), "n": N(1)})
    key = {"pk": S("a"), "sk": N(1)}
    s.ddb("get_item", TableName=missing, Key=key)
    s.ddb("put_item", TableName=missing, Item=key)
    s.ddb("update_item", TableName=missing, Key=key, UpdateExpression="REMOVE x")
    s.ddb("delete_item", TableName=missing, Key=key)
    s.ddb(
        "query",
        TableName=missing,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
    )
    s.ddb("scan", TableName=missing)
    s.ddb("describe_table", TableName=missing)
    s.ddb("delete_table", TableName=missing)
    s.ddb("update_table", TableName=missing, BillingMode="PAY_PER_REQUEST")
    s.ddb("describe_time_to_live", TableName=missing)
    s.ddb("get_item", TableName="x", Key=key)
    s.ddb("get_item", TableName=table, Key={"pk": N(1), "sk": N(1)})
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": S("1")})
    s.ddb("get_item", TableName=table, Key={"pk": S("a")})
    s.ddb("get_item", TableName=table, Key={"pk": S("a"), "sk": N(1), "extra": S("x")})
    s.ddb("get_item", TableName=table, Key={"pk": S(""), "sk": N(1)})
    s.ddb("get_item", TableName=table, Key={"pk": {"SS": ["a"]}, "sk": N(1)})
    s.ddb("delete_item", TableName=table, Key={"pk": N(1), "sk": N(1)})
    s.ddb("update_item", TableName=table, Key={"pk": N(1), "sk": N(1)}, UpdateExpression="REMOVE x")
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET = :v",
        ExpressionAttributeValues={":v": N(1)},
    )
    s.ddb("update_item", TableName=table, Key=key, UpdateExpression="SET n = :missing")
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": N(1), ":other": N(2)},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET #missing = :v",
        ExpressionAttributeValues={":v": N(1)},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": N(1)},
        ExpressionAttributeNames={"#x": "x"},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET name = :v",
        ExpressionAttributeValues={":v": N(1)},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"SS": []}},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {}},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"S": "a", "N": "1"}},
    )
    s.ddb(
        "update_item",
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": N(1)},
        AttributeUpdates={"n": {"Action": "DELETE"}},
    )
    s.ddb("update_item", TableName=table, Key=key, UpdateExpression="")
    s.ddb(
        "put_item",
        TableName=table,
        Item={**key, "n": N(2)},
        ConditionExpression="n = = :v",
        ExpressionAttributeValues={":v": N(1)},
    )
    s.ddb("put_item", TableName=table, Item={**key, "n": N(2)}, ConditionExpression="n = :nope")
    s.ddb("put_item", TableName=table, Item={**key, "n": N(2)}, ConditionExpression="")
    s.ddb(
        "put_item",
        TableName=table,
        Item={**key, "n": N(2)},
        ConditionExpression="attribute_exists(pk)",
        Expected={"n": {"Exists": False}},
    )
    s.ddb("put_item", TableName=table, Item={"sk": N(1)})
    s.ddb("put_item", TableName=table, Item={**key, "": S("empty name")})
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
        FilterExpression="n >",
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
        FilterExpression="#x = :p",
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
        ProjectionExpression="n,, sk",
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
        ProjectionExpression="n, n",
    )
    s.ddb(
        "query",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")},
        Limit=-1,
    )
    s.ddb("scan", TableName=table, FilterExpression="n = :missing")
    s.ddb(
        "scan",
        TableName=table,
        FilterExpression="#missing = :v",
        ExpressionAttributeValues={":v": N(1)},
    )
    s.ddb(
        "create_table",
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("pk"),
        BillingMode="PAY_PER_REQUEST",
    )
    s.ddb(
        "create_table",
        TableName=s.table("bad"),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("other"),
        BillingMode="PAY_PER_REQUEST",
    )
    s.ddb(
        "create_table",
        TableName=s.table("bad"),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "X"}],
        KeySchema=key_schema("pk"),
        BillingMode="PAY_PER_REQUEST",
    )
    s.ddb(
        "create_table",
        TableName=s.table("bad"),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("pk"),
    )
    s.ddb(
        "create_table",
        TableName="a!",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("pk"),
        BillingMode="PAY_PER_REQUEST",
    )


@scenario("item-values-are-data")
def _values_are_data(s: Side) -> None:
    """Strings that look like ARNs or stream regions are item data and must round-trip."""
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    foreign = "arn:aws:dynamodb:eu-west-1:111111111111:table/elsewhere"
    engine_like = "arn:aws:dynamodb:ddblocal:000000000000:table/local"
    item = {
        "pk": S(foreign),
        "arn": S(foreign),
        "arns": {"SS": [foreign, foreign + "/index/i"]},
        "doc": {"M": {"arn": S(foreign + "/stream/2020-01-01T00:00:00.000")}},
        "json": S('{"awsRegion":"ddblocal","arn":"' + engine_like + '"}'),
        "region": S("ddblocal"),
    }
    s.ddb("put_item", TableName=table, Item=item)
    s.ddb("get_item", TableName=table, Key={"pk": S(foreign)})
    s.ddb(
        "scan",
        TableName=table,
        FilterExpression="arn = :a",
        ExpressionAttributeValues={":a": S(foreign)},
    )
    s.ddb(
        "put_item",
        TableName=table,
        Item={**item, "pk": S("plain")},
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValues="ALL_OLD",
    )
    s.ddb("get_item", TableName=table, Key={"pk": S("plain")})
    # Two keys that differ only in an ARN's region and account are two items.
    other_account = "arn:aws:dynamodb:us-east-1:123456789012:table/elsewhere"
    s.ddb("put_item", TableName=table, Item={"pk": S(other_account), "n": N(2)})
    s.ddb("get_item", TableName=table, Key={"pk": S(foreign)}, ProjectionExpression="pk, n")
    s.ddb("scan", TableName=table, Select="COUNT")
    # An ARN's length counts in the item size: this item is one byte over the limit.
    filler = MAX_ITEM_BYTES - len("pkdatad") - len(foreign) + 1
    s.ddb("put_item", TableName=table, Item={"pk": S("data"), "d": S(foreign + "x" * filler)})
    # Streams carry the item as written.
    streamed = s.table("streamed")
    created = create_table(
        s,
        "streamed",
        {"pk": "S"},
        "pk",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    s.need("put_item", TableName=streamed, Item={"pk": S("k"), "arn": S(foreign)})
    arn = created["TableDescription"]["LatestStreamArn"]
    shard = s.need_stream("describe_stream", StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = s.need_stream(
        "get_shard_iterator",
        StreamArn=arn,
        ShardId=shard["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )
    s.stream("get_records", ShardIterator=iterator["ShardIterator"])
    s.ddb(
        "update_item",
        TableName=table,
        Key={"pk": S("plain")},
        UpdateExpression="SET dup = :a",
        ExpressionAttributeValues={":a": S(foreign)},
        ReturnValues="UPDATED_NEW",
    )
    s.ddb(
        "execute_statement",
        Statement=f'SELECT arn FROM "{table}" WHERE pk = ?',
        Parameters=[S("plain")],
    )
    # PartiQL: ARNs in statement literals and in parameters are data too.
    s.ddb(
        "execute_statement",
        Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'sql-literal', 'arn': '{foreign}'}}",
    )
    s.ddb(
        "execute_statement",
        Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'sql-param', 'arn': ?}}",
        Parameters=[S(foreign)],
    )
    s.ddb(
        "batch_execute_statement",
        Statements=[
            {
                "Statement": f"UPDATE \"{table}\" SET arn2 = ? WHERE pk = 'sql-param'",
                "Parameters": [S(foreign)],
            }
        ],
    )
    s.ddb(
        "execute_transaction",
        TransactStatements=[
            {
                "Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'arn': ?}}",
                "Parameters": [S("sql-transaction"), S(foreign)],
            }
        ],
    )
    s.ddb(
        "batch_get_item",
        RequestItems={
            table: {
                "Keys": [{"pk": S(k)} for k in ("sql-literal", "sql-param", "sql-transaction")],
                "ProjectionExpression": "pk, arn, arn2",
            }
        },
    )
    # A value in DynamoDB Local's own ARN form is data as well.
    s.ddb("put_item", TableName=table, Item={"pk": S("engine-form"), "arn": S(engine_like)})
    s.ddb("get_item", TableName=table, Key={"pk": S("engine-form")})
    # Item operations that name their table by ARN, with ARNs and other text in the items.
    table_arn = s.need("describe_table", TableName=table)["Table"]["TableArn"]
    data = {"arn": S(foreign), "text": S('ü\u2603 "quoted" \\'), "n": N("1.50")}
    s.ddb("put_item", TableName=table_arn, Item={"pk": S("by-arn"), **data})
    s.ddb("get_item", TableName=table_arn, Key={"pk": S("by-arn")})
    s.ddb(
        "update_item",
        TableName=table_arn,
        Key={"pk": S("by-arn")},
        UpdateExpression="SET arn2 = :a",
        ConditionExpression="arn = :a",
        ExpressionAttributeValues={":a": S(foreign)},
        ReturnValues="ALL_NEW",
    )
    s.ddb(
        "query",
        TableName=table_arn,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("by-arn")},
    )
    s.ddb(
        "batch_write_item",
        RequestItems={table_arn: [{"PutRequest": {"Item": {"pk": S("batch-arn"), **data}}}]},
    )
    s.ddb("batch_get_item", RequestItems={table_arn: {"Keys": [{"pk": S("batch-arn")}]}})
    s.ddb(
        "transact_write_items",
        TransactItems=[{"Put": {"TableName": table_arn, "Item": {"pk": S("tx-arn"), **data}}}],
    )
    s.ddb(
        "transact_get_items",
        TransactItems=[{"Get": {"TableName": table_arn, "Key": {"pk": S("tx-arn")}}}],
    )
    s.ddb("scan", TableName=table_arn, Select="COUNT")


@scenario("execute-statement")
def _partiql(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S", "sk": "N"}, "pk", "sk")
    quoted = f'"{table}"'
    statements: list[tuple[str, list[dict[str, Any]] | None]] = [
        (f"INSERT INTO {quoted} VALUE {{'pk': 'a', 'sk': 1, 'n': 1, 'l': [1, 'x']}}", None),
        (f"INSERT INTO {quoted} VALUE {{'pk': 'a', 'sk': 1, 'n': 2}}", None),
        (f"INSERT INTO {quoted} VALUE {{'pk': ?, 'sk': ?, 'n': ?}}", [S("a"), N(2), N(5)]),
        (f"INSERT INTO {quoted} VALUE {{'pk': 'b', 'sk': 1}}", None),
        (f"SELECT * FROM {quoted} WHERE pk = 'a'", None),
        (f"SELECT pk, n FROM {quoted} WHERE pk = ? AND sk > ?", [S("a"), N(1)]),
        (f"SELECT * FROM {quoted} WHERE n = 1", None),
        (f"SELECT * FROM {quoted}", None),
        (f"SELECT * FROM {quoted} WHERE pk = 'a' ORDER BY sk DESC", None),
        (f"UPDATE {quoted} SET n = 3 WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *", None),
        (f"UPDATE {quoted} SET n = n + 1 WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *", None),
        (f"UPDATE {quoted} REMOVE l WHERE pk = 'a' AND sk = 1", None),
        (f"UPDATE {quoted} SET n = 3 WHERE pk = 'zz' AND sk = 1", None),
        (f"DELETE FROM {quoted} WHERE pk = 'b' AND sk = 1 RETURNING ALL OLD *", None),
        (f"DELETE FROM {quoted} WHERE pk = 'b' AND sk = 1", None),
        (f"SELECT * FROM {quoted} WHERE pk = ?", None),
        (f"SELECT * FROM {quoted} WHERE pk = ?", [S("a"), S("b")]),
        (f"SELEC * FROM {quoted}", None),
        ('SELECT * FROM "fid-no-such-table-anywhere"', None),
        (f"SELECT * FROM {quoted} WHERE pk = 'a' AND sk = 'x'", None),
    ]
    for statement, parameters in statements:
        request: dict[str, Any] = {"Statement": statement}
        if parameters is not None:
            request["Parameters"] = parameters
        s.ddb("execute_statement", **request)
    for i in range(3, 9):
        s.ddb("execute_statement", Statement=f"INSERT INTO {quoted} VALUE {{'pk': 'p', 'sk': {i}}}")
    token: str | None = None
    for _page in range(10):
        request = {"Statement": f"SELECT * FROM {quoted} WHERE pk = 'p'", "Limit": 2}
        if token:
            request["NextToken"] = token
        response = s.ddb("execute_statement", **request)
        token = (response or {}).get("NextToken")
        if not token:
            break
    s.ddb(
        "execute_statement",
        Statement=f"SELECT * FROM {quoted} WHERE pk = 'p'",
        ReturnConsumedCapacity="TOTAL",
    )
    s.ddb(
        "batch_execute_statement",
        Statements=[
            {"Statement": f"SELECT * FROM {quoted} WHERE pk = 'a' AND sk = 1"},
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 'a', 'sk': 1}}"},
        ],
    )
    s.ddb(
        "batch_execute_statement",
        Statements=[
            {"Statement": f"SELECT * FROM {quoted} WHERE pk = 'a' AND sk = 1"},
            {
                "Statement": f"SELECT * FROM {quoted} WHERE pk = ? AND sk = ?",
                "Parameters": [S("p"), N(3)],
            },
            {"Statement": f"SELECT * FROM {quoted} WHERE pk = 'nobody' AND sk = 1"},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    s.ddb(
        "batch_execute_statement",
        Statements=[
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 'a', 'sk': 1}}"},
            {"Statement": f"UPDATE {quoted} SET n = 9 WHERE pk = 'p' AND sk = 3"},
            {"Statement": f"DELETE FROM {quoted} WHERE pk = 'p' AND sk = 8"},
        ],
    )
    s.ddb(
        "execute_transaction",
        TransactStatements=[
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 't', 'sk': 1}}"},
            {"Statement": f"UPDATE {quoted} SET n = 1 WHERE pk = 'p' AND sk = 4"},
        ],
    )
    s.ddb(
        "execute_transaction",
        TransactStatements=[
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 't', 'sk': 1}}"},
            {"Statement": f"UPDATE {quoted} SET n = 2 WHERE pk = 'p' AND sk = 5"},
        ],
    )
    s.ddb(
        "execute_transaction",
        TransactStatements=[
            {"Statement": f"SELECT * FROM {quoted} WHERE pk = 't' AND sk = 1"},
            {"Statement": f"SELECT * FROM {quoted} WHERE pk = 'p' AND sk = 5"},
        ],
    )
    s.ddb("scan", TableName=table)


@scenario("table-lifecycle")
def _tables(s: Side) -> None:
    table = s.table("main")
    create_table(
        s,
        "main",
        {"pk": "S", "sk": "S", "g": "N"},
        "pk",
        "sk",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": key_schema("g", "sk"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_g_local",
                "KeySchema": key_schema("pk", "g"),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        Tags=[{"Key": "team", "Value": "fidelity"}],
    )
    s.ddb("put_item", TableName=table, Item={"pk": S("a"), "sk": S("b"), "g": N(1), "x": S("y")})
    s.ddb("describe_table", TableName=table)
    s.ddb(
        "update_table",
        TableName=table,
        ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 4},
    )
    s.ddb("update_table", TableName=table, BillingMode="PAY_PER_REQUEST")
    s.ddb(
        "update_table",
        TableName=table,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    s.ddb("update_table", TableName=table, StreamSpecification={"StreamEnabled": False})
    s.ddb("describe_table", TableName=table)
    s.ddb(
        "update_time_to_live",
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    s.ddb("describe_time_to_live", TableName=table)
    s.ddb(
        "update_time_to_live",
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    s.ddb("describe_limits")
    s.ddb("update_table", TableName=table, DeletionProtectionEnabled=True)
    s.ddb("delete_table", TableName=table)
    s.ddb("update_table", TableName=table, DeletionProtectionEnabled=False)
    s.ddb("delete_table", TableName=table)
    s.ddb("describe_table", TableName=table)
    create_table(s, "arn", {"pk": "S"}, "pk")
    described = s.need("describe_table", TableName=s.table("arn"))
    s.ddb("describe_table", TableName=described["Table"]["TableArn"])
    s.ddb("put_item", TableName=described["Table"]["TableArn"], Item={"pk": S("via-arn")})
    s.ddb("get_item", TableName=described["Table"]["TableArn"], Key={"pk": S("via-arn")})
    s.ddb("delete_table", TableName=described["Table"]["TableArn"])


def _records(s: Side, iterator: str | None, limit: int, max_calls: int = 25) -> None:
    """GetRecords with `limit` until a call returns no records (an open shard never ends)."""
    for _call in range(max_calls):
        if iterator is None:
            return
        response = s.need_stream("get_records", ShardIterator=iterator, Limit=limit)
        if not response.get("Records"):
            return
        iterator = response.get("NextShardIterator")


@scenario("streams")
def _streams(s: Side) -> None:
    table = s.table("main")
    created = create_table(
        s,
        "main",
        {"pk": "S"},
        "pk",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = created["TableDescription"]["LatestStreamArn"]
    s.stream("list_streams", TableName=table)
    s.stream("list_streams", TableName=table, Limit=1)
    writes: list[tuple[str, dict[str, Any]]] = [
        ("put_item", {"Item": {"pk": S("a"), "v": N(1)}}),
        ("put_item", {"Item": {"pk": S("b"), "bin": {"B": b"\x00\xff"}, "set": {"NS": ["1"]}}}),
        (
            "update_item",
            {
                "Key": {"pk": S("a")},
                "UpdateExpression": "SET v = v + :one",
                "ExpressionAttributeValues": {":one": N(1)},
            },
        ),
        ("put_item", {"Item": {"pk": S("a"), "v": N(2)}}),
        ("delete_item", {"Key": {"pk": S("b")}}),
        ("delete_item", {"Key": {"pk": S("never")}}),
        (
            "update_item",
            {
                "Key": {"pk": S("c")},
                "UpdateExpression": "SET m = :m",
                "ExpressionAttributeValues": {":m": {"M": {"x": {"L": [S("y")]}}}},
            },
        ),
    ]
    for operation, request in writes:
        s.need(operation, TableName=table, **request)
    s.need(
        "batch_write_item",
        RequestItems={table: [{"PutRequest": {"Item": {"pk": S(f"batch{i}")}}} for i in range(3)]},
    )
    s.need(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": S("t1")}}},
            {"Delete": {"TableName": table, "Key": {"pk": S("a")}}},
        ],
    )
    s.need("execute_statement", Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'sql'}}")
    description = s.need_stream("describe_stream", StreamArn=arn, Limit=1)
    last = description["StreamDescription"].get("LastEvaluatedShardId")
    if last:
        s.stream("describe_stream", StreamArn=arn, Limit=1, ExclusiveStartShardId=last)
    s.stream("describe_stream", StreamArn=arn)
    shard = description["StreamDescription"]["Shards"][0]["ShardId"]
    trim = s.need_stream(
        "get_shard_iterator", StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    _records(s, trim["ShardIterator"], limit=2)
    first = s.need_stream("get_records", ShardIterator=trim["ShardIterator"], Limit=5)
    third = first["Records"][2]["dynamodb"]["SequenceNumber"]
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        iterator = s.need_stream(
            "get_shard_iterator",
            StreamArn=arn,
            ShardId=shard,
            ShardIteratorType=kind,
            SequenceNumber=third,
        )
        s.stream("get_records", ShardIterator=iterator["ShardIterator"], Limit=3)
    latest = s.need_stream(
        "get_shard_iterator", StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST"
    )
    empty = s.need_stream("get_records", ShardIterator=latest["ShardIterator"])
    s.need("put_item", TableName=table, Item={"pk": S("late")})
    s.stream("get_records", ShardIterator=empty["NextShardIterator"])
    # Errors.
    s.stream(
        "get_shard_iterator", StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER"
    )
    s.stream(
        "get_shard_iterator",
        StreamArn=arn,
        ShardId=shard,
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber="999999999999999999999",
    )
    s.stream("get_shard_iterator", StreamArn=arn, ShardId=shard, ShardIteratorType="BOGUS")
    s.stream(
        "get_shard_iterator",
        StreamArn=arn,
        ShardId="shardId-00000000000000000000-00000000",
        ShardIteratorType="TRIM_HORIZON",
    )
    s.stream("get_records", ShardIterator=trim["ShardIterator"], Limit=0)
    s.stream("get_records", ShardIterator=trim["ShardIterator"], Limit=1001)
    s.stream("get_records", ShardIterator="not-an-iterator")
    gone = arn.replace(f"table/{table}/", f"table/{table}-gone/")
    s.stream("describe_stream", StreamArn=gone)
    s.stream("get_shard_iterator", StreamArn=gone, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    s.stream("describe_stream", StreamArn="not-an-arn")
    # A second view type, and a stream switched off.
    keys = create_table(
        s,
        "keys",
        {"pk": "S"},
        "pk",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    keys_arn = keys["TableDescription"]["LatestStreamArn"]
    s.need("put_item", TableName=s.table("keys"), Item={"pk": S("k"), "v": N(1)})
    s.need(
        "update_item", TableName=s.table("keys"), Key={"pk": S("k")}, UpdateExpression="REMOVE v"
    )
    s.need("update_table", TableName=s.table("keys"), StreamSpecification={"StreamEnabled": False})
    keys_description = s.need_stream("describe_stream", StreamArn=keys_arn)
    keys_shard = keys_description["StreamDescription"]["Shards"][0]["ShardId"]
    keys_trim = s.need_stream(
        "get_shard_iterator",
        StreamArn=keys_arn,
        ShardId=keys_shard,
        ShardIteratorType="TRIM_HORIZON",
    )
    _records(s, keys_trim["ShardIterator"], limit=1)
    s.stream("list_streams", TableName=s.table("keys"))


RAW_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def raw(s: Side, operation: str, body: bytes, *, signed: bool = True) -> None:
    """One request sent as bytes (what no SDK sends), recorded like the others."""
    url = urlparse(s.endpoint)
    target = operation if "_" in operation else f"DynamoDB_20120810.{operation}"
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
    if signed:
        headers["Authorization"] = RAW_AUTHORIZATION
    connection = http.client.HTTPConnection(str(url.hostname), url.port, timeout=60)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    outcome: dict[str, Any] = {"status": response.status}
    try:
        parsed = json.loads(payload)
    except ValueError:
        outcome["body"] = payload.decode(errors="replace")[:300]
    else:
        if response.status >= 400 and isinstance(parsed, dict):
            outcome["error"] = str(parsed.get("__type", "")).rsplit("#", 1)[-1]
            outcome["message"] = parsed.get("message", parsed.get("Message"))
        else:
            outcome["ok"] = parsed
    s.steps.append(Step(f"raw {target} {body[:60]!r}", outcome))


@scenario("raw-protocol-errors")
def _raw_protocol(s: Side) -> None:
    table = s.table("main")
    create_table(s, "main", {"pk": "S"}, "pk")
    create = {
        "TableName": s.table("made"),
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": key_schema("pk"),
        "BillingMode": "PAY_PER_REQUEST",
    }
    for operation in ("GetItem", "PutItem", "CreateTable", "DeleteTable", "ListTables"):
        raw(s, operation, b"not json")
        raw(s, operation, b"[1]")
        raw(s, operation, b"")
        raw(s, operation, b'{"TableName": ')
    raw(s, "Bogus", b"{}")
    raw(s, "ListTables", b"{}", signed=False)
    raw(s, "ListTables", b'{"Limit": "x"}')
    raw(s, "GetItem", json.dumps({"TableName": table, "Key": {"pk": {"S": "a"}}}).encode())
    raw(s, "GetItem", json.dumps({"TableName": table, "Key": {"pk": "a"}}).encode())
    raw(s, "CreateTable", json.dumps({**create, "TableName": 5}).encode())
    # Malformed `Tags` are not compared: DynamoDB Local does not implement tags (it answers
    # 200 or an InternalFailure 500); the local cloud refuses them as AWS does, tested in
    # test_table_extras.py.
    s.created.append(s.table("made"))
    raw(s, "DynamoDBStreams_20120810.ListStreams", b"not json")
    raw(s, "DynamoDBStreams_20120810.DescribeStream", b"{}")
    raw(s, "DynamoDBStreams_20120810.GetRecords", b'{"ShardIterator": "x"}')
    s.ddb("describe_table", TableName=s.table("made"))


SCENARIO_IDS = list(SCENARIOS)


# -- fixtures and the tests -----------------------------------------------------------------


@pytest.fixture(scope="module")
def engine_endpoint() -> Iterator[str]:
    """A standalone DynamoDB Local: the reference."""
    with Engine() as engine:
        yield engine.endpoint


def _record(side: Side, name: str) -> list[tuple[str, Any]]:
    try:
        SCENARIOS[name](side)
    except Aborted as aborted:
        side.steps.append(Step("aborted", {"aborted": str(aborted)}))
    finally:
        side.cleanup()
    return Normaliser(side).steps(side.steps)


def _short(value: Any, limit: int = 1500) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@pytest.mark.parametrize("name", SCENARIO_IDS, ids=SCENARIO_IDS)
def test_cloud_answers_as_dynamodb_local(name: str, engine_endpoint: str, cloud: str) -> None:
    token = f"{name[:24]}-{uuid.uuid4().hex[:6]}"
    reference = Side("DynamoDB Local", engine_endpoint, ENGINE_REGION, ENGINE_ACCOUNT, token=token)
    ours = Side("local cloud", cloud, REGION, ACCOUNT, token=token)
    expected = _record(reference, name)
    assert expected[-1][0] != "aborted", f"the scenario fails on DynamoDB Local: {expected[-1]}"
    got = _record(ours, name)
    differences = [
        f"step {index} {want[0]!r}:\n  DynamoDB Local: {_short(want[1])}\n"
        f"  local cloud:    {_short(have[1])}"
        for index, (want, have) in enumerate(zip(expected, got, strict=False))
        if want != have
    ]
    if len(expected) != len(got):
        differences.append(f"{len(expected)} steps on DynamoDB Local, {len(got)} on the cloud")
    assert not differences, f"{len(differences)} difference(s):\n" + "\n".join(differences[:8])


def _stream_table(client: Any, name: str) -> dict[str, Any]:
    table: dict[str, Any] = client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("pk"),
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    return table


def test_arns_carry_the_request_region_and_account(cloud: str) -> None:
    name = f"fid-identity-{uuid.uuid4().hex[:8]}"
    us, eu = aws_client("dynamodb", cloud), aws_client("dynamodb", cloud, region="eu-west-1")
    eu_streams = aws_client("dynamodbstreams", cloud, region="eu-west-1")
    created = _stream_table(us, name)
    try:
        assert created["TableArn"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"
        us_stream = created["LatestStreamArn"]
        assert us_stream.startswith(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}/stream/")
        described = eu.describe_table(TableName=name)["Table"]
        assert described["TableArn"] == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/{name}"
        eu_stream = described["LatestStreamArn"]
        assert eu_stream == us_stream.replace(":us-east-1:", ":eu-west-1:")
        eu.put_item(TableName=name, Item={"pk": S("a")})
        # Either region's ARN names the same stream; answers are in the caller's region.
        for arn in (us_stream, eu_stream):
            stream = eu_streams.describe_stream(StreamArn=arn)["StreamDescription"]
            assert stream["StreamArn"] == eu_stream
            shard = stream["Shards"][0]["ShardId"]
            iterator = eu_streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            assert f":eu-west-1:{ACCOUNT}:" in iterator
            records = eu_streams.get_records(ShardIterator=iterator)["Records"]
            assert [r["awsRegion"] for r in records] == ["eu-west-1"]
            assert records[0]["dynamodb"]["NewImage"] == {"pk": S("a")}
        listed = eu_streams.list_streams(TableName=name)["Streams"]
        assert [s["StreamArn"] for s in listed] == [eu_stream]
        with pytest.raises(ClientError) as caught:
            eu_streams.describe_stream(StreamArn=eu_stream.replace(name, name + "-gone"))
        assert "ddblocal" not in caught.value.response["Error"]["Message"]
        assert "000000000000" not in caught.value.response["Error"]["Message"]
    finally:
        us.delete_table(TableName=name)


def test_tables_are_shared_across_credentials_and_regions(cloud: str) -> None:
    name = f"fid-shared-{uuid.uuid4().hex[:8]}"
    creator = aws_client("dynamodb", cloud, access_key="AKIAFIDELITYCREATOR")
    reader = aws_client("dynamodb", cloud, region="ap-southeast-2", access_key="AKIAFIDELITYREADER")
    creator.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=key_schema("pk"),
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        creator.put_item(TableName=name, Item={"pk": S("shared")})
        names = [
            table
            for page in reader.get_paginator("list_tables").paginate()
            for table in page["TableNames"]
        ]
        assert name in names
        assert reader.get_item(TableName=name, Key={"pk": S("shared")})["Item"] == {
            "pk": S("shared")
        }
        arn = reader.describe_table(TableName=name)["Table"]["TableArn"]
        assert arn == f"arn:aws:dynamodb:ap-southeast-2:{ACCOUNT}:table/{name}"
    finally:
        creator.delete_table(TableName=name)


def test_normaliser_replaces_only_identity_time_and_opaque_tokens() -> None:
    side = Side("local cloud", "http://127.0.0.1:9", REGION, ACCOUNT)
    foreign = "arn:aws:dynamodb:eu-west-1:111111111111:table/t/stream/2026-01-01T00:00:00.000"
    token = base64.b64encode(b'{"creationTime":1.5,"key":{"pk":{"S":"a"}}}').decode()
    side.steps.append(
        Step(
            "x",
            {
                "ok": {
                    "TableArn": side.arn_prefix + "table/t/stream/2026-01-01T00:00:00.000",
                    "Item": {"a": S(foreign), "own": S(side.arn_prefix), "awsRegion": S(REGION)},
                    "SequenceNumber": "000000000000000000042",
                    "Other": {"SequenceNumber": "000000000000000000007"},
                    "ShardId": "shardId-00000001796161680671-9cb2ae0d",
                    "eventID": "e",
                    "awsRegion": REGION,
                    "Records": [{"awsRegion": "eu-west-1"}],
                    "NextToken": token,
                    "Count": 3,
                    "Blob": b"eA==",
                }
            },
        )
    )
    ((_label, outcome),) = Normaliser(side).steps(side.steps)
    assert outcome["ok"] == {
        "TableArn": ARN_PLACEHOLDER + "table/t/stream/<label>",
        "Item": {"a": S(foreign), "own": S(side.arn_prefix), "awsRegion": S(REGION)},
        "SequenceNumber": "<seq-2>",
        "Other": {"SequenceNumber": "<seq-1>"},
        "ShardId": "<shard-1>",
        "eventID": "<event-1>",
        "awsRegion": "<region>",
        "Records": [{"awsRegion": "eu-west-1"}],
        "NextToken": {"creationTime": "<timestamp>", "key": {"pk": S("a")}},
        "Count": 3,
        "Blob": b"eA==",
    }
