"""Identity rewriting between AWS's ARNs and DynamoDB Local's.

DynamoDB Local names every resource `arn:aws:dynamodb:ddblocal:000000000000:...` and puts
`"awsRegion": "ddblocal"` in stream records. The local cloud answers with the request's
region and the caller's account (as moto derives it from the access key), and translates
any DynamoDB ARN a caller sends back to DynamoDB Local's form. Shard iterators embed the
stream ARN in plain text, so they round-trip through the same two rewrites.
"""

from __future__ import annotations

import json
import re
from typing import Any

from localcloud.engine import ENGINE_ACCOUNT, ENGINE_REGION

# Operations that carry items: their attribute values (and PartiQL statements and
# parameters) are the caller's data and are never rewritten; only the table names (which
# may be ARNs) are, and their answers only when the request named a table by ARN.
ITEM_OPERATIONS = frozenset(
    {
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "PutItem",
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)

_ENGINE_ARN = f"arn:aws:dynamodb:{ENGINE_REGION}:{ENGINE_ACCOUNT}:".encode()
_ANY_DYNAMODB_ARN = re.compile(rb"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:")
_ENGINE_REGION_FIELD = re.compile(rb'"awsRegion"\s*:\s*"' + ENGINE_REGION.encode() + rb'"')


def to_engine(body: bytes) -> bytes:
    """Every DynamoDB ARN in a request, in DynamoDB Local's form."""
    return _ANY_DYNAMODB_ARN.sub(_ENGINE_ARN, body)


def request_to_engine(operation: str, body: bytes) -> tuple[bytes, bool]:
    """A request body for the engine, and whether the engine's answer must be rewritten.

    ARNs are translated, item data is left as the caller sent it: an item operation's
    answer is rewritten only when the request named its table by ARN.
    """
    if b"arn:aws" not in body:
        return body, operation not in ITEM_OPERATIONS
    if operation not in ITEM_OPERATIONS:
        return to_engine(body), True
    try:
        request = json.loads(body)
    except ValueError:
        return body, False  # the engine answers the malformed body itself
    if not isinstance(request, dict) or not _translate_table_names(request):
        return body, False
    return json.dumps(request).encode(), True


def _translate_table_names(request: dict[str, Any]) -> bool:
    """Translate the table-name fields of an item operation in place; whether any changed."""
    changed = False

    def translate(name: Any) -> Any:
        nonlocal changed
        if isinstance(name, str) and name.startswith("arn:"):
            changed = True
            return engine_arn(name)
        return name

    if "TableName" in request:
        request["TableName"] = translate(request["TableName"])
    items = request.get("RequestItems")
    if isinstance(items, dict):
        request["RequestItems"] = {translate(k): v for k, v in items.items()}
    for entry in request.get("TransactItems") or []:
        for part in entry.values() if isinstance(entry, dict) else ():
            if isinstance(part, dict) and "TableName" in part:
                part["TableName"] = translate(part["TableName"])
    return changed


def from_engine(body: bytes, region: str, account: str) -> bytes:
    """DynamoDB Local's ARNs and stream-record regions as the caller's region and account."""
    if ENGINE_REGION.encode() not in body:
        return body
    body = body.replace(_ENGINE_ARN, f"arn:aws:dynamodb:{region}:{account}:".encode())
    return _ENGINE_REGION_FIELD.sub(f'"awsRegion":"{region}"'.encode(), body)


def table_arn(region: str, account: str, table: str) -> str:
    """The ARN AWS gives `table` in `region` of `account`."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def engine_arn(arn: str) -> str:
    """One ARN in DynamoDB Local's form."""
    return to_engine(arn.encode()).decode()


def public_arn(arn: str, region: str, account: str) -> str:
    """One DynamoDB Local ARN in the caller's form."""
    return from_engine(arn.encode(), region, account).decode()


def table_of(arn: str) -> str:
    """The table name in a table, index or stream ARN."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ValueError(f"not a DynamoDB table ARN: {arn}")
    return parts[1]


def stream_of_iterator(iterator: str) -> str | None:
    """The stream ARN a shard iterator starts with (DynamoDB Local's: `<stream ARN>|...`)."""
    arn = iterator.split("|", 1)[0]
    return arn if arn.startswith("arn:") and "/stream/" in arn else None
